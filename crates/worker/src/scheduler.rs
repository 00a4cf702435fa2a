//! Fires the `[[schedules]]`: at each tick, enqueues the schedule's job, exactly once however many workers run.
//!
//! Every worker runs this. The job of a tick carries the idempotency key `cron:<name>:<tick ms>`, and the enqueue
//! script reads and sets that key atomically with storing the job, so the first worker's enqueue stores it and every
//! other worker's gets the first job's id back and stores nothing (the producer says which:
//! [`Producer::enqueue_noting_repeats`]). The key is the tick marker; it lives for
//! `[producer] idempotency_retention` (the config keeps `catch_up` within it).
//!
//! A tick is fired when this worker wakes within [`GRACE`] after it. Ticks missed while no worker ran are not
//! replayed, except, when the worker starts, the most recent one if it lies within the schedule's `catch_up`.
//! Redis errors are logged and the enqueue retried (harmless: the same key stores one job) until the schedule's next
//! tick is due.

use chrono::{DateTime, SecondsFormat, Utc};
use deleteq_core::config::Schedule;
use deleteq_producer::{Producer, ProducerError};
use std::time::Duration;
use tokio::sync::watch;

/// How late after its tick a wake-up may be and still fire it.
pub(crate) const GRACE: Duration = Duration::from_secs(1);

/// The longest single sleep: the wall clock is re-read at least this often, so a clock step or a suspended host
/// does not leave the scheduler asleep past its tick.
const MAX_NAP: Duration = Duration::from_secs(30);

/// Runs every schedule of the producer's config until `stop` turns true, enqueueing through the producer.
pub(crate) async fn run_scheduler(producer: Producer, stop: watch::Receiver<bool>) {
    let mut schedules = Vec::new();
    for entry in &producer.config().schedules {
        match Schedule::parse(entry) {
            Ok(schedule) => schedules.push(schedule),
            // Loading the config checked every schedule; this is a config built by hand.
            Err(error) => tracing::error!(%error, "Schedule skipped."),
        }
    }
    if schedules.is_empty() {
        return;
    }
    tracing::info!(schedules = schedules.len(), "Scheduler started.");
    let runs = schedules.iter().map(|schedule| run_schedule(&producer, schedule, stop.clone()));
    futures_util::future::join_all(runs).await;
}

/// One schedule's loop: catch up at start if configured, then sleep to each tick and fire it.
async fn run_schedule(producer: &Producer, schedule: &Schedule, mut stop: watch::Receiver<bool>) {
    let started = Utc::now();
    // A tick just before the start was not missed: the worker woke within the grace after it.
    let window = schedule.catch_up.unwrap_or(Duration::ZERO).max(GRACE);
    if let Some(tick) = schedule.latest_at_or_before(started) {
        if lateness(tick, started) <= window && !fire(producer, schedule, tick, &mut stop).await {
            return;
        }
    }
    let mut after = started;
    loop {
        let Some(tick) = schedule.next_after(after) else {
            tracing::warn!(schedule = %schedule.name, cron = %schedule.cron, "The schedule never fires again.");
            return;
        };
        if !sleep_until(tick, &mut stop).await {
            return;
        }
        let now = Utc::now();
        let late = lateness(tick, now);
        if late > GRACE {
            // The host was suspended or the clock stepped: what was missed is not replayed.
            tracing::warn!(
                schedule = %schedule.name,
                tick = %rfc3339(tick),
                late_ms = late.as_millis() as u64,
                "Missed a cron tick; it is not replayed."
            );
            after = now;
            continue;
        }
        if !fire(producer, schedule, tick, &mut stop).await {
            return;
        }
        after = tick;
    }
}

/// Enqueues the job of `tick`, retrying through Redis errors until the schedule's next tick is due. Returns false
/// if `stop` turned true meanwhile.
async fn fire(producer: &Producer, schedule: &Schedule, tick: DateTime<Utc>, stop: &mut watch::Receiver<bool>) -> bool {
    let invalid = |error: &dyn std::fmt::Display| {
        tracing::error!(schedule = %schedule.name, tick = %rfc3339(tick), %error, "The schedule's job is invalid; tick skipped.");
    };
    let job = match schedule.job_for(tick) {
        Ok(job) => job,
        Err(error) => {
            invalid(&error);
            return true;
        }
    };
    let give_up_at = schedule.next_after(tick);
    let mut failures: u32 = 0;
    loop {
        match producer.enqueue_noting_repeats(std::slice::from_ref(&job)).await {
            Err(ProducerError::Invalid { error, .. }) => {
                invalid(&error);
                return true;
            }
            Ok(enqueued) => {
                let Some(first) = enqueued.into_iter().next() else { return true };
                let id = first.id.as_str();
                if !first.repeated {
                    tracing::info!(schedule = %schedule.name, tick = %rfc3339(tick), job = %id, "Cron tick fired.");
                } else {
                    tracing::debug!(
                        schedule = %schedule.name,
                        tick = %rfc3339(tick),
                        job = %id,
                        "Cron tick already fired by another worker."
                    );
                }
                return true;
            }
            Err(error) => {
                failures += 1;
                if give_up_at.is_some_and(|next| Utc::now() >= next) {
                    tracing::error!(
                        schedule = %schedule.name,
                        tick = %rfc3339(tick),
                        %error,
                        failures,
                        "Could not enqueue a cron tick's job before the next tick; giving it up."
                    );
                    return true;
                }
                if failures == 1 || failures.is_multiple_of(10) {
                    tracing::warn!(
                        schedule = %schedule.name,
                        tick = %rfc3339(tick),
                        %error,
                        failures,
                        "Could not enqueue a cron tick's job; retrying."
                    );
                }
                tokio::select! {
                    _ = tokio::time::sleep(crate::redis_backoff(failures)) => {}
                    _ = stop.changed() => return false,
                }
            }
        }
    }
}

/// Sleeps until the wall clock reaches `tick`; false if `stop` turned true first.
async fn sleep_until(tick: DateTime<Utc>, stop: &mut watch::Receiver<bool>) -> bool {
    loop {
        if *stop.borrow() {
            return false;
        }
        let Ok(left) = (tick - Utc::now()).to_std() else {
            return true;
        };
        if left.is_zero() {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(left.min(MAX_NAP)) => {}
            _ = stop.changed() => return false,
        }
    }
}

/// How long after `tick` the moment `now` is (zero if before).
fn lateness(tick: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (now - tick).to_std().unwrap_or(Duration::ZERO)
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn lateness_is_zero_before_the_tick() {
        let tick = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("time");
        assert_eq!(lateness(tick, tick - chrono::Duration::seconds(1)), Duration::ZERO);
        assert_eq!(lateness(tick, tick + chrono::Duration::milliseconds(1500)), Duration::from_millis(1500));
    }

    #[tokio::test]
    async fn sleeping_ends_at_the_tick_or_on_stop() {
        let (stop_tx, mut stop) = watch::channel(false);
        let soon = Utc::now() + chrono::Duration::milliseconds(50);
        assert!(sleep_until(soon, &mut stop).await);
        assert!(Utc::now() >= soon);
        let far = Utc::now() + chrono::Duration::hours(1);
        let sleeping = tokio::spawn(async move { sleep_until(far, &mut stop).await });
        stop_tx.send(true).expect("send stop");
        assert!(!sleeping.await.expect("join"));
    }
}
