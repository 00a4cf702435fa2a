//! Read-only views of a queue for `status`, `audit` and `dlq`.

use crate::queue::{split_stored, Queue};
use crate::Result;
use std::collections::HashMap;

/// Queue depths at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Depths {
    /// Jobs stored and not finished (ready, leased, scheduled).
    pub jobs: u64,
    /// Ids in the ready list (may include a few already finished).
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

impl Queue {
    /// Current depths, in one pipelined round trip.
    pub async fn depths(&self) -> Result<Depths> {
        let k = self.keys();
        let (jobs, ready, leased, scheduled, dead, audit): (u64, u64, u64, u64, u64, u64) = redis::pipe()
            .hlen(k.jobs())
            .llen(k.ready())
            .zcard(k.leased())
            .zcard(k.scheduled())
            .zcard(k.dead())
            .cmd("XLEN")
            .arg(k.audit())
            .query_async(&mut self.conn())
            .await?;
        Ok(Depths { jobs, ready, leased, scheduled, dead, audit })
    }

    /// Up to `count` audit entries after stream id `after` (exclusive; `"-"` for the start), oldest first.
    pub async fn audit_after(&self, after: &str, count: usize) -> Result<Vec<AuditEntry>> {
        let start = if after == "-" { "-".to_string() } else { format!("({after}") };
        let reply: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
            .arg(self.keys().audit())
            .arg(start)
            .arg("+")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.conn())
            .await
            .map_err(crate::QueueError::from)?;
        Ok(reply)
    }

    /// Unfinished jobs per account (queued, leased, scheduled or parked).
    pub async fn pending_by_account(&self) -> Result<std::collections::HashMap<String, i64>> {
        Ok(redis::cmd("HGETALL").arg(self.keys().pending()).query_async(&mut self.conn()).await?)
    }

    /// Per account: unfinished jobs, and how many of them are leased or scheduled, and its dead letters; in one
    /// round trip, from counts the scripts keep (no scan). Parked jobs are counted by [`Queue::parked_jobs`].
    pub async fn account_depths(&self) -> Result<std::collections::BTreeMap<String, AccountDepths>> {
        let (pending, counts): (HashMap<String, i64>, HashMap<String, i64>) = redis::pipe()
            .hgetall(self.keys().pending())
            .hgetall(self.keys().counts())
            .query_async(&mut self.conn())
            .await?;
        let mut out: std::collections::BTreeMap<String, AccountDepths> = std::collections::BTreeMap::new();
        for (account, n) in pending {
            out.entry(account).or_default().pending = n.max(0) as u64;
        }
        for (field, n) in counts {
            let Some((state, account)) = field.split_once(':') else { continue };
            let depth = out.entry(account.to_string()).or_default();
            let n = n.max(0) as u64;
            match state {
                "leased" => depth.leased = n,
                "scheduled" => depth.scheduled = n,
                "dead" => depth.dead = n,
                _ => {}
            }
        }
        Ok(out)
    }

    /// The last `count` audit entries, oldest first.
    pub async fn audit_last(&self, count: usize) -> Result<Vec<AuditEntry>> {
        let mut reply: Vec<(String, Vec<(String, String)>)> = redis::cmd("XREVRANGE")
            .arg(self.keys().audit())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.conn())
            .await?;
        reply.reverse();
        Ok(reply)
    }

    /// The newest `limit` dead letters, newest first.
    pub async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>> {
        let k = self.keys();
        let ids: Vec<(String, f64)> = redis::cmd("ZREVRANGE")
            .arg(k.dead())
            .arg(0)
            .arg(limit.saturating_sub(1))
            .arg("WITHSCORES")
            .query_async(&mut self.conn())
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(k.dead_jobs());
        for (id, _) in &ids {
            cmd.arg(id);
        }
        let values: Vec<Option<String>> = cmd.query_async(&mut self.conn()).await?;
        Ok(ids
            .into_iter()
            .zip(values)
            .filter_map(|((id, at), value)| {
                let value = value?;
                let envelope = split_stored(&value).map(|(_, e)| e.to_string()).unwrap_or(value);
                Some(DeadLetter { id, at_ms: at as u64, envelope })
            })
            .collect())
    }
}
