//! OFAuth: `DELETE /v2/access/chats/{userId}/messages/{messageId}` with `apiKey` and `x-connection-id`, body
//! `{"withUserId": …}`; errors are `{"error", "type", "requestId"}`. Any other `/v2/…` path is `ROUTE_NOT_FOUND`.

use crate::fault::Found;
use crate::respond::Answer;
use crate::state::Emulator;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};

/// Each error carries its own `requestId`, as OFAuth's do (support quotes it).
static REQUEST_IDS: AtomicU64 = AtomicU64::new(1);

// Not on the seed page (it documents only the 200 body): the `{"error", "type", "requestId"}` envelope, the
// types and `actionRequired` are from the research notes (§5, OFAuth's error-handling page); the `error` texts
// are invented. Classifiers read `type`.
pub(crate) fn error(status: u16, kind: &str, message: &str) -> Answer {
    let request_id = format!("req_emu{:08x}", REQUEST_IDS.fetch_add(1, Ordering::Relaxed));
    Answer::json(status, json!({"error": message, "type": kind, "requestId": request_id}))
}

/// The route handler.
pub(crate) async fn delete_message(
    State(emu): State<Emulator>,
    Path((user, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Answer {
    answer(&emu, &user, &id, &headers, &body).await
}

/// Any other `/v2/…` route.
pub(crate) async fn unknown_route() -> Answer {
    error(404, "ROUTE_NOT_FOUND", "Route not found")
}

async fn answer(emu: &Emulator, user: &str, id: &str, headers: &HeaderMap, body: &str) -> Answer {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let expected = emu.credentials("ofauth").unwrap_or_default();
    let (key, connection) = (header("apikey"), header("x-connection-id"));
    if key.is_empty() || expected.api_key.as_deref().is_some_and(|e| e != key) {
        emu.refused_call("ofauth", Some(user), id);
        return error(401, "UNAUTHORIZED", "Invalid API key");
    }
    if connection.is_empty() || expected.connection_id.as_deref().is_some_and(|e| e != connection) {
        emu.refused_call("ofauth", Some(user), id);
        return error(401, "SESSION_NOT_PROVIDED", "No connection for this request");
    }
    let with_user = serde_json::from_str::<Value>(body).ok().and_then(|b| b.get("withUserId").cloned());
    if with_user.as_ref().and_then(Value::as_str) != Some(user) {
        emu.refused_call("ofauth", Some(user), id);
        return error(400, "BAD_REQUEST", "withUserId must name the chat user");
    }
    let (found, latency) = emu.delete("ofauth", Some(user), id);
    crate::respond::wait(latency).await;
    match found {
        Found::Deleted => Answer::json(
            200,
            json!({"success": true, "queue": {
                "id": id.parse::<u64>().ok(), "text": "", "canUnsend": false, "unsendSeconds": 0,
                "canUnsendQueue": false, "unsendSecondsQueue": 0, "isCanceled": true,
            }}),
        ),
        Found::Missing => error(404, "RESOURCE_NOT_FOUND", "Resource not found"),
        Found::Fault(f) => {
            let kind = f.code.clone().unwrap_or_else(|| match f.status {
                401 => "SESSION_EXPIRED".into(),
                403 => "FORBIDDEN".into(),
                429 => "RATE_LIMIT_EXCEEDED".into(),
                400 => "BAD_REQUEST".into(),
                _ => "INTERNAL_ERROR".into(),
            });
            let answer = error(f.status, &kind, "Injected by the emulator.");
            let answer =
                if kind == "SESSION_EXPIRED" { answer.with_field("actionRequired", "refresh_session") } else { answer };
            answer.retry_after(f.retry_after)
        }
    }
}
