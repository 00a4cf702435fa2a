//! The form a job takes in Redis: its id, how many attempts it has used, and the job itself.

use crate::job::{Job, JobError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A job id: a ULID for a submitted job (so ids sort by enqueue time and carry it), `PARENT:N` for the N-th child
/// of an expanded bulk job.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub String);

impl JobId {
    /// A fresh id.
    pub fn new() -> Self {
        JobId(ulid::Ulid::new().to_string())
    }

    /// When a ULID id was made (ms since the epoch); `None` for ids that are not ULIDs.
    pub fn created_ms(&self) -> Option<u64> {
        let root = self.0.split(':').next().unwrap_or(&self.0);
        ulid::Ulid::from_string(root).ok().map(|u| u.timestamp_ms())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// No id: the compact stored form (`deleteq_queue::stored::encode_compact`), whose id is the key it is stored
    /// under.
    fn empty() -> Self {
        JobId(String::new())
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Default for JobId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stored job. Version 1.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// Format version, 1.
    pub v: u32,
    /// The job's id. Left out of the compact stored form (the queue keys the job by it already).
    #[serde(default = "JobId::empty", skip_serializing_if = "JobId::is_empty")]
    pub id: JobId,
    /// Provider calls already spent on retryable failures.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub attempt: u32,
    /// The job in its JSON v1 form.
    pub job: Value,
    /// For a bulk job being expanded: how many of its messages already went to children (the position the next
    /// child id counts from).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub expanded: u64,
    /// For a bulk job being expanded: how many of its message ids wait in its id list in Redis (the queue's
    /// `expansion_ids` key) rather than in `job`, whose `messages` is then empty until the worker fills in the next
    /// step's ids. Keeps every step's writes to the ids it expands (linear in the ids, not quadratic).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub listed: u64,
    /// The bulk job this one was expanded from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<JobId>,
    /// The last error, once it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The last HTTP status, once it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<u16>,
    /// For a dead letter: how many of its messages ended `failed` and how many `dead`, so a replay can give them
    /// back to their campaign's pending count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_up: Option<GivenUp>,
}

/// The terminal outcomes of a dead letter's messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GivenUp {
    /// Messages that ended `failed` (a permanent error).
    pub failed: u64,
    /// Messages that ended `dead` (out of retries).
    pub dead: u64,
}

impl Envelope {
    /// Wraps a validated job under `id`.
    pub fn new(id: JobId, job: &Job) -> Self {
        Envelope {
            v: 1,
            id,
            attempt: 0,
            job: job.to_value(),
            expanded: 0,
            listed: 0,
            parent: None,
            last_error: None,
            last_status: None,
            given_up: None,
        }
    }

    /// The stored text.
    pub fn encode(&self) -> String {
        // A struct of strings, numbers and a JSON value always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a stored envelope; the error is recorded as the job's failure, never a worker crash.
    pub fn decode(text: &[u8]) -> Result<Envelope, String> {
        serde_json::from_slice(text).map_err(|e| format!("undecodable job: {e}"))
    }

    /// The job inside.
    pub fn job(&self) -> Result<Job, JobError> {
        Job::from_json_value(&self.job, crate::Priority::default())
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_dates_its_id() {
        let job = Job::from_json(r#"{"account":"cc","message":"1"}"#).expect("job");
        let env = Envelope::new(JobId::new(), &job);
        let back = Envelope::decode(env.encode().as_bytes()).expect("decode");
        assert_eq!(back.job().expect("job"), job);
        let made = back.id.created_ms().expect("ulid");
        assert!(made.abs_diff(crate::now_ms()) < 60_000);
        assert!(Envelope::decode(b"{not json").is_err());
    }
}
