//! The TOML configuration of DESIGN §4–5: Redis, worker, retry, audit, accounts, schedules, logs and telemetry.
//!
//! `${VAR}` in any string value reads the environment (through a lookup the caller passes, so this stays free of
//! I/O); a missing variable is an error naming it, except in a field the loading command does not use ([`Needs`]):
//! a producer needs no provider credential, a worker no API token. Unknown keys are errors. Secrets are
//! [`Secret`]s and never print.

mod account;
mod api;
mod env;
mod lanes;
mod schedule;
mod secret;
mod telemetry;

pub use account::{
    quickblox_max_batch, Account, AccountKind, ProviderKind, QuickBloxAuth, MAX_REQUEST_URL, QUICKBLOX_ID_LEN,
};
pub use api::{parse_size, ApiConfig};
pub use env::Unresolved;
pub use lanes::LanesConfig;
pub use schedule::{Schedule, ScheduleError};
pub use secret::{RedisUrl, Secret};
pub use telemetry::{LogConfig, LogFormat, TelemetryConfig};

use crate::duration::serde_duration;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// A configuration that cannot be used, with the reason.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML does not parse or does not match the schema.
    #[error("{0}")]
    Invalid(String),
    /// A `${VAR}` names an unset variable.
    #[error("environment variable {var} is not set (used by {key})")]
    MissingVar {
        /// The variable.
        var: String,
        /// The config key whose value used it.
        key: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Where the queue lives.
    pub redis: RedisConfig,
    /// The worker runtime.
    pub worker: WorkerConfig,
    /// The retry policy.
    pub retry: RetryConfig,
    /// The per-account circuit breaker (provider outages).
    pub circuit: CircuitConfig,
    /// The audit stream.
    pub audit: AuditConfig,
    /// The dead-letter set.
    pub dlq: DlqConfig,
    /// Submitted campaigns.
    pub campaigns: CampaignsConfig,
    /// How an account's calls are shared between its lanes.
    pub lanes: LanesConfig,
    /// Enqueueing.
    pub producer: ProducerConfig,
    /// Named provider accounts.
    pub accounts: BTreeMap<String, Account>,
    /// Cron schedules (`[[schedules]]`), each a job template.
    pub schedules: Vec<ScheduleConfig>,
    /// The HTTP API (`deleteq serve`); the defaults without the section (no tokens: the server refuses to start).
    pub api: ApiConfig,
    /// The worker's metrics and health server (`[metrics]`); none without the section.
    pub metrics: Option<MetricsConfig>,
    /// How log lines are written (`[log]`).
    pub log: LogConfig,
    /// Where `worker` and `serve` export their spans (`[telemetry]`); nowhere by default.
    pub telemetry: TelemetryConfig,
    /// The fields whose `${VAR}` was unset and that the loading command does not use ([`Needs`]): empty when
    /// loaded with [`Needs::ALL`]. An unresolved credential is a [`Secret::unresolved`]; an unresolved API token is
    /// left out of `api.tokens`.
    pub unresolved: Vec<Unresolved>,
}

/// Which fields' `${VAR}`s a command needs resolved; the others may name unset variables (DESIGN §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// The accounts' credentials (`api_key`, `token`, `client_key`, `connection_id`): only a worker calls providers.
    pub provider_secrets: bool,
    /// `[api] tokens`: only `deleteq serve` checks them.
    pub api_tokens: bool,
}

impl Needs {
    /// Every variable must be set (the library default: [`Config::from_toml`]).
    pub const ALL: Needs = Needs { provider_secrets: true, api_tokens: true };
    /// A worker: the providers' credentials, not the API tokens.
    pub const WORKER: Needs = Needs { provider_secrets: true, api_tokens: false };
    /// The HTTP API: its tokens, not the providers' credentials.
    pub const SERVER: Needs = Needs { provider_secrets: false, api_tokens: true };
    /// A producer or an operator command (enqueue, campaigns, reports, `config check`): neither.
    pub const PRODUCER: Needs = Needs { provider_secrets: false, api_tokens: false };
}

/// The file as written; accounts are checked per kind when it becomes a [`Config`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    redis: RedisConfig,
    #[serde(default)]
    worker: WorkerConfig,
    #[serde(default)]
    retry: RetryConfig,
    #[serde(default)]
    circuit: CircuitConfig,
    #[serde(default)]
    audit: AuditConfig,
    #[serde(default)]
    dlq: DlqConfig,
    #[serde(default)]
    campaigns: CampaignsConfig,
    #[serde(default)]
    lanes: LanesConfig,
    #[serde(default)]
    producer: ProducerConfig,
    #[serde(default)]
    accounts: BTreeMap<String, account::RawAccount>,
    #[serde(default)]
    schedules: Vec<ScheduleConfig>,
    #[serde(default)]
    api: Option<api::RawApi>,
    #[serde(default)]
    metrics: Option<RawMetrics>,
    #[serde(default)]
    log: LogConfig,
    #[serde(default)]
    telemetry: TelemetryConfig,
}

/// `[metrics]` as written; `addr` is checked when it becomes a [`MetricsConfig`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    addr: Option<String>,
}

/// `[metrics]`: where a worker serves `/metrics`, `/healthz` and `/readyz` (DESIGN §8). Absent, a worker serves
/// nothing, so several workers can share a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// The socket address to listen on, e.g. `127.0.0.1:9464`.
    pub addr: std::net::SocketAddr,
}

impl RawMetrics {
    fn into_config(self) -> Result<MetricsConfig, ConfigError> {
        let addr = self
            .addr
            .ok_or_else(|| ConfigError::Invalid("metrics.addr is required (e.g. \"127.0.0.1:9464\")".into()))?;
        let addr = addr.parse().map_err(|_| {
            ConfigError::Invalid(format!(
                "metrics.addr {addr:?} is not a socket address (host:port, e.g. \"127.0.0.1:9464\")"
            ))
        })?;
        Ok(MetricsConfig { addr })
    }
}

/// `[redis]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// `redis://` or `rediss://` URL, or a list of seed nodes with `cluster = true`; `REDIS_URL` overrides it.
    /// Secret because it may carry a password.
    pub url: RedisUrl,
    /// Key prefix; every key of shard `i` is hash-tagged `{prefix:i}` (`{prefix}` with one shard), so each shard
    /// lives in one Cluster slot.
    pub prefix: String,
    /// Independent queue shards (DESIGN §8), each its own slot: more shards spread one queue over a cluster.
    pub shards: u32,
    /// Connect with the cluster client.
    pub cluster: bool,
    /// Replicas every enqueue and ack waits for (`WAIT`) before it counts as done; 0 = none (a failover may lose
    /// the last writes the replicas had not received). On a Redis Cluster the wait goes to the node of the shard.
    pub wait_replicas: u32,
    /// How long an enqueue or ack waits for `wait_replicas` replicas. An enqueue not confirmed in time is
    /// reported as unsettled (stored on the primary only); an ack is logged and goes on (its call was made).
    #[serde(with = "serde_duration")]
    pub wait_timeout: Duration,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: RedisUrl::new("redis://127.0.0.1:6379"),
            prefix: "deleteq".into(),
            shards: 1,
            cluster: false,
            wait_replicas: 0,
            wait_timeout: Duration::from_secs(1),
        }
    }
}

/// `[worker]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerConfig {
    /// Provider calls in flight at once per worker process.
    pub concurrency: usize,
    /// How long a leased job is reserved; a killed worker's jobs run again after at most this long.
    #[serde(with = "serde_duration")]
    pub lease: Duration,
    /// On SIGTERM, how long in-flight calls may take before the rest return to the queue.
    #[serde(with = "serde_duration")]
    pub shutdown_grace: Duration,
    /// The rate horizon: a rate-limit wait up to this long is slept in the call slot, and a paced account's jobs
    /// are leased at most this far ahead of its rate; a job whose slot would be later goes back to the front of
    /// its lane holding nothing (DESIGN §6: no job holds a slot more than about a second ahead).
    #[serde(with = "serde_duration")]
    pub rate_wait: Duration,
    /// A job whose worker died holding it this many times (its lease expired and it was reclaimed) ends `dead`
    /// without another call: a job that crashes every worker must not be retried forever.
    pub max_reclaims: u32,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            concurrency: 64,
            lease: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
            rate_wait: Duration::from_millis(250),
            max_reclaims: 5,
        }
    }
}

/// `[circuit]`: when repeated server-side failures of one account (5xx, timeouts) stop its calls for a while.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CircuitConfig {
    /// Failures within `window`, across every worker, that open the circuit.
    pub failures: u32,
    /// The window failures are counted in.
    #[serde(with = "serde_duration")]
    pub window: Duration,
    /// The first opening; each next one lasts twice as long.
    #[serde(with = "serde_duration")]
    pub open_for: Duration,
    /// The longest opening.
    #[serde(with = "serde_duration")]
    pub max_open_for: Duration,
    /// Quiet time after which openings start short again.
    #[serde(with = "serde_duration")]
    pub calm: Duration,
}

impl Default for CircuitConfig {
    fn default() -> Self {
        CircuitConfig {
            failures: 20,
            window: Duration::from_secs(10),
            open_for: Duration::from_secs(5),
            max_open_for: Duration::from_secs(300),
            calm: Duration::from_secs(600),
        }
    }
}

/// `[retry]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Provider calls a job may make before it is `dead`.
    pub max_attempts: u32,
    /// The first backoff step.
    #[serde(with = "serde_duration")]
    pub initial_backoff: Duration,
    /// The cap of any one backoff step.
    #[serde(with = "serde_duration")]
    pub max_backoff: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig { max_attempts: 8, initial_backoff: Duration::from_secs(1), max_backoff: Duration::from_secs(600) }
    }
}

/// `[audit]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Approximate bound of the audit stream (`XADD MAXLEN ~`).
    pub max_len: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig { max_len: 10_000_000 }
    }
}

/// `[dlq]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DlqConfig {
    /// Dead letters kept at most; the oldest go first.
    pub max_len: u64,
    /// Dead letters older than this are dropped.
    #[serde(with = "serde_duration")]
    pub max_age: Duration,
}

impl Default for DlqConfig {
    fn default() -> Self {
        DlqConfig { max_len: 1_000_000, max_age: Duration::from_secs(90 * 86_400) }
    }
}

/// `[campaigns]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CampaignsConfig {
    /// A finished campaign (every message terminal) is deleted this long after it finished: its description,
    /// counters and cancellation mark. Its audit records stay (the stream has its own bound).
    #[serde(with = "serde_duration")]
    pub retention: Duration,
}

impl Default for CampaignsConfig {
    fn default() -> Self {
        CampaignsConfig { retention: Duration::from_secs(30 * 86_400) }
    }
}

/// `[producer]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProducerConfig {
    /// How long an `idempotency_key` is remembered: a second enqueue with it within this time returns the first
    /// job's id and enqueues nothing.
    #[serde(with = "serde_duration")]
    pub idempotency_retention: Duration,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig { idempotency_retention: Duration::from_secs(24 * 3600) }
    }
}

/// One `[[schedules]]` entry as written; [`Schedule::parse`] makes it usable, and loading the config checks that it
/// parses and that its job template is valid like any job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Unique name, part of the once-per-tick marker.
    pub name: String,
    /// Five or six cron fields.
    pub cron: String,
    /// IANA time zone; UTC when absent.
    #[serde(default)]
    pub timezone: Option<String>,
    /// The job template.
    pub job: toml::Table,
    /// How far back a missed tick is still fired.
    #[serde(default, with = "crate::duration::serde_opt_duration")]
    pub catch_up: Option<Duration>,
}

impl Config {
    /// Parses a TOML configuration, expanding every `${VAR}` through `lookup` (each must be set).
    pub fn from_toml(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        Config::from_toml_for(text, lookup, Needs::ALL)
    }

    /// [`Config::from_toml`] for a command that needs only some fields' variables: an unset one elsewhere leaves
    /// its field unresolved (listed in [`Config::unresolved`]); everything else is checked as always.
    pub fn from_toml_for(
        text: &str,
        lookup: impl Fn(&str) -> Option<String>,
        needs: Needs,
    ) -> Result<Config, ConfigError> {
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        let mut expander = env::Expander::new(&lookup, needs);
        expander.expand_table(&mut table, "")?;
        let unresolved = expander.unresolved;
        let raw: RawConfig = toml::Value::Table(table).try_into().map_err(|e| type_error(text, &e))?;
        let var_of = |key: String| unresolved.iter().find(|u| u.key == key).map(|u| u.var.clone());
        let mut accounts = BTreeMap::new();
        for (name, account) in raw.accounts {
            let account = account
                .into_account(&name, &|field| var_of(format!("accounts.{name}.{field}")))
                .map_err(ConfigError::Invalid)?;
            accounts.insert(name, account);
        }
        let config = Config {
            redis: raw.redis,
            worker: raw.worker,
            retry: raw.retry,
            circuit: raw.circuit,
            audit: raw.audit,
            dlq: raw.dlq,
            campaigns: raw.campaigns,
            lanes: raw.lanes,
            producer: raw.producer,
            accounts,
            schedules: raw.schedules,
            api: raw
                .api
                .map(|a| a.into_config(&|i| var_of(format!("api.tokens[{i}]")).is_some()))
                .transpose()?
                .unwrap_or_default(),
            metrics: raw.metrics.map(RawMetrics::into_config).transpose()?,
            log: raw.log,
            telemetry: raw.telemetry,
            unresolved,
        };
        config.check()?;
        Ok(config)
    }

    /// Whether every `${VAR}` was resolved (always so for [`Needs::ALL`]).
    pub fn fully_resolved(&self) -> bool {
        self.unresolved.is_empty()
    }

    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if self.worker.concurrency == 0 {
            return invalid("worker.concurrency must be at least 1".into());
        }
        if self.worker.lease < Duration::from_secs(1) {
            return invalid("worker.lease must be at least 1s".into());
        }
        if self.worker.max_reclaims == 0 {
            return invalid("worker.max_reclaims must be at least 1".into());
        }
        if self.circuit.failures == 0 || self.circuit.window.is_zero() || self.circuit.open_for.is_zero() {
            return invalid("circuit.failures, circuit.window and circuit.open_for must be above zero".into());
        }
        if self.circuit.max_open_for < self.circuit.open_for {
            return invalid("circuit.max_open_for must be at least circuit.open_for".into());
        }
        if self.retry.max_attempts == 0 {
            return invalid("retry.max_attempts must be at least 1".into());
        }
        if self.campaigns.retention < Duration::from_secs(60) {
            return invalid(format!(
                "campaigns.retention = {} ms: must be at least 1 minute",
                self.campaigns.retention.as_millis()
            ));
        }
        self.lanes.check().map_err(ConfigError::Invalid)?;
        self.telemetry.check().map_err(ConfigError::Invalid)?;
        if self.redis.wait_replicas > 16 {
            return invalid(format!("redis.wait_replicas = {}: must be between 0 and 16", self.redis.wait_replicas));
        }
        let wait_ms = self.redis.wait_timeout.as_millis();
        if self.redis.wait_replicas > 0 && !(1..=60_000).contains(&wait_ms) {
            return invalid(format!(
                "redis.wait_timeout = {wait_ms} ms: must be between 1 ms and 60 s when redis.wait_replicas is set"
            ));
        }
        if !(1..=1024).contains(&self.redis.shards) {
            return invalid(format!("redis.shards = {}: must be between 1 and 1024", self.redis.shards));
        }
        if self.redis.url.is_empty() {
            return invalid("redis.url: no URL given".into());
        }
        if self.redis.url.len() > 1 && !self.redis.cluster {
            return invalid("redis.url: a list of seed nodes needs redis.cluster = true".into());
        }
        if self.redis.prefix.is_empty() || self.redis.prefix.contains(['{', '}']) {
            return invalid("redis.prefix must be non-empty and contain no braces".into());
        }
        let mut names = std::collections::HashSet::new();
        for schedule in &self.schedules {
            let parsed = Schedule::parse(schedule).map_err(|e| ConfigError::Invalid(e.to_string()))?;
            let name = &schedule.name;
            if !names.insert(name.as_str()) {
                return invalid(format!("schedules \"{name}\": name: appears twice"));
            }
            let retention = self.producer.idempotency_retention;
            if parsed.catch_up.is_some_and(|c| c > retention) {
                // The tick marker is the idempotency key: past its retention a catch-up could fire a tick again.
                return invalid(format!(
                    "schedules \"{name}\": catch_up: must not exceed producer.idempotency_retention ({}s)",
                    retention.as_secs()
                ));
            }
            let bad = |e: String| ConfigError::Invalid(format!("schedules \"{}\": job {e}", schedule.name));
            let value = serde_json::to_value(&schedule.job).map_err(|e| bad(e.to_string()))?;
            let job = crate::Job::from_value(value).map_err(|e| bad(e.to_string()))?;
            crate::validate::validate(&job, self).map_err(|e| bad(e.to_string()))?;
        }
        Ok(())
    }

    /// The `[[schedules]]`, parsed. Loading the config has checked them, so this fails only for a `Config` built
    /// by hand.
    pub fn parse_schedules(&self) -> Result<Vec<Schedule>, ScheduleError> {
        self.schedules.iter().map(Schedule::parse).collect()
    }
}

/// A schema error (a wrong type, an unknown key) as `KEY (line N): what`: the key from the expanded table's error,
/// the line from deserializing the text as written (expanding `${VAR}` changes no type, so both fail alike). The
/// line's text is not quoted: it may hold a credential.
fn type_error(text: &str, error: &toml::de::Error) -> ConfigError {
    // Display is "WHAT\nin `KEY`" for a table deserialized from a value (`message()` leaves the key out).
    let shown = error.to_string();
    let message = shown.trim_end();
    let (what, key) = match message.rsplit_once("\nin `") {
        Some((what, key)) => (what.trim_end(), Some(key.trim_end_matches('`'))),
        None => (message, None),
    };
    let line = toml::from_str::<RawConfig>(text)
        .err()
        .and_then(|e| e.span())
        .map(|span| text.get(..span.start).map_or(0, |before| before.matches('\n').count()) + 1);
    ConfigError::Invalid(match (key, line) {
        (Some(key), Some(line)) => format!("{key} (line {line}): {what}"),
        (Some(key), None) => format!("{key}: {what}"),
        (None, Some(line)) => format!("line {line}: {what}"),
        (None, None) => what.to_string(),
    })
}

#[cfg(test)]
mod tests;
