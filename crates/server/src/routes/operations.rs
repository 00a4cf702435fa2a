//! The operator's views and writes: `GET /v1/status`, `GET /v1/dlq`, `POST /v1/dlq/replay` and
//! `POST /v1/accounts/{name}/resume`, answered as `deleteq status --json`, `deleteq dlq list --json`,
//! `deleteq dlq replay --json` and `deleteq accounts resume --json` do.

use super::AppState;
use crate::error::{read_body, ApiError, ErrorBody};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use deleteq_ops::report::{DeadLetterReport, StatusReport};
use deleteq_ops::{ReplayReport, Resumed};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// Written into each replay's `replayed` audit record as `requested_by`.
const REPLAYED_BY: &str = "dlq replay (http api)";

/// Queue depths and every account's state (`deleteq status --json`).
#[utoipa::path(get, path = "/v1/status", tag = "operations",
    responses(
        (status = 200, description = "The queue now.", body = StatusReport),
        (status = 401, description = "No valid bearer token.", body = ErrorBody),
        (status = 503, description = "Redis failed, or the server is overloaded.", body = ErrorBody),
    ))]
pub(crate) async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(state.ops()?.status_json().await?))
}

/// `GET /v1/dlq` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DlqQuery {
    /// At most this many (default 100).
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<usize>,
    /// Only this account's dead letters.
    account: Option<String>,
}

/// The newest dead letters, newest first (`deleteq dlq list --json`).
#[utoipa::path(get, path = "/v1/dlq", tag = "operations", params(DlqQuery),
    responses(
        (status = 200, description = "Dead letters, newest first.", body = Vec<DeadLetterReport>),
        (status = 400, description = "`limit` is not a number from 1 to 10000.", body = ErrorBody),
        (status = 401, description = "No valid bearer token.", body = ErrorBody),
        (status = 503, description = "Redis failed, or the server is overloaded.", body = ErrorBody),
    ))]
pub(crate) async fn dead_letters(
    State(state): State<AppState>,
    query: Result<Query<DlqQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query?;
    let limit = super::checked_limit(query.limit, 100)?;
    let letters = state.ops()?.dead_letters_json(limit, query.account.as_deref()).await?;
    Ok(Json(Value::Array(letters)))
}

/// Which dead letters to replay: `{"ids": [...]}` or `{"all": true}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplayRequest {
    /// These dead letters (job ids); unknown ids are skipped.
    ids: Option<Vec<String>>,
    /// Every dead letter.
    all: Option<bool>,
}

/// Put dead letters back in the queue with their attempt count reset (`deleteq dlq replay --json`).
///
/// Give either `ids` (non-empty) or `all: true`. Each replayed message gets a `replayed` audit record. The answer
/// is what `deleteq dlq replay --json` prints for the same request: for `ids`, `replayed`, `requested` (distinct
/// ids asked for) and `not_dead` (the ids that were not dead letters, skipped; still 200 when none was); for
/// `all`, `replayed` and `all: true`.
#[utoipa::path(post, path = "/v1/dlq/replay", tag = "operations", request_body = ReplayRequest,
    responses(
        (status = 200, description = "What the replay did, as `dlq replay --json` prints it.", body = ReplayReport),
        (status = 400, description = "Neither `ids` nor `all: true`, or both; or not JSON.", body = ErrorBody),
        (status = 401, description = "No valid bearer token.", body = ErrorBody),
        (status = 413, description = "The body is over `[api] max_body`.", body = ErrorBody),
        (status = 503, description = "Redis failed, or the server is overloaded.", body = ErrorBody),
    ))]
pub(crate) async fn replay(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = read_body(body, state.max_body())?;
    let request: ReplayRequest =
        serde_json::from_slice(&body).map_err(|e| ApiError::invalid_body(format!("not a replay request: {e}")))?;
    let invalid =
        |field: &str, message: &str| ApiError::Invalid { index: None, field: field.into(), message: message.into() };
    let report: ReplayReport = match (request.ids, request.all) {
        (Some(_), Some(true)) => return Err(invalid("all", "give either \"ids\" or \"all\": true, not both")),
        (Some(ids), _) if ids.is_empty() => return Err(invalid("ids", "must not be empty")),
        (Some(ids), _) => state.ops()?.replay_dead(&ids, Some(REPLAYED_BY)).await?.into(),
        (None, Some(true)) => state.ops()?.replay_all_dead(Some(REPLAYED_BY)).await?.into(),
        (None, _) => return Err(invalid("ids", "give \"ids\": [...] or \"all\": true")),
    };
    Ok(Json(report.to_json()))
}

/// Resume a parked account (`deleteq accounts resume NAME`): its set-aside jobs go back in line and its calls
/// start again. Fix the account's credentials first (restart the workers with the new environment): an account
/// refused again parks again after one probe call per worker.
///
/// Resuming an account that is not parked changes nothing and answers `was_parked: false`, `jobs_back: 0`.
#[utoipa::path(post, path = "/v1/accounts/{name}/resume", tag = "operations",
    params(("name" = String, Path, description = "The account, as named in `[accounts]`.")),
    responses(
        (status = 200, description = "What resuming did.", body = Resumed),
        (status = 400, description = "The name is not valid text.", body = ErrorBody),
        (status = 401, description = "No valid bearer token.", body = ErrorBody),
        (status = 404, description = "No such account in the config.", body = ErrorBody),
        (status = 503, description = "Redis failed, or the server is overloaded.", body = ErrorBody),
    ))]
pub(crate) async fn resume_account(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<Resumed>, ApiError> {
    let Path(name) = name?;
    if !state.ops()?.config().accounts.contains_key(&name) {
        return Err(ApiError::NotFound(format!("no account {name:?} in [accounts]")));
    }
    Ok(Json(state.ops()?.resume_account(&name).await?))
}
