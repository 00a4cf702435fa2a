//! The jobs this worker process holds leases on, with their shards, lease tokens and whether their provider call
//! has started: from lease until the ack or reschedule is written, or the lease is handed back. The keeper extends
//! them; shutdown releases the ones not started at once and the rest after the grace period.

use deleteq_queue::{Lease, Leased};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Where a held job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Leased, its call not begun: shutdown hands it back at once.
    Waiting,
    /// Its call is about to begin (the start is being recorded in Redis) or has begun: its lease is kept until
    /// it finishes.
    Starting,
}

#[derive(Debug, Clone)]
struct Held {
    shard: usize,
    holder: String,
    stage: Stage,
    /// It was reclaimed after its worker died during its call: this process runs one such job at a time.
    quarantined: bool,
}

/// Shared map of leased job id → its shard, lease token and stage.
#[derive(Clone, Default)]
pub(crate) struct InFlight(Arc<Mutex<HashMap<String, Held>>>);

impl InFlight {
    pub(crate) fn add<'a>(&self, jobs: impl IntoIterator<Item = &'a Leased>) {
        let mut map = self.lock();
        for job in jobs {
            let held = Held {
                shard: job.shard,
                holder: job.holder.clone(),
                stage: Stage::Waiting,
                quarantined: job.reclaims > 0,
            };
            map.insert(job.id.clone(), held);
        }
    }

    pub(crate) fn remove<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let mut map = self.lock();
        for id in ids {
            map.remove(id);
        }
    }

    /// Marks the job's call as starting, if this process still holds it with `holder`; false if it does not (its
    /// lease was handed back at shutdown, or the job was dropped): then it must not be called.
    pub(crate) fn start(&self, id: &str, holder: &str) -> bool {
        match self.lock().get_mut(id) {
            Some(held) if held.holder == holder => {
                held.stage = Stage::Starting;
                true
            }
            _ => false,
        }
    }

    /// Every held lease, grouped by shard.
    pub(crate) fn snapshot(&self) -> Vec<(usize, Vec<Lease>)> {
        self.grouped(|_| true)
    }

    /// The leases whose call has not started, grouped by shard.
    pub(crate) fn waiting(&self) -> Vec<(usize, Vec<Lease>)> {
        self.grouped(|held| held.stage == Stage::Waiting)
    }

    /// Forgets those of `leases` whose call still has not started (a job whose call began meanwhile stays).
    pub(crate) fn forget_waiting(&self, leases: &[Lease]) {
        let mut map = self.lock();
        for lease in leases {
            if map.get(&lease.id).is_some_and(|h| h.stage == Stage::Waiting && h.holder == lease.holder) {
                map.remove(&lease.id);
            }
        }
    }

    /// Whether a quarantined job (one with a reclaim counted) is held.
    pub(crate) fn holds_quarantined(&self) -> bool {
        self.lock().values().any(|held| held.quarantined)
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn grouped(&self, keep: impl Fn(&Held) -> bool) -> Vec<(usize, Vec<Lease>)> {
        let mut by_shard: HashMap<usize, Vec<Lease>> = HashMap::new();
        for (id, held) in self.lock().iter().filter(|(_, held)| keep(held)) {
            by_shard.entry(held.shard).or_default().push(Lease { id: id.clone(), holder: held.holder.clone() });
        }
        // Leases of one token side by side: they go to Redis as one run (`hold::args`).
        by_shard
            .into_iter()
            .map(|(shard, mut leases)| {
                leases.sort_unstable_by(|a, b| a.holder.cmp(&b.holder));
                (shard, leases)
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        // A panic while holding this lock cannot leave the map inconsistent (single insert/remove calls).
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
