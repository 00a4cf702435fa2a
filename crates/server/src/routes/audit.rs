//! `GET /v1/audit`: the newest audit records across the shards, for the dashboard and for a look without
//! `redis-cli`. Downstream systems that must see every record read the stream itself with a consumer group (README).

use super::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use deleteq_ops::report::AuditReport;
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

/// Records returned when `limit` is not given.
const DEFAULT_LIMIT: usize = 50;

/// `GET /v1/audit` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// At most this many (default 50).
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<usize>,
}

/// The newest audit records across the shards, newest first, each with its stream id and the 17 fields every
/// record has (absent values are empty strings).
#[utoipa::path(get, path = "/v1/audit", tag = "operations", params(AuditQuery),
    responses(
        (status = 200, description = "Audit records, newest first.", body = Vec<AuditReport>),
        (status = 400, description = "`limit` is not a number from 1 to 10000.", body = ErrorBody),
        (status = 401, description = "No valid bearer token.", body = ErrorBody),
        (status = 503, description = "Redis failed, or the server is overloaded.", body = ErrorBody),
    ))]
pub(crate) async fn recent(
    State(state): State<AppState>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query?;
    let limit = super::checked_limit(query.limit, DEFAULT_LIMIT)?;
    Ok(Json(Value::Array(state.ops()?.audit_json(limit).await?)))
}
