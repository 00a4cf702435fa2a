//! `/v1/campaigns`: submit a JSON-lines body as one campaign, read one or all with their exact counters, cancel
//! one. The answers are those of `deleteq campaign submit|status|cancel|list --json`.

use super::AppState;
use crate::error::{read_body, ApiError, ErrorBody};
use crate::routes::jobs::priority_schema;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use deleteq_core::Priority;
use deleteq_ops::report::{self, CampaignReport, CampaignSubmitted};
use deleteq_producer::CAMPAIGN_PRIORITY;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// `POST /v1/campaigns` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SubmitQuery {
    /// A name for reports; default `http <time of submission>`.
    name: Option<String>,
    /// The priority of lines without their own `priority`; default `low`. Its schema says the same.
    #[param(schema_with = campaign_priority_schema)]
    priority: Option<String>,
}

fn campaign_priority_schema() -> utoipa::openapi::schema::Object {
    priority_schema(
        CAMPAIGN_PRIORITY,
        "The priority of lines without their own `priority` (a line's own `priority`, even `normal`, is kept).",
    )
}

/// Jobs as one JSON array (`application/json`): what generated clients send. The same jobs and checks as the
/// JSON-lines form; an error's `index` is the job's position in the array.
#[derive(ToSchema)]
#[schema(value_type = Vec<deleteq_ops::report::JobInput>)]
#[allow(dead_code)] // a schema only: the body is read as JSON and checked line by line.
pub(crate) struct CampaignJobs(Vec<Value>);

/// Jobs, one JSON object per line (JSON lines); blank lines are skipped.
#[derive(ToSchema)]
#[schema(value_type = String)]
#[allow(dead_code)] // a schema only: the body is read as text.
pub(crate) struct CampaignBody(String);

/// Submit a JSON-lines body (or a JSON array of jobs) as one campaign.
///
/// Every line is checked first; if any is invalid nothing is stored and the answer names the first one: `index`
/// is its 0-based position among all lines of the body, blank lines included (its line number minus one), and
/// `field` the field at fault. Each job gets the campaign's id as its `campaign`, and the query's `priority`
/// (default `low`) unless the line sets its own. A job whose `idempotency_key` was seen before is not stored and not
/// counted in `total`. A submission, once started, is carried to its end even if the client goes away. A W3C
/// `traceparent` header is given to every line without its own `traceparent` (a malformed one is ignored).
#[utoipa::path(post, path = "/v1/campaigns", tag = "campaigns",
    params(SubmitQuery, ("traceparent" = Option<String>, Header, description = "W3C Trace Context: the jobs' spans continue this trace.")),
    request_body(content(
        (CampaignJobs = "application/json"),
        (CampaignBody = "application/x-ndjson"),
        (CampaignBody = "text/plain"),
    )),
    responses(
        (status = 201, description = "The campaign was stored.", body = CampaignSubmitted),
        (status = 400, description = "A line, the body or a query parameter is invalid; nothing was stored.", body = ErrorBody),
        (status = 401, description = "No valid bearer token.", body = ErrorBody),
        (status = 413, description = "The body is over `[api] max_body`.", body = ErrorBody),
        (status = 503, description = "Redis failed (the campaign may be left `submitting`: cancel it), or the \
            server is overloaded.", body = ErrorBody),
    ))]
pub(crate) async fn submit(
    State(state): State<AppState>,
    query: Result<Query<SubmitQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let traceparent = crate::trace_context::for_jobs(&headers);
    let Query(query) = query?;
    let priority = match query.priority.as_deref() {
        None => CAMPAIGN_PRIORITY,
        Some(text) => text.parse::<Priority>().map_err(|e| ApiError::BadParameter(format!("priority: {e}")))?,
    };
    let body = read_body(body, state.max_body())?;
    let text = if is_json(&headers) { json_array_as_lines(&body)? } else { utf8(&body)? };
    let size = state.ops()?.producer().check_campaign(&text, 1).map_err(|errors| match errors.into_iter().next() {
        Some(e) => ApiError::Invalid { index: Some(e.line - 1), field: e.error.field, message: e.error.message },
        None => ApiError::invalid_body("is invalid"),
    })?;
    if size.jobs == 0 {
        return Err(ApiError::invalid_body("no jobs in it; nothing was submitted"));
    }
    let name = query
        .name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| format!("http {}", chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
    // Its own task: a client that disconnects, or the request timeout, must not cut a submission in half.
    let producer = state.ops()?.producer().clone();
    let stored = tokio::spawn(async move {
        producer.submit_campaign_traced(&name, &text, size, priority, traceparent, |_| {}).await
    });
    let info = stored.await.map_err(|_| ApiError::Internal)??;
    Ok((StatusCode::CREATED, Json(report::submitted_json(&info))))
}

/// Whether the body is declared `application/json` (a JSON array of jobs) rather than JSON lines or text.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

fn utf8(body: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(body.to_vec()).map_err(|_| ApiError::invalid_body("is not UTF-8 text"))
}

/// A JSON array of jobs as the JSON-lines text the campaign path checks: one element per line, so an error's
/// line index is the element's position in the array.
fn json_array_as_lines(body: &[u8]) -> Result<String, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| ApiError::invalid_body(format!("is not JSON: {e}")))?;
    let Value::Array(jobs) = value else {
        return Err(ApiError::invalid_body("must be a JSON array of jobs (application/json)"));
    };
    Ok(jobs.iter().map(Value::to_string).collect::<Vec<_>>().join("\n"))
}

/// Every campaign with its counters, oldest first (`deleteq campaign list --json`).
#[utoipa::path(get, path = "/v1/campaigns", tag = "campaigns",
    responses(
        (status = 200, description = "Every campaign.", body = Vec<CampaignReport>),
        (status = 401, description = "No valid bearer token.", body = ErrorBody),
        (status = 503, description = "Redis failed, or the server is overloaded.", body = ErrorBody),
    ))]
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let all = state.ops()?.campaigns().await?;
    Ok(Json(Value::Array(all.iter().map(report::campaign_json).collect())))
}

/// One campaign: total, pending and one count per outcome (`deleteq campaign status ID --json`).
#[utoipa::path(get, path = "/v1/campaigns/{id}", tag = "campaigns",
    params(("id" = String, Path, description = "The campaign id.")),
    responses(
        (status = 200, description = "The campaign.", body = CampaignReport),
        (status = 400, description = "The id is not valid text.", body = ErrorBody),
        (status = 401, description = "No valid bearer token.", body = ErrorBody),
        (status = 404, description = "No such campaign.", body = ErrorBody),
        (status = 503, description = "Redis failed, or the server is overloaded.", body = ErrorBody),
    ))]
pub(crate) async fn show(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(id) = id?;
    let ops = state.ops()?;
    let campaign = ops.campaign(&id).await?.ok_or_else(|| no_campaign(&id))?;
    Ok(Json(ops.campaign_status_json(&campaign).await?))
}

/// Cancel a campaign: its jobs not yet called end `cancelled` (`deleteq campaign cancel ID --json`).
///
/// Cancelling twice keeps the first time. The answer is the campaign as it stands.
#[utoipa::path(post, path = "/v1/campaigns/{id}/cancel", tag = "campaigns",
    params(("id" = String, Path, description = "The campaign id.")),
    responses(
        (status = 200, description = "The campaign, cancelled.", body = CampaignReport),
        (status = 400, description = "The id is not valid text.", body = ErrorBody),
        (status = 401, description = "No valid bearer token.", body = ErrorBody),
        (status = 404, description = "No such campaign.", body = ErrorBody),
        (status = 503, description = "Redis failed, or the server is overloaded.", body = ErrorBody),
    ))]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(id) = id?;
    let campaign = state.ops()?.cancel_campaign(&id).await?.ok_or_else(|| no_campaign(&id))?;
    Ok(Json(report::campaign_json(&campaign)))
}

fn no_campaign(id: &str) -> ApiError {
    ApiError::NotFound(format!("no campaign {id:?}"))
}
