//! Audit records for a job's messages: the job-level fields filled once, the per-message ones per call.

use deleteq_core::{AuditRecord, Job, Outcome};

/// The fields every record of one job shares.
pub(crate) struct RecordBase {
    job: String,
    parent: Option<String>,
    account: String,
    provider: String,
    conversation: Option<String>,
    campaign: Option<String>,
    reason: Option<String>,
    requested_by: Option<String>,
    attempt: u32,
}

impl RecordBase {
    /// For a decoded job on call number `attempt`.
    pub(crate) fn new(id: &str, parent: Option<&str>, job: &Job, provider: &str, attempt: u32) -> Self {
        RecordBase {
            job: id.to_string(),
            parent: parent.map(str::to_string),
            account: job.account.clone(),
            provider: provider.to_string(),
            conversation: job.conversation.clone(),
            campaign: job.campaign.clone(),
            reason: job.reason.clone(),
            requested_by: job.requested_by.clone(),
            attempt,
        }
    }

    /// For a job that could not even be decoded.
    pub(crate) fn undecodable(id: &str) -> Self {
        RecordBase {
            job: id.to_string(),
            parent: None,
            account: String::new(),
            provider: String::new(),
            conversation: None,
            campaign: None,
            reason: None,
            requested_by: None,
            attempt: 0,
        }
    }

    /// One record.
    pub(crate) fn record(
        &self,
        message: Option<&str>,
        outcome: Outcome,
        status: Option<u16>,
        error: Option<&str>,
    ) -> AuditRecord {
        AuditRecord {
            job: self.job.clone(),
            parent: self.parent.clone(),
            account: self.account.clone(),
            provider: self.provider.clone(),
            conversation: self.conversation.clone(),
            message: message.map(str::to_string),
            outcome,
            http_status: status,
            attempt: self.attempt,
            error: error.map(str::to_string),
            deleted_count: None,
            delay_ms: None,
            campaign: self.campaign.clone(),
            reason: self.reason.clone(),
            requested_by: self.requested_by.clone(),
            // A label for readers, never compared by the queue: this worker's clock is good enough (leases, due times
            // and dead-letter ages are Redis's clock).
            at: AuditRecord::now(),
            mode: None,
        }
    }
}
