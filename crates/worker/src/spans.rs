//! The worker's spans, one place for their names and fields: `lease_batch` (one lease script call), and per job
//! `lease` (the job held by this worker, from its handler starting to its ack written), with `call` (one provider
//! call) and `ack` (its batched write) inside. A job with a `traceparent` continues its caller's trace; one
//! without starts its own.
//!
//! All are `debug` level: without an OpenTelemetry layer (`[telemetry] otlp_endpoint`) the default `info` filter
//! disables them where they are written, so they cost a level check. Fields carry ids, names, statuses and
//! outcomes only: never a credential, a request URL or a message body.

use crate::execute::Finish;
use deleteq_core::Job;
use deleteq_providers::{Disposition, MessageResult};
use deleteq_queue::Leased;
use tracing::field::Empty;
use tracing::Span;

/// Awaits a future inside `span`, or as it is when the span is disabled (no OpenTelemetry layer: the default).
/// Wrapping it in `Instrumented` moves the future once more, and a job's is several KB: a copy per job for
/// nothing when no one records the span. A macro, so the future is built where it is awaited.
macro_rules! in_span {
    ($span:expr, $future:expr) => {
        if $span.is_disabled() {
            $future.await
        } else {
            tracing::Instrument::instrument($future, $span.clone()).await
        }
    };
}
pub(crate) use in_span;

/// A finish on its way to the acker, with the span of its write.
pub(crate) struct Finished {
    pub(crate) finish: Finish,
    /// The job's `ack` span: closed once the batch holding it is written (or given up).
    pub(crate) span: Span,
}

/// One lease script call under lease token `holder`, asking for up to `batch` jobs; [`leased`] records how many
/// it got. A root span: the jobs of one batch belong to many traces (each job's `lease` span names the token).
pub(crate) fn lease_batch(holder: &str, batch: usize) -> Span {
    tracing::debug_span!("lease_batch", lease = %holder, batch, leased = Empty)
}

/// Records on a [`lease_batch`] span how many jobs the call leased.
pub(crate) fn leased(span: &Span, jobs: usize) {
    span.record("leased", jobs);
}

/// A job held by this worker: the parent of its `call`s and its `ack`, and the child of the caller's span when
/// the job carries a `traceparent`.
pub(crate) fn job(leased: &Leased, job: &Job, attempt: u32) -> Span {
    let span = tracing::debug_span!(
        "lease",
        job = %leased.id,
        account = %job.account,
        attempt,
        lease = %leased.holder,
        campaign = leased.campaign.as_deref().unwrap_or(""),
    );
    deleteq_telemetry::continue_trace(&span, job.traceparent.as_ref());
    span
}

/// One provider call of `account` (a `provider` kind); [`called`] records its answer.
pub(crate) fn call(account: &str, provider: &str, messages: usize) -> Span {
    tracing::debug_span!("call", account, provider, messages, status = Empty, outcome = Empty)
}

/// Records on a [`call`] span the HTTP status (none: no answer) and what the answer means.
pub(crate) fn called(span: &Span, status: Option<u16>, disposition: &Disposition) {
    if span.is_disabled() {
        return;
    }
    if let Some(status) = status {
        span.record("status", status);
    }
    span.record("outcome", outcome(disposition));
}

/// The answer in one word: a message outcome when every message of the call had the same one, else `mixed`.
fn outcome(disposition: &Disposition) -> &'static str {
    let one = |result: &MessageResult| match result {
        MessageResult::Deleted(_) => "deleted",
        MessageResult::AlreadyDeleted => "already_deleted",
        MessageResult::Failed(_) => "failed",
        MessageResult::Retry { .. } => "retry",
    };
    match disposition {
        Disposition::Messages(results) => {
            let mut kinds = results.iter().map(|(_, r)| one(r));
            let first = kinds.next().unwrap_or("none");
            if kinds.all(|k| k == first) {
                first
            } else {
                "mixed"
            }
        }
        Disposition::Purged { .. } => "purged",
        Disposition::Retry { .. } => "retry",
        Disposition::Failed { .. } => "failed",
        Disposition::ParkAccount { .. } => "park_account",
    }
}

/// The write of `finish`, a child of the job's `lease` span (`parent`); [`written`] records the batch size.
pub(crate) fn ack(parent: &Span, finish: &Finish) -> Span {
    let (kind, records) = match finish {
        Finish::Ack(a) => ("ack", a.records.len()),
        Finish::Reschedule(r) => ("reschedule", r.records.len()),
        Finish::Expand(e) => ("expand", e.children.len()),
        Finish::Park(p) => ("park", p.records.len()),
        Finish::HandBack(_) => ("hand_back", 0),
        Finish::Lost(_) => ("lost", 0),
    };
    tracing::debug_span!(parent: parent, "ack", kind, records, batch = Empty)
}

/// Records on the `ack` spans of one write how many finishes it carried.
pub(crate) fn written(spans: &[Span]) {
    for span in spans.iter().filter(|s| !s.is_disabled()) {
        span.record("batch", spans.len());
    }
}
