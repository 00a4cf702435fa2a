//! 2Chat / WhatsApp (seed `003_…`): `DELETE {base}/open/whatsapp/message/{session_key}/{uuid}` with
//! `X-User-API-Key`. WhatsApp only deletes for everyone within 60 hours of sending; the worker checks `sent_at`
//! against the account's `window` before calling. A 404 is "already gone" only when it names the message (an
//! unknown session is a configuration error); 402 (credits exhausted) stops the whole account; 410 (the number is
//! reconnecting) is worth another try.

use crate::classify;
use crate::http::{exchange, segment, RawResponse};
use crate::request::{DeleteRequest, Disposition, MessageResult, Response};
use deleteq_core::config::Secret;
use serde_json::Value;
use std::time::Duration;

/// A 2Chat account.
#[derive(Debug, Clone)]
pub struct TwoChat {
    base_url: String,
    api_key: Secret,
    timeout: Duration,
}

impl TwoChat {
    /// A client for one account.
    pub fn new(base_url: &str, api_key: Secret, timeout: Duration) -> Self {
        TwoChat { base_url: base_url.to_string(), api_key, timeout }
    }

    /// Deletes the one message of `req`.
    pub async fn delete(&self, http: &reqwest::Client, req: &DeleteRequest<'_>) -> Response {
        let (Some(session), Some(id)) = (req.conversation, req.messages.first()) else {
            return Response::failed(None, "2Chat needs a conversation (session key) and a message uuid");
        };
        let url = format!("{}/open/whatsapp/message/{}/{}", self.base_url, segment(session), segment(id));
        let call = http.delete(url).header("X-User-API-Key", self.api_key.expose());
        exchange(call, self.timeout, |raw| classify_response(req, raw)).await
    }
}

/// 2Chat's contract, from the status and the `message` text of `{"success": false, "message": …}`.
pub(crate) fn classify_response(req: &DeleteRequest<'_>, raw: &RawResponse) -> Response {
    let status = Some(raw.status);
    let success = raw.json.as_ref().and_then(|j| j.get("success")).and_then(Value::as_bool);
    let text = raw.str_at(&["message"]).unwrap_or("").to_ascii_lowercase();
    let reason = match raw.str_at(&["message"]) {
        Some(m) => format!("HTTP {}: {}", raw.status, classify::excerpt(m)),
        None => raw.reason(None),
    };
    if (200..300).contains(&raw.status) {
        return match success {
            Some(true) => Response::all(req, status, MessageResult::Deleted),
            _ => Response::failed(status, &format!("{reason} (a 2xx without \"success\": true)")),
        };
    }
    match raw.status {
        404 if text.contains("message") && !text.contains("session") => {
            Response::all(req, status, MessageResult::AlreadyDeleted)
        }
        404 => Response::failed(status, &format!("{reason}: check the conversation (session key)")),
        402 => Response {
            http_status: status,
            disposition: Disposition::ParkAccount {
                reason: format!("{reason} (payment required: credits exhausted)"),
                hint: None,
            },
            budget: None,
        },
        410 => Response::new(status, Disposition::Retry { after: raw.retry_hint(), reason }),
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
        assert!(matches!(classify(200, body), Disposition::Messages(ref r) if r[0].1 == MessageResult::Deleted));
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
        assert!(matches!(
            classify(402, r#"{"success":false,"message":"Payment required"}"#),
            Disposition::ParkAccount { .. }
        ));
        assert!(matches!(classify(410, r#"{"success":false,"message":"connecting"}"#), Disposition::Retry { .. }));
        for status in [429, 503, 504] {
            assert!(matches!(classify(status, "{}"), Disposition::Retry { .. }), "{status}");
        }
        for status in [400, 401, 403, 406, 422] {
            assert!(matches!(classify(status, "{}"), Disposition::Failed { .. }), "{status}");
        }
    }
}
