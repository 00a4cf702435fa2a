//! The reads: the reports of [`crate::report`] that need Redis, and the audit stream's cursors.

use crate::report::{self, AuditReport, DeadLetterReport, StatusReport};
use crate::{CampaignState, Ops};
use deleteq_queue::inspect::{AuditCursor, AuditEntry};
use deleteq_queue::QueueError;
use serde_json::Value;

impl Ops {
    /// `status --json`, `GET /v1/status`: the queue and every configured account now.
    pub async fn status_report(&self) -> Result<StatusReport, QueueError> {
        report::status_report(self.queue(), self.config()).await
    }

    /// [`Ops::status_report`] as JSON.
    pub async fn status_json(&self) -> Result<Value, QueueError> {
        report::status_json(self.queue(), self.config()).await
    }

    /// `dlq list --json`, `GET /v1/dlq`: the newest `limit` dead letters, newest first, only `account`'s if given.
    pub async fn dead_letters(&self, limit: usize, account: Option<&str>) -> Result<Vec<DeadLetterReport>, QueueError> {
        report::dead_letters(self.queue(), limit, account).await
    }

    /// [`Ops::dead_letters`] as JSON values.
    pub async fn dead_letters_json(&self, limit: usize, account: Option<&str>) -> Result<Vec<Value>, QueueError> {
        report::dead_letters_json(self.queue(), limit, account).await
    }

    /// `GET /v1/audit`: the newest `limit` audit records across the shards, newest first.
    pub async fn audit_records(&self, limit: usize) -> Result<Vec<AuditReport>, QueueError> {
        report::audit_records(self.queue(), limit).await
    }

    /// [`Ops::audit_records`] as JSON values.
    pub async fn audit_json(&self, limit: usize) -> Result<Vec<Value>, QueueError> {
        report::audit_json(self.queue(), limit).await
    }

    /// One campaign with its counters; `None` if there is no such campaign.
    pub async fn campaign(&self, id: &str) -> Result<Option<CampaignState>, QueueError> {
        self.queue().campaign(id).await
    }

    /// Every campaign with its counters, oldest first.
    pub async fn campaigns(&self) -> Result<Vec<CampaignState>, QueueError> {
        self.queue().campaigns().await
    }

    /// `campaign status --json`, `GET /v1/campaigns/{id}`: the campaign with its shares of its accounts' calls.
    pub async fn campaign_status_json(&self, state: &CampaignState) -> Result<Value, QueueError> {
        report::campaign_status_json(self.queue(), state).await
    }

    /// The campaign's shares of its accounts' calls over the last [`report::SHARE_WINDOW`].
    pub async fn campaign_shares(&self, id: &str) -> Result<Vec<report::CampaignShare>, QueueError> {
        report::campaign_shares(self.queue(), id).await
    }

    /// The newest `count` audit records across the shards (oldest first), and a cursor after them.
    pub async fn audit_last_and_cursor(&self, count: usize) -> Result<(Vec<AuditEntry>, AuditCursor), QueueError> {
        self.queue().audit_last_and_cursor(count).await
    }

    /// A cursor over every shard's audit stream, after stream id `after` (`-` for the oldest kept).
    pub fn audit_cursor(&self, after: &str) -> AuditCursor {
        self.queue().audit_cursor(after)
    }

    /// Up to `count` audit records after `cursor`, in time order across the shards; moves the cursor.
    pub async fn audit_next(&self, cursor: &mut AuditCursor, count: usize) -> Result<Vec<AuditEntry>, QueueError> {
        self.queue().audit_next(cursor, count).await
    }
}
