//! Cancelling single jobs (`deleteq cancel`): finding a job in its shard, and ending one whose provider call has
//! not started `cancelled` (`lua/cancel.lua`) wherever it waits: its lane, the scheduled set (a `run_at` or a retry),
//! its account's parked set, or a lease whose call has not started. The records are built by the caller from the
//! job it read; the script writes them only if the job is still at the revision read, so every message still gets
//! exactly one terminal record.

use crate::queue::Queue;
use crate::script::cancel;
use crate::shard::by_shard;
use crate::stored::split_header;
use crate::Result;
use deleteq_core::audit::AuditRecord;

/// An unfinished job as stored, found by its id.
#[derive(Debug, Clone)]
pub struct FoundJob {
    /// Its id.
    pub id: String,
    /// The shard it is in.
    pub shard: usize,
    /// Its revision: a cancel must name it.
    pub rev: u64,
    /// Its account, from the stored header.
    pub account: String,
    /// Its submitted campaign, from the stored header.
    pub campaign: Option<String>,
    /// Its envelope, compact or whole ([`crate::stored::decode_stored`]).
    pub envelope: String,
}

/// A job to cancel, as its canceller read it.
#[derive(Debug, Clone)]
pub struct CancelJob {
    /// Its id.
    pub id: String,
    /// Its shard ([`FoundJob::shard`]).
    pub shard: usize,
    /// The revision read: a job rewritten since (rescheduled, expanded) is not touched.
    pub rev: u64,
    /// Whether its messages (also) wait in its id list ([`crate::Keys::expansion_ids`]): the script writes one
    /// record per id there too.
    pub listed: bool,
    /// The `message` of each record it gets (`""` for a purge's one record).
    pub messages: Vec<String>,
    /// The record every message gets, its `message` replaced.
    pub record: AuditRecord,
}

/// What became of a job asked to be cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReply {
    /// Removed and recorded `cancelled`.
    Cancelled,
    /// Its provider call started: left alone, it ends as its call ends.
    Running,
    /// Finished, or rewritten since it was read: read it again.
    Changed,
}

impl Queue {
    /// The unfinished jobs among `ids`, looked up in every shard (ids not found are left out).
    pub async fn find_jobs(&self, ids: &[String]) -> Result<Vec<FoundJob>> {
        let mut out = Vec::new();
        if ids.is_empty() {
            return Ok(out);
        }
        for (shard, k) in self.all_shards() {
            let values: Vec<Option<String>> =
                redis::cmd("HMGET").arg(k.jobs()).arg(ids).query_async(&mut self.conn()).await?;
            out.extend(ids.iter().zip(values).filter_map(|(id, value)| {
                let value = value?;
                let (rev, account, campaign, envelope) = split_header(&value)?;
                Some(FoundJob {
                    id: id.clone(),
                    shard,
                    rev,
                    account: account.to_string(),
                    campaign: (!campaign.is_empty()).then(|| campaign.to_string()),
                    envelope: envelope.to_string(),
                })
            }));
        }
        Ok(out)
    }

    /// The ids of the unfinished children of bulk job `parent` (`PARENT:N`), from every shard: a scan of the jobs
    /// hashes (`HSCAN MATCH`, in steps), so it costs a pass over the unfinished jobs.
    pub async fn child_ids(&self, parent: &str) -> Result<Vec<String>> {
        let pattern = format!("{}:*", glob_escape(parent));
        let mut out = Vec::new();
        for (_, k) in self.all_shards() {
            let mut cursor = 0u64;
            loop {
                let (next, pairs): (u64, Vec<String>) = redis::cmd("HSCAN")
                    .arg(k.jobs())
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut self.conn())
                    .await?;
                out.extend(pairs.into_iter().step_by(2));
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Cancels `jobs` (one script call per shard); per job, what became of it.
    pub async fn cancel_jobs(&self, jobs: &[CancelJob]) -> Result<Vec<CancelReply>> {
        let mut out = vec![CancelReply::Changed; jobs.len()];
        for (shard, members) in by_shard(jobs, |j| j.shard) {
            let part: Vec<&CancelJob> = members.iter().map(|&i| &jobs[i]).collect();
            let mut inv = crate::script::Eval::new(&self.scripts().cancel);
            cancel::args(&mut inv, self.shard_keys(shard), self.audit_max_len(), &part);
            let codes: Vec<i64> = inv.invoke_async(&mut self.conn()).await?;
            for (&i, reply) in members.iter().zip(cancel::reply(codes)) {
                out[i] = reply;
            }
        }
        Ok(out)
    }
}

/// `text` with the glob characters of `MATCH` escaped, so an id matches only itself.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(super::glob_escape("01K*?[x]\\"), "01K\\*\\?\\[x\\]\\\\");
        assert_eq!(super::glob_escape("01KABC"), "01KABC");
    }
}
