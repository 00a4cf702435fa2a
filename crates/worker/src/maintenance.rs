//! Moves jobs back to the ready list: scheduled jobs and retries once due, the jobs of workers whose leases expired
//! (killed or stalled), and jobs left set aside for an account resumed meanwhile; trims the dead letters to their
//! bounds a step at a time, and deletes campaigns finished longer than `[campaigns] retention` ago. Every worker runs this; the scripts make concurrent runs harmless.

use deleteq_queue::Queue;
use std::time::Duration;
use tokio::sync::watch;

/// How often due jobs are promoted and expired leases reclaimed.
pub(crate) const TICK: Duration = Duration::from_millis(200);

/// How often jobs set aside for an account that is no longer parked are put back (a worker may have parked a job
/// on a cached answer just as the account was resumed).
const UNPARK_EVERY: u32 = 25;

/// How often (in ticks) each shard's dead letters get a bounded trim step: a set over its bound (the bound was
/// lowered, or an ack's step could not keep up) shrinks by up to 1,000 a second per shard until it fits.
const TRIM_EVERY: u32 = 5;

/// How often (in ticks) finished campaigns past `[campaigns] retention` are looked for: once a minute.
const CAMPAIGNS_EVERY: u32 = 300;

/// Runs until `stop` turns true.
pub(crate) async fn run_maintenance(queue: Queue, accounts: Vec<String>, mut stop: watch::Receiver<bool>) {
    let mut failures: u32 = 0;
    let mut ticks: u32 = 0;
    loop {
        ticks = ticks.wrapping_add(1);
        if ticks.is_multiple_of(UNPARK_EVERY) {
            unpark_stragglers(&queue, &accounts).await;
        }
        if ticks.is_multiple_of(TRIM_EVERY) {
            trim_dead_letters(&queue).await;
        }
        if ticks.is_multiple_of(CAMPAIGNS_EVERY) {
            sweep_campaigns(&queue).await;
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

/// One bounded trim step of every shard's dead letters; errors wait for the next round (the promote below reports
/// an outage).
async fn trim_dead_letters(queue: &Queue) {
    for shard in 0..queue.shard_count() {
        match queue.trim_dead_letters(shard).await {
            Ok(0) | Err(_) => {}
            Ok(removed) => tracing::debug!(shard, removed, "Trimmed dead letters to their bounds."),
        }
    }
}

/// Deletes the campaigns finished longer than `[campaigns] retention` ago; errors wait for the next round.
async fn sweep_campaigns(queue: &Queue) {
    let retention = queue.campaign_retention().as_millis() as u64;
    if let Ok(deleted) = queue.sweep_campaigns(deleteq_core::now_ms(), retention).await {
        if deleted > 0 {
            tracing::info!(deleted, "Deleted campaigns finished longer than [campaigns] retention ago.");
        }
    }
}

/// Puts back the jobs set aside for accounts that are not parked any more, and those of accounts no longer
/// configured (they are then dead-lettered as of an unknown account).
async fn unpark_stragglers(queue: &Queue, accounts: &[String]) {
    if let Ok(released) = queue.release_unconfigured(accounts).await {
        for (account, moved) in released {
            tracing::warn!(%account, moved, "Jobs set aside for an account no longer configured go to the dead letters.");
        }
    }
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
