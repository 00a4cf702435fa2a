//! Connecting to Redis, a single node or a Redis Cluster, with explicit timeouts. redis-rs defaults to a 500 ms
//! response timeout, shorter than a big batch script may take; and a blocking wait needs a connection of its own,
//! or it would stall every other call multiplexed on the same one.

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{AsyncConnectionConfig, Cmd, Pipeline, RedisFuture, Value};
use std::time::Duration;

/// How long one command may take before it fails (and is retried by the caller).
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long establishing a connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Where Redis is. URLs may hold a password, so they are never printed whole: see [`RedisTarget::redacted`].
#[derive(Clone)]
pub struct RedisTarget {
    kind: Kind,
    shown: String,
}

#[derive(Clone)]
enum Kind {
    Single(Box<redis::Client>),
    /// Seed nodes; the client learns the rest of the cluster from them.
    Cluster(Vec<redis::ConnectionInfo>),
}

/// A connection to either kind of deployment; cheap to clone, reconnecting by itself.
#[derive(Clone)]
pub enum Conn {
    /// One node, through a self-reconnecting manager.
    Single(ConnectionManager),
    /// One node, multiplexed without reconnection (blocking waits; dropped and remade on error).
    Blocking(MultiplexedConnection),
    /// A Redis Cluster: each command goes to the master of its key's slot, following MOVED/ASK and failovers.
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Blocking(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Blocking(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Blocking(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

impl RedisTarget {
    /// Parses a `redis://` or `rediss://` URL of a single node (user and password for ACLs may be in it).
    pub fn new(url: &str) -> crate::Result<Self> {
        let client = redis::Client::open(url)?;
        let shown = format!("{}", client.get_connection_info().addr());
        Ok(RedisTarget { kind: Kind::Single(Box::new(client)), shown })
    }

    /// Seed nodes of a Redis Cluster (`redis://` or `rediss://` URLs).
    pub fn cluster(urls: &[String]) -> crate::Result<Self> {
        let nodes = urls.iter().map(|u| redis::IntoConnectionInfo::into_connection_info(u.as_str()));
        let nodes: Vec<redis::ConnectionInfo> = nodes.collect::<redis::RedisResult<_>>()?;
        if nodes.is_empty() {
            return Err(crate::QueueError::Protocol("no cluster seed nodes".into()));
        }
        let shown = format!("cluster via {}", nodes.iter().map(|n| n.addr().to_string()).collect::<Vec<_>>().join(","));
        Ok(RedisTarget { kind: Kind::Cluster(nodes), shown })
    }

    /// The deployment `[redis]` describes: the cluster client on its seed nodes with `cluster = true`, else the
    /// single node at `url`.
    pub fn from_config(redis: &deleteq_core::config::RedisConfig) -> crate::Result<Self> {
        if redis.cluster {
            RedisTarget::cluster(&redis.url.all())
        } else {
            RedisTarget::new(redis.url.expose())
        }
    }

    /// Whether this is a Redis Cluster (no cross-slot transactions; one blocking wait per shard).
    pub fn is_cluster(&self) -> bool {
        matches!(self.kind, Kind::Cluster(_))
    }

    /// Hosts and ports only, for logs.
    pub fn redacted(&self) -> &str {
        &self.shown
    }

    /// A self-reconnecting connection for ordinary commands.
    pub async fn manager(&self) -> crate::Result<Conn> {
        match &self.kind {
            Kind::Single(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_response_timeout(Some(RESPONSE_TIMEOUT))
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_number_of_retries(2)
                    .set_max_delay(Duration::from_secs(2));
                Ok(Conn::Single(client.get_connection_manager_with_config(config).await?))
            }
            Kind::Cluster(nodes) => Ok(Conn::Cluster(cluster_connection(nodes, RESPONSE_TIMEOUT).await?)),
        }
    }

    /// A connection for blocking commands, whose response timeout is above `block`.
    pub async fn blocking(&self, block: Duration) -> crate::Result<Conn> {
        match &self.kind {
            Kind::Single(client) => {
                let config = AsyncConnectionConfig::new()
                    .set_response_timeout(Some(block + RESPONSE_TIMEOUT))
                    .set_connection_timeout(Some(CONNECT_TIMEOUT));
                Ok(Conn::Blocking(client.get_multiplexed_async_connection_with_config(&config).await?))
            }
            Kind::Cluster(nodes) => Ok(Conn::Cluster(cluster_connection(nodes, block + RESPONSE_TIMEOUT).await?)),
        }
    }
}

async fn cluster_connection(nodes: &[redis::ConnectionInfo], response: Duration) -> crate::Result<ClusterConnection> {
    let client = ClusterClient::builder(nodes.to_vec())
        .connection_timeout(CONNECT_TIMEOUT)
        .response_timeout(response)
        .retries(6)
        .build()?;
    Ok(client.get_async_connection().await?)
}

impl std::fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisTarget({})", self.shown)
    }
}
