//! The worker's calls: leasing jobs and keeping their leases (`hold`), writing back what became of them (`ack`,
//! `reschedule`, `release`, `expand`, and reading a bulk job's id list for its next step), the maintenance that
//! moves due and expired jobs (`promote_due`, `reclaim_expired`), and the waiter an idle worker blocks on.

use super::Queue;
use crate::job::{Ack, Expand, Lease, LeaseBatch, Leased, PaceHints, Reschedule};
use crate::script::{ack, expand, flags, flags_from_misses, hold, lease, promote, release, reschedule, Eval, CHUNK};
use crate::shard::flags_by_shard;
use crate::waiter::Waiter;
use crate::Result;
use std::sync::atomic::Ordering;
use std::time::Duration;

impl Queue {
    /// Leases up to `max` ready jobs to `holder` (a token unique to this call, e.g. `"<worker id>#<n>"`) until
    /// Redis's now + `lease`, from the shards in turn: it starts at the shard after the one the last call started
    /// at and moves on until it has `max` (a shard whose accounts are held back by their pace gives less, and
    /// another shard may hold an idle account's job). A job with a reclaim counted (quarantined) comes alone,
    /// and only if `may_quarantine` (the caller runs none already).
    pub async fn lease(&self, max: usize, lease: Duration, holder: &str, may_quarantine: bool) -> Result<Vec<Leased>> {
        Ok(self.lease_batch(max, lease, holder, may_quarantine, &PaceHints::new()).await?.jobs)
    }

    /// [`Queue::lease`], also saying when jobs held back by their account's pace may be leased. `hints`: per
    /// paced account, how far from now its next free rate-limit slot is as the caller last heard (every shard's
    /// pace takes it, so what one shard's jobs found out holds back the others' too).
    pub async fn lease_batch(
        &self,
        max: usize,
        lease: Duration,
        holder: &str,
        may_quarantine: bool,
        hints: &PaceHints,
    ) -> Result<LeaseBatch> {
        let count = self.shards.len();
        let start = self.next_shard.fetch_add(1, Ordering::Relaxed) % count;
        let mut out = LeaseBatch::default();
        for step in 0..count {
            let want = max - out.jobs.len();
            // A quarantined job comes alone: only a call that has nothing yet may take one.
            let quarantine = may_quarantine && out.jobs.is_empty();
            let batch = self.lease_from((start + step) % count, want, lease, holder, quarantine, hints).await?;
            out.paced_for = match (out.paced_for, batch.paced_for) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            out.jobs.extend(batch.jobs);
            // A shard whose accounts are held back by their pace gave less than asked, and the next shards may
            // have other accounts' work.
            if out.jobs.len() >= max || out.jobs.iter().any(|j| j.reclaims > 0) {
                break;
            }
        }
        Ok(out)
    }

    /// Leases up to `max` ready jobs of one shard, by lane, flow and pace (`lua/lease.lua`).
    pub async fn lease_from(
        &self,
        shard: usize,
        max: usize,
        lease: Duration,
        holder: &str,
        may_quarantine: bool,
        hints: &PaceHints,
    ) -> Result<LeaseBatch> {
        let k = self.shard_keys(shard);
        let mut conn = self.conn.clone();
        let mut inv = Eval::new(&self.scripts.lease);
        lease::args(&mut inv, k, &self.options, (max, lease, holder), may_quarantine, hints);
        lease::reply(inv.invoke_async(&mut conn).await?, shard, holder)
    }

    /// Finishes jobs; per job, whether this call finished it (false: finished already or rewritten since). One
    /// script call per shard involved.
    /// A job still at the revision leased is finished whoever holds its lease now (its call was made; see
    /// `ack.lua`), and the lease ends with it.
    pub async fn ack(&self, acks: &[Ack]) -> Result<Vec<bool>> {
        flags_by_shard(acks, |a| a.shard, |shard, part| async move { self.ack_in(shard, &part).await }).await
    }

    async fn ack_in(&self, shard: usize, acks: &[&Ack]) -> Result<Vec<bool>> {
        let k = self.shard_keys(shard);
        let mut inv = Eval::new(&self.scripts.ack);
        ack::args(&mut inv, k, &self.options, acks);
        let mut conn = self.conn.clone();
        let done = flags_from_misses(acks.len(), inv.invoke_async(&mut conn).await?)?;
        // The ack stands whatever the replicas say (its calls were made); a shortfall is only logged.
        let (acked, wanted) = self.wait_for_replicas(shard).await?;
        if acked < wanted {
            tracing::warn!(shard, acked, wanted, "An ack was not confirmed by the replicas in time.");
        }
        Ok(done)
    }

    /// Moves leased jobs to the scheduled set with their rewritten envelopes; per job, whether it was moved.
    pub async fn reschedule(&self, items: &[Reschedule]) -> Result<Vec<bool>> {
        flags_by_shard(items, |r| r.shard, |shard, part| async move { self.reschedule_in(shard, &part).await }).await
    }

    async fn reschedule_in(&self, shard: usize, items: &[&Reschedule]) -> Result<Vec<bool>> {
        let mut inv = Eval::new(&self.scripts.reschedule);
        reschedule::args(&mut inv, self.shard_keys(shard), self.options.audit_max_len, items);
        let mut conn = self.conn.clone();
        Ok(flags(inv.invoke_async(&mut conn).await?))
    }

    /// Writes one expansion step atomically; false when the parent changed since it was leased.
    pub async fn expand(&self, step: &Expand) -> Result<bool> {
        let mut inv = Eval::new(&self.scripts.expand);
        expand::args(&mut inv, self.shard_keys(step.shard), step);
        let mut conn = self.conn.clone();
        let done: i64 = inv.invoke_async(&mut conn).await?;
        Ok(done == 1)
    }

    /// The first `count` ids of the id list of bulk job `parent` in shard `shard` ([`crate::Keys::expansion_ids`]),
    /// read by the worker holding its lease; the expansion step that uses them removes them (only if the parent is
    /// still at the revision leased, so a stale read expands nothing).
    pub async fn expansion_ids(&self, shard: usize, parent: &str, count: u64) -> Result<Vec<String>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let key = self.shard_keys(shard).expansion_ids(parent);
        let mut conn = self.conn();
        Ok(redis::cmd("LRANGE").arg(key).arg(0).arg(count - 1).query_async(&mut conn).await?)
    }

    /// Hands leased jobs of one shard back to the front of their lanes, unchanged; returns how many. Only
    /// leases still held with their token are released (another worker's lease is never touched); with
    /// `waiting_only`, only those whose provider call has not started (a call in flight keeps its lease).
    pub async fn release(&self, shard: usize, leases: &[Lease], waiting_only: bool) -> Result<u64> {
        self.release_paced(shard, leases, waiting_only, None).await
    }

    /// [`Queue::release`] of jobs whose account has no rate-limit slot for them within the horizon: `paced` is
    /// the account and how long from Redis's now until its next slot, where the shard's pace for it moves, so
    /// its jobs wait in their lanes until then (holding no slot).
    pub async fn release_paced(
        &self,
        shard: usize,
        leases: &[Lease],
        waiting_only: bool,
        paced: Option<(&str, Duration)>,
    ) -> Result<u64> {
        if leases.is_empty() {
            return Ok(0);
        }
        let mut inv = Eval::new(&self.scripts.release);
        release::args(&mut inv, self.shard_keys(shard), waiting_only, paced, leases);
        let mut conn = self.conn.clone();
        Ok(inv.invoke_async(&mut conn).await?)
    }

    /// Keeps leases of one shard: each still held with its token ends `lease` after Redis's now; those marked
    /// `true` are recorded as having their provider call start now (a reclaim then counts toward the job's
    /// poison limit). Per lease, whether it is still held: a job whose lease was lost (reclaimed after it expired,
    /// or finished) must not be called. One script call per chunk of 1,000.
    pub async fn hold(&self, shard: usize, leases: &[(Lease, bool)], lease: Duration) -> Result<Vec<bool>> {
        let mut out = Vec::with_capacity(leases.len());
        let mut conn = self.conn.clone();
        let k = self.shard_keys(shard);
        for chunk in leases.chunks(CHUNK) {
            let mut inv = Eval::new(&self.scripts.hold);
            hold::args(&mut inv, k, lease, chunk);
            out.extend(flags_from_misses(chunk.len(), inv.invoke_async(&mut conn).await?)?);
        }
        Ok(out)
    }

    /// Moves every scheduled job due by Redis's now to the back of its shard's ready list; returns how many.
    pub async fn promote_due(&self) -> Result<u64> {
        let mut total = 0;
        for (shard, k) in self.all_shards() {
            total += self.promote(shard, k.scheduled(), "now", "back", "scheduled").await?;
        }
        Ok(total)
    }

    /// Moves every job whose lease expired by Redis's now (its worker died or stalled) to the front of its
    /// shard's ready list; a job whose call had started counts a reclaim.
    pub async fn reclaim_expired(&self) -> Result<u64> {
        let mut total = 0;
        for (shard, k) in self.all_shards() {
            total += self.promote(shard, k.leased(), "now", "front", "leased").await?;
        }
        Ok(total)
    }

    /// Moves every job of one shard's set whose members are not counted per state (a parked account's jobs).
    pub(crate) async fn promote_all_uncounted(&self, shard: usize, from: &str, end: &str) -> Result<u64> {
        self.promote(shard, from, "all", end, "").await
    }

    /// `cutoff`: `"now"` (members due by Redis's clock) or `"all"`.
    async fn promote(&self, shard: usize, from: &str, cutoff: &str, end: &str, state: &str) -> Result<u64> {
        let mut total = 0;
        let mut conn = self.conn.clone();
        let k = self.shard_keys(shard);
        loop {
            let mut inv = Eval::new(&self.scripts.promote);
            promote::args(&mut inv, k, from, cutoff, end, state);
            let moved: u64 = inv.invoke_async(&mut conn).await?;
            total += moved;
            if moved < CHUNK as u64 {
                return Ok(total);
            }
        }
    }

    /// The earliest due time in any shard's scheduled set, to sleep until it.
    pub async fn next_due_ms(&self) -> Result<Option<u64>> {
        let mut conn = self.conn.clone();
        let mut earliest: Option<u64> = None;
        for (_, k) in self.all_shards() {
            let first: Vec<(String, f64)> =
                redis::cmd("ZRANGE").arg(k.scheduled()).arg(0).arg(0).arg("WITHSCORES").query_async(&mut conn).await?;
            if let Some((_, score)) = first.first() {
                earliest = Some(earliest.map_or(*score as u64, |e| e.min(*score as u64)));
            }
        }
        Ok(earliest)
    }

    /// A waiter that blocks until work may be ready in any shard.
    pub fn waiter(&self) -> Waiter {
        let keys = self.shards.iter().map(|k| k.wake().to_string()).collect();
        Waiter::new(self.target.clone(), keys)
    }
}
