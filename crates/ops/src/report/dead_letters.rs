//! `dlq list --json` and `GET /v1/dlq`: the newest dead letters, each with its job and last error.

use deleteq_queue::inspect::DeadLetter;
use deleteq_queue::{Queue, QueueError};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// Dead letters read when filtering by account, so that `limit` of that account's are likely among them.
const SCAN_FOR_ACCOUNT: usize = 10_000;

/// One dead letter. The fields after `at_ms` are read from its stored envelope as they are.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeadLetterReport {
    /// The job id (give it to replay).
    pub id: String,
    /// When it was dead-lettered (ms since the epoch).
    pub at_ms: u64,
    /// The job, in its JSON v1 form.
    #[schema(value_type = Option<super::JobInput>)]
    pub job: Option<Value>,
    /// Provider calls spent on retryable failures.
    #[schema(value_type = Option<u64>)]
    pub attempts: Option<Value>,
    /// The last error.
    #[schema(value_type = Option<String>)]
    pub last_error: Option<Value>,
    /// The last HTTP status.
    #[schema(value_type = Option<u16>)]
    pub last_status: Option<Value>,
}

impl DeadLetterReport {
    /// The report of a stored dead letter.
    pub fn of(letter: &DeadLetter) -> DeadLetterReport {
        let envelope: Value = serde_json::from_str(&letter.envelope).unwrap_or(Value::String(letter.envelope.clone()));
        DeadLetterReport {
            id: letter.id.clone(),
            at_ms: letter.at_ms,
            job: envelope.get("job").cloned(),
            attempts: envelope.get("attempt").cloned(),
            last_error: envelope.get("last_error").cloned(),
            last_status: envelope.get("last_status").cloned(),
        }
    }
}

/// The newest `limit` dead letters, newest first; only `account`'s when given.
pub(crate) async fn dead_letters(
    queue: &Queue,
    limit: usize,
    account: Option<&str>,
) -> Result<Vec<DeadLetterReport>, QueueError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut letters = queue.dead_letters(if account.is_some() { limit.max(SCAN_FOR_ACCOUNT) } else { limit }).await?;
    if let Some(account) = account {
        letters.retain(|l| {
            let envelope: Value = serde_json::from_str(&l.envelope).unwrap_or_default();
            envelope["job"]["account"].as_str() == Some(account)
        });
        letters.truncate(limit);
    }
    Ok(letters.iter().map(DeadLetterReport::of).collect())
}

/// `dlq list --json`: one JSON value per dead letter, newest first.
pub(crate) async fn dead_letters_json(
    queue: &Queue,
    limit: usize,
    account: Option<&str>,
) -> Result<Vec<Value>, QueueError> {
    Ok(dead_letters(queue, limit, account).await?.iter().map(super::to_json).collect())
}
