//! Moves jobs back to the ready list: scheduled jobs and retries once due, the jobs of workers whose leases expired
//! (killed or stalled), and jobs left set aside for an account resumed meanwhile. Every worker runs this; the
//! scripts make concurrent runs harmless.

use deleteq_queue::Queue;
use std::time::Duration;
use tokio::sync::watch;

/// How often due jobs are promoted and expired leases reclaimed.
pub(crate) const TICK: Duration = Duration::from_millis(200);

/// How often jobs set aside for an account that is no longer parked are put back (a worker may have parked a job
/// on a cached answer just as the account was resumed).
const UNPARK_EVERY: u32 = 25;

/// Runs until `stop` turns true.
pub(crate) async fn run_maintenance(queue: Queue, accounts: Vec<String>, mut stop: watch::Receiver<bool>) {
    let mut failures: u32 = 0;
    let mut ticks: u32 = 0;
    loop {
        ticks = ticks.wrapping_add(1);
        if ticks.is_multiple_of(UNPARK_EVERY) {
            unpark_stragglers(&queue, &accounts).await;
        }
        let delay = if failures == 0 { TICK } else { crate::redis_backoff(failures) };
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => return,
        }
        match async { Ok::<_, deleteq_queue::QueueError>((queue.promote_due().await?, queue.reclaim_expired().await?)) }
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

/// Puts back the jobs set aside for accounts that are not parked any more.
async fn unpark_stragglers(queue: &Queue, accounts: &[String]) {
    for account in accounts {
        let stranded = match queue.parked_jobs(account).await {
            Ok(n) => n,
            Err(_) => return,
        };
        if stranded == 0 || !matches!(queue.account_parked(account).await, Ok(None)) {
            continue;
        }
        if let Ok(moved) = queue.resume_account(account).await {
            tracing::info!(%account, moved, "Put back jobs set aside for an account that is no longer parked.");
        }
    }
}
