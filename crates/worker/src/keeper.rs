//! Keeps this worker's leases alive: every third of the lease, pushes the expiry of every job it still holds.

use crate::inflight::InFlight;
use deleteq_queue::Queue;
use std::time::Duration;
use tokio::sync::watch;

/// Runs until `stop` turns true.
pub(crate) async fn run_keeper(queue: Queue, inflight: InFlight, lease: Duration, mut stop: watch::Receiver<bool>) {
    let every = lease / 3;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        for (shard, ids) in inflight.snapshot() {
            if let Err(error) = queue.extend(shard, &ids, lease, deleteq_core::now_ms()).await {
                tracing::warn!(%error, shard, jobs = ids.len(), "Could not extend leases; retrying at the next tick.");
            }
        }
    }
}
