//! Dead letters: replaying them (by id, or all) and purging old ones. What a replay did is one report,
//! [`ReplayReport`], which `dlq replay --json` prints and `POST /v1/dlq/replay` answers.

use crate::{Ops, ProducerError, QueueError};
use serde::Serialize;
use std::collections::HashSet;
use std::time::Duration;
use utoipa::openapi::{ObjectBuilder, Type};
use utoipa::ToSchema;

/// What replaying dead letters by id did (`dlq replay ID... --json`, `POST /v1/dlq/replay` with `ids`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ReplayedIds {
    /// Dead letters put back in the queue.
    pub replayed: u64,
    /// Distinct ids asked for.
    pub requested: usize,
    /// The ids asked for that were not dead letters (skipped), in the order asked.
    pub not_dead: Vec<String>,
}

/// What replaying every dead letter did (`dlq replay --all --json`, `POST /v1/dlq/replay` with `all: true`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ReplayedAll {
    /// Dead letters put back in the queue.
    pub replayed: u64,
    /// Always `true`: every dead letter was asked for.
    #[schema(schema_with = always_true)]
    all: bool,
}

impl ReplayedAll {
    /// `replayed` dead letters went back, all that there were.
    pub fn new(replayed: u64) -> ReplayedAll {
        ReplayedAll { replayed, all: true }
    }
}

/// The schema of [`ReplayedAll::all`]: a boolean that is `true`.
fn always_true() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([true]))
        .description(Some("Always `true`: every dead letter was asked for."))
}

/// What a replay did, by id or all: `{"replayed", "requested", "not_dead"}` or `{"replayed", "all": true}`
/// (`deleteq dlq replay --json`, `POST /v1/dlq/replay`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ReplayReport {
    /// Replayed by id.
    Ids(ReplayedIds),
    /// Replayed every dead letter.
    All(ReplayedAll),
}

impl ReplayReport {
    /// Dead letters put back in the queue.
    pub fn replayed(&self) -> u64 {
        match self {
            ReplayReport::Ids(ids) => ids.replayed,
            ReplayReport::All(all) => all.replayed,
        }
    }

    /// The report as JSON (object keys sorted, as every `--json` prints).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl From<ReplayedIds> for ReplayReport {
    fn from(ids: ReplayedIds) -> Self {
        ReplayReport::Ids(ids)
    }
}

impl From<ReplayedAll> for ReplayReport {
    fn from(all: ReplayedAll) -> Self {
        ReplayReport::All(all)
    }
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

    /// Replays every dead letter with its attempts reset, a `replayed` record per message naming `requested_by`;
    /// says how many went back.
    pub async fn replay_all_dead(&self, requested_by: Option<&str>) -> Result<ReplayedAll, ProducerError> {
        Ok(ReplayedAll::new(self.producer().replay_all_dead(requested_by).await?))
    }

    /// Forgets the dead letters dead-lettered at least `older_than` ago (all of them for zero); returns how many.
    pub async fn purge_dead(&self, older_than: Duration) -> Result<u64, QueueError> {
        self.queue().purge_dead(older_than).await
    }
}

#[cfg(test)]
mod tests {
    use super::{ReplayReport, ReplayedAll, ReplayedIds};
    use serde_json::json;

    #[test]
    fn a_replay_by_id_and_of_all_report_their_own_fields() {
        let ids = ReplayedIds { replayed: 1, requested: 2, not_dead: vec!["nope".into()] };
        let report = ReplayReport::from(ids);
        assert_eq!(report.replayed(), 1);
        assert_eq!(report.to_json(), json!({"replayed": 1, "requested": 2, "not_dead": ["nope"]}));
        let all = ReplayReport::from(ReplayedAll::new(3));
        assert_eq!(all.replayed(), 3);
        assert_eq!(all.to_json(), json!({"replayed": 3, "all": true}));
        assert_eq!(all.to_json().to_string(), r#"{"all":true,"replayed":3}"#, "keys sorted");
    }
}
