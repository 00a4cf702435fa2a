//! How long the acker keeps trying one Redis write. Transient errors (Redis unreachable, a timeout, `LOADING`,
//! `TRYAGAIN`, `CLUSTERDOWN`, a failover in progress) are retried with backoff for as long as the worker runs;
//! any other error (`WRONGTYPE`, `OOM` under `noeviction`, a script that cannot be loaded) is retried for at most
//! the stuck limit (the worker's lease) and then given up, so one write that cannot land never blocks the ones behind it. Once the
//! worker is shutting down, every write gives up by a deadline that follows SIGTERM, even while Redis hangs.
//! A write given up leaves its jobs to their leases: the acker drops them from the in-flight set, the keeper stops
//! renewing them, and another worker runs them again (the revision check keeps their outcome single).

use std::future::Future;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The longest one try may take once the shutdown deadline has passed (a hung Redis would otherwise hold each
/// try for the whole response timeout).
const LAST_TRY: Duration = Duration::from_secs(1);

/// When the acker gives a write up: `stuck` after the first non-transient error, and, from the moment `stop`
/// turns true (shutdown), `give_up` later whatever the error.
pub(crate) struct Limits {
    stop: watch::Receiver<bool>,
    give_up: Duration,
    stuck: Duration,
    deadline: Option<Instant>,
}

impl Limits {
    /// Follows `stop`.
    pub(crate) fn new(stop: watch::Receiver<bool>, give_up: Duration, stuck: Duration) -> Self {
        Limits { stop, give_up, stuck, deadline: None }
    }

    /// The instant by which writes give up, once shutdown has begun.
    fn deadline(&mut self) -> Option<Instant> {
        if self.deadline.is_none() && *self.stop.borrow() {
            self.deadline = Some(Instant::now() + self.give_up);
        }
        self.deadline
    }
}

/// Runs one Redis write until it lands or is given up (see the module docs); `None` when given up. `what` names
/// the jobs in logs.
pub(crate) async fn retrying<T, F, Fut>(write: F, what: &str, limits: &mut Limits) -> Option<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = deleteq_queue::Result<T>>,
{
    let mut failures = 0;
    let mut stuck_since: Option<Instant> = None;
    loop {
        let attempt = match limits.deadline() {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now()).max(LAST_TRY);
                tokio::time::timeout(left, write()).await.ok()
            }
            None => Some(write().await),
        };
        let error = match attempt {
            Some(Ok(value)) => return Some(value),
            Some(Err(error)) => error,
            None => {
                tracing::error!(jobs = %what, "Redis did not answer before shutdown; the jobs will run again after their lease.");
                return None;
            }
        };
        failures += 1;
        if limits.deadline().is_some_and(|d| Instant::now() >= d) {
            tracing::error!(%error, jobs = %what, "Could not record before shutdown; the jobs will run again after their lease.");
            return None;
        }
        if !error.is_transient() {
            let since = *stuck_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= limits.stuck {
                tracing::error!(%error, jobs = %what, failures, "Could not record outcomes; giving up: the jobs will run again on another worker after their lease.");
                return None;
            }
        }
        tracing::warn!(%error, jobs = %what, failures, transient = error.is_transient(), "Could not record outcomes; retrying.");
        let mut pause = crate::redis_backoff(failures);
        if let Some(deadline) = limits.deadline() {
            pause = pause.min(deadline.saturating_duration_since(Instant::now()));
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            // Shutdown shortens the pause to the deadline it sets (a dropped sender counts as shutdown).
            changed = limits.stop.changed(), if limits.deadline.is_none() => {
                if changed.is_err() {
                    limits.deadline = Some(Instant::now() + limits.give_up);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deleteq_queue::QueueError;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn down() -> QueueError {
        QueueError::Redis(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused").into())
    }

    fn refused() -> QueueError {
        QueueError::Protocol("WRONGTYPE".into())
    }

    /// A write failing `fails` times with `error`, then landing.
    async fn flaky(tries: &AtomicU32, fails: u32, error: fn() -> QueueError) -> deleteq_queue::Result<u32> {
        let n = tries.fetch_add(1, Ordering::SeqCst);
        if n < fails {
            Err(error())
        } else {
            Ok(n)
        }
    }

    #[tokio::test]
    async fn transient_errors_are_retried_until_the_write_lands() {
        let (_tx, stop) = watch::channel(false);
        let mut limits = Limits::new(stop, Duration::from_secs(5), Duration::from_millis(50));
        let tries = AtomicU32::new(0);
        // Four failures take longer than the stuck limit: transient ones are not bound by it.
        assert_eq!(retrying(|| flaky(&tries, 4, down), "t", &mut limits).await, Some(4));
    }

    #[tokio::test]
    async fn a_write_that_cannot_land_is_given_up_after_the_stuck_limit() {
        let (_tx, stop) = watch::channel(false);
        let mut limits = Limits::new(stop, Duration::from_secs(5), Duration::from_millis(300));
        let tries = AtomicU32::new(0);
        let started = Instant::now();
        assert_eq!(retrying(|| flaky(&tries, u32::MAX, refused), "t", &mut limits).await, None);
        assert!(started.elapsed() >= Duration::from_millis(300) && started.elapsed() < Duration::from_secs(2));
        assert!(tries.load(Ordering::SeqCst) >= 2, "retried before giving up");
    }

    #[tokio::test]
    async fn shutdown_bounds_the_retrying_of_an_outage() {
        let (tx, stop) = watch::channel(false);
        let mut limits = Limits::new(stop, Duration::from_millis(200), Duration::from_secs(60));
        let tries = AtomicU32::new(0);
        let stopping = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let _ = tx.send(true);
            Instant::now()
        };
        let (given, stopped) = tokio::join!(retrying(|| flaky(&tries, u32::MAX, down), "t", &mut limits), stopping);
        assert_eq!(given, None);
        assert!(stopped.elapsed() < Duration::from_millis(1_000), "gave up {:?} after SIGTERM", stopped.elapsed());
    }

    #[tokio::test]
    async fn a_hung_redis_cannot_hold_a_try_past_the_deadline() {
        let (tx, stop) = watch::channel(false);
        let _ = tx.send(true);
        let mut limits = Limits::new(stop, Duration::from_millis(100), Duration::from_secs(60));
        let started = Instant::now();
        let hung = || async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok::<u32, QueueError>(0)
        };
        assert_eq!(retrying(hung, "t", &mut limits).await, None);
        assert!(started.elapsed() < Duration::from_millis(1_500));
    }
}
