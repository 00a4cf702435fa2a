//! `POST /v1/jobs/{id}/cancel`: cancel one job before its call, answered as `deleteq cancel ID --json` is.

use super::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Json;
use deleteq_ops::{CancelReport, JobCancelState};
use serde_json::Value;

/// Written into each `cancelled` record's `error`.
const CANCELLED_BY: &str = "cancel (http api)";

/// Cancel one job (`deleteq cancel ID --json`): a job not yet called (ready, scheduled, waiting for a retry,
/// parked, or leased with its call not started) ends `cancelled` without a call, one audit record per message; a
/// bulk job's messages not yet expanded and its children not yet called do too, each child with its own records.
///
/// A job whose call started is left to end as it ends: `state` says `running`. The answer lists the job and its
/// children that were cancelled or are running.
#[utoipa::path(post, path = "/v1/jobs/{id}/cancel", tag = "jobs",
    params(("id" = String, Path, description = "The job id (as `POST /v1/jobs` answered it).")),
    responses(
        (status = 200, description = "The job was cancelled now, or its call is running.", body = CancelReport),
        (status = 400, description = "The id is not valid text.", body = ErrorBody),
        (status = 401, description = "No valid bearer token.", body = ErrorBody),
        (status = 404, description = "No unfinished job has this id: it finished, or was never enqueued.", body = ErrorBody),
        (status = 503, description = "Redis failed, or the server is overloaded.", body = ErrorBody),
    ))]
pub(crate) async fn cancel_job(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(id) = id?;
    let report = state.ops()?.cancel_jobs(std::slice::from_ref(&id), Some(CANCELLED_BY)).await?;
    if !report.found_any() {
        let why = match report.jobs.first().map(|j| j.state) {
            Some(JobCancelState::Finished) => "it finished and is a dead letter (see GET /v1/dlq)",
            _ => "it finished already (see the audit stream), or was never enqueued",
        };
        return Err(ApiError::NotFound(format!("no unfinished job {id:?}: {why}")));
    }
    Ok(Json(report.to_json()))
}
