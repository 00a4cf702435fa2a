//! The jobs this worker process holds leases on, with their shards: from lease until the ack or reschedule is
//! written, or the lease is handed back. The keeper extends them; shutdown releases what is left.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Shared map of leased job id → its shard.
#[derive(Clone, Default)]
pub(crate) struct InFlight(Arc<Mutex<HashMap<String, usize>>>);

impl InFlight {
    pub(crate) fn add(&self, jobs: impl IntoIterator<Item = (String, usize)>) {
        self.lock().extend(jobs);
    }

    pub(crate) fn remove<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let mut map = self.lock();
        for id in ids {
            map.remove(id);
        }
    }

    /// The held ids, grouped by shard.
    pub(crate) fn snapshot(&self) -> Vec<(usize, Vec<String>)> {
        let mut by_shard: HashMap<usize, Vec<String>> = HashMap::new();
        for (id, shard) in self.lock().iter() {
            by_shard.entry(*shard).or_default().push(id.clone());
        }
        by_shard.into_iter().collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        // A panic while holding this lock cannot leave the map inconsistent (single insert/remove calls).
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
