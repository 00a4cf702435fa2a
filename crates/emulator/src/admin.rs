//! The `/_emulator/*` endpoints: seed messages, inject faults, set credentials, read counters (per message, with
//! how it was deleted; per conversation; in all) and the request log, over HTTP, so a separate emulator process can be driven by scripts the way tests drive the in-process one.

use crate::fault::Fault;
use crate::state::{Credentials, Emulator};
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Seed {
    provider: String,
    #[serde(default)]
    conversation: Option<String>,
    ids: Vec<String>,
}

#[derive(Deserialize)]
struct SetCredentials {
    provider: String,
    #[serde(flatten)]
    credentials: Credentials,
}

#[derive(Deserialize)]
struct SetPlan {
    provider: String,
    /// Requests per second; null or absent removes the limit.
    #[serde(default)]
    per_second: Option<u32>,
}

#[derive(Deserialize)]
struct Conversation {
    conversation: Option<String>,
}

/// The admin routes, all under `/_emulator/`; not delayed by the configured latency and not counted as calls.
pub(crate) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/_emulator/seed", post(seed))
        .route("/_emulator/faults", post(inject))
        .route("/_emulator/credentials", post(credentials))
        .route("/_emulator/plans", post(plan))
        .route("/_emulator/messages/{provider}/{id}", get(message))
        .route("/_emulator/conversations/{provider}/{conversation}", get(conversation))
        .route("/_emulator/stats", get(stats))
        .route("/_emulator/requests", get(requests))
        .route("/_emulator/reset", post(reset))
}

async fn seed(State(emu): State<Emulator>, Json(seed): Json<Seed>) -> Json<Value> {
    emu.seed(&seed.provider, seed.conversation.as_deref(), &seed.ids);
    Json(json!({"seeded": seed.ids.len()}))
}

async fn inject(State(emu): State<Emulator>, Json(fault): Json<Fault>) -> Json<Value> {
    emu.inject(fault);
    Json(json!({"ok": true}))
}

async fn credentials(State(emu): State<Emulator>, Json(set): Json<SetCredentials>) -> Json<Value> {
    emu.set_credentials(&set.provider, set.credentials);
    Json(json!({"ok": true}))
}

async fn plan(State(emu): State<Emulator>, Json(set): Json<SetPlan>) -> Json<Value> {
    emu.set_plan(&set.provider, set.per_second);
    Json(json!({"provider": set.provider, "per_second": emu.plan(&set.provider)}))
}

async fn message(
    State(emu): State<Emulator>,
    Path((provider, id)): Path<(String, String)>,
    Query(q): Query<Conversation>,
) -> Json<Value> {
    let conv = q.conversation.as_deref();
    Json(json!({
        "exists": emu.exists(&provider, conv, &id),
        "deletions": emu.deletions(&provider, conv, &id),
        "calls": emu.calls(&provider, conv, &id),
        "deleted_as": emu.deleted_as(&provider, conv, &id),
    }))
}

async fn conversation(
    State(emu): State<Emulator>,
    Path((provider, conversation)): Path<(String, String)>,
) -> Json<Value> {
    Json(json!({
        "exists": emu.conversation_exists(&provider, &conversation),
        "deleted": emu.conversation_deleted(&provider, &conversation),
    }))
}

async fn stats(State(emu): State<Emulator>) -> Json<Value> {
    Json(json!({
        "requests": emu.total_requests(),
        "calls": emu.total_calls(),
        "deletions": emu.total_deletions(),
        "conversations_deleted": emu.conversations_deleted(),
    }))
}

async fn requests(State(emu): State<Emulator>) -> Json<Value> {
    Json(json!(emu.requests()))
}

async fn reset(State(emu): State<Emulator>) -> Json<Value> {
    emu.reset();
    Json(json!({"ok": true}))
}
