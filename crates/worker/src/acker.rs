//! Writes finished jobs to Redis in batches: acks (terminal records, dead letters) and reschedules, each batch one
//! script call. A batch that cannot be written (Redis down) is kept and retried, so no outcome is lost; if the
//! outage outlasts the lease, another worker may run the job again, and the revision check in the scripts keeps
//! its outcome single.

use crate::execute::Finish;
use crate::inflight::InFlight;
use crate::metrics::Metrics;
use deleteq_queue::Queue;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Most finishes written per script call.
const MAX_BATCH: usize = 512;

/// Writes expansion steps one script call each (they are big), retrying through outages like the rest.
async fn write_expansions(
    queue: &Queue,
    steps: Vec<deleteq_queue::Expand>,
    stats: &mut AckStats,
    deadline: Option<Instant>,
) {
    for step in steps {
        match retrying(|| queue.expand(&step), &step.id, deadline).await {
            Some(true) => stats.expanded += 1,
            Some(false) => stats.stale += 1,
            None => {}
        }
    }
}

/// Runs one Redis write until it lands, backing off between tries; once the worker is shutting down, gives up at
/// `deadline` (the jobs' leases then expire and they run again). `what` names the jobs in logs.
async fn retrying<T, F, Fut>(write: F, what: &str, deadline: Option<Instant>) -> Option<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = deleteq_queue::Result<T>>,
{
    let mut failures = 0;
    loop {
        match write().await {
            Ok(value) => return Some(value),
            Err(error) => {
                failures += 1;
                if deadline.is_some_and(|d| Instant::now() > d) {
                    tracing::error!(%error, jobs = %what, "Could not record before shutdown; the jobs will run again after their lease.");
                    return None;
                }
                tracing::warn!(%error, jobs = %what, failures, "Could not record outcomes; retrying.");
                tokio::time::sleep(crate::redis_backoff(failures)).await;
            }
        }
    }
}

/// Counts kept for the shutdown log line.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AckStats {
    pub(crate) acked: u64,
    pub(crate) rescheduled: u64,
    pub(crate) expanded: u64,
    pub(crate) stale: u64,
}

/// Runs until every sender is dropped and the channel is drained. `give_up` bounds how long a batch is retried
/// once the worker is shutting down.
pub(crate) async fn run_acker(
    queue: Queue,
    mut rx: mpsc::Receiver<Finish>,
    inflight: InFlight,
    give_up: Duration,
    metrics: Metrics,
) -> AckStats {
    let mut stats = AckStats::default();
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let ids: Vec<String> = batch.iter().map(|f| f.id().to_string()).collect();
        let give_up = rx.is_closed().then_some(give_up);
        write_batch(&queue, std::mem::take(&mut batch), &mut stats, give_up, &metrics).await;
        inflight.remove(ids.iter().map(String::as_str));
    }
    stats
}

/// Counts in `metrics` only the records of jobs a script reported as changed (never a stale one's).
async fn write_batch(
    queue: &Queue,
    batch: Vec<Finish>,
    stats: &mut AckStats,
    give_up: Option<Duration>,
    metrics: &Metrics,
) {
    let jobs = batch.len();
    let mut acks = Vec::with_capacity(jobs);
    let mut reschedules = Vec::new();
    let mut expansions = Vec::new();
    let mut parked = Vec::new();
    for finish in batch {
        match finish {
            Finish::Ack(a) => acks.push(a),
            Finish::Reschedule(r) => reschedules.push(r),
            Finish::Expand(e) => expansions.push(e),
            Finish::Park(p) => parked.push(p),
            // Handled by the job's handler: nothing to write.
            Finish::Lost(_) => {}
        }
    }
    let deadline = give_up.map(|limit| Instant::now() + limit);
    write_expansions(queue, expansions, stats, deadline).await;
    for job in parked {
        match retrying(|| queue.park_job(&job), &job.id, deadline).await {
            Some(true) => metrics.count_records(&job.records),
            Some(false) => stats.stale += 1,
            None => {}
        }
    }
    let what = format!("{jobs} finished");
    // Each half is written once: an ack that went through is not repeated when the reschedules fail.
    if !acks.is_empty() {
        if let Some(flags) = retrying(|| queue.ack(&acks), &what, deadline).await {
            metrics.count_written(acks.iter().map(|a| a.records.as_slice()), &flags);
            stats.acked += count(&flags, &mut stats.stale);
        }
    }
    if !reschedules.is_empty() {
        if let Some(flags) = retrying(|| queue.reschedule(&reschedules), &what, deadline).await {
            metrics.count_written(reschedules.iter().map(|r| r.records.as_slice()), &flags);
            stats.rescheduled += count(&flags, &mut stats.stale);
        }
    }
}

/// How many of a batch were changed by this write; the others (finished or rewritten meanwhile) are counted stale.
fn count(flags: &[bool], stale: &mut u64) -> u64 {
    let fresh = flags.iter().filter(|f| **f).count() as u64;
    *stale += flags.len() as u64 - fresh;
    fresh
}
