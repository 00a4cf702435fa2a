//! CometChat REST v3: `DELETE /v3/messages/{id}` with `apikey`, optional `onBehalfOf`, body `{"permanent": bool}`.
//! Error bodies use CometChat's envelope `{"error": {"code", "message", "devMessage", "source"}}`.

use crate::fault::Found;
use crate::respond::Answer;
use crate::state::{DeletedAs, Emulator};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{json, Value};

// Not on the seed page: invented from the research notes (§1: the error envelope of CometChat's PHP SDK fixtures,
// and the codes of its error guide); the seed shows only the 200 body. Every `message` text here is invented;
// classifiers read only `error.code`.
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
        None => delete(emu, id, &deleted_as(headers, body)).await,
    }
}

/// What the call asks for: `permanent` from the JSON body (absent: soft), `onBehalfOf` from the headers.
fn deleted_as(headers: &HeaderMap, body: &str) -> DeletedAs {
    let permanent = serde_json::from_str::<Value>(body).ok().and_then(|b| b.get("permanent")?.as_bool());
    let on_behalf_of = headers.get("onbehalfof").and_then(|v| v.to_str().ok());
    DeletedAs::new(permanent == Some(true), on_behalf_of)
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

async fn delete(emu: &Emulator, id: &str, how: &DeletedAs) -> Answer {
    let (found, latency) = emu.delete_as("cometchat", None, id, how);
    crate::respond::wait(latency).await;
    match found {
        // The seed's 200 body is `{"data": {…the message…}}`; `data` is what the classifier reads. Not on the seed
        // page: invented `deletedAt`/`deletedBy` (named by CometChat's SDK pages, research notes §1).
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
