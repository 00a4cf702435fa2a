//! Keeps this worker's leases, the one place that writes them after leasing: every third of the lease it pushes
//! the expiry of every job it still holds to Redis's now + lease, and as provider calls start it records each
//! start (the [`Starter`]), in the same script, batched across every call starting at once.
//!
//! Guarantees: a call starts only while this worker holds its lease in Redis: its start is recorded there (the
//! holder token marked) before the call is sent, and a call whose start Redis does not take (its lease was lost:
//! reclaimed, finished elsewhere, or its job cancelled by `deleteq cancel` meanwhile) is not made. The start is
//! batched across every call starting at once, and up to [`STARTS_IN_FLIGHT`] batches are out together, so a
//! call waits one round trip, shared, not the previous batch's as well; a job handed back at
//! shutdown is never called. A started call's lease is extended until its job leaves the in-flight set, through
//! shutdown, until the runtime stops the keeper after the grace period.

use crate::inflight::InFlight;
use deleteq_queue::{Lease, Leased, Queue};
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// A call starting: its lease, and where to say whether Redis took the start.
struct StartRequest {
    shard: usize,
    lease: Lease,
    taken: oneshot::Sender<bool>,
}

/// The gate every provider call passes: cheap to clone.
#[derive(Clone)]
pub(crate) struct Starter {
    tx: mpsc::Sender<StartRequest>,
    inflight: InFlight,
}

impl Starter {
    /// Marks `job`'s provider call as starting and has the keeper record the start in Redis; false when it must
    /// not start: this process no longer holds its lease (handed back at shutdown, or dropped), or Redis did not
    /// take the start (the lease was lost, or the job was cancelled: `lua/cancel.lua`), or could not be reached
    /// for a third of the lease.
    pub(crate) async fn start(&self, job: &Leased) -> bool {
        if !self.inflight.start(&job.id, &job.holder) {
            return false;
        }
        let (taken, answer) = oneshot::channel();
        if self.tx.send(StartRequest { shard: job.shard, lease: job.lease(), taken }).await.is_err() {
            return false;
        }
        answer.await.unwrap_or(false)
    }

    /// For a job that makes no provider call (a `noop` account): marks it started in this process only. Nothing
    /// is recorded in Redis because there is nothing to guard: no call that a cancel could race with (a cancel
    /// meanwhile leaves its one truthful `cancelled` record, and this worker's ack finds the job gone and writes
    /// nothing), and no call whose crash would count toward the poison limit. False when this process no longer
    /// holds the lease.
    pub(crate) fn start_without_call(&self, job: &Leased) -> bool {
        self.inflight.start(&job.id, &job.holder)
    }
}

/// Start requests written per script call at most.
const MAX_STARTS: usize = 1000;

/// Start batches out at once at most.
const STARTS_IN_FLIGHT: usize = 4;

/// The keeper task and its gate.
pub(crate) fn keeper(queue: Queue, inflight: InFlight, lease: Duration) -> (Starter, Keeper) {
    let (tx, rx) = mpsc::channel(MAX_STARTS);
    (Starter { tx, inflight: inflight.clone() }, Keeper { queue, inflight, lease, rx })
}

/// Holds the leases; see the module docs.
pub(crate) struct Keeper {
    queue: Queue,
    inflight: InFlight,
    lease: Duration,
    rx: mpsc::Receiver<StartRequest>,
}

impl Keeper {
    /// Runs until `stop` turns true (the runtime says so once no call can run any more).
    pub(crate) async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let every = self.lease / 3;
        let mut next_extend = tokio::time::Instant::now() + every;
        // Start batches in flight: a call arriving while one is out goes in the next at once rather than waiting
        // for its answer (each would otherwise wait up to two round trips, behind the acks Redis runs meanwhile).
        let mut starting = FuturesUnordered::new();
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(next_extend) => {
                    // A write stuck on an unreachable Redis must not outlive the runtime's stop.
                    tokio::select! {
                        _ = self.extend_all() => {}
                        _ = stopped(&mut stop) => return,
                    }
                    next_extend = tokio::time::Instant::now() + every;
                }
                Some(first) = self.rx.recv(), if starting.len() < STARTS_IN_FLIGHT => {
                    let mut batch = vec![first];
                    while batch.len() < MAX_STARTS {
                        match self.rx.try_recv() {
                            Ok(next) => batch.push(next),
                            Err(_) => break,
                        }
                    }
                    starting.push(start(self.queue.clone(), self.lease, batch));
                }
                Some(()) = starting.next(), if !starting.is_empty() => {}
                _ = stopped(&mut stop) => return,
            }
        }
    }

    /// Pushes every held lease forward.
    async fn extend_all(&self) {
        for (shard, leases) in self.inflight.snapshot() {
            let items: Vec<(Lease, bool)> = leases.into_iter().map(|l| (l, false)).collect();
            match self.queue.hold(shard, &items, self.lease).await {
                Ok(held) => {
                    let lost: Vec<&str> =
                        items.iter().zip(&held).filter(|(_, h)| !**h).map(|((l, _), _)| l.id.as_str()).collect();
                    if !lost.is_empty() {
                        // Finished by another worker's ack, or reclaimed after this worker stalled past the lease.
                        tracing::debug!(shard, lost = lost.len(), "Leases no longer held; no longer extended.");
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, shard, jobs = items.len(), "Could not extend leases; retrying at the next tick.")
                }
            }
        }
    }
}

/// Records the starts of a batch of calls, one script call per shard, and tells each call whether Redis took
/// its start. Transient failures are retried for up to a third of the lease (the time the last extension
/// still covers), then the calls are not made (their jobs run again once their leases expire); a start Redis
/// does not take (the lease was lost or the job cancelled meanwhile) is logged.
async fn start(queue: Queue, lease: Duration, batch: Vec<StartRequest>) {
    let mut by_shard: std::collections::BTreeMap<usize, Vec<StartRequest>> = Default::default();
    for request in batch {
        by_shard.entry(request.shard).or_default().push(request);
    }
    for (shard, mut requests) in by_shard {
        // Leases of one token side by side: they go to Redis as one run (`hold::args`).
        requests.sort_by(|a, b| a.lease.holder.cmp(&b.lease.holder));
        let items: Vec<(Lease, bool)> = requests.iter().map(|r| (r.lease.clone(), true)).collect();
        let held = hold_retrying(&queue, lease, shard, &items).await;
        let lost = requests.len() - held.iter().filter(|h| **h).count();
        for (i, request) in requests.into_iter().enumerate() {
            // A receiver gone (its task stopped) needs no answer.
            let _ = request.taken.send(held.get(i).copied().unwrap_or(false));
        }
        if lost > 0 {
            tracing::info!(shard, lost, "Calls not started: their leases were lost or their jobs cancelled.");
        }
    }
}

async fn hold_retrying(queue: &Queue, lease: Duration, shard: usize, items: &[(Lease, bool)]) -> Vec<bool> {
    let give_up = Instant::now() + lease / 3;
    let mut failures = 0;
    loop {
        match queue.hold(shard, items, lease).await {
            Ok(held) => return held,
            Err(error) => {
                failures += 1;
                if Instant::now() >= give_up {
                    tracing::warn!(%error, shard, jobs = items.len(), "Could not record calls starting; a crash now would not count them.");
                    return Vec::new();
                }
                tokio::time::sleep(crate::redis_backoff(failures)).await;
            }
        }
    }
}

/// Resolves once the runtime says stop (or is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}
