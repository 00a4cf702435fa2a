//! CometChat REST v3: `DELETE /v3/messages/{id}` with `apikey`, optional `onBehalfOf`, body `{"permanent": bool}`.
//! Error bodies use CometChat's envelope `{"error": {"code", "message", "devMessage", "source"}}`.

use crate::fault::Found;
use crate::respond::Answer;
use crate::state::Emulator;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{json, Value};

pub(crate) fn error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "devMessage": message, "source": "chat-api"}})
}

/// The route handler.
pub(crate) async fn delete_message(
    State(emu): State<Emulator>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Answer {
    answer(&emu, &id, &headers, &body).await
}

async fn answer(emu: &Emulator, id: &str, headers: &HeaderMap, body: &str) -> Answer {
    match refusal(emu, headers, body) {
        Some(refused) => {
            emu.refused_call("cometchat", None, id);
            refused
        }
        None => delete(emu, id).await,
    }
}

/// Auth and body checks, before the message is looked at.
fn refusal(emu: &Emulator, headers: &HeaderMap, body: &str) -> Option<Answer> {
    let key = headers.get("apikey").and_then(|v| v.to_str().ok()).unwrap_or("");
    if key.is_empty() {
        return Some(Answer::json(401, error("AUTH_ERR_EMPTY_APIKEY", "The apikey header is missing.")));
    }
    if emu.credentials("cometchat").and_then(|c| c.api_key).is_some_and(|expected| expected != key) {
        return Some(Answer::json(401, error("AUTH_ERR_APIKEY_NOT_FOUND", "The apikey is not valid for this app.")));
    }
    if !body.trim().is_empty() {
        let valid =
            serde_json::from_str::<Value>(body).ok().is_some_and(|b| b.get("permanent").is_none_or(Value::is_boolean));
        if !valid {
            return Some(Answer::json(400, error("ERR_BAD_REQUEST", "permanent must be a boolean.")));
        }
    }
    None
}

async fn delete(emu: &Emulator, id: &str) -> Answer {
    let (found, latency) = emu.delete("cometchat", None, id);
    crate::respond::wait(latency).await;
    match found {
        Found::Deleted => Answer::json(
            200,
            json!({"data": {"id": id, "deletedAt": crate::respond::now_secs(), "deletedBy": "app_system"}}),
        ),
        Found::Missing => {
            Answer::json(404, error("ERR_MESSAGE_ID_NOT_FOUND", &format!("The message with id {id} does not exist.")))
        }
        Found::Fault(f) => {
            let code = f.code.clone().unwrap_or_else(|| match f.status {
                429 => "ERR_TOO_MANY_REQUESTS".into(),
                401 => "AUTH_ERR_APIKEY_NOT_FOUND".into(),
                403 => "ERR_MESSAGE_NOT_A_SENDER".into(),
                404 => "ERR_MESSAGE_ID_NOT_FOUND".into(),
                400 => "ERR_BAD_REQUEST".into(),
                _ => "ERR_OPERATION_FAILED".into(),
            });
            Answer::json(f.status, error(&code, "Injected by the emulator.")).retry_after(f.retry_after)
        }
    }
}
