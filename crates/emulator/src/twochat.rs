//! 2Chat: `DELETE /open/whatsapp/message/{session_key}/{uuid}` with `X-User-API-Key`; bodies are
//! `{"success": …, "message": …}`. 2Chat has no error codes: a fault's `code`, when given, replaces the message.

use crate::fault::Found;
use crate::respond::Answer;
use crate::state::Emulator;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::json;

// Not on the seed page (it documents only the 200 body): the `{"success": false, "message": …}` shape is from the
// research notes (§4, inferred), and every `message` text below is invented. The 2Chat classifier depends on
// this wording (a 404 naming "message" and not "session" is `already_deleted`), but 2Chat documents none: the
// emulator agreeing with the classifier proves only that the two agree.
pub(crate) fn failure(status: u16, message: &str) -> Answer {
    Answer::json(status, json!({"success": false, "message": message}))
}

/// The route handler.
pub(crate) async fn delete_message(
    State(emu): State<Emulator>,
    Path((session, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer {
    answer(&emu, &session, &id, &headers).await
}

async fn answer(emu: &Emulator, session: &str, id: &str, headers: &HeaderMap) -> Answer {
    let key = headers.get("x-user-api-key").and_then(|v| v.to_str().ok()).unwrap_or("");
    let expected = emu.credentials("twochat").and_then(|c| c.api_key);
    if key.is_empty() || expected.is_some_and(|e| e != key) {
        emu.refused_call("twochat", Some(session), id);
        return failure(401, "Invalid API key");
    }
    if !emu.conversation_exists("twochat", session) {
        emu.refused_call("twochat", Some(session), id);
        return failure(404, "session not found");
    }
    let (found, latency) = emu.delete("twochat", Some(session), id);
    crate::respond::wait(latency).await;
    match found {
        Found::Deleted => Answer::json(
            200,
            json!({"success": true, "message_uuid": id, "whatsapp_message_id": "3EB0AFC0D8DFCFAB08A4FB"}),
        ),
        Found::Missing => failure(404, "message not found"),
        Found::Fault(f) => {
            // Not on the seed page: wording invented after the meanings of 2Chat's response-codes page (research
            // notes §4, §15).
            let text = match f.status {
                402 => "Payment required: your API credits are exhausted",
                410 => "The number is connecting, retry in a few seconds",
                429 => "Too many requests, make sure to retry automatically",
                _ => "Injected by the emulator.",
            };
            failure(f.status, f.code.as_deref().unwrap_or(text)).retry_after(f.retry_after)
        }
    }
}
