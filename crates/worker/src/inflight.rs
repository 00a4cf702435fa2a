//! The ids this worker process holds leases on: from lease until the ack or reschedule is written, or the lease
//! is handed back. The keeper extends them; shutdown releases what is left.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Shared set of leased job ids.
#[derive(Clone, Default)]
pub(crate) struct InFlight(Arc<Mutex<HashSet<String>>>);

impl InFlight {
    pub(crate) fn add(&self, ids: impl IntoIterator<Item = String>) {
        self.lock().extend(ids);
    }

    pub(crate) fn remove<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let mut set = self.lock();
        for id in ids {
            set.remove(id);
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<String> {
        self.lock().iter().cloned().collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // A panic while holding this lock cannot leave the set inconsistent (single insert/remove calls).
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
