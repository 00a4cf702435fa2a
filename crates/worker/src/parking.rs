//! The worker's view of parked accounts: checked before each call (cached for a second, so a parked account
//! costs one Redis read per second per worker, not one per job), and set when a provider says the whole account
//! must wait for a person (2Chat 402, OFAuth `SESSION_EXPIRED`).

use deleteq_queue::Queue;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a parked/unparked answer is trusted.
const FRESH: Duration = Duration::from_secs(1);

/// Parked-account state; cheap to clone.
#[derive(Clone)]
pub(crate) struct Parking {
    queue: Queue,
    cache: Arc<Mutex<HashMap<String, (Instant, bool)>>>,
}

impl Parking {
    pub(crate) fn new(queue: Queue) -> Self {
        Parking { queue, cache: Arc::default() }
    }

    /// Whether the account is parked. If Redis cannot say, it is taken as not parked (the call's own answer will
    /// park it again if needed).
    pub(crate) async fn is_parked(&self, account: &str) -> bool {
        if let Some((at, parked)) = self.cache.lock().unwrap_or_else(PoisonError::into_inner).get(account) {
            if at.elapsed() < FRESH {
                return *parked;
            }
        }
        let parked = self.queue.account_parked(account).await.map(|p| p.is_some()).unwrap_or(false);
        self.cache.lock().unwrap_or_else(PoisonError::into_inner).insert(account.to_string(), (Instant::now(), parked));
        parked
    }

    /// Parks the account for every worker.
    pub(crate) async fn park(&self, account: &str, reason: &str) {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner).insert(account.to_string(), (Instant::now(), true));
        match self.queue.park_account(account, reason, deleteq_core::now_ms()).await {
            Ok(()) => {
                tracing::warn!(%account, %reason, "Account parked: its jobs wait until `deleteq accounts resume`.")
            }
            Err(error) => tracing::warn!(%error, %account, "Could not record that the account is parked."),
        }
    }
}
