//! Cancelling single jobs before their call (`deleteq cancel ID...`, `POST /v1/jobs/{id}/cancel`); the rules are
//! the producer's ([`deleteq_producer::Producer::cancel`]), the report is shared by the command line and the API.

use crate::{CancelState, JobCancel, Ops, ProducerError};
use serde::Serialize;
use utoipa::ToSchema;

/// What became of one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobCancelState {
    /// Removed before its call; each message it carried has its `cancelled` audit record.
    Cancelled,
    /// Its provider call started: it goes on and ends as it ends.
    Running,
    /// Finished already: it is a dead letter.
    Finished,
    /// No unfinished job has this id: finished (see the audit stream), or never enqueued.
    NotFound,
}

impl From<CancelState> for JobCancelState {
    fn from(state: CancelState) -> Self {
        match state {
            CancelState::Cancelled => JobCancelState::Cancelled,
            CancelState::Running => JobCancelState::Running,
            CancelState::Finished => JobCancelState::Finished,
            CancelState::NotFound => JobCancelState::NotFound,
        }
    }
}

/// One job's line of a [`CancelReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CancelledJob {
    /// The job's id.
    pub id: String,
    /// What became of it.
    pub state: JobCancelState,
    /// `cancelled` records written for it: one per message (one for a purge).
    pub messages: u64,
    /// The bulk job asked for, when this is one of its children.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

/// What cancelling jobs did (`deleteq cancel --json`, `POST /v1/jobs/{id}/cancel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CancelReport {
    /// Distinct ids asked for.
    pub requested: usize,
    /// Jobs cancelled, bulk children included.
    pub cancelled: u64,
    /// `cancelled` records written in all.
    pub messages: u64,
    /// Each id asked for, in order, each followed by its bulk children that were cancelled or are running.
    pub jobs: Vec<CancelledJob>,
}

impl CancelReport {
    /// The report of the producer's answers to `requested` distinct ids.
    pub fn of(requested: usize, answers: Vec<JobCancel>) -> CancelReport {
        let jobs: Vec<CancelledJob> = answers
            .into_iter()
            .map(|a| CancelledJob { id: a.id, state: a.state.into(), messages: a.messages, parent: a.parent })
            .collect();
        let done = jobs.iter().filter(|j| j.state == JobCancelState::Cancelled);
        let (cancelled, messages) = done.fold((0, 0), |(n, m), j| (n + 1, m + j.messages));
        CancelReport { requested, cancelled, messages, jobs }
    }

    /// Whether some job asked for is unfinished: cancelled now, or running.
    pub fn found_any(&self) -> bool {
        self.jobs.iter().any(|j| matches!(j.state, JobCancelState::Cancelled | JobCancelState::Running))
    }

    /// The report as JSON (object keys sorted, as every `--json` prints).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl Ops {
    /// Cancels the jobs `ids` (repeats once) and their bulk children not yet called; `requested_by` is named in
    /// each `cancelled` record's `error`.
    pub async fn cancel_jobs(&self, ids: &[String], requested_by: Option<&str>) -> Result<CancelReport, ProducerError> {
        let requested = ids.iter().collect::<std::collections::HashSet<_>>().len();
        Ok(CancelReport::of(requested, self.producer().cancel(ids, requested_by).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(id: &str, state: CancelState, messages: u64, parent: Option<&str>) -> JobCancel {
        JobCancel { id: id.into(), parent: parent.map(str::to_string), state, messages }
    }

    #[test]
    fn the_report_counts_only_what_was_cancelled() {
        let report = CancelReport::of(
            3,
            vec![
                answer("A", CancelState::Cancelled, 1, None),
                answer("B", CancelState::NotFound, 0, None),
                answer("B:0", CancelState::Cancelled, 1, Some("B")),
                answer("B:1", CancelState::Running, 0, Some("B")),
                answer("C", CancelState::Finished, 0, None),
            ],
        );
        assert_eq!((report.requested, report.cancelled, report.messages), (3, 2, 2));
        assert!(report.found_any());
        let json = report.to_json();
        assert_eq!(json["jobs"][1]["state"], "not_found");
        assert_eq!(json["jobs"][3]["parent"], "B");
        assert!(json["jobs"][0].get("parent").is_none(), "no parent key for a job asked for itself");
        assert_eq!(json["jobs"][4]["state"], "finished");
    }

    #[test]
    fn nothing_found_when_every_job_finished_or_unknown() {
        let report = CancelReport::of(
            2,
            vec![answer("A", CancelState::NotFound, 0, None), answer("B", CancelState::Finished, 0, None)],
        );
        assert!(!report.found_any());
        assert_eq!(report.cancelled, 0);
    }
}
