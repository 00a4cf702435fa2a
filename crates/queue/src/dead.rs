//! The dead-letter set's write side: replaying dead letters into the queue and purging old ones.

use crate::queue::Queue;
use crate::script::{purge_dead, replay};
use crate::shard::by_shard;
use crate::stored::split_stored;
use crate::Result;
use deleteq_core::audit::AuditRecord;
use std::time::Duration;

/// Most dead letters one trim step forgets (`TRIM_STEP` in `lua/shared.lua`).
pub const TRIM_STEP: u64 = 1000;

/// A dead letter to put back: its id, its envelope with attempts reset, and the record saying it was replayed.
#[derive(Debug, Clone)]
pub struct Replay {
    /// The job id.
    pub id: String,
    /// The revision it was dead-lettered at; it comes back at the next one.
    pub rev: u64,
    /// The envelope to run.
    pub envelope: String,
    /// Records to write (one `replayed` per message).
    pub records: Vec<AuditRecord>,
    /// Its account (for logs; the script reads it from the stored header).
    pub account: String,
    /// Messages it held that ended `failed`, and `dead`: its campaign counts them as pending again.
    pub uncount: (u64, u64),
    /// The shard it is dead-lettered in (and goes back to).
    pub shard: usize,
}

/// A dead letter as stored.
#[derive(Debug, Clone)]
pub struct StoredDeadLetter {
    /// The job id.
    pub id: String,
    /// Its revision.
    pub rev: u64,
    /// Its envelope, with the last error.
    pub envelope: String,
    /// The shard it is in.
    pub shard: usize,
}

impl Queue {
    /// The stored dead letters of `ids`, looked up in every shard (missing ids are left out).
    pub async fn dead_letters_by_id(&self, ids: &[String]) -> Result<Vec<StoredDeadLetter>> {
        let mut out = Vec::new();
        if ids.is_empty() {
            return Ok(out);
        }
        for (shard, k) in self.all_shards() {
            let mut cmd = redis::cmd("HMGET");
            cmd.arg(k.dead_jobs()).arg(ids);
            let values: Vec<Option<String>> = cmd.query_async(&mut self.conn()).await?;
            out.extend(ids.iter().zip(values).filter_map(|(id, value)| {
                let value = value?;
                let (rev, envelope) = split_stored(&value)?;
                Some(StoredDeadLetter { id: id.clone(), rev, envelope: envelope.to_string(), shard })
            }));
        }
        Ok(out)
    }

    /// Up to `count` dead-letter ids, oldest first within each shard, from the shards in order.
    pub async fn dead_ids(&self, count: usize) -> Result<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        for (_, k) in self.all_shards() {
            if out.len() >= count {
                break;
            }
            let ids: Vec<String> = redis::cmd("ZRANGE")
                .arg(k.dead())
                .arg(0)
                .arg((count - out.len()).saturating_sub(1))
                .query_async(&mut self.conn())
                .await?;
            out.extend(ids);
        }
        Ok(out)
    }

    /// Puts dead letters back in the queue; returns how many went back.
    pub async fn replay(&self, items: &[Replay]) -> Result<u64> {
        let mut total = 0;
        for (shard, members) in by_shard(items, |r| r.shard) {
            let part: Vec<&Replay> = members.iter().map(|&i| &items[i]).collect();
            total += self.replay_in(shard, &part).await?;
        }
        Ok(total)
    }

    async fn replay_in(&self, shard: usize, items: &[&Replay]) -> Result<u64> {
        let mut inv = crate::script::Eval::new(&self.scripts().replay);
        replay::args(&mut inv, self.shard_keys(shard), self.audit_max_len(), items);
        Ok(inv.invoke_async(&mut self.conn()).await?)
    }

    /// Forgets dead letters dead-lettered at least `older_than` ago (by Redis's clock, which stamped them), in
    /// every shard; returns how many. `Duration::ZERO` forgets them all.
    pub async fn purge_dead(&self, older_than: Duration) -> Result<u64> {
        let mut total = 0;
        for shard in 0..self.shard_count() {
            total += self.purge_dead_in(shard, older_than).await?;
        }
        Ok(total)
    }

    async fn purge_dead_in(&self, shard: usize, older_than: Duration) -> Result<u64> {
        let mut total = 0;
        loop {
            let removed = self.trim_dead_step(shard, Some(older_than), None).await?;
            total += removed;
            if removed < TRIM_STEP {
                return Ok(total);
            }
        }
    }

    /// One bounded trim step of shard `shard`'s dead letters (at most [`TRIM_STEP`]): the oldest over the configured
    /// `[dlq] max_len`, then those older than `max_age`. Maintenance calls it while a shard is over its bound (after
    /// the bound was lowered, say), so the set shrinks to it over time without one unbounded script call.
    pub async fn trim_dead_letters(&self, shard: usize) -> Result<u64> {
        let (max_len, max_age) = self.dead_bounds();
        self.trim_dead_step(shard, Some(max_age), Some(max_len)).await
    }

    async fn trim_dead_step(&self, shard: usize, age: Option<Duration>, max_len: Option<u64>) -> Result<u64> {
        let age_ms = age.map(|a| u64::try_from(a.as_millis()).unwrap_or(u64::MAX));
        let mut inv = crate::script::Eval::new(&self.scripts().purge_dead);
        purge_dead::args(&mut inv, self.shard_keys(shard), age_ms, max_len);
        Ok(inv.invoke_async(&mut self.conn()).await?)
    }
}
