//! Dead letters: replaying them (by id, or all) and purging old ones.

use crate::{Ops, ProducerError, QueueError};
use std::collections::HashSet;
use std::time::Duration;

/// What replaying dead letters by id did (`dlq replay ID... --json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedIds {
    /// Dead letters put back in the queue.
    pub replayed: u64,
    /// Distinct ids asked for.
    pub requested: usize,
    /// The ids asked for that were not dead letters (skipped), in the order asked.
    pub not_dead: Vec<String>,
}

impl Ops {
    /// Replays the dead letters `ids` (repeats once) with their attempts reset, a `replayed` record per message
    /// naming `requested_by`; says which ids were not dead letters.
    pub async fn replay_dead(&self, ids: &[String], requested_by: Option<&str>) -> Result<ReplayedIds, ProducerError> {
        let mut seen = HashSet::new();
        let ids: Vec<String> = ids.iter().filter(|id| seen.insert(id.as_str())).cloned().collect();
        let dead: HashSet<String> =
            self.queue().dead_letters_by_id(&ids).await?.into_iter().map(|letter| letter.id).collect();
        let not_dead = ids.iter().filter(|id| !dead.contains(*id)).cloned().collect();
        let replayed = self.producer().replay_dead(&ids, requested_by).await?;
        Ok(ReplayedIds { replayed, requested: ids.len(), not_dead })
    }

    /// Replays every dead letter; returns how many went back.
    pub async fn replay_all_dead(&self, requested_by: Option<&str>) -> Result<u64, ProducerError> {
        self.producer().replay_all_dead(requested_by).await
    }

    /// Forgets the dead letters dead-lettered at least `older_than` ago (all of them for zero); returns how many.
    pub async fn purge_dead(&self, older_than: Duration) -> Result<u64, QueueError> {
        self.queue().purge_dead(older_than).await
    }
}
