//! The one way to connect to a config's queue: resolve the Redis target (`[redis] url`, `cluster`), connect, and
//! check with a `PING` that Redis answers. Every caller uses it: the producer library, the operator layer (CLI and
//! `serve`) once, and the worker in its retry loop. Errors name the target redacted (host and port, never the
//! password).

use crate::connection::RedisTarget;
use crate::options::QueueOptions;
use crate::queue::Queue;
use crate::QueueError;
use deleteq_core::Config;

/// Why [`open`] did not give a queue.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// `[redis] url` does not name a Redis: a config error, never worth retrying.
    #[error("redis.url: {0}")]
    Target(#[source] QueueError),
    /// No connection could be made.
    #[error("cannot reach Redis at {target}: {source}")]
    Unreachable {
        /// Host and port (never the password).
        target: String,
        /// What failed.
        #[source]
        source: QueueError,
    },
    /// Connected, but `PING` failed (wrong password, a loading or overloaded server, …).
    #[error("Redis at {target} does not answer: {source}")]
    NoAnswer {
        /// Host and port (never the password).
        target: String,
        /// What failed.
        #[source]
        source: QueueError,
    },
}

impl ConnectError {
    /// Whether the config is at fault (exit 2), not Redis (exit 1, or retry).
    pub fn is_config(&self) -> bool {
        match self {
            ConnectError::Target(_) => true,
            ConnectError::Unreachable { .. } | ConnectError::NoAnswer { .. } => false,
        }
    }

    /// The Redis error underneath.
    pub fn into_source(self) -> QueueError {
        match self {
            ConnectError::Target(source)
            | ConnectError::Unreachable { source, .. }
            | ConnectError::NoAnswer { source, .. } => source,
        }
    }
}

/// Connects to the queue `config` names and checks that Redis answers (one attempt: a caller that must survive an
/// outage calls it again).
pub async fn open(config: &Config) -> Result<Queue, ConnectError> {
    let target = RedisTarget::from_config(&config.redis).map_err(ConnectError::Target)?;
    let shown = || target.redacted().to_string();
    let queue = Queue::connect(&target, QueueOptions::from_config(config))
        .await
        .map_err(|source| ConnectError::Unreachable { target: shown(), source })?;
    queue.ping().await.map_err(|source| ConnectError::NoAnswer { target: shown(), source })?;
    Ok(queue)
}

/// [`open`], again and again until Redis answers: after the `n`-th failure it waits 100 ms doubled `n` times, at
/// most `max_delay`, and tells `failed(n, &error)` first (to log). A config that names no Redis
/// ([`ConnectError::Target`]) is returned at once: no retry can fix it. For the worker and `serve`, which wait out
/// a Redis outage at startup instead of exiting.
pub async fn open_retrying(
    config: &Config,
    max_delay: std::time::Duration,
    mut failed: impl FnMut(u32, &ConnectError),
) -> Result<Queue, ConnectError> {
    let mut failures: u32 = 0;
    loop {
        match open(config).await {
            Ok(queue) => return Ok(queue),
            Err(error @ ConnectError::Target(_)) => return Err(error),
            Err(error) => {
                failures = failures.saturating_add(1);
                failed(failures, &error);
                let delay = std::time::Duration::from_millis(100u64.saturating_mul(1 << failures.min(6)));
                tokio::time::sleep(delay.min(max_delay)).await;
            }
        }
    }
}
