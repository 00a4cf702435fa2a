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
    cache: Arc<Mutex<HashMap<String, (Instant, u64)>>>,
}

impl Circuits {
    pub(crate) fn new(queue: Queue, policy: CircuitPolicy) -> Self {
        Circuits { queue, policy, cache: Arc::default() }
    }

    fn remember(&self, account: &str, open_until: u64) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(account.to_string(), (Instant::now(), open_until));
    }

    /// Until when the account's circuit is open, if it is. Unknown (Redis unreachable) counts as closed.
    pub(crate) async fn open_until(&self, account: &str) -> Option<u64> {
        let now = deleteq_core::now_ms();
        let cached = self.cache.lock().unwrap_or_else(PoisonError::into_inner).get(account).copied();
        let until = match cached {
            Some((at, until)) if at.elapsed() < FRESH => until,
            _ => {
                let until = self.queue.circuit_open_until(account, &self.policy, now).await.unwrap_or(0);
                self.remember(account, until);
                until
            }
        };
        (until > now).then_some(until)
    }

    /// Counts a server-side failure of the account's provider.
    pub(crate) async fn failure(&self, account: &str) {
        let now = deleteq_core::now_ms();
        match self.queue.circuit_failure(account, &self.policy, now).await {
            Ok(until) => {
                let was_open = self
                    .cache
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(account)
                    .is_some_and(|(_, u)| *u > now);
                if until > now && !was_open {
                    tracing::warn!(%account, open_for_ms = until - now, "Provider failing: circuit open, the account's jobs wait.");
                }
                self.remember(account, until);
            }
            Err(error) => tracing::debug!(%error, %account, "Could not count a provider failure."),
        }
    }
}
