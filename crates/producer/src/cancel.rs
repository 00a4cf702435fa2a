//! Cancelling single jobs before their provider call (`deleteq cancel`, `POST /v1/jobs/{id}/cancel`): a job that
//! is ready, scheduled (`run_at`), waiting for a retry, parked, or leased with its call not started ends
//! `cancelled`, one terminal record per message it still carries, removed and recorded in one script
//! (`lua/cancel.lua`); one whose call started is left to end as it ends.
//!
//! A bulk job (`messages`, expanded into children `ID:N`): the parent's messages not yet given to a child end
//! `cancelled` under the parent's id, and then each unfinished child is cancelled by the same rules, with its own
//! records (a child whose call started is reported running). The parent goes first, so no child is made after the
//! children were looked for. Finding children scans the unfinished jobs (`HSCAN`), done for a bulk job and for an
//! id not found (a bulk job fully expanded is gone, its children not).

use crate::{Producer, ProducerError};
use deleteq_core::config::AccountKind;
use deleteq_core::{AuditRecord, Outcome};
use deleteq_queue::cancel::{CancelJob, CancelReply, FoundJob};
use serde_json::Value;
use std::collections::HashSet;

/// Times a job rewritten between its read and its cancel (rescheduled, expanded) is read again.
const REREADS: usize = 5;

/// What became of one job asked to be cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelState {
    /// Removed before its call; every message it carried has its `cancelled` record.
    Cancelled,
    /// Its provider call started (or it kept being rewritten by a worker): it ends as its call ends.
    Running,
    /// Finished already: it is a dead letter (`failed` or `dead`).
    Finished,
    /// No unfinished job has this id: it finished (its records are in the audit stream) or never existed.
    NotFound,
}

impl CancelState {
    /// Its name in `--json` output and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            CancelState::Cancelled => "cancelled",
            CancelState::Running => "running",
            CancelState::Finished => "finished",
            CancelState::NotFound => "not_found",
        }
    }
}

/// One job's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCancel {
    /// The job's id.
    pub id: String,
    /// The bulk job it is a child of, when it was cancelled as part of that job.
    pub parent: Option<String>,
    /// What became of it.
    pub state: CancelState,
    /// `cancelled` records written for it (one per message; one for a purge).
    pub messages: u64,
}

impl Producer {
    /// Cancels the jobs `ids` (repeats once), each with its bulk children; the answers are in order, each id's
    /// children (those cancelled or running) right after it. `requested_by` is named in each record's `error`.
    pub async fn cancel(&self, ids: &[String], requested_by: Option<&str>) -> Result<Vec<JobCancel>, ProducerError> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for id in ids.iter().filter(|id| seen.insert(id.as_str())) {
            let (mut state, messages, bulk) = self.cancel_one(id, requested_by).await?;
            if state == CancelState::NotFound
                && !self.queue().dead_letters_by_id(std::slice::from_ref(id)).await?.is_empty()
            {
                state = CancelState::Finished;
            }
            out.push(JobCancel { id: id.clone(), parent: None, state, messages });
            if !id.contains(':') && (bulk || state == CancelState::NotFound) {
                for child in self.queue().child_ids(id).await? {
                    let (state, messages, _) = self.cancel_one(&child, requested_by).await?;
                    if matches!(state, CancelState::Cancelled | CancelState::Running) {
                        out.push(JobCancel { id: child, parent: Some(id.clone()), state, messages });
                    }
                }
            }
        }
        Ok(out)
    }

    /// Cancels one job: its state, the records written, and whether it is a bulk job.
    async fn cancel_one(&self, id: &str, by: Option<&str>) -> Result<(CancelState, u64, bool), ProducerError> {
        let mut bulk = false;
        for _ in 0..REREADS {
            let Some(found) = self.queue().find_jobs(&[id.to_string()]).await?.into_iter().next() else {
                return Ok((CancelState::NotFound, 0, bulk));
            };
            let (job, listed) = self.cancel_job(&found, by);
            let per_call = match self.config().accounts.get(&found.account).map(|a| &a.kind) {
                Some(AccountKind::QuickBlox { batch_size, .. }) => (*batch_size).max(1),
                _ => 1,
            };
            bulk = listed > 0 || job.messages.len() > per_call;
            let messages = job.messages.len() as u64 + listed;
            match self.queue().cancel_jobs(std::slice::from_ref(&job)).await?.first() {
                Some(CancelReply::Cancelled) => return Ok((CancelState::Cancelled, messages, bulk)),
                Some(CancelReply::Running) => return Ok((CancelState::Running, 0, bulk)),
                Some(CancelReply::Changed) | None => continue,
            }
        }
        Ok((CancelState::Running, 0, bulk))
    }

    /// The cancel of a job as read: its record and messages, and how many of its ids wait in its id list.
    fn cancel_job(&self, found: &FoundJob, by: Option<&str>) -> (CancelJob, u64) {
        let envelope = deleteq_queue::stored::decode_stored(
            &found.id,
            &found.account,
            found.campaign.as_deref(),
            found.envelope.as_bytes(),
        )
        .ok();
        let job = envelope.as_ref().map(|e| e.job.clone()).unwrap_or(Value::Null);
        let text = |field: &str| job.get(field).and_then(Value::as_str).map(str::to_string);
        let listed = envelope.as_ref().map_or(0, |e| e.listed);
        let messages: Vec<String> = match (job.get("message"), job.get("messages")) {
            (Some(Value::String(m)), _) => vec![m.clone()],
            (_, Some(Value::Array(list))) => list.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            // A purge's one record; and one for a job that cannot be read, so it still ends visibly.
            _ if listed == 0 => vec![String::new()],
            _ => Vec::new(),
        };
        let provider = self.config().accounts.get(&found.account).map(|a| a.provider().as_str().to_string());
        let record = AuditRecord {
            job: found.id.clone(),
            parent: envelope.as_ref().and_then(|e| e.parent.as_ref()).map(|p| p.0.clone()),
            account: found.account.clone(),
            provider: provider.unwrap_or_default(),
            conversation: text("conversation"),
            message: None,
            outcome: Outcome::Cancelled,
            http_status: None,
            attempt: envelope.as_ref().map_or(0, |e| e.attempt),
            error: Some(match by {
                Some(who) => format!("cancelled before its call by {who}"),
                None => "cancelled before its call".to_string(),
            }),
            deleted_count: None,
            delay_ms: None,
            campaign: text("campaign"),
            reason: text("reason"),
            requested_by: text("requested_by"),
            at: AuditRecord::now(),
            mode: None,
        };
        let cancel = CancelJob {
            id: found.id.clone(),
            shard: found.shard,
            rev: found.rev,
            listed: listed > 0,
            messages,
            record,
        };
        (cancel, listed)
    }
}
