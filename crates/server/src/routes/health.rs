//! `GET /healthz` (the process answers), `GET /readyz` (Redis answers `PING`) and `GET /openapi.json`: open to
//! everyone, for probes and for clients that generate code from the spec.

use super::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use std::time::Duration;
use utoipa::ToSchema;

/// How long `/readyz` waits for Redis.
const PING_WAIT: Duration = Duration::from_secs(2);

/// A probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` (the process is up) or `ready` (and Redis answers).
    pub status: String,
}

/// Liveness: 200 while the process serves.
#[utoipa::path(get, path = "/healthz", tag = "probes", security(()),
    responses((status = 200, description = "The process is up.", body = Health)))]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

/// Readiness: 200 while Redis answers `PING`, else 503.
#[utoipa::path(get, path = "/readyz", tag = "probes", security(()),
    responses(
        (status = 200, description = "Redis answers.", body = Health),
        (status = 503, description = "Redis does not answer.", body = ErrorBody),
    ))]
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    match tokio::time::timeout(PING_WAIT, state.ops()?.ping()).await {
        Ok(Ok(())) => Ok(Json(Health { status: "ready".into() })),
        Ok(Err(error)) => Err(ApiError::Redis(error)),
        Err(_) => Err(ApiError::Timeout(PING_WAIT.as_secs())),
    }
}

/// The OpenAPI document, generated from the code at startup.
pub(crate) async fn openapi(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], state.openapi().to_string())
}
