//! deleteq's queue as an apalis 1.0 custom backend: the fetcher is [`lease_stream`], the handler runs one job and
//! hands its [`Finish`] to the acker. apalis supplies the task runtime (concurrency limit, tower service stack,
//! tracing, draining on stop); the guarantees that apalis's custom-backend interface has no hook for stay ours:
//! the ack is written with the audit record by the acker, leases are extended by the keeper, and jobs still held
//! when the grace period ends are released by the runtime.

use crate::execute::{Executor, Finish};
use crate::inflight::InFlight;
use crate::lease_stream::{lease_stream, LeaseSource};
use crate::spans::Finished;
use apalis::layers::WorkerBuilderExt;
use apalis_core::backend::custom::BackendBuilder;
use apalis_core::error::{BoxDynError, WorkerError};
use apalis_core::task::data::Data;
use apalis_core::worker::builder::WorkerBuilder;
use apalis_core::worker::ext::parallelize::ParallelizeExt;
use deleteq_queue::{Leased, Queue};
use futures_util::{FutureExt, SinkExt};
use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// What every job's handler shares.
pub(crate) struct JobContext {
    pub(crate) executor: Executor,
    pub(crate) finishes: mpsc::Sender<Finished>,
    pub(crate) inflight: InFlight,
    /// Turns true when the shutdown grace period is over: calls still running are abandoned (their jobs stay in
    /// the in-flight set and are released to the queue).
    pub(crate) abandon: watch::Receiver<bool>,
}

/// Resolves once `abandon` is true.
async fn abandoned(mut abandon: watch::Receiver<bool>) {
    while !*abandon.borrow() {
        if abandon.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The apalis handler: execute, then queue the finish for the acker. Never fails: every problem is an outcome.
async fn handle(job: Leased, ctx: Data<Arc<JobContext>>) -> Result<(), BoxDynError> {
    let id = job.id.clone();
    let executed = tokio::select! {
        executed = AssertUnwindSafe(ctx.executor.execute(job)).catch_unwind() => executed,
        () = abandoned(ctx.abandon.clone()) => return Ok(()),
    };
    match executed {
        Ok((Finish::Lost(id), _)) => {
            // Not this worker's any more: nothing to write, and no call was made.
            tracing::debug!(job = %id, "Lease lost before the call; left to its holder.");
            ctx.inflight.remove([id.as_str()]);
        }
        Ok((finish, job_span)) => {
            let span = crate::spans::ack(&job_span, &finish);
            // The acker outlives every handler, so this only fails once the runtime is gone.
            let _ = ctx.finishes.send(Finished { finish, span }).await;
        }
        Err(_) => {
            // A bug, never the job's fault. Stop extending its lease so it runs again once it expires.
            tracing::error!(job = %id, "Executing the job panicked; it will run again after its lease.");
            ctx.inflight.remove([id.as_str()]);
        }
    }
    Ok(())
}

/// Settings of one apalis worker.
pub(crate) struct ApalisWorker {
    pub(crate) name: String,
    pub(crate) queue: Queue,
    pub(crate) context: Arc<JobContext>,
    pub(crate) concurrency: usize,
    pub(crate) lease: Duration,
}

impl ApalisWorker {
    /// Runs until `stop` turns true and every call in flight has finished.
    pub(crate) async fn run(self, stop: watch::Receiver<bool>) -> Result<(), WorkerError> {
        let (queue, inflight, lease) = (self.queue, self.context.inflight.clone(), self.lease);
        let (worker, leasing_stop) = (self.name.clone(), stop.clone());
        let gate = self.context.executor.gate.clone();
        // Lease about half the slots' worth at a time: big enough that Redis round trips per job stay far below
        // one, small enough that jobs do not wait long in this worker's buffer while another worker is idle.
        let batch = (self.concurrency / 2).clamp(1, 256);
        let backend = BackendBuilder::new()
            .database(())
            .fetcher(move |_, _, _| {
                lease_stream(LeaseSource {
                    queue: queue.clone(),
                    inflight: inflight.clone(),
                    lease,
                    batch,
                    worker: worker.clone(),
                    stop: leasing_stop.clone(),
                    gate: gate.clone(),
                })
            })
            .sink(|_, _| {
                futures_util::sink::drain().sink_map_err(|never: Infallible| -> BoxDynError { match never {} })
            })
            .build()
            .map_err(|e| WorkerError::BackendError(Box::new(e)))?;
        let worker = WorkerBuilder::new(self.name)
            .backend(backend)
            .data(self.context)
            .concurrency(self.concurrency)
            // Each job on its own tokio task, so calls and their bookkeeping use every core.
            .parallelize(tokio::spawn)
            .build(handle);
        worker
            .run_with_ctx(move |ctx| {
                let mut stop = stop.clone();
                async move {
                    while !*stop.borrow() {
                        if stop.changed().await.is_err() {
                            break;
                        }
                    }
                    ctx.stop()
                }
            })
            .await
    }
}
