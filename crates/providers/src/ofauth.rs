//! OFAuth, OnlyFans chats (seed `004_…`): `DELETE {base}/v2/access/chats/{userId}/messages/{messageId}` with
//! `apiKey` and `x-connection-id`, and a JSON body `{"withUserId": userId}`. Errors carry a `type` (or, in the
//! older shape, a `code`): `RESOURCE_NOT_FOUND` is already gone, `ROUTE_NOT_FOUND` a configuration error,
//! `SESSION_EXPIRED` stops the account until the creator re-links, `RULES_OUTDATED` is worth another try.

use crate::classify;
use crate::http::{exchange, segment, RawResponse};
use crate::request::{DeleteRequest, Disposition, MessageResult, Response};
use deleteq_core::config::Secret;
use deleteq_core::DeletionMode;
use serde_json::Value;
use std::time::Duration;

/// An OFAuth account (one connection).
#[derive(Debug, Clone)]
pub struct OfAuth {
    base_url: crate::url::BaseUrl,
    api_key: Secret,
    connection_id: Secret,
    timeout: Duration,
}

impl OfAuth {
    /// A client for one account.
    pub fn new(base_url: &str, api_key: Secret, connection_id: Secret, timeout: Duration) -> Self {
        OfAuth { base_url: crate::url::BaseUrl::new(base_url), api_key, connection_id, timeout }
    }

    /// Unsends the one message of `req`.
    pub async fn delete(&self, http: &reqwest::Client, req: &DeleteRequest<'_>) -> Response {
        let (Some(user), Some(id)) = (req.conversation, req.messages.first()) else {
            return Response::failed(None, "OFAuth needs a conversation (the chat user id) and a message id");
        };
        let path = ["v2", "access", "chats", &segment(user), "messages", &segment(id)];
        let url = match self.base_url.join(&path) {
            Ok(url) => url,
            Err(refused) => return refused.into(),
        };
        let call = http
            .delete(url)
            .header("apiKey", self.api_key.expose())
            .header("x-connection-id", self.connection_id.expose())
            .json(&serde_json::json!({ "withUserId": user }));
        exchange(call, self.timeout, |raw| classify_response(req, raw)).await
    }
}

/// How a confirmed unsend left the message: the seed page calls the call "Unsend chat message" and says nothing
/// of whether OnlyFans keeps it, so the mode is not known.
const MODE: DeletionMode = DeletionMode::Unknown;

/// OFAuth's contract, from the status and the error `type` of `{"error", "type", "requestId"}` (or `code` in the
/// older `{"error", "code", "details"}` shape; research/providers.md §5, OFAuth's error pages):
/// - 2xx with `"success": true` is success (the seed page: `{"success": true, "queue": {…}}`);
/// - only a 404 `RESOURCE_NOT_FOUND` is already gone; `ROUTE_NOT_FOUND` and any other 404 are configuration errors;
/// - `UNAUTHORIZED` (a bad API key), `SESSION_EXPIRED` / `SESSION_NOT_PROVIDED` ("re-authenticate user via Link")
///   and any other 401 park the account;
/// - `RULES_OUTDATED` ("retry — OFAuth handles this automatically") and `RATE_LIMIT_EXCEEDED` are retried;
/// - everything else follows the status rules.
pub(crate) fn classify_response(req: &DeleteRequest<'_>, raw: &RawResponse) -> Response {
    let status = Some(raw.status);
    let kind = raw.str_at(&["type"]).or_else(|| raw.str_at(&["code"])).unwrap_or("");
    let success = raw.json.as_ref().and_then(|j| j.get("success")).and_then(Value::as_bool);
    let reason = raw.reason(Some(kind));
    if (200..300).contains(&raw.status) {
        return match success {
            Some(true) => Response::all(req, status, MessageResult::Deleted(MODE)),
            _ => Response::failed(status, &format!("{reason} (a 2xx without \"success\": true)")),
        };
    }
    let disposition = match (raw.status, kind) {
        (404, "RESOURCE_NOT_FOUND") => return Response::all(req, status, MessageResult::AlreadyDeleted),
        (_, "ROUTE_NOT_FOUND") => Disposition::Failed { reason: classify::unrecognised_404(&reason) },
        (_, "SESSION_EXPIRED" | "SESSION_NOT_PROVIDED") => {
            classify::refused(format!("{reason}: the creator must re-link the connection"))
        }
        (_, "UNAUTHORIZED") => classify::refused(reason),
        (_, "RULES_OUTDATED" | "RATE_LIMIT_EXCEEDED") => Disposition::Retry { after: raw.retry_hint(), reason },
        (404, _) => Disposition::Failed { reason: classify::unrecognised_404(&reason) },
        _ => classify::by_status(raw.status, raw.retry_hint(), reason),
    };
    Response::new(status, disposition)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::raw;

    fn classify(status: u16, body: &str) -> Disposition {
        let ids = ["67890".to_string()];
        classify_response(&crate::testing::request(&ids), &raw(status, body)).disposition
    }

    #[test]
    fn the_seed_page_success_body_is_deleted() {
        let body =
            r#"{"success":true,"queue":{"id":123,"text":"<string>","canUnsendQueue":true,"unsendSecondsQueue":123}}"#;
        assert!(matches!(classify(200, body), Disposition::Messages(ref r) if r[0].1 == MessageResult::Deleted(MODE)));
        assert!(matches!(classify(200, r#"{"success":false}"#), Disposition::Failed { .. }));
    }

    #[test]
    fn error_types_decide() {
        let body = |t: &str| format!(r#"{{"error":"x","type":"{t}","requestId":"req_1"}}"#);
        let gone = classify(404, &body("RESOURCE_NOT_FOUND"));
        assert!(matches!(gone, Disposition::Messages(ref r) if r[0].1 == MessageResult::AlreadyDeleted));
        assert!(matches!(classify(404, &body("ROUTE_NOT_FOUND")), Disposition::Failed { .. }));
        assert!(matches!(classify(401, &body("SESSION_EXPIRED")), Disposition::ParkAccount { .. }));
        assert!(matches!(classify(401, &body("RULES_OUTDATED")), Disposition::Retry { .. }));
        assert!(matches!(classify(401, &body("UNAUTHORIZED")), Disposition::ParkAccount { .. }));
        assert!(matches!(classify(401, &body("SESSION_NOT_PROVIDED")), Disposition::ParkAccount { .. }));
        assert!(matches!(classify(401, "{}"), Disposition::ParkAccount { .. }));
        assert!(matches!(classify(403, &body("FORBIDDEN")), Disposition::Failed { .. }));
        assert!(matches!(classify(410, &body("RESOURCE_NOT_FOUND")), Disposition::Failed { .. }), "only on a 404");
        assert!(matches!(classify(404, "<html>Not Found</html>"), Disposition::Failed { .. }));
        assert!(matches!(classify(429, &body("RATE_LIMIT_EXCEEDED")), Disposition::Retry { .. }));
        assert!(matches!(classify(502, "{}"), Disposition::Retry { .. }));
        assert!(matches!(classify(404, "{}"), Disposition::Failed { .. }));
        let older = r#"{"error":"gone","code":"RESOURCE_NOT_FOUND","details":{}}"#;
        assert!(matches!(classify(404, older), Disposition::Messages(_)));
    }
}
