//! Read-only views of a queue for `status`, `audit` and `dlq`, merged across shards.

use crate::queue::Queue;
use crate::stored::split_stored;
use crate::Result;
use std::collections::{BTreeMap, HashMap};

/// Queue depths at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Depths {
    /// Jobs stored and not finished (ready, leased, scheduled).
    pub jobs: u64,
    /// Ids waiting in the lanes (may include a few of jobs already finished).
    pub ready: u64,
    /// Jobs leased by workers.
    pub leased: u64,
    /// Jobs waiting for their time (run_at or retry).
    pub scheduled: u64,
    /// Dead letters.
    pub dead: u64,
    /// Audit records kept.
    pub audit: u64,
}

impl std::ops::AddAssign for Depths {
    fn add_assign(&mut self, other: Depths) {
        self.jobs += other.jobs;
        self.ready += other.ready;
        self.leased += other.leased;
        self.scheduled += other.scheduled;
        self.dead += other.dead;
        self.audit += other.audit;
    }
}

/// One account's share of a queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountDepths {
    /// Unfinished jobs: queued, leased, scheduled or parked.
    pub pending: u64,
    /// Of those, leased by workers.
    pub leased: u64,
    /// Of those, waiting for their time (run_at or retry).
    pub scheduled: u64,
    /// Dead letters.
    pub dead: u64,
}

impl AccountDepths {
    /// Jobs ready to run: the unfinished ones neither leased, scheduled nor among `parked`.
    pub fn queued(&self, parked: u64) -> u64 {
        self.pending.saturating_sub(self.leased + self.scheduled + parked)
    }
}

/// One audit-stream entry: its stream id and its fields in order.
pub type AuditEntry = (String, Vec<(String, String)>);

/// Where a reader of the audit streams is: the last stream id read in each shard's stream (`"-"` for none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCursor(Vec<String>);

/// One dead letter.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// The job id.
    pub id: String,
    /// When it was dead-lettered (ms).
    pub at_ms: u64,
    /// The envelope JSON, with its last error.
    pub envelope: String,
}

/// A stream id's (ms, seq), for ordering entries of several shards' streams.
fn stream_order(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

/// Merges per-shard runs of entries (each oldest first) into one, oldest first.
fn merge_entries(mut runs: Vec<Vec<AuditEntry>>) -> Vec<AuditEntry> {
    if runs.len() == 1 {
        return runs.pop().unwrap_or_default();
    }
    let mut all: Vec<AuditEntry> = runs.into_iter().flatten().collect();
    all.sort_by_key(|(id, _)| stream_order(id));
    all
}

impl Queue {
    /// Current depths of one shard, in one pipelined round trip.
    pub async fn shard_depths(&self, shard: usize) -> Result<Depths> {
        let k = self.shard_keys(shard);
        type Reply = (u64, u64, HashMap<String, i64>, u64, u64, u64, u64);
        let (jobs, legacy, lanes, leased, scheduled, dead, audit): Reply = redis::pipe()
            .hlen(k.jobs())
            .llen(k.ready())
            .hgetall(k.ready_depth())
            .zcard(k.leased())
            .zcard(k.scheduled())
            .zcard(k.dead())
            .cmd("XLEN")
            .arg(k.audit())
            .query_async(&mut self.conn())
            .await?;
        let ready = legacy + lanes.values().map(|n| (*n).max(0) as u64).sum::<u64>();
        Ok(Depths { jobs, ready, leased, scheduled, dead, audit })
    }

    /// Ids waiting in one shard's lanes, per account and lane (ids queued before lanes are not included).
    pub async fn shard_lane_depths(&self, shard: usize) -> Result<BTreeMap<(String, deleteq_core::Priority), u64>> {
        let k = self.shard_keys(shard);
        let lanes: HashMap<String, i64> =
            redis::cmd("HGETALL").arg(k.ready_depth()).query_async(&mut self.conn()).await?;
        let mut out = BTreeMap::new();
        for (field, n) in lanes {
            let Some((lane, account)) = field.split_once(':') else { continue };
            let Ok(lane) = lane.parse() else { continue };
            *out.entry((account.to_string(), lane)).or_insert(0) += n.max(0) as u64;
        }
        Ok(out)
    }

    /// Ids waiting per account and lane, summed over the shards (ids queued before lanes are not included).
    pub async fn lane_depths(&self) -> Result<BTreeMap<(String, deleteq_core::Priority), u64>> {
        let mut out = BTreeMap::new();
        for shard in 0..self.shard_count() {
            for (key, n) in self.shard_lane_depths(shard).await? {
                *out.entry(key).or_insert(0) += n;
            }
        }
        Ok(out)
    }

    /// Current depths, summed over the shards.
    pub async fn depths(&self) -> Result<Depths> {
        let mut total = Depths::default();
        for shard in 0..self.shard_count() {
            total += self.shard_depths(shard).await?;
        }
        Ok(total)
    }

    /// A cursor over every shard's audit stream, after stream id `after` in each (`"-"` for the start).
    pub fn audit_cursor(&self, after: &str) -> AuditCursor {
        AuditCursor(vec![after.to_string(); self.shard_count()])
    }

    /// Up to `count` audit entries per shard after `cursor`, merged oldest first; the cursor moves to the last
    /// entry read in each shard. Each shard's stream is followed by its own id: stream ids of different shards
    /// do not interleave in write order (another node's clock, an id allotted within the same millisecond), so
    /// one cursor over all of them would skip entries.
    pub async fn audit_next(&self, cursor: &mut AuditCursor, count: usize) -> Result<Vec<AuditEntry>> {
        let mut runs = Vec::with_capacity(self.shard_count());
        for (shard, k) in self.all_shards() {
            let after = cursor.0.get(shard).map(String::as_str).unwrap_or("-");
            let start = if after == "-" { "-".to_string() } else { format!("({after}") };
            let run: Vec<AuditEntry> = redis::cmd("XRANGE")
                .arg(k.audit())
                .arg(&start)
                .arg("+")
                .arg("COUNT")
                .arg(count)
                .query_async(&mut self.conn())
                .await?;
            if let (Some((id, _)), Some(slot)) = (run.last(), cursor.0.get_mut(shard)) {
                slot.clone_from(id);
            }
            runs.push(run);
        }
        Ok(merge_entries(runs))
    }

    /// Unfinished jobs per account (queued, leased, scheduled or parked), summed over the shards.
    pub async fn pending_by_account(&self) -> Result<HashMap<String, i64>> {
        Ok(self.account_depths().await?.into_iter().map(|(a, d)| (a, d.pending as i64)).collect())
    }

    /// Per account: unfinished jobs, and how many of them are leased or scheduled, and its dead letters; from
    /// counts the scripts keep (no scan), one round trip per shard. Parked jobs are counted by
    /// [`Queue::parked_jobs`].
    pub async fn account_depths(&self) -> Result<BTreeMap<String, AccountDepths>> {
        let mut out: BTreeMap<String, AccountDepths> = BTreeMap::new();
        for (_, k) in self.all_shards() {
            let (pending, counts): (HashMap<String, i64>, HashMap<String, i64>) =
                redis::pipe().hgetall(k.pending()).hgetall(k.counts()).query_async(&mut self.conn()).await?;
            for (account, n) in pending {
                out.entry(account).or_default().pending += n.max(0) as u64;
            }
            for (field, n) in counts {
                let Some((state, account)) = field.split_once(':') else { continue };
                let depth = out.entry(account.to_string()).or_default();
                let n = n.max(0) as u64;
                match state {
                    "leased" => depth.leased += n,
                    "scheduled" => depth.scheduled += n,
                    "dead" => depth.dead += n,
                    _ => {}
                }
            }
        }
        Ok(out)
    }

    /// Redis's clock (ms since the epoch): reports measure "lately" by it, as the scripts stamp records by it.
    pub async fn redis_time_ms(&self) -> Result<u64> {
        let (secs, micros): (u64, u64) = redis::cmd("TIME").query_async(&mut self.conn()).await?;
        Ok(secs * 1000 + micros / 1000)
    }

    /// The last `count` audit entries across the shards, oldest first.
    pub async fn audit_last(&self, count: usize) -> Result<Vec<AuditEntry>> {
        Ok(self.audit_last_and_cursor(count).await?.0)
    }

    /// [`Queue::audit_last`], with a cursor at the newest entry of each shard, to follow on from
    /// ([`Queue::audit_next`]).
    pub async fn audit_last_and_cursor(&self, count: usize) -> Result<(Vec<AuditEntry>, AuditCursor)> {
        let mut cursor = self.audit_cursor("-");
        let mut runs = Vec::with_capacity(self.shard_count());
        for (shard, k) in self.all_shards() {
            let mut run: Vec<AuditEntry> = redis::cmd("XREVRANGE")
                .arg(k.audit())
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(count)
                .query_async(&mut self.conn())
                .await?;
            run.reverse();
            if let (Some((id, _)), Some(slot)) = (run.last(), cursor.0.get_mut(shard)) {
                slot.clone_from(id);
            }
            runs.push(run);
        }
        let mut merged = merge_entries(runs);
        let excess = merged.len().saturating_sub(count);
        merged.drain(..excess);
        Ok((merged, cursor))
    }

    /// The newest `limit` dead letters across the shards, newest first.
    pub async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>> {
        let mut all = Vec::new();
        for (_, k) in self.all_shards() {
            let ids: Vec<(String, f64)> = redis::cmd("ZREVRANGE")
                .arg(k.dead())
                .arg(0)
                .arg(limit.saturating_sub(1))
                .arg("WITHSCORES")
                .query_async(&mut self.conn())
                .await?;
            if ids.is_empty() {
                continue;
            }
            let mut cmd = redis::cmd("HMGET");
            cmd.arg(k.dead_jobs());
            for (id, _) in &ids {
                cmd.arg(id);
            }
            let values: Vec<Option<String>> = cmd.query_async(&mut self.conn()).await?;
            all.extend(ids.into_iter().zip(values).filter_map(|((id, at), value)| {
                let value = value?;
                let envelope = split_stored(&value).map(|(_, e)| e.to_string()).unwrap_or(value);
                Some(DeadLetter { id, at_ms: at as u64, envelope })
            }));
        }
        all.sort_by_key(|d| std::cmp::Reverse(d.at_ms));
        all.truncate(limit);
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> AuditEntry {
        (id.to_string(), Vec::new())
    }

    #[test]
    fn shard_streams_merge_in_time_order() {
        let merged = merge_entries(vec![vec![entry("5-0"), entry("12-1")], vec![entry("9-0"), entry("12-0")]]);
        let ids: Vec<&str> = merged.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["5-0", "9-0", "12-0", "12-1"]);
    }
}
