//! [`Queue`]: one queue in Redis, its connection, its shards' keys and its scripts, and what every call shares
//! (the accessors, readiness checks, waiting for replicas).
//!
//! The calls are grouped by who makes them: the worker's (`queue/worker.rs`: lease, hold, ack, reschedule,
//! release, expand, promote and reclaim, the waiter) and the producer's (`queue/producer.rs`: enqueue); the
//! other modules hold one concern each with its types and calls (see the crate's layout). Each call is one round
//! trip for a whole batch; the KEYS and ARGV of each script are built in `script/` only.

mod producer;
mod worker;

use crate::connection::{Conn, RedisTarget};
use crate::keys::Keys;
use crate::script::Scripts;
use crate::Result;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

// The paths these had when they lived here.
pub use crate::job::{Ack, Expand, Lease, LeaseBatch, Leased, NewJob, PaceHints, Reschedule};
pub use crate::options::{Paced, QueueOptions};
pub use crate::script::enqueue::BATCH_MARKER_TTL;
pub use crate::stored::UNREADABLE;
pub use crate::waiter::Waiter;

/// One queue in Redis, split into `shards` independent shards; cheap to clone (one multiplexed,
/// self-reconnecting connection shared by all clones).
#[derive(Clone)]
pub struct Queue {
    conn: Conn,
    shards: Arc<Vec<Keys>>,
    scripts: Arc<Scripts>,
    options: Arc<QueueOptions>,
    target: RedisTarget,
    /// The shard the next lease starts at (round robin).
    next_shard: Arc<AtomicUsize>,
}

impl Queue {
    /// Connects (one attempt; callers that must survive an outage retry).
    pub async fn connect(target: &RedisTarget, options: QueueOptions) -> Result<Queue> {
        let conn = target.manager().await?;
        let count = options.shards.max(1);
        let shards = (0..count).map(|i| Keys::shard(&options.prefix, i, count)).collect();
        Ok(Queue {
            conn,
            shards: Arc::new(shards),
            scripts: Arc::new(Scripts::new()),
            options: Arc::new(options),
            target: target.clone(),
            next_shard: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The key schema of the first shard (the only one with `shards = 1`); campaign descriptions live there.
    pub fn keys(&self) -> &Keys {
        &self.shards[0]
    }

    /// The key schema of shard `i` (clamped to the shards there are).
    pub fn shard_keys(&self, i: usize) -> &Keys {
        &self.shards[i.min(self.shards.len() - 1)]
    }

    /// How many shards the queue has.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Every shard's keys, with its index.
    pub(crate) fn all_shards(&self) -> impl Iterator<Item = (usize, &Keys)> {
        self.shards.iter().enumerate()
    }

    /// The shard a new job goes to: a stable hash of its idempotency key if it has one (so a repeated key meets
    /// the first one's marker), else of its id.
    pub fn shard_of(&self, job: &NewJob) -> usize {
        crate::shard::shard_of(job, self.shards.len())
    }

    /// Where Redis is, as it may be shown: host and port, never the password.
    pub fn redacted_target(&self) -> &str {
        self.target.redacted()
    }

    /// Whether the queue runs on a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        self.target.is_cluster()
    }

    /// A raw connection for read-only inspection.
    pub(crate) fn conn(&self) -> Conn {
        self.conn.clone()
    }

    /// The scripts, for the other modules of this crate.
    pub(crate) fn scripts(&self) -> &Scripts {
        &self.scripts
    }

    /// The key prefix.
    pub(crate) fn prefix(&self) -> &str {
        &self.options.prefix
    }

    /// The audit stream bound.
    pub(crate) fn audit_max_len(&self) -> u64 {
        self.options.audit_max_len
    }

    /// How long a finished campaign is kept.
    pub fn campaign_retention(&self) -> Duration {
        self.options.campaign_retention
    }

    /// The dead-letter set's bounds: its max len and max age.
    pub(crate) fn dead_bounds(&self) -> (u64, Duration) {
        (self.options.dead_max_len, self.options.dead_max_age)
    }

    /// Round trip to Redis, for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }

    /// Puts every script into Redis's script cache unless it is there already (one `SCRIPT EXISTS`, then a
    /// `SCRIPT LOAD` per missing one, e.g. after Redis restarted empty), for readiness checks: once this
    /// succeeds, the next `EVALSHA` of any script finds it.
    pub async fn load_scripts(&self) -> Result<()> {
        let scripts = self.scripts.all();
        let mut exists = redis::cmd("SCRIPT");
        exists.arg("EXISTS");
        for script in &scripts {
            exists.arg(script.get_hash());
        }
        let mut conn = self.conn.clone();
        let present: Vec<bool> = exists.query_async(&mut conn).await?;
        for (script, present) in scripts.iter().zip(present) {
            if !present {
                script.load_async(&mut conn).await?;
            }
        }
        Ok(())
    }

    /// Waits (`WAIT`) for the configured replicas to have every write made so far on the connection to shard
    /// `shard`'s node; returns how many confirmed and how many were wanted (`(0, 0)` without `wait_replicas`).
    pub(crate) async fn wait_for_replicas(&self, shard: usize) -> Result<(u64, u64)> {
        let wanted = u64::from(self.options.wait_replicas);
        if wanted == 0 {
            return Ok((0, 0));
        }
        // A read of a shard key first routes the pipeline, WAIT with it, to the node holding the shard's slot.
        let mut pipe = redis::pipe();
        pipe.cmd("EXISTS").arg(self.shard_keys(shard).jobs()).ignore();
        pipe.cmd("WAIT").arg(wanted).arg(self.options.wait_timeout.as_millis().max(1) as u64);
        let (acked,): (u64,) = pipe.query_async(&mut self.conn.clone()).await?;
        Ok((acked, wanted))
    }
}
