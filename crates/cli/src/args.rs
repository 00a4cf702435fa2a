//! The command-line grammar of DESIGN §4.

use clap::{Args, Parser, Subcommand, ValueEnum};
use deleteq_core::Priority;
use std::path::PathBuf;

/// The version line: the crate version and the commit it was built from (`build.rs`; "unknown" outside a git
/// checkout).
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("DELETEQ_COMMIT"), ")");

/// deleteq: an asynchronous deletion job queue for chat platforms.
#[derive(Debug, Parser)]
#[command(
    name = "deleteq",
    version = VERSION,
    about = "deleteq: an asynchronous deletion job queue for chat platforms.",
    after_help = "Every command but `emulator`, `config example`, `completions` and `man` needs a config: --config FILE, $DELETEQ_CONFIG \
                  or ./deleteq.toml. Start from `deleteq config example > deleteq.toml`.\n\
                  Exit codes: 0 success; 1 runtime failure, or nothing matched (dlq replay ID, cancel ID, accounts resume); \
                  2 invalid input, config or usage."
)]
pub(crate) struct Cli {
    /// Config file (default: $DELETEQ_CONFIG, else ./deleteq.toml; without any, commands refuse to run).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a worker until SIGINT or SIGTERM (graceful).
    Worker,
    /// Enqueue jobs given as JSON arguments, a JSON-lines file, or `-` for stdin; prints one id per job.
    Enqueue(EnqueueArgs),
    /// Cancel jobs not yet called (they end `cancelled`); a job whose call is running says so. Exit 1 if none was
    /// cancelled.
    Cancel(CancelArgs),
    /// Moderation campaigns: submit a whole file as one, follow, cancel and list them.
    #[command(subcommand)]
    Campaign(CampaignCommand),
    /// Read the audit stream.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Inspect the dead-letter set.
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Queue depths, and per account: effective rate, parked or not.
    Status(JsonFlag),
    /// Provider accounts: resume a parked one.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Run the provider emulator.
    Emulator(EmulatorArgs),
    /// Serve the HTTP API (bearer tokens from [api] tokens) until SIGINT or SIGTERM.
    Serve(ServeArgs),
    /// The config: check one without touching Redis, or print an annotated example.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print a shell completion script: `deleteq completions bash > /etc/bash_completion.d/deleteq`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or with `--dir` write one page per command there (deleteq.1, deleteq-worker.1, ...).
    Man {
        /// Write `deleteq.1` and a page per command into this directory instead of printing `deleteq.1`.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Validate the config without touching Redis and print what it resolved: the Redis target (password
    /// redacted), accounts with providers and rate limits, schedules with their next fire time, and every `${VAR}`
    /// left unset. Exit 2 if it is invalid or a variable `--for` needs is unset.
    Check {
        /// One JSON object.
        #[arg(long)]
        json: bool,
        /// Whose variables must be set: a producer (enqueue, campaign, reports) needs none of the secrets, a
        /// worker the providers' credentials, serve its API tokens, all every one.
        #[arg(long = "for", value_enum, default_value_t = Role::Producer, value_name = "ROLE")]
        role: Role,
    },
    /// Print an annotated example config (deploy/deleteq.example.toml): `deleteq config example > deleteq.toml`.
    Example,
}

/// Who will load the config, and so which `${VAR}`s must be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Role {
    /// enqueue, campaign, status, audit, dlq, accounts: no secret needed.
    Producer,
    /// deleteq worker: the accounts' credentials.
    Worker,
    /// deleteq serve: the [api] tokens.
    Serve,
    /// Every variable.
    All,
}

#[derive(Debug, Args)]
pub(crate) struct EnqueueArgs {
    /// Jobs as JSON objects; `-` reads JSON lines from stdin.
    #[arg(value_name = "JSON")]
    pub(crate) jobs: Vec<String>,
    /// A JSON-lines file, one job per line (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,
    /// Enqueue the valid lines even if some are invalid (the invalid ones are still reported).
    #[arg(long)]
    pub(crate) skip_invalid: bool,
    /// Print the ids as one JSON array.
    #[arg(long)]
    pub(crate) json: bool,
    /// Jobs per enqueue transaction (benchmarks use 1 to measure single enqueues).
    #[arg(long, default_value_t = 20_000, hide = true)]
    pub(crate) batch: usize,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CampaignCommand {
    /// Enqueue a JSON-lines file as one campaign (all or nothing on validation); prints its id.
    Submit {
        /// The jobs, one JSON object per line (`-` for stdin).
        file: PathBuf,
        /// A name for reports (default: the file name).
        #[arg(long)]
        name: Option<String>,
        /// The priority of lines without their own `priority`: high, normal or low (default: low).
        #[arg(long, value_name = "PRIORITY", value_parser = parse_priority)]
        priority: Option<Priority>,
        /// Print the campaign as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Total, pending and one count per outcome; `--watch` follows it with a progress bar until it is done.
    Status {
        /// The campaign id.
        id: String,
        /// One JSON object.
        #[arg(long)]
        json: bool,
        /// Keep showing progress until nothing is pending.
        #[arg(long)]
        watch: bool,
    },
    /// Cancel a campaign: its jobs not yet called end `cancelled`.
    Cancel {
        /// The campaign id.
        id: String,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Every campaign, oldest first.
    List {
        /// One JSON array.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// The latest records as JSON lines; `--follow` keeps printing new ones.
    Tail {
        /// How many of the latest records to print first.
        #[arg(long, default_value_t = 20)]
        count: usize,
        /// Keep printing records as they arrive.
        #[arg(long)]
        follow: bool,
    },
    /// Every record kept, oldest first, as JSON lines.
    Export {
        /// Only records of this campaign.
        #[arg(long)]
        campaign: Option<String>,
        /// Only records at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// Only records before this RFC 3339 time.
        #[arg(long)]
        until: Option<String>,
    },
}

/// `deleteq cancel ID... [--json]`.
#[derive(Debug, Args)]
pub(crate) struct CancelArgs {
    /// Job ids (as `enqueue` printed them); a bulk job's children not yet called are cancelled with it.
    #[arg(value_name = "ID", required = true)]
    pub(crate) ids: Vec<String>,
    /// One JSON object: `requested`, `cancelled`, `messages`, and `jobs` (each `id`, `state`, `messages`, and
    /// `parent` for a bulk job's child).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DlqCommand {
    /// The newest dead letters.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Only this account's.
        #[arg(long)]
        account: Option<String>,
        /// One JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Put dead letters back in the queue with their attempt count reset.
    Replay {
        /// Job ids to replay.
        #[arg(value_name = "ID", required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<String>,
        /// Replay every dead letter.
        #[arg(long)]
        all: bool,
        /// One JSON object: `replayed`, and with ids `requested` and `not_dead` (the ids that were not dead letters).
        #[arg(long)]
        json: bool,
    },
    /// Forget dead letters.
    Purge {
        /// Only those dead-lettered longer ago than this (e.g. "7d"); all without it.
        #[arg(long, value_name = "DURATION")]
        older_than: Option<String>,
        /// One JSON object: `purged` and `older_than_ms`.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AccountsCommand {
    /// Release a parked account: its set-aside jobs go back in line.
    Resume {
        /// The account name (a key of `[accounts]`).
        name: String,
        /// One JSON object: `account`, `was_parked`, `reason` and `jobs_back`.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct JsonFlag {
    /// Machine-readable output.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (default: [api] addr, else 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub(crate) addr: Option<String>,
    /// Serve without authentication when no [api] tokens are configured (tokens, when set, are always required).
    #[arg(long)]
    pub(crate) insecure_no_auth: bool,
}

#[derive(Debug, Args)]
pub(crate) struct EmulatorArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub(crate) addr: String,
    /// Treat every never-deleted message id as existing (no seeding needed).
    #[arg(long)]
    pub(crate) accept_unknown: bool,
    /// Latency added to every provider call, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub(crate) latency_ms: u64,
    /// A provider's plan limit, `PROVIDER=N` requests per second (a fixed window per second, with the provider's
    /// rate-limit headers and its 429 once spent); repeatable.
    #[arg(long, value_name = "PROVIDER=N", value_parser = parse_plan)]
    pub(crate) plan: Vec<(String, u32)>,
}

fn parse_priority(text: &str) -> Result<Priority, String> {
    text.parse::<Priority>().map_err(|e| e.to_string())
}

fn parse_plan(text: &str) -> Result<(String, u32), String> {
    let bad = || format!("{text:?} is not PROVIDER=N, e.g. cometchat=50");
    let (provider, n) = text.split_once('=').ok_or_else(bad)?;
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    if provider.trim().is_empty() || n == 0 {
        return Err(bad());
    }
    Ok((provider.trim().to_string(), n))
}
