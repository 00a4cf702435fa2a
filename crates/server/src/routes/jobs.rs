//! `POST /v1/jobs`: one job or an array, validated exactly as `deleteq enqueue` validates them, then enqueued all
//! or nothing in one transaction.

use super::AppState;
use crate::error::{read_body, ApiError, ErrorBody};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use deleteq_core::validate::validate;
use deleteq_core::Job;
pub(crate) use deleteq_ops::report::{priority_schema, JobInput};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One job, or an array of jobs enqueued all or nothing.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code, clippy::large_enum_variant)] // a schema only: never built.
pub(crate) enum JobsBody {
    /// One job.
    One(JobInput),
    /// Several jobs.
    Many(Vec<JobInput>),
}

/// The enqueued jobs' ids, in the order given.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EnqueuedIds {
    /// One id per job; a repeated `idempotency_key` gives the first job's id.
    ids: Vec<String>,
}

/// Enqueue one job or an array of jobs.
///
/// Every job is validated first, exactly as `deleteq enqueue` does; if any is invalid, nothing is enqueued and
/// the answer names it: `index` is its 0-based position in the array (0 for a single job) and `field` the field
/// at fault. A body that is not JSON, or neither an object nor a non-empty array, is answered 400 with field
/// `body`. A reply from Redis lost after the batch was sent is settled inside the server (the same batch is repeated
/// under a batch token of its own, which stores nothing twice), so a 201 or 400 is final. A 503 says either that
/// nothing was stored (Redis could not be reached) or, in its message, that the outcome could not be settled:
/// then resend the batch with `idempotency_key`s to be sure.
///
/// A W3C `traceparent` header is given to every job without its own `traceparent`; a malformed header is
/// ignored (logged), never refused.
#[utoipa::path(post, path = "/v1/jobs", tag = "jobs", request_body = JobsBody,
    params(("traceparent" = Option<String>, Header, description = "W3C Trace Context: the jobs' spans continue this trace.")),
    responses(
        (status = 201, description = "Every job was enqueued.", body = EnqueuedIds),
        (status = 400, description = "A job or the body is invalid; nothing was enqueued.", body = ErrorBody),
        (status = 401, description = "No valid bearer token.", body = ErrorBody),
        (status = 413, description = "The body is over `[api] max_body`.", body = ErrorBody),
        (status = 503, description = "Redis failed (nothing stored, or the outcome could not be settled: see the message), or the server is overloaded.", body = ErrorBody),
    ))]
pub(crate) async fn enqueue(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<EnqueuedIds>), ApiError> {
    let traceparent = crate::trace_context::for_jobs(&headers);
    let body = read_body(body, state.max_body())?;
    let value: Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::invalid_body(format!("not valid JSON: {e}")))?;
    let items = match value {
        Value::Array(items) if items.is_empty() => return Err(ApiError::invalid_body("an empty array: no jobs given")),
        Value::Array(items) => items,
        object @ Value::Object(_) => vec![object],
        _ => return Err(ApiError::invalid_body("must be a job object or an array of job objects")),
    };
    let config = state.ops()?.producer().config();
    let mut jobs = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let job = Job::from_value(item).and_then(|mut job| {
            crate::trace_context::inherit(&mut job, traceparent);
            validate(&job, config).map(|()| job)
        });
        jobs.push(job.map_err(|e| ApiError::Invalid { index: Some(index), field: e.field, message: e.message })?);
    }
    let ids = state.ops()?.producer().enqueue_many(&jobs).await?;
    Ok((StatusCode::CREATED, Json(EnqueuedIds { ids: ids.into_iter().map(|id| id.0).collect() })))
}
