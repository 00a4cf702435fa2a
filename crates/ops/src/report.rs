//! The JSON reports that the command line's `--json` and the HTTP API both answer with (DESIGN §4, §8), and the
//! API's recent audit records: one builder per report, so `deleteq status --json` and `GET /v1/status` cannot
//! drift apart. The builders that read Redis are [`crate::Ops`] methods (`ops/src/reads.rs`).
//!
//! Each report is a typed struct, so its OpenAPI schema comes from the same type that produces it. The `*_json`
//! builders turn it into a [`serde_json::Value`], whose object keys print sorted: the command line prints that
//! value and the server sends it, byte for byte the same.

mod audit;
mod campaign;
mod dead_letters;
mod job_schema;
mod schedules;
mod status;

pub(crate) use audit::{audit_json, audit_records};
pub use audit::{number_field, AuditReport, NUMERIC_FIELDS};
pub use campaign::{
    campaign_json, campaign_label, submitted_json, CampaignPhase, CampaignReport, CampaignShare, CampaignSubmitted,
    SHARE_WINDOW,
};
pub(crate) use campaign::{campaign_shares, campaign_status_json};
pub use dead_letters::DeadLetterReport;
pub(crate) use dead_letters::{dead_letters, dead_letters_json};
pub use job_schema::{priority_schema, JobInput};
pub use schedules::{schedules_at, schedules_json, ScheduleReport};
pub(crate) use status::{status_json, status_report};
pub use status::{AccountStatus, LaneDepths, ParkedReport, ProviderBudgetReport, ShardStatus, StatusReport};

/// A report as JSON. Serializing these plain structs (string keys, numbers, strings) cannot fail; `Null` would
/// only stand for a bug, never a panic in a server.
fn to_json(report: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(report).unwrap_or(serde_json::Value::Null)
}
