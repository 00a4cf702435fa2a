//! 2Chat / WhatsApp (seed `003_…`): `DELETE {base}/open/whatsapp/message/{session_key}/{uuid}` with
//! `X-User-API-Key`. WhatsApp only deletes for everyone within 60 hours of sending; the worker checks `sent_at`
//! against the account's `window` before calling. A 404 is "already gone" only when it names the message (an
//! unknown session is a configuration error); 402 (credits exhausted) stops the whole account; 410 (the number is
//! reconnecting) is worth another try.

use crate::classify;
use crate::http::{exchange, segment, RawResponse};
use crate::request::{DeleteRequest, Disposition, MessageResult, Response};
use deleteq_core::config::Secret;
use deleteq_core::DeletionMode;
use serde_json::Value;
use std::time::Duration;

/// A 2Chat account.
#[derive(Debug, Clone)]
pub struct TwoChat {
    base_url: crate::url::BaseUrl,
    api_key: Secret,
    timeout: Duration,
}

impl TwoChat {
    /// A client for one account.
    pub fn new(base_url: &str, api_key: Secret, timeout: Duration) -> Self {
        TwoChat { base_url: crate::url::BaseUrl::new(base_url), api_key, timeout }
    }

    /// Deletes the one message of `req`.
    pub async fn delete(&self, http: &reqwest::Client, req: &DeleteRequest<'_>) -> Response {
        let (Some(session), Some(id)) = (req.conversation, req.messages.first()) else {
            return Response::failed(None, "2Chat needs a conversation (session key) and a message uuid");
        };
        let path = ["open", "whatsapp", "message", &segment(session), &segment(id)];
        let url = match self.base_url.join(&path) {
            Ok(url) => url,
            Err(refused) => return refused.into(),
        };
        let call = http.delete(url).header("X-User-API-Key", self.api_key.expose());
        exchange(call, self.timeout, |raw| classify_response(req, raw)).await
    }
}

/// How a confirmed 2Chat deletion left the message: the page promises deletion "from 2Chat and from WhatsApp if
/// the message was sent up to 60 hours ago", but also that in a group, for a non-administrator deleting someone
/// else's message, "WhatsApp will silently accept the request but not delete the message from the conversation".
/// A 200 cannot tell the two apart, so the mode is not known.
const MODE: DeletionMode = DeletionMode::Unknown;

/// Whether a 404's `message` is 2Chat's "not found" for the message itself. The response-codes page: "an HTTP 404
/// reply indicates that a resource couldn't be found, but the resource being referred to could be a contact, a
/// number, or a message … The API will also include a message field on each response that will contain a
/// description of the error". So the text must say "not found" (or "couldn't be found", "does not exist") of a
/// message and name no other resource; a text with a path in it (`Cannot DELETE /open/whatsapp/…`, a proxy's or a
/// wrong base path's answer) never qualifies.
fn is_message_not_found(text: &str) -> bool {
    let text = text.trim().to_ascii_lowercase();
    let says_missing = ["not found", "couldn't be found", "could not be found", "does not exist", "doesn't exist"]
        .iter()
        .any(|w| text.contains(w));
    let other_resource =
        ["session", "number", "contact", "route", "endpoint", "path", "cannot"].iter().any(|w| text.contains(w));
    says_missing && text.contains("message") && !other_resource && !text.contains('/') && text.len() <= 120
}

/// 2Chat's contract, from the status and the `message` text of `{"success": false, "message": …}` (the
/// response-codes page; the seed page documents only the success body `{"success": true, …}`):
/// - 2xx with `"success": true` is success;
/// - a 404 is already gone only by [`is_message_not_found`]; any other 404 (an unknown session, a non-JSON page)
///   is a configuration error;
/// - 401 ("Unauthorized, usually in the context of an invalid API key") and 402 ("Payment required, usually when
///   trial accounts expire, or when API credits need to be recharged") park the account;
/// - 409 ("WhatsApp number is booting up after a connection restart. Try again in a few seconds."), 410 ("… in the
///   process of connection or disconnection. Try again in a few seconds.") and 486 ("The connected number is busy
///   executing a previous request. Try again in a few seconds.") are retried;
/// - everything else follows the status rules.
pub(crate) fn classify_response(req: &DeleteRequest<'_>, raw: &RawResponse) -> Response {
    let status = Some(raw.status);
    let success = raw.json.as_ref().and_then(|j| j.get("success")).and_then(Value::as_bool);
    let message = raw.str_at(&["message"]);
    let reason = match message {
        Some(m) => format!("HTTP {}: {}", raw.status, classify::excerpt(m)),
        None => raw.reason(None),
    };
    if (200..300).contains(&raw.status) {
        return match success {
            Some(true) => Response::all(req, status, MessageResult::Deleted(MODE)),
            _ => Response::failed(status, &format!("{reason} (a 2xx without \"success\": true)")),
        };
    }
    match raw.status {
        404 if success == Some(false) && message.is_some_and(is_message_not_found) => {
            Response::all(req, status, MessageResult::AlreadyDeleted)
        }
        404 => Response::failed(
            status,
            &classify::unrecognised_404(&format!("{reason}: check base_url and the conversation (session key)")),
        ),
        402 => Response::new(status, classify::refused(format!("{reason} (payment required: credits exhausted)"))),
        409 | 410 | 486 => Response::new(status, Disposition::Retry { after: raw.retry_hint(), reason }),
        _ => Response::new(status, classify::by_status(raw.status, raw.retry_hint(), reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::raw;

    fn classify(status: u16, body: &str) -> Disposition {
        let ids = ["MSG205dec10-523d-4ab3-b739-fd56e7cdeba2".to_string()];
        classify_response(&crate::testing::request(&ids), &raw(status, body)).disposition
    }

    #[test]
    fn the_seed_page_success_body_is_deleted() {
        let body = r#"{"success":true,"message_uuid":"MSG205dec10-523d-4ab3-b739-fd56e7cdeba2","whatsapp_message_id":"3EB0AFC0D8DFCFAB08A4FB"}"#;
        assert!(matches!(classify(200, body), Disposition::Messages(ref r) if r[0].1 == MessageResult::Deleted(MODE)));
        assert!(matches!(classify(200, r#"{"success":false,"message":"nope"}"#), Disposition::Failed { .. }));
    }

    #[test]
    fn statuses_of_the_response_codes_page() {
        let gone = classify(404, r#"{"success":false,"message":"message not found"}"#);
        assert!(matches!(gone, Disposition::Messages(ref r) if r[0].1 == MessageResult::AlreadyDeleted));
        assert!(matches!(
            classify(404, r#"{"success":false,"message":"session not found"}"#),
            Disposition::Failed { .. }
        ));
        assert!(matches!(classify(404, "not json"), Disposition::Failed { .. }));
    }

    #[test]
    fn a_404_is_already_deleted_only_for_the_message_itself() {
        let body = |m: &str| format!(r#"{{"success":false,"message":"{m}"}}"#);
        for gone in
            ["message not found", "Message not found.", "The message couldn't be found", "Message does not exist"]
        {
            assert!(matches!(classify(404, &body(gone)), Disposition::Messages(_)), "{gone}");
        }
        for other in [
            "Cannot DELETE /open/whatsapp/message/S/x",
            "message route not found",
            "number not found",
            "contact or message not found in session",
            "not found",
            "message",
        ] {
            assert!(matches!(classify(404, &body(other)), Disposition::Failed { .. }), "{other}");
        }
        assert!(matches!(classify(404, "Cannot DELETE /open/whatsapp/message/S/x"), Disposition::Failed { .. }));
        assert!(
            matches!(classify(404, r#"{"message":"message not found"}"#), Disposition::Failed { .. }),
            "needs success:false"
        );
        assert!(matches!(
            classify(402, r#"{"success":false,"message":"Payment required"}"#),
            Disposition::ParkAccount { .. }
        ));
        for status in [409, 410, 486] {
            assert!(
                matches!(classify(status, r#"{"success":false,"message":"x"}"#), Disposition::Retry { .. }),
                "{status}"
            );
        }
        assert!(matches!(
            classify(401, r#"{"success":false,"message":"Invalid API key"}"#),
            Disposition::ParkAccount { .. }
        ));
        for status in [429, 503, 504] {
            assert!(matches!(classify(status, "{}"), Disposition::Retry { .. }), "{status}");
        }
        for status in [400, 403, 406, 422] {
            assert!(matches!(classify(status, "{}"), Disposition::Failed { .. }), "{status}");
        }
    }
}
