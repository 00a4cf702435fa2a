//! The checks before a call, in order: the poison limit, an unknown account, the job's deadline and the provider's
//! window, a bulk job to expand, a cancelled campaign, a parked account, an open circuit, the account's probe, and
//! its rate-limit slot. Each either lets the call go ([`Verdict::Call`]) or says how the job leaves without one.

use super::finishing::each_message;
use super::progress::Progress;
use super::Executor;
use crate::limiter::Slot;
use crate::parking::Admission;
use crate::records::RecordBase;
use deleteq_core::rate::RateLimit;
use deleteq_core::{Job, Outcome, Target};
use deleteq_providers::AccountClient;
use deleteq_queue::Leased;
use std::time::Duration;

/// What the checks decided.
pub(super) enum Verdict<'a> {
    /// Call the provider: the rate slot (if the account has a limit) is reached, and `admission` is held until
    /// the call is answered (the account's probe).
    Call { client: &'a AccountClient, limit: Option<RateLimit>, admission: Admission },
    /// Record these outcomes without a call (poison, unknown account, expired, cancelled campaign).
    Conclude(Progress),
    /// A bulk job: expand it into children of this many ids each.
    Expand(usize),
    /// Its account is parked: set it aside.
    Park,
    /// The account's circuit is open: try again after this long, nothing spent.
    Defer(Duration),
    /// No rate-limit slot within the horizon (the next is this far away): back to its lane.
    HandBack(Duration),
}

impl Executor {
    /// Runs the checks of a job read from `leased`, whose records start from `base`.
    pub(super) async fn check<'a>(&'a self, leased: &Leased, job: &Job, base: &RecordBase) -> Verdict<'a> {
        if leased.reclaims >= self.max_reclaims {
            // Its worker died holding it every time: stop it before it takes down another.
            let error = format!("its worker stopped while running it {} times; not retried", leased.reclaims);
            tracing::warn!(job = %leased.id, account = %job.account, reclaims = leased.reclaims, "Poison job dead-lettered.");
            let mut progress = Progress::default();
            each_message(job, |id| progress.records.push(base.record(id, Outcome::Dead, None, Some(&error))));
            progress.failed = job.message_ids().to_vec();
            progress.last_error = Some((error, None));
            return Verdict::Conclude(progress);
        }
        let Some(client) = self.providers.account(&job.account) else {
            let mut progress = Progress::default();
            let error = format!("unknown account {:?}: not in this worker's config", job.account);
            each_message(job, |id| progress.fail(base, id, None, &error));
            return Verdict::Conclude(progress);
        };
        if let Some(why) = expiry(job, client) {
            let mut progress = Progress::default();
            each_message(job, |id| progress.records.push(base.record(id, Outcome::Expired, None, Some(&why))));
            return Verdict::Conclude(progress);
        }
        let per_call = client.batch_size.max(1);
        if matches!(&job.target, Target::Messages(ids) if ids.len() > per_call) {
            return Verdict::Expand(per_call);
        }
        if leased.cancelled {
            let mut progress = Progress::default();
            let why = "its campaign was cancelled";
            each_message(job, |id| progress.records.push(base.record(id, Outcome::Cancelled, None, Some(why))));
            return Verdict::Conclude(progress);
        }
        if self.parking.is_parked(&job.account).await {
            return Verdict::Park;
        }
        if let Some(open_for) = self.circuits.open_for(&job.account).await {
            return Verdict::Defer(open_for);
        }
        // Held until the answer is settled (and the account parked, if it was refused).
        let admission = self.parking.admit(&job.account).await;
        if self.parking.is_parked(&job.account).await {
            // The probe this job waited for found the account refused.
            return Verdict::Park;
        }
        let limit = self.limits.get(&job.account).copied();
        if let Some(limit) = limit {
            if let Err(wait) = self.wait_for_slot(&job.account, limit).await {
                return Verdict::HandBack(wait);
            }
        }
        Verdict::Call { client, limit, admission }
    }

    /// Waits for the account's next rate-limit slot when it is within `rate_wait`; `Err(wait)` when it is further
    /// (the job goes back to the front of its lane, holding none, while the shard's pace moves to that slot).
    async fn wait_for_slot(&self, account: &str, limit: RateLimit) -> Result<(), Duration> {
        loop {
            match self.gate.slot(account, limit).await {
                Slot::After(wait, mark) if wait <= self.rate_wait => {
                    if wait.is_zero() {
                        return Ok(());
                    }
                    tokio::time::sleep(wait).await;
                    // A 429 meanwhile revoked the slot: reserve again, at the slower rate.
                    if !self.gate.revoked(account, mark) {
                        return Ok(());
                    }
                }
                Slot::After(wait, _) | Slot::Later(wait) => return Err(wait),
            }
        }
    }
}

/// Why the job must not be called at all: its deadline or the provider's window has passed.
fn expiry(job: &Job, client: &AccountClient) -> Option<String> {
    let now = chrono::Utc::now();
    if let Some(deadline) = job.not_after.filter(|t| *t <= now) {
        return Some(format!("not_after {} passed before the call", deadline.to_rfc3339()));
    }
    let window = chrono::Duration::from_std(client.window?).ok()?;
    let sent = job.sent_at?;
    (sent + window <= now).then(|| "the provider's deletion window has passed".to_string())
}
