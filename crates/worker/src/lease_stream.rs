//! The fetcher side of deleteq's apalis backend: a stream of leased jobs. It leases in batches (one script call
//! for many jobs), hands them out one at a time as apalis asks for the next (which it does only when a call slot
//! is free), and, when the queue is empty, blocks on the wake list so a new job starts within milliseconds.
//!
//! It never yields an error or `None`: a Redis failure is logged and retried with backoff here (apalis would end
//! the worker on a backend error), and an empty queue is a wait, not the end of the stream. Once the worker stops
//! it leases nothing more (what it holds is released by the runtime).
//!
//! Every lease call has a token of its own, `"<worker id>#<n>"`: only it extends, releases or reschedules the
//! jobs that call leased, so a lease that lapsed and was taken by another worker is never touched by this one.

use crate::inflight::InFlight;
use crate::limiter::RateGate;
use apalis_core::error::BoxDynError;
use apalis_core::task::Task;
use deleteq_queue::{LeaseBatch, Leased, Queue, Waiter};
use futures_util::stream::{self, Stream};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tracing::Instrument;

/// How long an idle worker blocks on the wake list before looking again.
const IDLE_BLOCK: Duration = Duration::from_secs(1);

/// An account whose next free rate-limit slot is further than this is saturated: its buffered jobs would wait in
/// their call slots, so a job of another account goes first.
const SATURATED: Duration = Duration::from_millis(20);

/// How long the fetcher goes by its last look at which accounts are saturated.
const SATURATED_FRESH: Duration = Duration::from_millis(5);

/// While the buffer holds only saturated accounts' jobs, how often the fetcher leases anyway, to find other
/// accounts' work (an idle account's job is called within moments, not after a saturated account's backlog).
const PROBE_EVERY: Duration = Duration::from_millis(20);

/// What the stream carries between items.
struct State {
    queue: Queue,
    inflight: InFlight,
    lease: Duration,
    batch: usize,
    buffer: VecDeque<Leased>,
    waiter: Waiter,
    failures: u32,
    worker: String,
    leases: u64,
    stop: watch::Receiver<bool>,
    gate: RateGate,
    /// When the last lease call was made.
    last_lease: Instant,
    /// The saturated accounts, and when they were read from the gate.
    saturated: (Instant, Vec<String>),
}

/// The item type apalis expects from a custom backend's fetcher.
pub(crate) type Fetched = Result<Option<Task<Leased>>, BoxDynError>;

/// Where the stream leases from and for whom.
pub(crate) struct LeaseSource {
    pub(crate) queue: Queue,
    pub(crate) inflight: InFlight,
    pub(crate) lease: Duration,
    pub(crate) batch: usize,
    /// The worker's id, the first part of every lease token.
    pub(crate) worker: String,
    /// Turns true at shutdown: no more leasing.
    pub(crate) stop: watch::Receiver<bool>,
    /// The rate limits' view of each account's next free slot, for the shards' paces.
    pub(crate) gate: RateGate,
}

/// A never-ending stream of leased jobs, leased `batch` at a time for `lease`.
pub(crate) fn lease_stream(source: LeaseSource) -> std::pin::Pin<Box<dyn Stream<Item = Fetched> + Send>> {
    let LeaseSource { queue, inflight, lease, batch, worker, stop, gate } = source;
    let waiter = queue.waiter();
    let buffer = VecDeque::new();
    let last_lease = Instant::now();
    let saturated = (last_lease, Vec::new());
    let (failures, leases) = (0, 0);
    let state = State {
        queue,
        inflight,
        lease,
        batch,
        buffer,
        waiter,
        failures,
        worker,
        leases,
        stop,
        gate,
        last_lease,
        saturated,
    };
    Box::pin(stream::unfold(state, |mut state| async move {
        let job = state.next().await;
        Some((Ok(Some(Task::new(job))), state))
    }))
}

impl State {
    async fn next(&mut self) -> Leased {
        loop {
            if *self.stop.borrow() {
                // Shutting down: nothing more is leased or handed out (the runtime releases the buffer's jobs).
                std::future::pending::<()>().await;
            }
            if !self.buffer.is_empty() {
                // A job of an account with a free slot now goes before those that would wait for theirs.
                if self.saturated.0.elapsed() >= SATURATED_FRESH {
                    self.saturated = (Instant::now(), self.gate.saturated(SATURATED));
                }
                let saturated = &self.saturated.1;
                let ready = if saturated.is_empty() {
                    Some(0)
                } else {
                    self.buffer.iter().position(|job| !saturated.contains(&job.account))
                };
                if let Some(job) = ready.and_then(|i| self.buffer.remove(i)) {
                    return job;
                }
                // Only jobs that will wait for their account's rate: look for other accounts' work now and then.
                let probe = self.buffer.len() < 2 * self.batch && self.last_lease.elapsed() >= PROBE_EVERY;
                if !probe {
                    if let Some(job) = self.buffer.pop_front() {
                        return job;
                    }
                }
            }
            let hints = self.gate.pace_hints();
            self.leases += 1;
            self.last_lease = Instant::now();
            let holder = deleteq_queue::holder_token(&self.worker, self.leases);
            let may_quarantine = !self.inflight.holds_quarantined();
            let span = crate::spans::lease_batch(&holder, self.batch);
            let call = self.queue.lease_batch(self.batch, self.lease, &holder, may_quarantine, &hints);
            match call.instrument(span.clone()).await {
                Ok(LeaseBatch { jobs: leased, paced_for }) => {
                    crate::spans::leased(&span, leased.len());
                    if self.failures > 0 {
                        tracing::info!(failures = self.failures, "Redis is reachable again; leasing resumed.");
                        self.failures = 0;
                    }
                    if leased.is_empty() && !self.buffer.is_empty() {
                        // A probe found nothing else: go on with what the buffer holds.
                        continue;
                    }
                    if leased.is_empty() {
                        // Nothing ready, or only jobs of accounts whose calls do not fit their rate yet: wait for a
                        // wake token, or until the first of those fits.
                        let block = paced_for.map_or(IDLE_BLOCK, |p| p.clamp(Duration::from_millis(1), IDLE_BLOCK));
                        if let Err(error) = self.waiter.wait(block).await {
                            tracing::debug!(%error, "Wake wait failed.");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        continue;
                    }
                    self.inflight.add(&leased);
                    self.buffer.extend(leased);
                }
                Err(error) => {
                    self.failures += 1;
                    if self.failures == 1 || self.failures.is_multiple_of(10) {
                        tracing::warn!(%error, failures = self.failures, "Could not lease jobs; Redis unreachable? Retrying.");
                    }
                    tokio::time::sleep(crate::redis_backoff(self.failures)).await;
                }
            }
        }
    }
}
