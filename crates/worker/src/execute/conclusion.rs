//! The conclusion step: a job's [`Progress`] becomes its [`Finish`]: an ack (every message resolved; the failed
//! ones dead-lettered) or a reschedule (some remain; a retry is due), or, once retries are spent, dead.

use super::finishing::with_ids;
use super::progress::Progress;
use super::{Executor, Finish};
use crate::records::RecordBase;
use crate::retry::{decide, RetryDecision};
use deleteq_core::{Envelope, GivenUp, Job, Outcome, Target};
use deleteq_queue::{Ack, Leased, Reschedule};

impl Executor {
    /// Turns the progress into an ack (everything resolved) or a reschedule (some messages remain).
    pub(super) fn conclude(
        &self,
        leased: Leased,
        mut envelope: Envelope,
        job: &Job,
        base: &RecordBase,
        mut progress: Progress,
    ) -> Finish {
        if let Some(cause) = progress.retry.take() {
            let attempt = envelope.attempt + 1;
            match decide(attempt, cause.hint, &self.retry, &mut rand::thread_rng()) {
                RetryDecision::RetryAfter(delay) => {
                    let delay_ms = delay.as_millis() as u64;
                    let pending: Vec<Option<&str>> = if job.target == Target::Purge {
                        vec![None]
                    } else {
                        progress.remaining.iter().map(|id| Some(id.as_str())).collect()
                    };
                    for id in pending {
                        let mut record = base.record(id, Outcome::RetryScheduled, cause.status, Some(&cause.reason));
                        record.delay_ms = Some(delay_ms);
                        progress.records.push(record);
                    }
                    envelope.attempt = attempt;
                    envelope.last_error = Some(cause.reason);
                    envelope.last_status = cause.status;
                    envelope.job = with_ids(job, progress.remaining).to_value();
                    return Finish::Reschedule(Reschedule {
                        shard: leased.shard,
                        id: leased.id,
                        rev: leased.rev,
                        holder: leased.holder,
                        delay,
                        attempted: true,
                        envelope: envelope.encode(),
                        records: progress.records,
                    });
                }
                RetryDecision::GiveUp => {
                    let error = format!("gave up after {attempt} attempts: {}", cause.reason);
                    if job.target == Target::Purge {
                        progress.records.push(base.record(None, Outcome::Dead, cause.status, Some(&error)));
                    }
                    for id in &progress.remaining {
                        progress.records.push(base.record(Some(id), Outcome::Dead, cause.status, Some(&error)));
                    }
                    progress.failed.append(&mut progress.remaining);
                    progress.last_error = Some((error, cause.status));
                }
            }
        }
        let given_up = |outcome: Outcome| progress.records.iter().filter(|r| r.outcome == outcome).count() as u64;
        let given_up = GivenUp { failed: given_up(Outcome::Failed), dead: given_up(Outcome::Dead) };
        let dead_letter = progress.last_error.map(|(error, status)| {
            envelope.given_up = Some(given_up);
            envelope.attempt += 1;
            envelope.last_error = Some(error);
            envelope.last_status = status;
            envelope.job = with_ids(job, progress.failed).to_value();
            envelope.encode()
        });
        let account = job.account.clone();
        Finish::Ack(Ack {
            shard: leased.shard,
            id: leased.id,
            rev: leased.rev,
            records: progress.records,
            dead_letter,
            account,
        })
    }
}
