//! Writes finished jobs to Redis in batches: acks (terminal records, dead letters) and reschedules, each batch one
//! script call. A batch that cannot be written (Redis down) is kept and retried, so no outcome is lost; if the
//! outage outlasts the lease, another worker may run the job again, and the revision check in the scripts keeps
//! its outcome single.

use crate::execute::Finish;
use crate::inflight::InFlight;
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
    give_up: Option<Duration>,
) {
    for step in steps {
        if write_one(|| queue.expand(&step), &step.id, stats, give_up).await {
            stats.expanded += 1;
        }
    }
}

/// Runs one single-job write until it lands (or the shutdown budget runs out); true if it changed the job.
async fn write_one<F, Fut>(write: F, id: &str, stats: &mut AckStats, give_up: Option<Duration>) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = deleteq_queue::Result<bool>>,
{
    let started = Instant::now();
    let mut failures = 0;
    loop {
        match write().await {
            Ok(true) => return true,
            Ok(false) => {
                stats.stale += 1;
                return false;
            }
            Err(error) => {
                failures += 1;
                if give_up.is_some_and(|limit| started.elapsed() > limit) {
                    tracing::error!(%error, job = %id, "Could not record before shutdown; the job will run again after its lease.");
                    return false;
                }
                tracing::warn!(%error, job = %id, failures, "Could not record a job's change; retrying.");
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
        write_batch(&queue, std::mem::take(&mut batch), &mut stats, give_up).await;
        inflight.remove(ids.iter().map(String::as_str));
    }
    stats
}

async fn write_batch(queue: &Queue, batch: Vec<Finish>, stats: &mut AckStats, give_up: Option<Duration>) {
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
        }
    }
    write_expansions(queue, expansions, stats, give_up).await;
    for job in parked {
        write_one(|| queue.park_job(&job, deleteq_core::now_ms()), &job.id, stats, give_up).await;
    }
    let started = Instant::now();
    let mut failures = 0;
    // Each half is written once: an ack that went through is not repeated when the reschedules fail.
    while !(acks.is_empty() && reschedules.is_empty()) {
        let result = if !acks.is_empty() {
            queue.ack(&acks, deleteq_core::now_ms()).await.map(|flags| (flags, true))
        } else {
            queue.reschedule(&reschedules).await.map(|flags| (flags, false))
        };
        match result {
            Ok((flags, were_acks)) => {
                let fresh = flags.iter().filter(|f| **f).count() as u64;
                stats.stale += flags.len() as u64 - fresh;
                if were_acks {
                    stats.acked += fresh;
                    acks.clear();
                } else {
                    stats.rescheduled += fresh;
                    reschedules.clear();
                }
                failures = 0;
            }
            Err(error) => {
                failures += 1;
                if give_up.is_some_and(|limit| started.elapsed() > limit) {
                    tracing::error!(%error, jobs, "Could not record outcomes before shutdown; their leases will expire and the jobs run again.");
                    return;
                }
                tracing::warn!(%error, jobs, failures, "Could not record outcomes; retrying.");
                tokio::time::sleep(crate::redis_backoff(failures)).await;
            }
        }
    }
}
