//! `status --json` and `GET /v1/status`: queue depths in total and per shard, and per account its queued, leased,
//! scheduled, parked and dead jobs, configured and effective rate, slow-down, the provider's reported budget,
//! parking, circuit, and outcome counts over the latest audit records.

use super::schedules::{schedules_at, ScheduleReport};
use deleteq_core::Config;
use deleteq_queue::circuit::CircuitPolicy;
use deleteq_queue::inspect::Depths;
use deleteq_queue::{Queue, QueueError};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;

/// Audit records looked at for each account's `recent` outcome counts. Reading them holds Redis for about 1.3 µs
/// a record (17 fields each), and `status` is what dashboards poll: 10,000 held it some 13 ms per call.
pub const RECENT: usize = 2_000;

/// Ids waiting per lane (DESIGN §6): per account, `high` goes before `normal`, `normal` before `low`.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
pub struct LaneDepths {
    /// Unsends and erasure requests.
    pub high: u64,
    /// The default.
    pub normal: u64,
    /// Bulk work (campaigns by default).
    pub low: u64,
}

impl LaneDepths {
    fn add(&mut self, lane: deleteq_core::Priority, n: u64) {
        match lane {
            deleteq_core::Priority::High => self.high += n,
            deleteq_core::Priority::Normal => self.normal += n,
            deleteq_core::Priority::Low => self.low += n,
        }
    }
}

/// The whole queue at one moment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusReport {
    /// Ids ready to run (waiting in the lanes).
    pub queued: u64,
    /// Of those, per lane.
    pub lanes: LaneDepths,
    /// Jobs leased by workers.
    pub leased: u64,
    /// Jobs waiting for their time (`run_at` or a retry).
    pub scheduled: u64,
    /// Dead letters.
    pub dead: u64,
    /// Unfinished jobs stored.
    pub jobs: u64,
    /// Records the audit stream keeps.
    pub audit_records: u64,
    /// Each configured account, by name.
    pub accounts: BTreeMap<String, AccountStatus>,
    /// Each `[[schedules]]` entry with its next fire time.
    pub schedules: Vec<ScheduleReport>,
    /// Each shard's depths, by shard index (one entry with `[redis] shards = 1`); they add up to the totals.
    pub shards: Vec<ShardStatus>,
}

/// One shard's depths.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShardStatus {
    /// Its index, 0 to `[redis] shards` - 1.
    pub shard: usize,
    /// Ids in its ready list.
    pub queued: u64,
    /// Its jobs leased by workers.
    pub leased: u64,
    /// Its jobs waiting for their time.
    pub scheduled: u64,
    /// Its dead letters.
    pub dead: u64,
    /// Its unfinished jobs stored.
    pub jobs: u64,
    /// Records its audit stream keeps.
    pub audit_records: u64,
}

/// One account's share of the queue and its limits.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountStatus {
    /// Its provider kind.
    pub provider: String,
    /// Unfinished jobs: queued, leased, scheduled or parked.
    pub pending: u64,
    /// Of the queued, the ids waiting in each lane.
    pub lanes: LaneDepths,
    /// Of those, ready to run.
    pub queued: u64,
    /// Of those, leased by workers.
    pub leased: u64,
    /// Of those, waiting for their time.
    pub scheduled: u64,
    /// Its dead letters.
    pub dead: u64,
    /// Calls per second it is held to now: its limit divided by the slow-down, capped by what is left of the
    /// provider's reported budget until its reset; null when unlimited.
    pub rate_per_s: Option<f64>,
    /// Calls per second its `rate_limit` allows; null when unlimited.
    pub configured_rate_per_s: Option<f64>,
    /// How much 429s have slowed it down (1 = not at all).
    pub slow_down: f64,
    /// The rate-limit budget the provider last reported on a response; null when none was (or unlimited).
    pub provider_budget: Option<ProviderBudgetReport>,
    /// Why and since when it is parked; null when it is not.
    pub parked: Option<ParkedReport>,
    /// Jobs set aside while it is parked.
    pub parked_jobs: u64,
    /// How long its circuit stays open (ms); 0 when closed.
    pub circuit_open_ms: u64,
    /// Outcome counts over the latest audit records; null when it has none among them.
    pub recent: Option<BTreeMap<String, u64>>,
}

/// What the provider last reported about the account's rate-limit window.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProviderBudgetReport {
    /// Calls per window, when the provider says.
    pub limit: Option<u64>,
    /// Calls left in the window, as reported.
    pub remaining: u64,
    /// Of those, not yet handed out to workers.
    pub left: u64,
    /// Until the window resets (ms); 0 once it has (the budget no longer holds the account back).
    pub reset_ms: u64,
    /// When it was reported (ms since the epoch, Redis's clock).
    pub observed_at: u64,
    /// The provider's window length (ms), once learnt from two resets; null before.
    pub window_ms: Option<u64>,
}

/// A parked account's reason.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParkedReport {
    /// The provider's reason.
    pub reason: String,
    /// Since when (ms since the epoch).
    pub since_ms: u64,
}

/// Reads the status of the queue and of every account `config` names.
pub(crate) async fn status_report(queue: &Queue, config: &Config) -> Result<StatusReport, QueueError> {
    // The totals are the shards' sum, read once (`Queue::depths` would read every shard again).
    let mut d = Depths::default();
    let mut shards = Vec::with_capacity(queue.shard_count());
    for shard in 0..queue.shard_count() {
        let depths = queue.shard_depths(shard).await?;
        shards.push(ShardStatus {
            shard,
            queued: depths.ready,
            leased: depths.leased,
            scheduled: depths.scheduled,
            dead: depths.dead,
            jobs: depths.jobs,
            audit_records: depths.audit,
        });
        d += depths;
    }
    let mut recent = recent_outcomes(queue).await?;
    let mut lanes = LaneDepths::default();
    let mut account_lanes: HashMap<String, LaneDepths> = HashMap::new();
    let mut in_lanes = 0;
    for ((account, lane), n) in queue.lane_depths().await? {
        lanes.add(lane, n);
        account_lanes.entry(account).or_default().add(lane, n);
        in_lanes += n;
    }
    // Ids queued before lanes wait as `normal`.
    lanes.add(deleteq_core::Priority::Normal, d.ready.saturating_sub(in_lanes));
    let depths = queue.account_depths().await?;
    let policy = CircuitPolicy::from_config(&config.circuit);
    let mut accounts = BTreeMap::new();
    for (name, account) in &config.accounts {
        let limit = account.effective_rate_limit();
        let limiter = match &limit {
            Some(limit) => Some(queue.limiter_state(name, limit).await?),
            None => None,
        };
        let budget = limiter.and_then(|l| l.budget);
        let parked = queue.account_parked(name).await?;
        let parked_jobs = queue.parked_jobs(name).await?;
        let depth = depths.get(name).copied().unwrap_or_default();
        let circuit_open = queue.circuit_open_for(name, &policy).await?;
        let status = AccountStatus {
            provider: account.provider().as_str().to_string(),
            pending: depth.pending,
            lanes: account_lanes.remove(name).unwrap_or_default(),
            queued: depth.queued(parked_jobs),
            leased: depth.leased,
            scheduled: depth.scheduled,
            dead: depth.dead,
            rate_per_s: limit.zip(limiter).map(|(l, state)| state.effective_per_second(&l)),
            configured_rate_per_s: limit.map(|l| l.per_second()),
            slow_down: limiter.map_or(1.0, |l| l.slow_down),
            provider_budget: budget.map(|b| ProviderBudgetReport {
                limit: b.limit,
                remaining: b.remaining,
                left: b.left,
                reset_ms: b.reset_in.as_millis() as u64,
                observed_at: b.observed_at_ms,
                window_ms: b.window.map(|w| w.as_millis() as u64),
            }),
            parked: parked.map(|p| ParkedReport { reason: p.reason, since_ms: p.since_ms }),
            parked_jobs,
            circuit_open_ms: circuit_open.as_millis() as u64,
            recent: recent.remove(name),
        };
        accounts.insert(name.clone(), status);
    }
    Ok(StatusReport {
        queued: d.ready,
        lanes,
        leased: d.leased,
        scheduled: d.scheduled,
        dead: d.dead,
        jobs: d.jobs,
        audit_records: d.audit,
        accounts,
        schedules: schedules_at(config, chrono::Utc::now()),
        shards,
    })
}

/// `status --json`: [`status_report`] as JSON.
pub(crate) async fn status_json(queue: &Queue, config: &Config) -> Result<Value, QueueError> {
    Ok(super::to_json(&status_report(queue, config).await?))
}

/// Outcome counts per account over the latest [`RECENT`] audit records.
async fn recent_outcomes(queue: &Queue) -> Result<HashMap<String, BTreeMap<String, u64>>, QueueError> {
    let mut counts: HashMap<String, BTreeMap<String, u64>> = HashMap::new();
    for (_, fields) in queue.audit_last(RECENT).await? {
        let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
        *counts.entry(field("account")).or_default().entry(field("outcome")).or_insert(0) += 1;
    }
    Ok(counts)
}
