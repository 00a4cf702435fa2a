//! The worker's view of parked accounts, and the probe that keeps a refused account from costing one call per job.
//!
//! - Parked state is checked before each call (cached for a second, so a parked account costs one Redis read per
//!   second per worker, not one per job), and set when a provider says the whole account must wait for a person
//!   (credentials refused, 2Chat credits exhausted, an OFAuth session expired).
//! - Until a call of an account has shown that the provider accepts it (any answer but an account-wide refusal or
//!   no answer at all), this worker lets one call of that account out at a time: the probe. Its other jobs wait
//!   in their call slots for the probe's answer, so a refused key makes one call per worker, not one per job in
//!   flight. A refusal comes fast; a probe still unanswered after [`PROBE_HOLD`] is the provider at work, so the
//!   waiting calls go ahead then (a slow provider costs each worker at most that much at start). An account is
//!   probed again after it was seen parked, so a key still wrong after `accounts resume` parks the account again
//!   at once, without a loop.

use deleteq_providers::Disposition;
use deleteq_queue::Queue;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a parked/unparked answer is trusted.
const FRESH: Duration = Duration::from_secs(1);
/// How long a job waits in its call slot for the account's probe before it goes ahead anyway.
pub(crate) const PROBE_HOLD: Duration = Duration::from_secs(1);

/// One account's probe: whether its provider has accepted a call, and the one permit a probe holds.
struct Probe {
    accepted: AtomicBool,
    permit: Arc<tokio::sync::Semaphore>,
}

impl Default for Probe {
    fn default() -> Self {
        Probe { accepted: AtomicBool::new(false), permit: Arc::new(tokio::sync::Semaphore::new(1)) }
    }
}

/// What a job may do about its account's probe.
pub(crate) enum Admission {
    /// The account is known to be accepted: call.
    Call,
    /// This call is the account's probe; the permit is held (dropped with the admission) until the answer is
    /// settled.
    Probe(#[allow(dead_code)] tokio::sync::OwnedSemaphorePermit),
}

/// Parked-account state and probes; cheap to clone.
#[derive(Clone)]
pub(crate) struct Parking {
    queue: Queue,
    cache: Arc<Mutex<HashMap<String, (Instant, bool)>>>,
    probes: Arc<Mutex<HashMap<String, Arc<Probe>>>>,
}

impl Parking {
    pub(crate) fn new(queue: Queue) -> Self {
        Parking { queue, cache: Arc::default(), probes: Arc::default() }
    }

    fn probe(&self, account: &str) -> Arc<Probe> {
        let mut probes = self.probes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(probe) = probes.get(account) {
            return probe.clone();
        }
        probes.entry(account.to_string()).or_default().clone()
    }

    /// Whether the account is parked. If Redis cannot say, it is taken as not parked (the call's own answer will
    /// park it again if needed). Seeing it parked makes the account's next call a probe again.
    pub(crate) async fn is_parked(&self, account: &str) -> bool {
        if let Some((at, parked)) = self.cache.lock().unwrap_or_else(PoisonError::into_inner).get_mut(account) {
            if at.elapsed() < FRESH {
                return *parked;
            }
            // Stale: this call reads Redis; the calls meanwhile go by the last answer (one read per refresh, not
            // one per job checking while it is under way).
            *at = Instant::now();
        }
        let parked = self.queue.account_parked(account).await.map(|p| p.is_some()).unwrap_or(false);
        self.cache.lock().unwrap_or_else(PoisonError::into_inner).insert(account.to_string(), (Instant::now(), parked));
        if parked {
            self.probe(account).accepted.store(false, Ordering::Relaxed);
        }
        parked
    }

    /// When this job may call its account: at once if the provider has accepted the account, as the probe if no
    /// call is probing it, else once the probe is answered (the caller then checks whether the account was parked
    /// meanwhile) or [`PROBE_HOLD`] has passed.
    pub(crate) async fn admit(&self, account: &str) -> Admission {
        let probe = self.probe(account);
        if probe.accepted.load(Ordering::Relaxed) {
            return Admission::Call;
        }
        let permit = tokio::time::timeout(PROBE_HOLD, probe.permit.clone().acquire_owned()).await;
        match permit {
            Ok(Ok(_)) if probe.accepted.load(Ordering::Relaxed) => Admission::Call,
            Ok(Ok(permit)) => Admission::Probe(permit),
            // The semaphore is never closed; a timeout means the probe is still out: a slow answer, not a refusal.
            Ok(Err(_)) | Err(_) => Admission::Call,
        }
    }

    /// Learns from a call's answer: any answer but an account-wide refusal or none at all shows the provider
    /// accepts the account; a refusal makes the next call a probe again.
    pub(crate) fn settle(&self, account: &str, status: Option<u16>, disposition: &Disposition) {
        let refused = matches!(disposition, Disposition::ParkAccount { .. });
        let unanswered = status.is_none() && matches!(disposition, Disposition::Retry { .. });
        if refused {
            self.probe(account).accepted.store(false, Ordering::Relaxed);
        } else if !unanswered {
            self.probe(account).accepted.store(true, Ordering::Relaxed);
        }
    }

    /// Parks the account for every worker.
    pub(crate) async fn park(&self, account: &str, reason: &str) {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner).insert(account.to_string(), (Instant::now(), true));
        self.probe(account).accepted.store(false, Ordering::Relaxed);
        // `since` is a label for operators, never compared: this worker's clock is fine for it.
        match self.queue.park_account(account, reason, deleteq_core::now_ms()).await {
            Ok(()) => {
                tracing::warn!(%account, %reason, "Account parked: its jobs wait until `deleteq accounts resume`.")
            }
            Err(error) => tracing::warn!(%error, %account, "Could not record that the account is parked."),
        }
    }
}
