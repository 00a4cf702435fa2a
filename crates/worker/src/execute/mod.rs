//! One job, start to finish: decode, check, call, conclude, and the [`Finish`] that records it. Never panics on a
//! job and never returns an error: whatever goes wrong becomes an outcome.
//!
//! One file per step: `checks` (what may stop a job before its call), `call` (the start gate and the provider
//! calls), `conclusion` (the ack or the retry), `expansion` (a bulk job's children), `finishing` (leaving without
//! a call: parked, handed back, deferred, unreadable); `progress` is what the steps hand on.

mod call;
mod checks;
mod conclusion;
mod expansion;
mod finishing;
mod progress;

use crate::circuit::Circuits;
use crate::keeper::Starter;
use crate::limiter::RateGate;
use crate::parking::Parking;
use crate::records::RecordBase;
use checks::Verdict;
use deleteq_core::config::RetryConfig;
use deleteq_core::rate::RateLimit;
use deleteq_core::{Envelope, Job};
use deleteq_providers::Providers;
use deleteq_queue::parking::ParkJob;
use deleteq_queue::{Ack, Expand, Lease, Leased, Reschedule};
use expansion::expand;
use finishing::{defer_until, hand_back, park, undecodable, with_ids};
use std::collections::HashMap;
use std::time::Duration;
use tracing::Span;

/// How a job leaves this worker.
#[derive(Debug)]
pub(crate) enum Finish {
    /// Terminal for every message it still carried: records written, job deleted (dead-lettered if it failed).
    Ack(Ack),
    /// Some messages remain: run again later with only those.
    Reschedule(Reschedule),
    /// A bulk job becomes children (one step of at most [`expansion::MAX_CHILDREN_PER_STEP`]).
    Expand(Expand),
    /// Its account is parked: set aside, untouched and without spending an attempt, until it is resumed.
    Park(ParkJob),
    /// Its account has no rate-limit slot for it within the horizon: back to the front of its lane, unchanged.
    HandBack(HandBack),
    /// Its lease was lost before its call could start (reclaimed, finished elsewhere, or handed back at
    /// shutdown): nothing is written and no call is made; the job belongs to whoever holds it now.
    Lost(String),
}

/// A job handed back to its lane before its call (see [`Finish::HandBack`]).
#[derive(Debug)]
pub(crate) struct HandBack {
    pub(crate) shard: usize,
    pub(crate) lease: Lease,
    pub(crate) account: String,
    /// How long until the account's next free slot, from now.
    pub(crate) wait: Duration,
}

impl Finish {
    pub(crate) fn id(&self) -> &str {
        match self {
            Finish::Ack(a) => &a.id,
            Finish::Reschedule(r) => &r.id,
            Finish::Expand(e) => &e.id,
            Finish::Park(p) => &p.id,
            Finish::HandBack(h) => &h.lease.id,
            Finish::Lost(id) => id,
        }
    }
}

/// What executing needs.
pub(crate) struct Executor {
    pub(crate) providers: Providers,
    pub(crate) retry: RetryConfig,
    /// Each account's rate limit (none for `noop`).
    pub(crate) limits: HashMap<String, RateLimit>,
    pub(crate) gate: RateGate,
    pub(crate) parking: Parking,
    pub(crate) circuits: Circuits,
    /// A rate-limit wait up to this long is slept in the call slot; a longer one hands the job back to its lane.
    pub(crate) rate_wait: Duration,
    /// Reclaims (its worker died holding it) after which a job ends `dead` without another call.
    pub(crate) max_reclaims: u32,
    pub(crate) metrics: crate::metrics::Metrics,
    /// For reading the id lists of bulk jobs being expanded.
    pub(crate) queue: deleteq_queue::Queue,
    /// The gate before every provider call: records the start in Redis under this lease.
    pub(crate) starter: Starter,
}

impl Executor {
    /// Runs one leased job; returns how it finishes and its `lease` span (`crate::spans::job`: no span for a job
    /// that cannot be read), the parent of its ack.
    pub(crate) async fn execute(&self, leased: Leased) -> (Finish, Span) {
        let stored = deleteq_queue::stored::decode_stored(
            &leased.id,
            &leased.account,
            leased.campaign.as_deref(),
            leased.envelope.as_bytes(),
        );
        let listed = matches!(&stored, Ok(envelope) if envelope.listed > 0);
        // A bulk job whose ids wait in its id list: the ids of this step are read in.
        let per_call = self.providers.account(&leased.account).map_or(1, |c| c.batch_size.max(1));
        let stored = match stored {
            Ok(envelope) if listed => match self.fill_listed(&leased, envelope, per_call).await {
                Ok(envelope) => Ok(envelope),
                Err(finish) => return (finish, Span::none()),
            },
            other => other,
        };
        let decoded = stored.and_then(|envelope| envelope.job().map(|job| (envelope, job)).map_err(|e| e.to_string()));
        let (envelope, job) = match decoded {
            Ok(pair) => pair,
            Err(error) => return (undecodable(leased, &error), Span::none()),
        };
        let span = crate::spans::job(&leased, &job, envelope.attempt + 1);
        let finish = crate::spans::in_span!(span, self.run(leased, envelope, job, listed, per_call));
        (finish, span)
    }

    /// [`Executor::execute`] once the job is read: its checks, its calls and their conclusion.
    async fn run(&self, leased: Leased, envelope: Envelope, job: Job, listed: bool, per_call: usize) -> Finish {
        if listed {
            // Its first step passed every check; each child checks again (deadline, account, campaign) itself.
            return expand(leased, envelope, &job, per_call);
        }
        let parent = envelope.parent.as_ref().map(|p| p.as_str());
        let provider = self.providers.account(&job.account).map(|c| c.kind().as_str()).unwrap_or("");
        let base = RecordBase::new(&leased.id, parent, &job, provider, envelope.attempt + 1);
        let progress = match self.check(&leased, &job, &base).await {
            Verdict::Conclude(progress) => progress,
            Verdict::Expand(per_call) => return expand(leased, envelope, &job, per_call),
            Verdict::Park => return park(leased, &envelope, &job, Vec::new()),
            Verdict::Defer(delay) => return defer_until(leased, envelope, delay),
            Verdict::HandBack(wait) => return hand_back(leased, wait),
            Verdict::Call { client, limit, admission } => {
                if !self.start(&leased, client).await {
                    return Finish::Lost(leased.id);
                }
                // Boxed: the calls' future is the largest part of a job's (14.6 KB unboxed, 4.4 KB with it boxed);
                // 128 jobs in flight then touch about 0.5 MB instead of 1.9 MB, and moving it costs nothing.
                let mut progress = Box::pin(self.call(client, &job, &base, limit)).await;
                if let Some(reason) = progress.park.take() {
                    self.parking.park(&job.account, &reason).await;
                    let rest = with_ids(&job, std::mem::take(&mut progress.remaining));
                    return park(leased, &envelope, &rest, progress.records);
                }
                drop(admission);
                progress
            }
        };
        self.conclude(leased, envelope, &job, &base, progress)
    }
}
