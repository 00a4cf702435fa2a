//! Replaying dead letters: each goes back to the queue with its attempt count reset, and one `replayed` audit record
//! per message says so (the terminal record that follows is the outcome of the new attempt).

use crate::{Producer, ProducerError};
use deleteq_core::{AuditRecord, Envelope, Outcome, Target};
use deleteq_queue::dead::{Replay, StoredDeadLetter};

/// Dead letters handled per script call.
const CHUNK: usize = 500;

impl Producer {
    /// Replays the dead letters `ids`; returns how many went back (unknown ids are skipped).
    pub async fn replay_dead(&self, ids: &[String], requested_by: Option<&str>) -> Result<u64, ProducerError> {
        let mut total = 0;
        for chunk in ids.chunks(CHUNK) {
            let letters = self.queue().dead_letters_by_id(chunk).await?;
            let items: Vec<Replay> = letters.into_iter().map(|l| self.replay_item(l, requested_by)).collect();
            total += self.queue().replay(&items).await?;
        }
        Ok(total)
    }

    /// Replays every dead letter; returns how many went back.
    pub async fn replay_all_dead(&self, requested_by: Option<&str>) -> Result<u64, ProducerError> {
        let mut total = 0;
        loop {
            let ids = self.queue().dead_ids(CHUNK).await?;
            if ids.is_empty() {
                return Ok(total);
            }
            let replayed = self.replay_dead(&ids, requested_by).await?;
            if replayed == 0 {
                // Whatever is left cannot be replayed now (its id is queued again already); stop rather than spin.
                return Ok(total);
            }
            total += replayed;
        }
    }

    fn replay_item(&self, letter: StoredDeadLetter, requested_by: Option<&str>) -> Replay {
        let decoded = Envelope::decode(letter.envelope.as_bytes()).ok();
        let (envelope, records, account, uncount) = match decoded {
            Some(mut envelope) => {
                envelope.attempt = 0;
                let given_up = envelope.given_up.take().unwrap_or_default();
                let job = envelope.job().ok();
                let provider = job
                    .as_ref()
                    .and_then(|j| self.config().accounts.get(&j.account))
                    .map(|a| a.provider().as_str().to_string())
                    .unwrap_or_default();
                let record = |message: Option<&str>| AuditRecord {
                    job: letter.id.clone(),
                    parent: envelope.parent.as_ref().map(|p| p.0.clone()),
                    account: job.as_ref().map(|j| j.account.clone()).unwrap_or_default(),
                    provider: provider.clone(),
                    conversation: job.as_ref().and_then(|j| j.conversation.clone()),
                    message: message.map(str::to_string),
                    outcome: Outcome::Replayed,
                    http_status: None,
                    attempt: 0,
                    error: envelope.last_error.clone(),
                    deleted_count: None,
                    delay_ms: None,
                    campaign: job.as_ref().and_then(|j| j.campaign.clone()),
                    reason: job.as_ref().and_then(|j| j.reason.clone()),
                    requested_by: requested_by.map(str::to_string),
                    at: AuditRecord::now(),
                    mode: None,
                };
                let records = match &job {
                    Some(j) if j.target != Target::Purge => j.message_ids().iter().map(|m| record(Some(m))).collect(),
                    _ => vec![record(None)],
                };
                let account = job.map(|j| j.account).unwrap_or_default();
                (envelope.encode(), records, account, (given_up.failed, given_up.dead))
            }
            // Undecodable: it goes back as it was and will fail again, visibly.
            None => (letter.envelope.clone(), Vec::new(), String::new(), (0, 0)),
        };
        Replay { id: letter.id, rev: letter.rev, envelope, records, account, uncount, shard: letter.shard }
    }
}
