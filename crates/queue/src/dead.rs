//! The dead-letter set's write side: replaying dead letters into the queue and purging old ones.

use crate::queue::{split_stored, Queue};
use crate::Result;
use deleteq_core::audit::{AuditRecord, FIELDS};

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
}

impl Queue {
    /// The stored dead letters of `ids` (missing ids are left out).
    pub async fn dead_letters_by_id(&self, ids: &[String]) -> Result<Vec<StoredDeadLetter>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(self.keys().dead_jobs()).arg(ids);
        let values: Vec<Option<String>> = cmd.query_async(&mut self.conn()).await?;
        Ok(ids
            .iter()
            .zip(values)
            .filter_map(|(id, value)| {
                let value = value?;
                let (rev, envelope) = split_stored(&value)?;
                Some(StoredDeadLetter { id: id.clone(), rev, envelope: envelope.to_string() })
            })
            .collect())
    }

    /// Up to `count` dead-letter ids, oldest first.
    pub async fn dead_ids(&self, count: usize) -> Result<Vec<String>> {
        let ids: Vec<String> = redis::cmd("ZRANGE")
            .arg(self.keys().dead())
            .arg(0)
            .arg(count.saturating_sub(1))
            .query_async(&mut self.conn())
            .await?;
        Ok(ids)
    }

    /// Puts dead letters back in the queue; returns how many went back.
    pub async fn replay(&self, items: &[Replay]) -> Result<u64> {
        if items.is_empty() {
            return Ok(0);
        }
        let k = self.keys();
        let mut inv = self.scripts().replay.prepare_invoke();
        inv.key(k.dead()).key(k.dead_jobs()).key(k.jobs()).key(k.ready()).key(k.wake()).key(k.audit()).key(k.pending());
        inv.key(k.counts()).key(k.campaign_counts());
        inv.arg(self.audit_max_len()).arg(FIELDS.len());
        for name in FIELDS {
            inv.arg(name);
        }
        for item in items {
            inv.arg(&item.id).arg(item.rev + 1).arg(&item.envelope).arg(item.uncount.0).arg(item.uncount.1);
            inv.arg(item.records.len());
            for record in &item.records {
                for value in record.values() {
                    inv.arg(value);
                }
            }
        }
        Ok(inv.invoke_async(&mut self.conn()).await?)
    }

    /// Forgets dead letters dead-lettered at or before `cutoff_ms`; returns how many.
    pub async fn purge_dead(&self, cutoff_ms: u64) -> Result<u64> {
        let mut total = 0;
        loop {
            let removed: u64 = self
                .scripts()
                .purge_dead
                .key(self.keys().dead())
                .key(self.keys().dead_jobs())
                .key(self.keys().counts())
                .arg(cutoff_ms)
                .arg(1000)
                .invoke_async(&mut self.conn())
                .await?;
            total += removed;
            if removed < 1000 {
                return Ok(total);
            }
        }
    }
}
