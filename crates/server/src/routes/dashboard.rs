//! `GET /`: kept for the web dashboard (DESIGN §8), which will read the same JSON API. Until it lands, it answers
//! where the API is described.

use super::AppState;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

/// The dashboard's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/", get(index))
}

async fn index() -> Json<Value> {
    Json(json!({"service": "deleteq", "version": env!("CARGO_PKG_VERSION"), "openapi": "/openapi.json"}))
}
