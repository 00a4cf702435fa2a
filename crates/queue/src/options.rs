//! The queue's settings: [`QueueOptions`], taken from the config, and the paced accounts ([`Paced`]) that leasing
//! spaces by their rate.

use std::time::Duration;

/// Queue-wide settings.
#[derive(Debug, Clone)]
pub struct QueueOptions {
    /// Key prefix (hash tag).
    pub prefix: String,
    /// `XADD MAXLEN ~` bound of the audit stream.
    pub audit_max_len: u64,
    /// How long an idempotency key is remembered.
    pub idempotency_retention: Duration,
    /// Bound of the dead-letter set.
    pub dead_max_len: u64,
    /// Dead letters older than this are dropped.
    pub dead_max_age: Duration,
    /// Independent shards the queue is split into (DESIGN §8); 1 = one `{prefix}` slot.
    pub shards: usize,
    /// Replicas an enqueue and an ack wait for (`WAIT`), and for how long at most; 0 = none.
    pub wait_replicas: u32,
    /// How long to wait for them.
    pub wait_timeout: Duration,
    /// How long a finished campaign is kept (`[campaigns] retention`).
    pub campaign_retention: Duration,
    /// How an account's jobs are shared between its lanes.
    pub lanes: deleteq_core::config::LanesConfig,
    /// How far ahead of its account's rate a paced job is leased at most (half of `[worker] rate_wait`, the
    /// furthest a slot is reserved ahead, which leaves room for several workers' and shards' leases to overlap):
    /// the jobs beyond wait in their lanes, holding no rate-limit slot, so a later `high` job is next.
    pub horizon: Duration,
    /// The accounts with a rate limit: their name, the spacing of their calls and their burst.
    pub paced: Vec<Paced>,
}

/// An account whose calls are spaced (it has a rate limit): its jobs are leased only as their calls fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Paced {
    /// The account.
    pub account: String,
    /// The spacing of its calls at its configured rate.
    pub spacing: Duration,
    /// Calls it may make back to back.
    pub burst: u64,
}

impl QueueOptions {
    /// The options a config asks for.
    pub fn from_config(config: &deleteq_core::Config) -> Self {
        QueueOptions {
            prefix: config.redis.prefix.clone(),
            audit_max_len: config.audit.max_len,
            idempotency_retention: config.producer.idempotency_retention,
            dead_max_len: config.dlq.max_len,
            dead_max_age: config.dlq.max_age,
            shards: config.redis.shards.max(1) as usize,
            wait_replicas: config.redis.wait_replicas,
            wait_timeout: config.redis.wait_timeout,
            campaign_retention: config.campaigns.retention,
            lanes: config.lanes,
            horizon: config.worker.rate_wait / 2,
            paced: config
                .accounts
                .iter()
                .filter_map(|(name, account)| {
                    let limit = account.effective_rate_limit()?;
                    Some(Paced { account: name.clone(), spacing: limit.interval(), burst: limit.burst.max(1) })
                })
                .collect(),
        }
    }
}
