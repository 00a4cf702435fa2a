//! One module per command; [`dispatch`] routes to them.

mod accounts;
mod audit;
mod campaign;
mod cancel;
mod config;
mod dlq;
mod docs;
mod emulator;
mod enqueue;
mod schedules;
mod serve;
mod status;
mod worker;

use crate::args::{Cli, Command};
use crate::exit::Failure;
use crate::settings;
use deleteq_core::config::Needs;
use deleteq_ops::Ops;

/// Runs the parsed command. Every command but `emulator`, `config example`, `completions` and `man` loads a config (and refuses to run
/// without one), resolving only the `${VAR}`s it uses: the worker the providers' credentials, `serve` its API
/// tokens, the rest neither.
pub(crate) async fn dispatch(cli: Cli) -> Result<(), Failure> {
    let path = cli.config.as_deref();
    match cli.command {
        Command::Emulator(args) => emulator::run(args).await,
        Command::Config(cmd) => config::run(path, cmd),
        Command::Completions { shell } => docs::completions(shell),
        Command::Man { dir } => docs::man(dir.as_deref()),
        Command::Worker => worker::run(settings::load(path, Needs::WORKER)?).await,
        Command::Serve(args) => serve::run(settings::load(path, Needs::SERVER)?, args).await,
        command => {
            let config = settings::load(path, Needs::PRODUCER)?;
            match command {
                Command::Enqueue(args) => enqueue::run(config, args).await,
                Command::Cancel(args) => cancel::run(config, args).await,
                Command::Campaign(cmd) => campaign::run(config, cmd).await,
                Command::Audit(cmd) => audit::run(config, cmd).await,
                Command::Dlq(cmd) => dlq::run(config, cmd).await,
                Command::Status(flag) => status::run(config, flag.json).await,
                Command::Accounts(cmd) => accounts::run(config, cmd).await,
                Command::Worker
                | Command::Serve(_)
                | Command::Emulator(_)
                | Command::Config(_)
                | Command::Completions { .. }
                | Command::Man { .. } => Ok(()),
            }
        }
    }
}

/// Connects to the config's queue for a one-shot command (no retrying: the command reports and exits 1; a Redis
/// URL that does not parse exits 2).
pub(crate) async fn connect(config: &deleteq_core::Config) -> Result<Ops, Failure> {
    Ops::connect(config).await.map_err(Failure::from)
}
