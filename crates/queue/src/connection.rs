//! Connecting to Redis with explicit timeouts. redis-rs defaults to a 500 ms response timeout, shorter than a big
//! batch script may take; and a blocking wait needs a connection of its own, or it would stall every other call
//! multiplexed on the same one.

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::AsyncConnectionConfig;
use std::time::Duration;

/// How long one command may take before it fails (and is retried by the caller).
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long establishing a connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Where Redis is. The URL may hold a password, so it is never printed whole: see [`RedisTarget::redacted`].
#[derive(Clone)]
pub struct RedisTarget {
    client: redis::Client,
    shown: String,
}

impl RedisTarget {
    /// Parses a `redis://` or `rediss://` URL.
    pub fn new(url: &str) -> crate::Result<Self> {
        let client = redis::Client::open(url)?;
        let info = client.get_connection_info();
        let shown = format!("{}", info.addr());
        Ok(RedisTarget { client, shown })
    }

    /// Host and port only, for logs.
    pub fn redacted(&self) -> &str {
        &self.shown
    }

    /// A self-reconnecting connection for ordinary commands.
    pub async fn manager(&self) -> crate::Result<ConnectionManager> {
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(2));
        Ok(self.client.get_connection_manager_with_config(config).await?)
    }

    /// A connection for blocking commands, whose response timeout is above `block`.
    pub async fn blocking(&self, block: Duration) -> crate::Result<MultiplexedConnection> {
        let config = AsyncConnectionConfig::new()
            .set_response_timeout(Some(block + RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECT_TIMEOUT));
        Ok(self.client.get_multiplexed_async_connection_with_config(&config).await?)
    }
}

impl std::fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisTarget({})", self.shown)
    }
}
