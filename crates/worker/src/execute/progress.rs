//! What a job's checks and calls achieved so far ([`Progress`]), on its way to its conclusion.

use crate::records::RecordBase;
use deleteq_core::{AuditRecord, Outcome};
use std::time::Duration;

/// Why the remaining messages of a job should be tried again.
pub(super) struct RetryCause {
    pub(super) hint: Option<Duration>,
    pub(super) reason: String,
    pub(super) status: Option<u16>,
}

/// What a job's calls achieved.
#[derive(Default)]
pub(super) struct Progress {
    /// Terminal records so far.
    pub(super) records: Vec<AuditRecord>,
    /// Messages that failed permanently (to the dead-letter set).
    pub(super) failed: Vec<String>,
    /// Messages still unresolved (when `retry` is set).
    pub(super) remaining: Vec<String>,
    pub(super) retry: Option<RetryCause>,
    /// The provider stopped the whole account: why.
    pub(super) park: Option<String>,
    pub(super) last_error: Option<(String, Option<u16>)>,
}

impl Progress {
    pub(super) fn fail(&mut self, base: &RecordBase, id: Option<&str>, status: Option<u16>, reason: &str) {
        self.records.push(base.record(id, Outcome::Failed, status, Some(reason)));
        self.failed.extend(id.map(str::to_string));
        self.last_error = Some((reason.to_string(), status));
    }
}
