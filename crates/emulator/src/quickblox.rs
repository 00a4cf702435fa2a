//! QuickBlox: `DELETE /chat/Message/{id,id,…}.json`. The ids are split on literal commas of the raw path only:
//! a percent-encoded comma stays inside one id (the page: an already-encoded URL "will not be processed").
//! `force=1` arrives as a form body. A 200 sorts ids into `SuccessfullyDeleted` / `NotFound` /
//! `WrongPermissions`; when none exists the answer is 404 `{"errors": […]}`.

use crate::fault::Found;
use crate::respond::Answer;
use crate::state::{DeletedAs, Emulator};
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use serde_json::json;

/// The route handler (`/chat/Message/{ids}`, with the `.json` suffix inside the captured segment).
pub(crate) async fn delete_messages(State(emu): State<Emulator>, uri: Uri, headers: HeaderMap, body: String) -> Answer {
    let how = deleted_as(&headers, &body);
    answer(&emu, &uri, &headers, &how).await
}

/// What the call asks for: `force=1` in the form body (delete for everyone), `On-Behalf-Of` from the headers.
fn deleted_as(headers: &HeaderMap, body: &str) -> DeletedAs {
    let force = body.split('&').any(|pair| pair.trim() == "force=1");
    DeletedAs::new(force, headers.get("on-behalf-of").and_then(|v| v.to_str().ok()))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// QuickBlox's `{"errors": […]}` body for an injected status; `code`, when given, is the message.
// Not on the seed page (it documents only the 404 "The resource wasn't found"): the other texts are invented,
// paraphrasing the meanings of QuickBlox's errors page (research notes §3).
pub(crate) fn error_body(status: u16, code: Option<&str>) -> serde_json::Value {
    let text = code.unwrap_or(match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "The resource wasn't found",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error, please retry later",
        502 => "Bad Gateway",
        503 => "Service Unavailable, server at capacity, please retry later",
        _ => "Injected by the emulator.",
    });
    json!({"errors": [text]})
}

async fn answer(emu: &Emulator, uri: &Uri, headers: &HeaderMap, how: &DeletedAs) -> Answer {
    let raw = uri.path().trim_start_matches("/chat/Message/");
    let Some(list) = raw.strip_suffix(".json") else {
        return Answer::json(404, json!({"errors": ["The resource wasn't found"]}));
    };
    let ids: Vec<String> = list.split(',').map(percent_decode).collect();
    // An empty id (`a,,b`, a trailing comma, `/.json`) is a malformed list, not a message that was not found: a
    // worker that joins ids badly must see an error, never a quiet `NotFound`.
    if ids.iter().any(String::is_empty) {
        // Not on the seed page: invented 400 body (the `{"errors": {"base": […]}}` shape of QuickBlox's 422s).
        return Answer::json(400, json!({"errors": {"base": ["Message ids are invalid"]}}));
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let expected = emu.credentials("quickblox").unwrap_or_default();
    let (authorization, token) = (header("authorization"), header("qb-token"));
    let key_ok = authorization
        .strip_prefix("ApiKey ")
        .is_some_and(|k| !k.is_empty() && expected.api_key.as_deref().is_none_or(|e| e == k));
    let token_ok = !token.is_empty() && expected.token.as_deref().is_none_or(|e| e == token);
    if !(key_ok || token_ok) {
        ids.iter().for_each(|id| emu.refused_call("quickblox", None, id));
        // Not on the seed page: invented 401 text; classifiers read the status.
        return Answer::json(401, json!({"errors": ["Token is required"]}));
    }
    // A 403 injected with code "forbid_call" refuses the whole call, as QuickBlox may for a mixed batch; callers
    // must bisect to find the refused id.
    if let Some(refused) =
        ids.iter().find(|id| emu.next_fault_code("quickblox", None, id).as_deref() == Some("forbid_call"))
    {
        let (_, wait) = emu.delete("quickblox", None, refused);
        ids.iter().filter(|id| *id != refused).for_each(|id| emu.refused_call("quickblox", None, id));
        crate::respond::wait(wait).await;
        return Answer::json(403, forbidden());
    }
    // An injected failure other than 403 on any id fails the whole call, and nothing of it is deleted.
    if let Some(failing) = ids.iter().find(|id| emu.next_fault("quickblox", None, id).is_some_and(|s| s != 403)) {
        let (found, wait) = emu.delete("quickblox", None, failing);
        ids.iter().filter(|id| *id != failing).for_each(|id| emu.refused_call("quickblox", None, id));
        crate::respond::wait(wait).await;
        if let Found::Fault(f) = found {
            return Answer::json(f.status, error_body(f.status, f.code.as_deref())).retry_after(f.retry_after);
        }
    }
    let (mut deleted, mut missing, mut refused) = (Vec::new(), Vec::new(), Vec::new());
    let mut latency = std::time::Duration::ZERO;
    for id in &ids {
        let (found, wait) = emu.delete_as("quickblox", None, id, how);
        latency = latency.max(wait);
        match found {
            Found::Deleted => deleted.push(id.clone()),
            Found::Missing => missing.push(id.clone()),
            Found::Fault(_) => refused.push(id.clone()),
        }
    }
    crate::respond::wait(latency).await;
    if ids.len() == 1 && refused.len() == 1 {
        return Answer::json(403, forbidden());
    }
    if deleted.is_empty() && refused.is_empty() {
        return Answer::json(404, json!({"errors": ["The resource wasn't found"]}));
    }
    let mut body = json!({"SuccessfullyDeleted": {"ids": deleted}, "NotFound": {"ids": missing}});
    if !refused.is_empty() {
        // Not on the seed page as a bucket: the seed names the "WrongPermissions" message only; the bucket shape
        // is from the research notes (§3, the .NET SDK's `MultipleDeletesResponse`).
        body["WrongPermissions"] = json!({"ids": refused});
    }
    Answer::json(200, body)
}

/// A 403 that refuses a message (its sender is someone else). Not on the seed page, which documents no 403 body:
/// invented in QuickBlox's `{"errors": {"base": […]}}` shape; no classification rule depends on its text (a 403
/// without `Need user` is bisected).
fn forbidden() -> serde_json::Value {
    json!({"errors": {"base": ["Forbidden. Only the owner of the message may delete it for everyone."]}})
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn decodes_escapes_and_keeps_malformed_ones() {
        assert_eq!(percent_decode("a%2Cb"), "a,b");
        assert_eq!(percent_decode("a%2cb%"), "a,b%");
        assert_eq!(percent_decode("%zz1"), "%zz1");
        assert_eq!(percent_decode("plain"), "plain");
    }
}
