//! Writes finished jobs to Redis in batches: acks (terminal records, dead letters) first, then reschedules, parks
//! and expansion steps, each batch one script call per shard. A batch is bounded both by jobs and by the script
//! arguments it carries (a job's records are 17 name, value pairs each: a QuickBlox batch of 500 ids is 17,000
//! arguments). A write that fails is retried as `write_retry` says: through outages for as long as the worker runs,
//! but a write that cannot land is given up after a bounded time, so it never blocks the others; its jobs are then
//! dropped from the in-flight set, their leases lapse, and another worker runs them (the revision check in the
//! scripts keeps every outcome single).

use crate::execute::{Finish, HandBack};
use crate::inflight::InFlight;
use crate::metrics::Metrics;
use crate::spans::Finished;
use crate::write_retry::{retrying, Limits};
use deleteq_core::audit::FIELDS;
use deleteq_queue::Queue;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Most finishes written per batch.
const MAX_BATCH: usize = 512;

/// Most script arguments one batch carries (a batch always takes at least one finish, however big).
pub(crate) const MAX_ARGS: usize = 40_000;

/// The script arguments `finish` adds to its write (see the scripts' ARGV headers).
pub(crate) fn weight(finish: &Finish) -> usize {
    let records = |n: usize| n * 2 * FIELDS.len();
    match finish {
        Finish::Ack(a) => 4 + records(a.records.len()),
        Finish::Reschedule(r) => 5 + records(r.records.len()),
        Finish::Park(p) => 5 + records(p.records.len()),
        Finish::Expand(e) => 5 + e.push.len() + 2 * e.children.len(),
        Finish::HandBack(_) => 2,
        // Nothing to write.
        Finish::Lost(_) => 0,
    }
}

/// Writes expansion steps one script call each (they are big).
async fn write_expansions(queue: &Queue, steps: Vec<deleteq_queue::Expand>, stats: &mut AckStats, limits: &mut Limits) {
    for step in steps {
        match retrying(|| queue.expand(&step), &step.id, limits).await {
            Some(true) => stats.expanded += 1,
            Some(false) => stats.stale += 1,
            None => stats.given_up += 1,
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
    /// Finishes given up (Redis refused them or shutdown came first): their jobs run again after their lease.
    pub(crate) given_up: u64,
    /// Jobs handed back to their lanes because their account had no rate-limit slot within the horizon.
    pub(crate) handed_back: u64,
}

/// Runs until every sender is dropped and the channel is drained. Once `stop` turns true, a write is retried for
/// at most `give_up` more; a write failing with a non-transient error is given up after `stuck`.
pub(crate) async fn run_acker(
    queue: Queue,
    mut rx: mpsc::Receiver<Finished>,
    inflight: InFlight,
    stop: watch::Receiver<bool>,
    (give_up, stuck): (Duration, Duration),
    metrics: Metrics,
) -> AckStats {
    let mut stats = AckStats::default();
    let mut limits = Limits::new(stop, give_up, stuck);
    let mut carry: Option<Finished> = None;
    loop {
        let first = match carry.take() {
            Some(first) => first,
            None => match rx.recv().await {
                Some(first) => first,
                None => break,
            },
        };
        let mut args = weight(&first.finish);
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) if args + weight(&next.finish) > MAX_ARGS => {
                    carry = Some(next);
                    break;
                }
                Ok(next) => {
                    args += weight(&next.finish);
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        let ids: Vec<String> = batch.iter().map(|f| f.finish.id().to_string()).collect();
        // The jobs' `ack` spans end once the write is done (dropped below).
        let (batch, spans): (Vec<Finish>, Vec<tracing::Span>) = batch.into_iter().map(|f| (f.finish, f.span)).unzip();
        crate::spans::written(&spans);
        write_batch(&queue, batch, &mut stats, &mut limits, &metrics).await;
        drop(spans);
        // Written or given up: either way this worker holds these jobs no longer (the keeper stops renewing them).
        inflight.remove(ids.iter().map(String::as_str));
    }
    stats
}

/// Acks first (they finish jobs and free their leases), then reschedules, parks and expansion steps; each kind is
/// written once, so an ack that went through is not repeated when a later kind fails. Counts in `metrics` only
/// the records of jobs a script reported as changed (never a stale one's).
async fn write_batch(queue: &Queue, batch: Vec<Finish>, stats: &mut AckStats, limits: &mut Limits, metrics: &Metrics) {
    let jobs = batch.len();
    let mut acks = Vec::with_capacity(jobs);
    let mut reschedules = Vec::new();
    let mut expansions = Vec::new();
    let mut parked = Vec::new();
    let mut handed_back: Vec<HandBack> = Vec::new();
    for finish in batch {
        match finish {
            Finish::Ack(a) => acks.push(a),
            Finish::Reschedule(r) => reschedules.push(r),
            Finish::Expand(e) => expansions.push(e),
            Finish::Park(p) => parked.push(p),
            Finish::HandBack(h) => handed_back.push(h),
            // Handled by the job's handler: nothing to write.
            Finish::Lost(_) => {}
        }
    }
    if !acks.is_empty() {
        let what = format!("{} finished", acks.len());
        match retrying(|| queue.ack(&acks), &what, limits).await {
            Some(flags) => {
                metrics.count_written(acks.iter().map(|a| a.records.as_slice()), &flags);
                stats.acked += count(&flags, &mut stats.stale);
            }
            None => stats.given_up += acks.len() as u64,
        }
    }
    if !reschedules.is_empty() {
        let what = format!("{} rescheduled", reschedules.len());
        match retrying(|| queue.reschedule(&reschedules), &what, limits).await {
            Some(flags) => {
                metrics.count_written(reschedules.iter().map(|r| r.records.as_slice()), &flags);
                stats.rescheduled += count(&flags, &mut stats.stale);
            }
            None => stats.given_up += reschedules.len() as u64,
        }
    }
    for job in parked {
        match retrying(|| queue.park_job(&job), &job.id, limits).await {
            Some(true) => metrics.count_records(&job.records),
            Some(false) => stats.stale += 1,
            None => stats.given_up += 1,
        }
    }
    write_expansions(queue, expansions, stats, limits).await;
    write_hand_backs(queue, handed_back, stats, limits).await;
}

/// Hands jobs back to their lanes, one script call per shard and account (which moves the shard's pace for the
/// account to its next free slot: the soonest any of them saw).
async fn write_hand_backs(queue: &Queue, jobs: Vec<HandBack>, stats: &mut AckStats, limits: &mut Limits) {
    let mut groups: std::collections::BTreeMap<(usize, String), (Vec<deleteq_queue::Lease>, Duration)> =
        Default::default();
    for job in jobs {
        let group = groups.entry((job.shard, job.account)).or_insert((Vec::new(), job.wait));
        group.0.push(job.lease);
        group.1 = group.1.min(job.wait);
    }
    for ((shard, account), (leases, wait)) in groups {
        let what = format!("{} handed back", leases.len());
        match retrying(|| queue.release_paced(shard, &leases, true, Some((&account, wait))), &what, limits).await {
            Some(n) => stats.handed_back += n,
            None => stats.given_up += leases.len() as u64,
        }
    }
}

/// How many of a batch were changed by this write; the others (finished or rewritten meanwhile) are counted stale.
fn count(flags: &[bool], stale: &mut u64) -> u64 {
    let fresh = flags.iter().filter(|f| **f).count() as u64;
    *stale += flags.len() as u64 - fresh;
    fresh
}

#[cfg(test)]
mod tests {
    use super::*;
    use deleteq_core::{AuditRecord, Outcome};

    #[test]
    fn a_batch_is_bounded_by_the_arguments_its_records_carry() {
        let record = AuditRecord {
            job: "j".into(),
            parent: None,
            account: "qb".into(),
            provider: "quickblox".into(),
            conversation: None,
            message: Some("m".into()),
            outcome: Outcome::Deleted,
            http_status: Some(200),
            attempt: 1,
            error: None,
            deleted_count: None,
            delay_ms: None,
            campaign: None,
            reason: None,
            requested_by: None,
            at: AuditRecord::now(),
            mode: None,
        };
        let ack = |records: usize| {
            Finish::Ack(deleteq_queue::Ack {
                id: "j".into(),
                rev: 0,
                records: vec![record.clone(); records],
                dead_letter: None,
                account: "qb".into(),
                shard: 0,
            })
        };
        // A QuickBlox batch of 500 ids: 500 records of 17 name, value pairs.
        assert_eq!(FIELDS.len(), 17);
        assert_eq!(weight(&ack(500)), 4 + 500 * 34);
        assert_eq!(MAX_ARGS / weight(&ack(500)), 2, "two such jobs per call, not 512");
        assert!(MAX_ARGS / weight(&ack(1)) >= MAX_BATCH, "single-message jobs still batch by 512");
    }
}
