//! One audit-stream record (DESIGN §3). Every record has the same fields in the same order, so Redis stores the
//! field names once per stream node and a consumer never guesses which are present.

use crate::outcome::{DeletionMode, Outcome};

/// The stream's field names, in order.
pub const FIELDS: [&str; 17] = [
    "job",
    "parent",
    "account",
    "provider",
    "conversation",
    "message",
    "outcome",
    "http_status",
    "attempt",
    "error",
    "deleted_count",
    "delay_ms",
    "campaign",
    "reason",
    "requested_by",
    "at",
    "mode",
];

/// One outcome of one message (or one purge), as written to the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// The job that produced it.
    pub job: String,
    /// The bulk job it was expanded from, if any.
    pub parent: Option<String>,
    /// The config account.
    pub account: String,
    /// The provider kind.
    pub provider: String,
    /// Room, session or chat user.
    pub conversation: Option<String>,
    /// The message; empty for a purge.
    pub message: Option<String>,
    /// What happened.
    pub outcome: Outcome,
    /// The provider's status, when a call was made.
    pub http_status: Option<u16>,
    /// Which attempt this was (1 = first call).
    pub attempt: u32,
    /// The error, for failures and retries. Never contains credentials.
    pub error: Option<String>,
    /// A purge's count.
    pub deleted_count: Option<u64>,
    /// For `retry_scheduled`: the delay before the next attempt.
    pub delay_ms: Option<u64>,
    /// The job's campaign.
    pub campaign: Option<String>,
    /// The job's reason.
    pub reason: Option<String>,
    /// Who asked.
    pub requested_by: Option<String>,
    /// When (RFC 3339, UTC, milliseconds).
    pub at: String,
    /// How a `deleted` or `purged` message was deleted; `None` for every other outcome.
    pub mode: Option<DeletionMode>,
}

impl AuditRecord {
    /// The values in [`FIELDS`] order; absent values are empty strings.
    pub fn values(&self) -> [String; 17] {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let num = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
        [
            self.job.clone(),
            opt(&self.parent),
            self.account.clone(),
            self.provider.clone(),
            opt(&self.conversation),
            opt(&self.message),
            self.outcome.as_str().to_string(),
            num(self.http_status.map(u64::from)),
            self.attempt.to_string(),
            opt(&self.error),
            num(self.deleted_count),
            num(self.delay_ms),
            opt(&self.campaign),
            opt(&self.reason),
            opt(&self.requested_by),
            self.at.clone(),
            self.mode.map(|m| m.as_str().to_string()).unwrap_or_default(),
        ]
    }

    /// The current time in the `at` format.
    pub fn now() -> String {
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }
}
