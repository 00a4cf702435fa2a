//! Keeps this worker's leases, the one place that writes them after leasing: every third of the lease it pushes
//! the expiry of every job it still holds to Redis's now + lease, and before a provider call starts it records
//! the start (the [`Starter`] gate), in the same script, batched across every call starting at once.
//!
//! Guarantees: a call starts only once Redis has recorded it under this worker's lease token (so a reclaim after
//! a crash counts toward that job's poison limit, and a job whose lease was lost or handed back is never called);
//! a started call's lease is extended until its job leaves the in-flight set, through shutdown, until the runtime
//! stops the keeper after the grace period.

use crate::inflight::InFlight;
use deleteq_queue::{Lease, Leased, Queue};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// A call about to start: its lease, and where to say whether it may.
struct StartRequest {
    shard: usize,
    lease: Lease,
    reply: oneshot::Sender<bool>,
}

/// The gate every provider call passes: cheap to clone.
#[derive(Clone)]
pub(crate) struct Starter {
    tx: mpsc::Sender<StartRequest>,
    inflight: InFlight,
}

impl Starter {
    /// Records in Redis that `job`'s provider call starts now; false when it must not start: this worker no
    /// longer holds its lease (reclaimed after it expired, finished by another worker, or handed back at
    /// shutdown), or Redis could not record it in time (the lease then lapses and the job runs again, no
    /// reclaim counted).
    pub(crate) async fn start(&self, job: &Leased) -> bool {
        if !self.inflight.start(&job.id, &job.holder) {
            return false;
        }
        let (reply, answer) = oneshot::channel();
        let request = StartRequest { shard: job.shard, lease: job.lease(), reply };
        if self.tx.send(request).await.is_err() {
            return false;
        }
        answer.await.unwrap_or(false)
    }
}

/// Start requests written per script call at most.
const MAX_STARTS: usize = 1000;

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
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(next_extend) => {
                    self.extend_all().await;
                    next_extend = tokio::time::Instant::now() + every;
                }
                Some(first) = self.rx.recv() => {
                    let mut batch = vec![first];
                    while batch.len() < MAX_STARTS {
                        match self.rx.try_recv() {
                            Ok(next) => batch.push(next),
                            Err(_) => break,
                        }
                    }
                    self.start(batch).await;
                }
                _ = stop.changed() => {
                    if *stop.borrow() {
                        return;
                    }
                }
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

    /// Records the starts of a batch of calls, one script call per shard, and answers each. Transient failures
    /// are retried for up to a third of the lease (the time the last extension still covers); then the calls do
    /// not start.
    async fn start(&self, batch: Vec<StartRequest>) {
        let mut shards: Vec<usize> = batch.iter().map(|r| r.shard).collect();
        shards.sort_unstable();
        shards.dedup();
        let mut requests: Vec<Option<StartRequest>> = batch.into_iter().map(Some).collect();
        for shard in shards {
            let members: Vec<usize> =
                (0..requests.len()).filter(|&i| requests[i].as_ref().is_some_and(|r| r.shard == shard)).collect();
            let items: Vec<(Lease, bool)> =
                members.iter().filter_map(|&i| requests[i].as_ref().map(|r| (r.lease.clone(), true))).collect();
            let held = self.hold_retrying(shard, &items).await;
            for (n, &i) in members.iter().enumerate() {
                if let Some(request) = requests[i].take() {
                    let _ = request.reply.send(held.get(n).copied().unwrap_or(false));
                }
            }
        }
    }

    async fn hold_retrying(&self, shard: usize, items: &[(Lease, bool)]) -> Vec<bool> {
        let give_up = Instant::now() + self.lease / 3;
        let mut failures = 0;
        loop {
            match self.queue.hold(shard, items, self.lease).await {
                Ok(held) => return held,
                Err(error) => {
                    failures += 1;
                    if Instant::now() >= give_up {
                        tracing::warn!(%error, shard, jobs = items.len(), "Could not record calls starting; they do not start and run again after their lease.");
                        return Vec::new();
                    }
                    tokio::time::sleep(crate::redis_backoff(failures)).await;
                }
            }
        }
    }
}
