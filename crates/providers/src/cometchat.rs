//! CometChat REST v3 (seed `000_…`): `DELETE {base}/v3/messages/{id}` with `apikey`, optional `onBehalfOf`, and a
//! JSON body `{"permanent": bool}`. One message per call.

use crate::classify;
use crate::http::{exchange, segment, RawResponse};
use crate::request::{DeleteRequest, MessageResult, Response};
use deleteq_core::config::Secret;
use deleteq_core::DeletionMode;
use std::time::Duration;

/// A CometChat account.
#[derive(Debug, Clone)]
pub struct CometChat {
    base_url: crate::url::BaseUrl,
    api_key: Secret,
    timeout: Duration,
}

impl CometChat {
    /// A client for one account.
    pub fn new(base_url: &str, api_key: Secret, timeout: Duration) -> Self {
        CometChat { base_url: crate::url::BaseUrl::new(base_url), api_key, timeout }
    }

    /// Deletes the one message of `req`.
    pub async fn delete(&self, http: &reqwest::Client, req: &DeleteRequest<'_>) -> Response {
        let Some(id) = req.messages.first() else {
            return Response::failed(None, "no message id");
        };
        let url = match self.base_url.join(&["v3", "messages", &segment(id)]) {
            Ok(url) => url,
            Err(refused) => return refused.into(),
        };
        let mut call = http
            .delete(url)
            .header("apikey", self.api_key.expose())
            .header("accept", "application/json")
            .json(&serde_json::json!({ "permanent": req.permanent }));
        if let Some(uid) = req.on_behalf_of {
            call = call.header("onBehalfOf", uid);
        }
        exchange(call, self.timeout, |raw| classify_response(req, raw)).await
    }
}

/// How a confirmed deletion left the message. The seed page documents `permanent` as "Deletes the message
/// permanently."; without it CometChat soft-deletes: "omitted/false → soft delete (deletedAt/deletedBy set,
/// message stays in DB)" (research/providers.md §1, from CometChat's SDK docs).
fn mode(req: &DeleteRequest<'_>) -> DeletionMode {
    if req.permanent {
        DeletionMode::Hard
    } else {
        DeletionMode::Soft
    }
}

/// Whether an error code refuses the whole account rather than this message: every `AUTH_ERR_*` (the API key is
/// empty, unknown, of another app, or lacks `fullAccess` scope: `AUTH_ERR_NO_ACCESS`), an expired subscription, or
/// a plan quota (research/providers.md §1: CometChat's error-code list).
fn refuses_account(code: &str) -> bool {
    code.starts_with("AUTH_ERR_") || matches!(code, "ERR_SUBSCRIPTION_EXPIRED" | "ERR_PLAN_QUOTA_RESTRICTION")
}

/// CometChat's contract, from the status and `error.code` of `{"error": {"code": …, "message": …}}`:
/// - 2xx with a `data` object and no error is success (the seed page: `{"data": {…}}` "Deleted Message");
/// - only 404 `ERR_MESSAGE_ID_NOT_FOUND` ("message does not exist") is already gone; any other 404, a non-JSON one
///   from a proxy included, is a configuration error;
/// - account-wide refusals and any 401 park the account;
/// - `ERR_MESSAGE_NOT_A_SENDER` ("only sender can edit/delete the message"), `ERR_MESSAGE_NO_ACCESS` and
///   `ERR_MESSAGE_ACTION_NOT_ALLOWED` refuse this message alone;
/// - everything else follows the status rules.
pub(crate) fn classify_response(req: &DeleteRequest<'_>, raw: &RawResponse) -> Response {
    let code = raw.str_at(&["error", "code"]).unwrap_or("");
    let status = Some(raw.status);
    let has_data = raw.json.as_ref().and_then(|j| j.get("data")).is_some_and(|d| d.is_object());
    if (200..300).contains(&raw.status) && has_data && code.is_empty() {
        return Response::all(req, status, MessageResult::Deleted(mode(req)));
    }
    let reason = raw.reason(Some(code));
    match (raw.status, code) {
        (404, "ERR_MESSAGE_ID_NOT_FOUND") => Response::all(req, status, MessageResult::AlreadyDeleted),
        (_, code) if refuses_account(code) => Response::new(status, classify::refused(reason)),
        (_, "ERR_MESSAGE_NOT_A_SENDER" | "ERR_MESSAGE_ACTION_NOT_ALLOWED" | "ERR_MESSAGE_NO_ACCESS") => {
            Response::all(req, status, MessageResult::Failed(reason))
        }
        (200..=299, _) => Response::failed(status, &format!("HTTP {} without a \"data\" object: {reason}", raw.status)),
        (404, _) => Response::failed(status, &classify::unrecognised_404(&reason)),
        _ => Response::new(status, classify::by_status(raw.status, raw.retry_hint(), reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Disposition;
    use crate::testing::raw;

    fn classify(status: u16, body: &str) -> Disposition {
        let ids = ["69".to_string()];
        classify_response(&crate::testing::request(&ids), &raw(status, body)).disposition
    }

    fn one(result: MessageResult) -> Disposition {
        Disposition::Messages(vec![("69".into(), result)])
    }

    #[test]
    fn the_seed_page_success_body_is_deleted() {
        let body = r#"{"data":{"id":"402","conversationId":"superhero1_user_superhero2","sentAt":1641477338}}"#;
        assert_eq!(classify(200, body), one(MessageResult::Deleted(DeletionMode::Hard)));
        let ids = ["69".to_string()];
        let soft = DeleteRequest { permanent: false, ..crate::testing::request(&ids) };
        let disposition = classify_response(&soft, &raw(200, body)).disposition;
        assert_eq!(disposition, one(MessageResult::Deleted(DeletionMode::Soft)), "without permanent: soft");
    }

    #[test]
    fn not_found_is_already_deleted_only_with_its_code() {
        let gone = r#"{"error":{"code":"ERR_MESSAGE_ID_NOT_FOUND","message":"The message 69 does not exist."}}"#;
        assert_eq!(classify(404, gone), one(MessageResult::AlreadyDeleted));
        let route = r#"{"error":{"code":"ERR_API_NOT_FOUND","message":"no such route"}}"#;
        assert!(matches!(classify(404, route), Disposition::Failed { .. }));
        assert!(matches!(classify(404, "<html>"), Disposition::Failed { .. }));
        assert!(matches!(classify(404, "Cannot DELETE /v3/messages/69"), Disposition::Failed { .. }));
        assert!(matches!(classify(404, r#"{"error":"ERR_MESSAGE_ID_NOT_FOUND"}"#), Disposition::Failed { .. }));
        assert!(matches!(classify(410, gone), Disposition::Failed { .. }), "the code counts only on a 404");
    }

    #[test]
    fn account_wide_refusals_park() {
        for code in [
            "AUTH_ERR_APIKEY_NOT_FOUND",
            "AUTH_ERR_NO_ACCESS",
            "ERR_SUBSCRIPTION_EXPIRED",
            "ERR_PLAN_QUOTA_RESTRICTION",
        ] {
            let body = format!(r#"{{"error":{{"code":"{code}","message":"x"}}}}"#);
            for status in [401, 403] {
                assert!(matches!(classify(status, &body), Disposition::ParkAccount { .. }), "{status} {code}");
            }
        }
        assert!(matches!(classify(401, "unauthorized"), Disposition::ParkAccount { .. }));
    }

    #[test]
    fn failures_are_classified() {
        let sender = r#"{"error":{"code":"ERR_MESSAGE_NOT_A_SENDER"}}"#;
        assert!(
            matches!(classify(403, sender), Disposition::Messages(ref r) if matches!(r[0].1, MessageResult::Failed(_)))
        );
        let action = r#"{"error":{"code":"ERR_MESSAGE_ACTION_NOT_ALLOWED"}}"#;
        assert!(
            matches!(classify(400, action), Disposition::Messages(ref r) if matches!(r[0].1, MessageResult::Failed(_)))
        );
        let busy = r#"{"error":{"code":"ERR_TOO_MANY_REQUESTS"}}"#;
        assert!(matches!(classify(429, busy), Disposition::Retry { .. }));
        assert!(matches!(classify(503, ""), Disposition::Retry { .. }));
        assert!(matches!(classify(200, r#"{"error":{"code":"ERR_X"}}"#), Disposition::Failed { .. }));
        assert!(matches!(classify(200, r#"{"data":"yes"}"#), Disposition::Failed { .. }));
    }
}
