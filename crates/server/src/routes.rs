//! The routes of DESIGN §8 and what they share: `/v1/*` behind the bearer token, `/healthz`, `/readyz` and
//! `/openapi.json` open, the dashboard's page at `/` and its files under `/assets/` open (it asks for the token
//! and sends it with each API call), and JSON errors for unknown routes (404) and methods (405).

pub(crate) mod audit;
pub(crate) mod campaigns;
pub(crate) mod cancel;
mod dashboard;
pub(crate) mod health;
pub(crate) mod jobs;
pub(crate) mod operations;

pub(crate) use campaigns::{CampaignBody, CampaignJobs};
pub(crate) use jobs::{EnqueuedIds, JobInput, JobsBody};
pub(crate) use operations::ReplayRequest;

use crate::auth::{require_token, Access};
use crate::error::ApiError;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use deleteq_ops::Ops;
use std::sync::{Arc, OnceLock};

/// What every handler reads: the operator layer (its producer, reports and writes, and the config) and the body
/// cap.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

struct Shared {
    /// Set once Redis has answered (`serve` starts before it does, and answers 503 until then).
    ops: OnceLock<Ops>,
    /// Where Redis is (host and port, never the password), for the 503s before it answers.
    redis: String,
    max_body: usize,
    openapi: String,
}

impl AppState {
    /// The state for a server on `ops`'s queue, accepting bodies up to `max_body` bytes.
    pub fn new(ops: Ops, max_body: usize) -> AppState {
        let state = AppState::connecting(ops.redacted_target().to_string(), max_body);
        state.connected(ops);
        state
    }

    /// The state for a server whose Redis (at `redis`, redacted) has not answered yet: every route that needs it
    /// answers 503 until [`AppState::connected`].
    pub fn connecting(redis: String, max_body: usize) -> AppState {
        AppState(Arc::new(Shared { ops: OnceLock::new(), redis, max_body, openapi: crate::openapi::document() }))
    }

    /// Hands the connected operator layer to the routes (once; later calls change nothing).
    pub fn connected(&self, ops: Ops) {
        let _ = self.0.ops.set(ops);
    }

    /// The operator layer, or a 503 naming the Redis not reachable yet.
    pub(crate) fn ops(&self) -> Result<&Ops, ApiError> {
        self.0.ops.get().ok_or_else(|| ApiError::NotConnected(self.0.redis.clone()))
    }

    pub(crate) fn max_body(&self) -> usize {
        self.0.max_body
    }

    pub(crate) fn openapi(&self) -> &str {
        &self.0.openapi
    }
}

/// Every route with its layers, ready to serve.
pub fn router(state: AppState, access: Access) -> Router {
    let max_body = state.max_body();
    let v1 = Router::new()
        .route("/v1/jobs", post(jobs::enqueue))
        .route("/v1/jobs/{id}/cancel", post(cancel::cancel_job))
        .route("/v1/campaigns", post(campaigns::submit).get(campaigns::list))
        .route("/v1/campaigns/{id}", get(campaigns::show))
        .route("/v1/campaigns/{id}/cancel", post(campaigns::cancel))
        .route("/v1/status", get(operations::status))
        .route("/v1/dlq", get(operations::dead_letters))
        .route("/v1/dlq/replay", post(operations::replay))
        .route("/v1/accounts/{name}/resume", post(operations::resume_account))
        .route("/v1/audit", get(audit::recent))
        // Only matched routes: an unknown path is a 404, whoever asks.
        .route_layer(middleware::from_fn_with_state(access, require_token));
    let open = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/openapi.json", get(health::openapi));
    let routes = v1
        .merge(open)
        .merge(dashboard::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state);
    crate::layers::around(routes)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route (the API is described at /openapi.json)".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The most items one listing (`GET /v1/audit`, `GET /v1/dlq`) returns.
pub(crate) const MAX_LIMIT: usize = 10_000;

/// A listing's `limit` query parameter, `default` when absent; 400 outside 1 to [`MAX_LIMIT`].
pub(crate) fn checked_limit(limit: Option<usize>, default: usize) -> Result<usize, ApiError> {
    let limit = limit.unwrap_or(default);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadParameter(format!("limit must be from 1 to {MAX_LIMIT}")));
    }
    Ok(limit)
}
