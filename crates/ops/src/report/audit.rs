//! `GET /v1/audit`: the newest audit records across the shards, newest first, each with its stream id and the 17
//! fields every record has (DESIGN §3), as `deleteq audit tail` prints them: text fields as strings (empty when
//! absent), the four numeric ones (`http_status`, `attempt`, `deleted_count`, `delay_ms`) as numbers or null.

use deleteq_queue::inspect::AuditEntry;
use deleteq_queue::{Queue, QueueError};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One audit record: its text fields as the stream holds them (empty when absent), its numeric fields as numbers
/// (null when absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct AuditReport {
    /// Its stream id (`<ms>-<seq>`); with several shards, two shards' streams may use the same id.
    pub id: String,
    /// The job that produced it.
    pub job: String,
    /// The bulk job it was expanded from.
    pub parent: String,
    /// The config account.
    pub account: String,
    /// The provider kind.
    pub provider: String,
    /// Room, session or chat user.
    pub conversation: String,
    /// The message (empty for a purge).
    pub message: String,
    /// What happened: a terminal outcome, `retry_scheduled` or `replayed`.
    pub outcome: String,
    /// The provider's HTTP status, when a call was made.
    pub http_status: Option<u16>,
    /// Which attempt this was (1 = first call).
    pub attempt: Option<u32>,
    /// The error, for failures and retries.
    pub error: String,
    /// A purge's count.
    pub deleted_count: Option<u64>,
    /// For `retry_scheduled`: the delay before the next attempt (ms).
    pub delay_ms: Option<u64>,
    /// The job's campaign.
    pub campaign: String,
    /// The job's reason.
    pub reason: String,
    /// Who asked.
    pub requested_by: String,
    /// When (RFC 3339, UTC, milliseconds).
    pub at: String,
    /// How a `deleted`/`purged` message was deleted: `hard`, `soft`, `self` or `unknown` (empty otherwise).
    pub mode: String,
}

impl AuditReport {
    /// The report of one stream entry; a field the entry lacks is an empty string.
    pub fn of((id, fields): &AuditEntry) -> AuditReport {
        let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
        let number = |name: &str| number_field(fields, name);
        AuditReport {
            id: id.clone(),
            job: field("job"),
            parent: field("parent"),
            account: field("account"),
            provider: field("provider"),
            conversation: field("conversation"),
            message: field("message"),
            outcome: field("outcome"),
            http_status: number("http_status").and_then(|n| n.try_into().ok()),
            attempt: number("attempt").and_then(|n| n.try_into().ok()),
            error: field("error"),
            deleted_count: number("deleted_count"),
            delay_ms: number("delay_ms"),
            campaign: field("campaign"),
            reason: field("reason"),
            requested_by: field("requested_by"),
            at: field("at"),
            mode: field("mode"),
        }
    }
}

/// The audit fields that hold numbers: in JSON they are numbers, or null when absent.
pub const NUMERIC_FIELDS: [&str; 4] = ["http_status", "attempt", "deleted_count", "delay_ms"];

/// The value of numeric field `name` of a stream entry's `fields`: None when absent, empty or not a number (the
/// stream holds text; a value deleteq did not write as a number is not guessed at).
pub fn number_field(fields: &[(String, String)], name: &str) -> Option<u64> {
    fields.iter().find(|(k, _)| k == name).and_then(|(_, v)| v.parse().ok())
}

/// The newest `limit` audit records across the shards, newest first.
pub(crate) async fn audit_records(queue: &Queue, limit: usize) -> Result<Vec<AuditReport>, QueueError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    // `audit_last` answers oldest first.
    Ok(queue.audit_last(limit).await?.iter().rev().map(AuditReport::of).collect())
}

/// [`audit_records`] as JSON values.
pub(crate) async fn audit_json(queue: &Queue, limit: usize) -> Result<Vec<Value>, QueueError> {
    Ok(audit_records(queue, limit).await?.iter().map(super::to_json).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use deleteq_core::audit::FIELDS;

    #[test]
    fn every_record_has_its_id_and_the_seventeen_fields() {
        let fields =
            [("job", "j1"), ("outcome", "deleted"), ("attempt", "3"), ("http_status", "200"), ("delay_ms", "x")];
        let fields = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let value = super::super::to_json(&AuditReport::of(&("17-0".to_string(), fields)));
        let object = value.as_object().expect("an object");
        assert_eq!(object.len(), 1 + FIELDS.len(), "{value}");
        for name in FIELDS {
            let numeric = NUMERIC_FIELDS.contains(&name);
            let typed =
                if numeric { object[name].is_u64() || object[name].is_null() } else { object[name].is_string() };
            assert!(typed, "{name} is missing or of the wrong type in {value}");
        }
        assert_eq!((value["attempt"].as_u64(), value["http_status"].as_u64()), (Some(3), Some(200)));
        assert!(value["delay_ms"].is_null() && value["deleted_count"].is_null(), "not a number, or absent: null");
        assert_eq!((value["id"].as_str(), value["job"].as_str()), (Some("17-0"), Some("j1")));
        assert_eq!((value["outcome"].as_str(), value["error"].as_str()), (Some("deleted"), Some("")));
    }
}
