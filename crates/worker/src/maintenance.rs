//! Moves jobs back to the ready list: scheduled jobs and retries once due, and the jobs of workers whose leases
//! expired (killed or stalled). Every worker runs this; the scripts make concurrent runs harmless.

use deleteq_queue::Queue;
use std::time::Duration;
use tokio::sync::watch;

/// How often due jobs are promoted and expired leases reclaimed.
pub(crate) const TICK: Duration = Duration::from_millis(200);

/// Runs until `stop` turns true.
pub(crate) async fn run_maintenance(queue: Queue, mut stop: watch::Receiver<bool>) {
    let mut failures: u32 = 0;
    loop {
        let delay = if failures == 0 { TICK } else { crate::redis_backoff(failures) };
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => return,
        }
        let now = deleteq_core::now_ms();
        match async {
            Ok::<_, deleteq_queue::QueueError>((queue.promote_due(now).await?, queue.reclaim_expired(now).await?))
        }
        .await
        {
            Ok((promoted, reclaimed)) => {
                failures = 0;
                if reclaimed > 0 {
                    tracing::info!(reclaimed, "Reclaimed jobs whose lease expired.");
                }
                if promoted > 0 {
                    tracing::debug!(promoted, "Promoted due jobs.");
                }
            }
            Err(error) => {
                failures += 1;
                if failures == 1 || failures.is_multiple_of(10) {
                    tracing::warn!(%error, failures, "Maintenance could not reach Redis; retrying.");
                }
            }
        }
    }
}
