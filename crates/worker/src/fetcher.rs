//! Leases batches of ready jobs whenever call slots are free, and starts one task per job. When the queue is
//! empty it blocks on the wake list (a token pushed by enqueue and promotion), so a new job starts within
//! milliseconds without polling.

use crate::execute::{Executor, Finish};
use crate::inflight::InFlight;
use deleteq_queue::{Leased, Queue};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;

/// How long an idle worker blocks on the wake list before looking again.
const IDLE_BLOCK: Duration = Duration::from_secs(1);
/// How long to wait for a fuller batch of free slots before leasing fewer.
const GATHER: Duration = Duration::from_millis(2);

/// A call slot; returned to the pool when dropped, also when its task panics or is aborted.
struct Slot(Arc<Semaphore>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.add_permits(1);
    }
}

/// What the fetcher shares with the runtime.
pub(crate) struct Fetcher {
    pub(crate) queue: Queue,
    pub(crate) executor: Arc<Executor>,
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) concurrency: usize,
    pub(crate) lease: Duration,
    pub(crate) inflight: InFlight,
    pub(crate) finishes: mpsc::Sender<Finish>,
}

impl Fetcher {
    /// Leases and starts jobs until `stop` turns true; returns the tasks still running.
    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>) -> JoinSet<()> {
        let mut tasks = JoinSet::new();
        let mut waiter = self.queue.waiter();
        let max_batch = self.concurrency.min(512);
        let gather = (self.concurrency / 4).max(1);
        let mut failures = 0;
        loop {
            while tasks.try_join_next().is_some() {}
            if *stop.borrow() {
                return tasks;
            }
            let held = tokio::select! {
                held = self.take_slots(gather, max_batch) => held,
                _ = stop.changed() => return tasks,
            };
            let leased = match self.queue.lease(held, self.lease, deleteq_core::now_ms()).await {
                Ok(leased) => {
                    if failures > 0 {
                        tracing::info!(failures, "Redis is reachable again; leasing resumed.");
                    }
                    failures = 0;
                    leased
                }
                Err(error) => {
                    self.slots.add_permits(held);
                    failures += 1;
                    if failures == 1 || failures % 10 == 0 {
                        tracing::warn!(%error, failures, "Could not lease jobs; Redis unreachable? Retrying.");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(crate::redis_backoff(failures)) => {}
                        _ = stop.changed() => return tasks,
                    }
                    continue;
                }
            };
            self.slots.add_permits(held - leased.len());
            let idle = leased.is_empty();
            self.inflight.add(leased.iter().map(|l| l.id.clone()));
            for job in leased {
                self.start(&mut tasks, job);
            }
            if idle {
                tokio::select! {
                    woken = waiter.wait(IDLE_BLOCK) => if let Err(error) = woken {
                        tracing::debug!(%error, "Wake wait failed.");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    },
                    _ = stop.changed() => return tasks,
                }
            }
        }
    }

    /// Waits for free call slots: `gather` of them if they free up quickly, else at least one; then takes every
    /// free one up to `max`. Returns how many are held (their permits are forgotten until the tasks' slots drop).
    async fn take_slots(&self, gather: usize, max: usize) -> usize {
        let mut held = match tokio::time::timeout(GATHER, self.slots.acquire_many(gather as u32)).await {
            Ok(Ok(permit)) => {
                permit.forget();
                gather
            }
            _ => match self.slots.acquire().await {
                Ok(permit) => {
                    permit.forget();
                    1
                }
                // The semaphore is never closed.
                Err(_) => 0,
            },
        };
        while held < max {
            match self.slots.try_acquire() {
                Ok(permit) => {
                    permit.forget();
                    held += 1;
                }
                Err(_) => break,
            }
        }
        held
    }

    fn start(&self, tasks: &mut JoinSet<()>, job: Leased) {
        let slot = Slot(self.slots.clone());
        let executor = self.executor.clone();
        let finishes = self.finishes.clone();
        let inflight = self.inflight.clone();
        tasks.spawn(async move {
            let id = job.id.clone();
            let finish = match AssertUnwindSafe(executor.execute(job)).catch_unwind().await {
                Ok(finish) => finish,
                Err(_) => {
                    // A bug, never the job's fault. Stop extending its lease so it runs again once it expires.
                    tracing::error!(job = %id, "Executing the job panicked; it will run again after its lease.");
                    inflight.remove([id.as_str()]);
                    return;
                }
            };
            // The receiver lives until every sender is gone, so this only fails after shutdown, when the lease
            // expiring is the right outcome anyway.
            let _ = finishes.send(finish).await;
            drop(slot);
        });
    }
}
