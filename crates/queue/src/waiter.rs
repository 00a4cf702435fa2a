//! [`Waiter`]: an idle worker blocking until work may be ready, on connections of its own.

use crate::connection::{Conn, RedisTarget};
use crate::Result;
use std::time::Duration;

/// Blocks an idle worker on the wake lists, on connections of its own: one `BLPOP` over every shard's list on a
/// single node; on a Redis Cluster, where one command cannot span slots, one `BLPOP` per shard at once. Made by
/// [`crate::Queue::waiter`].
pub struct Waiter {
    target: RedisTarget,
    keys: Vec<String>,
    conns: Vec<Conn>,
}

impl Waiter {
    /// A waiter on the wake lists `keys` (one per shard); it connects when it first waits.
    pub(crate) fn new(target: RedisTarget, keys: Vec<String>) -> Self {
        Waiter { target, keys, conns: Vec::new() }
    }

    /// Waits up to `block` for a wake token; `Ok(true)` when woken.
    pub async fn wait(&mut self, block: Duration) -> Result<bool> {
        let needed = if self.target.is_cluster() { self.keys.len() } else { 1 };
        while self.conns.len() < needed {
            let conn = self.target.blocking(Duration::from_secs(5)).await?;
            self.conns.push(conn);
        }
        let reply = if self.target.is_cluster() {
            let waits = self.conns.iter_mut().zip(&self.keys).map(|(conn, key)| {
                Box::pin(async move {
                    redis::cmd("BLPOP")
                        .arg(key)
                        .arg(block.as_secs_f64())
                        .query_async::<Option<(String, String)>>(conn)
                        .await
                })
            });
            futures_util::future::select_all(waits).await.0
        } else {
            redis::cmd("BLPOP").arg(&self.keys).arg(block.as_secs_f64()).query_async(&mut self.conns[0]).await
        };
        match reply {
            Ok(token) => Ok(token.is_some()),
            Err(e) => {
                self.conns.clear();
                Err(e.into())
            }
        }
    }
}
