//! The worker's view of per-account circuit breakers: checked before each call (cached briefly), fed with every
//! server-side failure. While an account's circuit is open its jobs are handed back, due when it closes, without
//! spending attempts.

use deleteq_queue::circuit::CircuitPolicy;
use deleteq_queue::Queue;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a circuit's state is trusted.
const FRESH: Duration = Duration::from_millis(250);

/// Circuit state; cheap to clone.
#[derive(Clone)]
pub(crate) struct Circuits {
    queue: Queue,
    policy: CircuitPolicy,
    /// Account → when it was checked and until when (this process's monotonic clock) it stays open.
    cache: Arc<Mutex<HashMap<String, (Instant, Instant)>>>,
}

impl Circuits {
    pub(crate) fn new(queue: Queue, policy: CircuitPolicy) -> Self {
        Circuits { queue, policy, cache: Arc::default() }
    }

    /// Remembers that the circuit stays open `open_for` from now (Redis answers durations: no clock is shared).
    fn remember(&self, account: &str, open_for: Duration) {
        let now = Instant::now();
        self.cache.lock().unwrap_or_else(PoisonError::into_inner).insert(account.to_string(), (now, now + open_for));
    }

    /// How much longer the account's circuit is open, if it is. Unknown (Redis unreachable) counts as closed.
    pub(crate) async fn open_for(&self, account: &str) -> Option<Duration> {
        let cached = {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            match cache.get_mut(account) {
                Some((at, until)) if at.elapsed() < FRESH => Some(*until),
                Some((at, _)) => {
                    // Stale: this call reads Redis; the calls meanwhile go by the last answer (one read per
                    // refresh, not one per job checking while it is under way).
                    *at = Instant::now();
                    None
                }
                None => None,
            }
        };
        let until = match cached {
            Some(until) => until,
            None => {
                let open_for = self.queue.circuit_open_for(account, &self.policy).await.unwrap_or_default();
                self.remember(account, open_for);
                Instant::now() + open_for
            }
        };
        let left = until.saturating_duration_since(Instant::now());
        (!left.is_zero()).then_some(left)
    }

    /// Counts a server-side failure of the account's provider.
    pub(crate) async fn failure(&self, account: &str) {
        match self.queue.circuit_failure(account, &self.policy).await {
            Ok(open_for) => {
                let now = Instant::now();
                let was_open = self
                    .cache
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(account)
                    .is_some_and(|(_, until)| *until > now);
                if !open_for.is_zero() && !was_open {
                    tracing::warn!(%account, open_for_ms = open_for.as_millis() as u64, "Provider failing: circuit open, the account's jobs wait.");
                }
                self.remember(account, open_for);
            }
            Err(error) => tracing::debug!(%error, %account, "Could not count a provider failure."),
        }
    }
}
