//! IMKIT room IM: `DELETE /rooms/{room}/messages/{id | _all}` with `IM-CLIENT-KEY` and `IM-Authorization`; every
//! body carries `RC` and `RM`, errors an `error.code`. Also IMKIT's `DELETE /rooms/{room}`, which deletes the room
//! and its messages: not on the seed page, emulated so that a request that climbs out of `…/messages/{id}` shows
//! as a deleted room instead of a quiet 404.

use crate::fault::Found;
use crate::respond::Answer;
use crate::state::Emulator;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{json, Value};

/// The seed page's error shape; its 401 `INVALID_TOKEN`, 403 `INSUFFICIENT_PERMISSION`, 404 `MESSAGE_NOT_FOUND` and
/// 404 `ROOM_NOT_FOUND` bodies are reproduced word for word. Other uses are marked where they are built.
fn error(status: u16, rm: &str, code: &str, message: &str) -> Answer {
    Answer::json(status, json!({"RC": status, "RM": rm, "error": {"code": code, "message": message}}))
}

fn deleted(room: &str, id: &str, count: u64, rm: &str) -> Value {
    json!({"RC": 0, "RM": rm, "result": {
        "deletedCount": count, "roomID": room, "messageID": id, "deletedBy": "admin-user-id",
        "deletedAt": crate::respond::now_iso(),
    }})
}

/// The route handler.
pub(crate) async fn delete_message(
    State(emu): State<Emulator>,
    Path((room, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer {
    answer(&emu, &room, &id, &headers).await
}

/// The room deletion route handler (`/rooms/{room}`, with or without a trailing slash).
pub(crate) async fn delete_room(State(emu): State<Emulator>, Path(room): Path<String>, headers: HeaderMap) -> Answer {
    if !authorised(&emu, &headers) {
        emu.refused_conversation_call();
        return error(401, "Unauthorized", "INVALID_TOKEN", "Invalid or expired token");
    }
    match emu.delete_conversation("room_im", &room) {
        Some((_, latency)) => {
            crate::respond::wait(latency).await;
            // Not on the seed page: invented from the research notes (imkit/api-doc `Room-Delete.md` answers
            // `{"RC":0,"RM":"OK"}`); no classifier reads it, deleteq never calls this route.
            Answer::json(200, json!({"RC": 0, "RM": "OK"}))
        }
        None => error(404, "Room not found", "ROOM_NOT_FOUND", "The specified room does not exist"),
    }
}

/// Whether the call carries the expected (or, unset, any non-empty) client key and token.
fn authorised(emu: &Emulator, headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (client_key, token) = (header("im-client-key"), header("im-authorization"));
    let expected = emu.credentials("room_im").unwrap_or_default();
    let wrong = |got: &str, want: &Option<String>| got.is_empty() || want.as_deref().is_some_and(|w| w != got);
    !(wrong(&client_key, &expected.client_key) || wrong(&token, &expected.token))
}

async fn answer(emu: &Emulator, room: &str, id: &str, headers: &HeaderMap) -> Answer {
    if !authorised(emu, headers) {
        emu.refused_call("room_im", Some(room), id);
        return error(401, "Unauthorized", "INVALID_TOKEN", "Invalid or expired token");
    }
    if !emu.conversation_exists("room_im", room) {
        emu.refused_call("room_im", Some(room), id);
        return error(404, "Room not found", "ROOM_NOT_FOUND", "The specified room does not exist");
    }
    if id == "_all" {
        let (fault, count, latency) = emu.purge("room_im", room);
        crate::respond::wait(latency).await;
        return match fault {
            Some(f) => fault_answer(f.status, f.code.as_deref(), f.retry_after),
            None => Answer::json(200, deleted(room, "_all", count, "All messages deleted successfully")),
        };
    }
    let (found, latency) = emu.delete("room_im", Some(room), id);
    crate::respond::wait(latency).await;
    match found {
        Found::Deleted => Answer::json(200, deleted(room, id, 1, "Message deleted successfully")),
        Found::Missing => {
            error(404, "Message not found", "MESSAGE_NOT_FOUND", "The specified message does not exist in this room")
        }
        Found::Fault(f) => fault_answer(f.status, f.code.as_deref(), f.retry_after),
    }
}

pub(crate) fn fault_answer(status: u16, code: Option<&str>, retry_after: Option<String>) -> Answer {
    let answer = match (status, code) {
        (429, c) => {
            // Not on the seed page: invented from the research notes (§2, IMKIT's current rate-limit doc gives this
            // body, not the seed). The body's `retryAfter` (seconds) agrees with the injected `Retry-After`, 60 without one (IMKIT's
            // documented example): a worker reading either hint waits the same.
            let after = retry_after.as_deref().and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(60);
            let code = c.unwrap_or("RATE_LIMIT_EXCEEDED");
            Answer::json(429, json!({"error": code, "message": "Too many requests", "retryAfter": after}))
        }
        (403, c) => error(
            403,
            "Permission denied",
            c.unwrap_or("INSUFFICIENT_PERMISSION"),
            "Only platform admin, room owner or room manager can delete messages",
        ),
        (401, c) => error(401, "Unauthorized", c.unwrap_or("INVALID_TOKEN"), "Invalid or expired token"),
        // Not on the seed page: invented texts (`Injected by the emulator.`, `Error`, `INTERNAL_ERROR`) in the
        // seed's error shape; classifiers read `RC`/`error.code`, and the seed's codes are used where it has one.
        (404, c) => error(404, "Message not found", c.unwrap_or("MESSAGE_NOT_FOUND"), "Injected by the emulator."),
        (s, c) => error(s, "Error", c.unwrap_or("INTERNAL_ERROR"), "Injected by the emulator."),
    };
    answer.retry_after(retry_after)
}
