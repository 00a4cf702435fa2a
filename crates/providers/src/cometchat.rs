//! CometChat REST v3 (seed `000_…`): `DELETE {base}/v3/messages/{id}` with `apikey`, optional `onBehalfOf`, and a
//! JSON body `{"permanent": bool}`. One message per call.

use crate::classify;
use crate::hint::retry_hint;
use crate::http::{segment, TransportError};
use crate::request::{DeleteRequest, Disposition, MessageResult, Response};
use deleteq_core::config::Secret;
use serde_json::Value;
use std::time::{Duration, SystemTime};

/// A CometChat account.
#[derive(Debug, Clone)]
pub struct CometChat {
    base_url: String,
    api_key: Secret,
    timeout: Duration,
}

impl CometChat {
    /// A client for one account.
    pub fn new(base_url: &str, api_key: Secret, timeout: Duration) -> Self {
        CometChat { base_url: base_url.to_string(), api_key, timeout }
    }

    /// Deletes the one message of `req`.
    pub async fn delete(&self, http: &reqwest::Client, req: &DeleteRequest<'_>) -> Response {
        let Some(id) = req.messages.first() else {
            return Response { http_status: None, disposition: Disposition::Failed { reason: "no message id".into() } };
        };
        let url = format!("{}/v3/messages/{}", self.base_url, segment(id));
        let mut call = http
            .delete(url)
            .timeout(self.timeout)
            .header("apikey", self.api_key.expose())
            .header("accept", "application/json")
            .json(&serde_json::json!({ "permanent": req.permanent }));
        if let Some(uid) = req.on_behalf_of {
            call = call.header("onBehalfOf", uid);
        }
        let response = match call.send().await {
            Ok(r) => r,
            Err(e) => {
                let error = TransportError::from_reqwest(e, self.timeout);
                return Response { http_status: None, disposition: classify::transport(&error) };
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = match response.text().await {
            Ok(b) => b,
            Err(e) => {
                let error = TransportError::from_reqwest(e, self.timeout);
                return Response { http_status: Some(status), disposition: classify::transport(&error) };
            }
        };
        let json: Option<Value> = serde_json::from_str(&body).ok();
        let disposition = classify_response(status, &headers, json.as_ref(), &body);
        match disposition {
            Classified::Message(result) => Response::all(req, Some(status), result),
            Classified::Other(disposition) => Response { http_status: Some(status), disposition },
        }
    }
}

/// A response either settles the message or says something about the call.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Classified {
    Message(MessageResult),
    Other(Disposition),
}

/// CometChat's contract: 200 with `data` is success; 404 `ERR_MESSAGE_ID_NOT_FOUND` is already gone; the sender
/// and action codes are permanent; every other failure falls back to the status rules.
pub(crate) fn classify_response(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    json: Option<&Value>,
    body: &str,
) -> Classified {
    let code = json.and_then(|j| j.get("error")).and_then(|e| e.get("code")).and_then(Value::as_str).unwrap_or("");
    let has_data = json.and_then(|j| j.get("data")).is_some();
    if (200..300).contains(&status) && has_data && code.is_empty() {
        return Classified::Message(MessageResult::Deleted);
    }
    let reason = if code.is_empty() {
        format!("HTTP {status}: {}", classify::excerpt(body))
    } else {
        format!("HTTP {status} {code}")
    };
    match (status, code) {
        (404, "ERR_MESSAGE_ID_NOT_FOUND") => Classified::Message(MessageResult::AlreadyDeleted),
        (_, "ERR_MESSAGE_NOT_A_SENDER" | "ERR_MESSAGE_ACTION_NOT_ALLOWED" | "ERR_MESSAGE_NO_ACCESS") => {
            Classified::Message(MessageResult::Failed(reason))
        }
        (200..=299, _) => Classified::Other(Disposition::Failed {
            reason: format!("HTTP {status} without a \"data\" object: {}", classify::excerpt(body)),
        }),
        (404, _) => Classified::Other(Disposition::Failed {
            reason: format!("{reason} (an unrecognised 404 is a configuration error: check base_url)"),
        }),
        _ => Classified::Other(classify::by_status(status, retry_hint(headers, json, SystemTime::now()), reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    fn classify(status: u16, body: &str) -> Classified {
        classify_response(status, &HeaderMap::new(), serde_json::from_str(body).ok().as_ref(), body)
    }

    #[test]
    fn the_seed_page_success_body_is_deleted() {
        let body = r#"{"data":{"id":"402","conversationId":"superhero1_user_superhero2","sentAt":1641477338}}"#;
        assert_eq!(classify(200, body), Classified::Message(MessageResult::Deleted));
    }

    #[test]
    fn not_found_is_already_deleted_only_with_its_code() {
        let gone = r#"{"error":{"code":"ERR_MESSAGE_ID_NOT_FOUND","message":"The message 69 does not exist."}}"#;
        assert_eq!(classify(404, gone), Classified::Message(MessageResult::AlreadyDeleted));
        let route = r#"{"error":{"code":"ERR_API_NOT_FOUND","message":"no such route"}}"#;
        assert!(matches!(classify(404, route), Classified::Other(Disposition::Failed { .. })));
        assert!(matches!(classify(404, "<html>"), Classified::Other(Disposition::Failed { .. })));
    }

    #[test]
    fn failures_are_classified() {
        let sender = r#"{"error":{"code":"ERR_MESSAGE_NOT_A_SENDER"}}"#;
        assert!(matches!(classify(403, sender), Classified::Message(MessageResult::Failed(_))));
        let auth = r#"{"error":{"code":"AUTH_ERR_APIKEY_NOT_FOUND"}}"#;
        assert!(matches!(classify(401, auth), Classified::Other(Disposition::Failed { .. })));
        let busy = r#"{"error":{"code":"ERR_TOO_MANY_REQUESTS"}}"#;
        assert!(matches!(classify(429, busy), Classified::Other(Disposition::Retry { .. })));
        assert!(matches!(classify(503, ""), Classified::Other(Disposition::Retry { .. })));
        assert!(matches!(
            classify(200, r#"{"error":{"code":"ERR_X"}}"#),
            Classified::Other(Disposition::Failed { .. })
        ));
    }
}
