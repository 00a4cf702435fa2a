//! One job, start to finish: decode, check its deadline and window, make the provider calls, and turn the results
//! into the [`Finish`] that records them. Never panics on a job and never returns an error: whatever goes wrong
//! becomes an outcome.

use crate::circuit::Circuits;
use crate::keeper::Starter;
use crate::limiter::{RateGate, Slot};
use crate::parking::{Admission, Parking};
use crate::records::RecordBase;
use crate::retry::{decide, RetryDecision};
use deleteq_core::config::RetryConfig;
use deleteq_core::rate::RateLimit;
use deleteq_core::{AuditRecord, Envelope, GivenUp, Job, Outcome, ProviderKind, Target};
use deleteq_providers::{AccountClient, DeleteRequest, Disposition, MessageResult, Providers};
use deleteq_queue::parking::ParkJob;
use deleteq_queue::{Ack, Expand, Lease, Leased, Reschedule};
use std::collections::HashMap;
use std::time::Duration;
use tracing::{Instrument, Span};

/// How a job leaves this worker.
#[derive(Debug)]
pub(crate) enum Finish {
    /// Terminal for every message it still carried: records written, job deleted (dead-lettered if it failed).
    Ack(Ack),
    /// Some messages remain: run again later with only those.
    Reschedule(Reschedule),
    /// A bulk job becomes children (one step of at most [`MAX_CHILDREN_PER_STEP`]).
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

/// Children written by one expansion script call: bounds how long it holds Redis.
pub(crate) const MAX_CHILDREN_PER_STEP: usize = 1000;

/// How soon a bulk job whose next ids could not be read is tried again.
const LISTED_RETRY: Duration = Duration::from_secs(1);

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

/// Why the remaining messages of a job should be tried again.
struct RetryCause {
    hint: Option<Duration>,
    reason: String,
    status: Option<u16>,
}

/// What a job's calls achieved.
#[derive(Default)]
struct Progress {
    /// Terminal records so far.
    records: Vec<AuditRecord>,
    /// Messages that failed permanently (to the dead-letter set).
    failed: Vec<String>,
    /// Messages still unresolved (when `retry` is set).
    remaining: Vec<String>,
    retry: Option<RetryCause>,
    /// The provider stopped the whole account: why.
    park: Option<String>,
    last_error: Option<(String, Option<u16>)>,
}

impl Progress {
    fn fail(&mut self, base: &RecordBase, id: Option<&str>, status: Option<u16>, reason: &str) {
        self.records.push(base.record(id, Outcome::Failed, status, Some(reason)));
        self.failed.extend(id.map(str::to_string));
        self.last_error = Some((reason.to_string(), status));
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
        let finish = self.run(leased, envelope, job, listed, per_call).instrument(span.clone()).await;
        (finish, span)
    }

    /// [`Executor::execute`] once the job is read: its checks, its calls and their conclusion.
    async fn run(&self, leased: Leased, envelope: Envelope, job: Job, listed: bool, per_call: usize) -> Finish {
        if listed {
            // Its first step passed every check; each child checks again (deadline, account, campaign) itself.
            return expand(leased, envelope, &job, per_call);
        }
        let attempt = envelope.attempt + 1;
        let parent = envelope.parent.as_ref().map(|p| p.as_str());
        let client = self.providers.account(&job.account);
        let provider = client.map(|c| c.kind().as_str()).unwrap_or("");
        let base = RecordBase::new(&leased.id, parent, &job, provider, attempt);
        if leased.reclaims >= self.max_reclaims {
            // Its worker died holding it every time: stop it before it takes down another.
            let error = format!("its worker stopped while running it {} times; not retried", leased.reclaims);
            tracing::warn!(job = %leased.id, account = %job.account, reclaims = leased.reclaims, "Poison job dead-lettered.");
            let mut progress = Progress::default();
            each_message(&job, |id| progress.records.push(base.record(id, Outcome::Dead, None, Some(&error))));
            progress.failed = job.message_ids().to_vec();
            progress.last_error = Some((error, None));
            return self.conclude(leased, envelope, &job, &base, progress);
        }
        let progress = match client {
            None => {
                let mut progress = Progress::default();
                let error = format!("unknown account {:?}: not in this worker's config", job.account);
                each_message(&job, |id| progress.fail(&base, id, None, &error));
                progress
            }
            Some(client) => match expiry(&job, client) {
                Some(why) => {
                    let mut progress = Progress::default();
                    each_message(&job, |id| progress.records.push(base.record(id, Outcome::Expired, None, Some(&why))));
                    progress
                }
                None => {
                    let per_call = client.batch_size.max(1);
                    if matches!(&job.target, Target::Messages(ids) if ids.len() > per_call) {
                        return expand(leased, envelope, &job, per_call);
                    }
                    if leased.cancelled {
                        let mut progress = Progress::default();
                        let why = "its campaign was cancelled";
                        each_message(&job, |id| {
                            progress.records.push(base.record(id, Outcome::Cancelled, None, Some(why)))
                        });
                        return self.conclude(leased, envelope, &job, &base, progress);
                    }
                    if self.parking.is_parked(&job.account).await {
                        return park(leased, &envelope, &job, Vec::new());
                    }
                    if let Some(open_for) = self.circuits.open_for(&job.account).await {
                        return defer_until(leased, envelope, open_for);
                    }
                    // Held until the answer is settled (and the account parked, if it was refused).
                    let _admission: Admission = self.parking.admit(&job.account).await;
                    if self.parking.is_parked(&job.account).await {
                        // The probe this job waited for found the account refused.
                        return park(leased, &envelope, &job, Vec::new());
                    }
                    let limit = self.limits.get(&job.account).copied();
                    while let Some(limit) = limit {
                        match self.gate.slot(&job.account, limit).await {
                            Slot::After(wait, mark) if wait <= self.rate_wait => {
                                if wait.is_zero() {
                                    break;
                                }
                                tokio::time::sleep(wait).await;
                                // A 429 meanwhile revoked the slot: reserve again, at the slower rate.
                                if !self.gate.revoked(&job.account, mark) {
                                    break;
                                }
                            }
                            // No slot within the horizon: back to the front of its lane, holding none, while the
                            // shard's pace for the account moves to the next free slot.
                            Slot::After(wait, _) | Slot::Later(wait) => return hand_back(leased, wait),
                        }
                    }
                    let started = if client.kind() == ProviderKind::Noop {
                        self.starter.start_without_call(&leased)
                    } else {
                        self.starter.start(&leased).await
                    };
                    if !started {
                        return Finish::Lost(leased.id);
                    }
                    let mut progress = self.call(client, &job, &base, limit).await;
                    if let Some(reason) = progress.park.take() {
                        self.parking.park(&job.account, &reason).await;
                        let rest = with_ids(&job, std::mem::take(&mut progress.remaining));
                        return park(leased, &envelope, &rest, progress.records);
                    }
                    progress
                }
            },
        };
        self.conclude(leased, envelope, &job, &base, progress)
    }

    /// Fills a listed bulk job's `messages` with the ids of its next expansion step, read from its id list. When
    /// they cannot be read, the job is handed back to try again shortly (nothing spent, nothing recorded).
    async fn fill_listed(&self, leased: &Leased, mut envelope: Envelope, per_call: usize) -> Result<Envelope, Finish> {
        let take = envelope.listed.min((MAX_CHILDREN_PER_STEP * per_call) as u64);
        match self.queue.expansion_ids(leased.shard, &leased.id, take).await {
            Ok(ids) if !ids.is_empty() => {
                if let Some(job) = envelope.job.as_object_mut() {
                    job.insert("messages".into(), ids.into());
                }
                Ok(envelope)
            }
            Ok(_) => {
                // The list is gone (Redis lost data): the job cannot be continued; fail what is left of it.
                tracing::error!(job = %leased.id, listed = envelope.listed, "A bulk job's id list is missing.");
                let base = RecordBase::undecodable(&leased.id);
                let error = format!("its id list ({} ids not yet expanded) is missing", envelope.listed);
                Err(Finish::Ack(Ack {
                    shard: leased.shard,
                    id: leased.id.clone(),
                    rev: leased.rev,
                    records: vec![base.record(None, Outcome::Failed, None, Some(&error))],
                    dead_letter: Some(envelope.encode()),
                    account: leased.account.clone(),
                }))
            }
            Err(error) => {
                tracing::warn!(%error, job = %leased.id, "Could not read a bulk job's next ids; trying again shortly.");
                Err(defer_until(leased.clone(), envelope, LISTED_RETRY))
            }
        }
    }

    /// Makes the provider calls: one purge, or the messages in chunks of the account's batch size. Stops at the
    /// first retryable failure so that the rest is retried later instead of burning calls now.
    async fn call(&self, client: &AccountClient, job: &Job, base: &RecordBase, limit: Option<RateLimit>) -> Progress {
        let mut progress = Progress::default();
        let purge = job.target == Target::Purge;
        let ids = job.message_ids();
        let batch = client.batch_size.max(1);
        let chunks: Vec<&[String]> = if purge { vec![&[]] } else { ids.chunks(batch).collect() };
        for (i, chunk) in chunks.into_iter().enumerate() {
            let req = DeleteRequest {
                conversation: job.conversation.as_deref(),
                messages: chunk,
                purge,
                permanent: job.permanent,
                on_behalf_of: job.on_behalf_of.as_deref(),
            };
            let call = client.delete(self.providers.http(), &req);
            let span = crate::spans::call(&job.account, client.kind().as_str(), chunk.len());
            let response = self.metrics.timed_call(&job.account, client.kind(), call).instrument(span.clone()).await;
            let status = response.http_status;
            crate::spans::called(&span, status, &response.disposition);
            if let (Some(429), Some(limit)) = (status, limit) {
                self.gate.slow_down(&job.account, limit);
            }
            self.parking.settle(&job.account, status, &response.disposition);
            if let (Some(budget), Some(limit)) = (&response.budget, limit) {
                self.gate.observe(&job.account, limit, budget);
            }
            if deleteq_providers::classify::is_server_side(status, &response.disposition) {
                self.circuits.failure(&job.account).await;
            }
            let later = || ids.get((i + 1) * batch..).unwrap_or_default().to_vec();
            match response.disposition {
                Disposition::Messages(results) if !purge => {
                    let mut retry: Option<RetryCause> = None;
                    for (id, result) in results {
                        match result {
                            MessageResult::Deleted(mode) => {
                                let mut record = base.record(Some(&id), Outcome::Deleted, status, None);
                                record.mode = Some(mode);
                                progress.records.push(record);
                            }
                            MessageResult::AlreadyDeleted => {
                                progress.records.push(base.record(Some(&id), Outcome::AlreadyDeleted, status, None))
                            }
                            MessageResult::Failed(e) => progress.fail(base, Some(&id), status, &e),
                            MessageResult::Retry { after, reason } => {
                                // Part of a bisected batch was not settled: only those ids are tried again.
                                progress.remaining.push(id);
                                let hint = retry.as_ref().and_then(|r| r.hint).max(after);
                                retry = Some(RetryCause { hint, reason, status });
                            }
                        }
                    }
                    if let Some(cause) = retry {
                        progress.remaining.extend(later());
                        progress.retry = Some(cause);
                        break;
                    }
                }
                Disposition::Purged { deleted_count, mode } if purge => {
                    let mut record = base.record(None, Outcome::Purged, status, None);
                    record.deleted_count = Some(deleted_count);
                    record.mode = Some(mode);
                    progress.records.push(record);
                }
                Disposition::Messages(_) | Disposition::Purged { .. } => {
                    let reason = "the provider's answer does not match the request";
                    if purge {
                        progress.fail(base, None, status, reason);
                    }
                    for id in chunk {
                        progress.fail(base, Some(id), status, reason);
                    }
                }
                Disposition::Failed { reason } => {
                    if purge {
                        progress.fail(base, None, status, &reason);
                    }
                    for id in chunk {
                        progress.fail(base, Some(id), status, &reason);
                    }
                }
                Disposition::Retry { after: hint, reason } => {
                    progress.remaining = ids.get(i * batch..).unwrap_or_default().to_vec();
                    progress.retry = Some(RetryCause { hint, reason, status });
                    break;
                }
                Disposition::ParkAccount { reason, .. } => {
                    progress.remaining = ids.get(i * batch..).unwrap_or_default().to_vec();
                    progress.park = Some(reason);
                    break;
                }
            }
        }
        progress
    }

    /// Turns the progress into an ack (everything resolved) or a reschedule (some messages remain).
    fn conclude(
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

/// Sets the job (narrowed to `job`, the messages still to delete) aside until its account is resumed.
fn park(leased: Leased, envelope: &Envelope, job: &Job, records: Vec<AuditRecord>) -> Finish {
    let mut envelope = envelope.clone();
    envelope.job = job.to_value();
    let account = job.account.clone();
    Finish::Park(ParkJob {
        shard: leased.shard,
        holder: leased.holder,
        account,
        id: leased.id,
        rev: leased.rev,
        envelope: envelope.encode(),
        records,
    })
}

/// Hands the job back to the front of its lane, unchanged, because its account's next rate-limit slot is `wait`
/// away: no attempt is spent, nothing is recorded, and no slot is held meanwhile.
fn hand_back(leased: Leased, wait: Duration) -> Finish {
    Finish::HandBack(HandBack { shard: leased.shard, lease: leased.lease(), account: leased.account, wait })
}

/// Hands the job back unchanged (no attempt spent, nothing recorded), due `delay` from Redis's now.
fn defer_until(leased: Leased, envelope: Envelope, delay: Duration) -> Finish {
    Finish::Reschedule(Reschedule {
        shard: leased.shard,
        id: leased.id,
        rev: leased.rev,
        holder: leased.holder,
        delay,
        attempted: false,
        envelope: envelope.encode(),
        records: Vec::new(),
    })
}

/// One expansion step: the first ids become children of `per_call` ids each (one child per message for providers
/// without batch deletes), with ids `PARENT:N` (N = the position of the child's first message in the original
/// list). The rest stays in the parent's id list in Redis: pushed there by the first step (the job's own ids), taken
/// from its head by the later ones (`job` then holds just the ids read for this step); the parent's envelope keeps
/// only the count (`listed`) and the position reached (`expanded`).
fn expand(leased: Leased, mut envelope: Envelope, job: &Job, per_call: usize) -> Finish {
    let ids = job.message_ids();
    let take = ids.len().min(MAX_CHILDREN_PER_STEP * per_call);
    let base = envelope.expanded;
    let children = ids[..take]
        .chunks(per_call)
        .enumerate()
        .map(|(i, chunk)| {
            let position = base + (i * per_call) as u64;
            let child_id = format!("{}:{position}", leased.id);
            let child = Envelope {
                v: 1,
                id: deleteq_core::JobId(child_id.clone()),
                attempt: 0,
                job: with_ids(job, chunk.to_vec()).to_value(),
                expanded: 0,
                listed: 0,
                parent: Some(deleteq_core::JobId(leased.id.clone())),
                last_error: None,
                last_status: None,
                given_up: None,
            };
            (child_id, child.encode())
        })
        .collect();
    let (pop, push, left) = if envelope.listed > 0 {
        (take as u64, Vec::new(), envelope.listed.saturating_sub(take as u64))
    } else {
        (0, ids[take..].to_vec(), (ids.len() - take) as u64)
    };
    let rest = (left > 0).then(|| {
        envelope.expanded = base + take as u64;
        envelope.listed = left;
        envelope.job = with_ids(job, Vec::new()).to_value();
        envelope.encode()
    });
    Finish::Expand(Expand {
        shard: leased.shard,
        id: leased.id,
        rev: leased.rev,
        children,
        rest,
        pop,
        push,
        account: job.account.clone(),
    })
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

/// Calls `f` once per message of the job, or once with `None` for a purge.
fn each_message(job: &Job, mut f: impl FnMut(Option<&str>)) {
    match &job.target {
        Target::Purge => f(None),
        _ => job.message_ids().iter().for_each(|id| f(Some(id))),
    }
}

/// The job narrowed to `ids` (a purge stays a purge).
fn with_ids(job: &Job, mut ids: Vec<String>) -> Job {
    let mut rest = job.clone();
    rest.target = match (&job.target, ids.len()) {
        (Target::Purge, _) => Target::Purge,
        (Target::Message(_), 1) => Target::Message(ids.remove(0)),
        _ => Target::Messages(ids),
    };
    rest
}

/// A job whose stored form cannot be read: one `failed` record, and the raw text kept as its dead letter.
fn undecodable(leased: Leased, error: &str) -> Finish {
    let base = RecordBase::undecodable(&leased.id);
    let record = base.record(None, Outcome::Failed, None, Some(error));
    // The account is unknown too: its pending count keeps this job (a corrupted record is a bug to investigate).
    let dead_letter = Some(leased.envelope);
    let shard = leased.shard;
    Finish::Ack(Ack {
        shard,
        id: leased.id,
        rev: leased.rev,
        records: vec![record],
        dead_letter,
        account: String::new(),
    })
}
