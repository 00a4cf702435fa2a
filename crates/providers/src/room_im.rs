//! The room-based IM service, IMKIT (seed `001_…`): `DELETE {base}/rooms/{room}/messages/{id | _all}` with
//! `IM-CLIENT-KEY` and `IM-Authorization`. Every body carries `RC` (0 = success); `_all` purges the room and
//! answers `result.deletedCount`.

use crate::classify;
use crate::http::{exchange, segment, RawResponse};
use crate::request::{DeleteRequest, Disposition, MessageResult, Response};
use deleteq_core::config::Secret;
use deleteq_core::DeletionMode;
use serde_json::Value;
use std::time::Duration;

/// An IMKIT account.
#[derive(Debug, Clone)]
pub struct RoomIm {
    base_url: crate::url::BaseUrl,
    client_key: Secret,
    token: Secret,
    timeout: Duration,
}

impl RoomIm {
    /// A client for one account.
    pub fn new(base_url: &str, client_key: Secret, token: Secret, timeout: Duration) -> Self {
        RoomIm { base_url: crate::url::BaseUrl::new(base_url), client_key, token, timeout }
    }

    /// Deletes the one message of `req`, or every message of the room for a purge.
    pub async fn delete(&self, http: &reqwest::Client, req: &DeleteRequest<'_>) -> Response {
        let Some(room) = req.conversation else {
            return Response::failed(None, "room IM needs a conversation (the room id)");
        };
        let message = match (req.purge, req.messages.first()) {
            (true, _) => "_all".to_string(),
            (false, Some(id)) if id.eq_ignore_ascii_case("_all") => {
                return Response::failed(None, "message id \"_all\" would purge the room: refused, nothing sent")
            }
            (false, Some(id)) => segment(id),
            (false, None) => return Response::failed(None, "no message id"),
        };
        let url = match self.base_url.join(&["rooms", &segment(room), "messages", &message]) {
            Ok(url) => url,
            Err(refused) => return refused.into(),
        };
        let call = http
            .delete(url)
            .header("IM-CLIENT-KEY", self.client_key.expose())
            .header("IM-Authorization", self.token.expose())
            .header("content-type", "application/json; charset=utf-8");
        exchange(call, self.timeout, |raw| classify_response(req, raw)).await
    }
}

/// How IMKIT deletes: "Permanent deletion: Deleted messages cannot be recovered; use with caution" and
/// "Immediate effect: Deletion operations take effect immediately; all users will see the message disappear" (the
/// seed page's Notes). The same holds for `_all`.
const MODE: DeletionMode = DeletionMode::Hard;

/// IMKIT's contract, from the status, `RC` and `error.code` of the seed page's bodies:
/// - 2xx with `RC == 0` is success ("RC | number | Response code (0 indicates success)");
/// - only a 404 with `error.code` `MESSAGE_NOT_FOUND` ("The specified message does not exist in this room") is
///   already gone; `ROOM_NOT_FOUND` must surface (a wrong room id), as must any other 404 or a non-JSON one;
/// - a 401 or `INVALID_TOKEN` ("Invalid or expired token") parks the account;
/// - `INSUFFICIENT_PERMISSION` refuses the call;
/// - a 2xx with another `RC` is not a success: `RC` mirrors HTTP statuses, so it decides.
pub(crate) fn classify_response(req: &DeleteRequest<'_>, raw: &RawResponse) -> Response {
    let status = Some(raw.status);
    let rc = raw.json.as_ref().and_then(|j| j.get("RC")).and_then(Value::as_i64);
    // The seed page's errors are `{"error": {"code": …}}`; the rate-limit answer of the research notes is
    // `{"error": "RATE_LIMIT_EXCEEDED", …}`. Only the documented object form can mean "not found".
    let documented_code = raw.str_at(&["error", "code"]);
    let code = documented_code.or_else(|| raw.str_at(&["error"])).unwrap_or("");
    if (200..300).contains(&raw.status) && rc == Some(0) {
        if req.purge {
            let count = raw.json.as_ref().and_then(|j| j.pointer("/result/deletedCount")).and_then(Value::as_u64);
            return Response::new(status, Disposition::Purged { deleted_count: count.unwrap_or(0), mode: MODE });
        }
        return Response::all(req, status, MessageResult::Deleted(MODE));
    }
    let reason = raw.reason(Some(code));
    match (raw.status, documented_code.unwrap_or("")) {
        (404, "MESSAGE_NOT_FOUND") if !req.purge => Response::all(req, status, MessageResult::AlreadyDeleted),
        (404, "ROOM_NOT_FOUND") => Response::failed(status, &format!("{reason}: check the conversation (room id)")),
        (_, "INVALID_TOKEN") => Response::new(status, classify::refused(reason)),
        (_, "INSUFFICIENT_PERMISSION") => Response::failed(status, &reason),
        (200..=299, _) => {
            // A 2xx whose RC says otherwise: RC mirrors HTTP statuses, so let it decide.
            let rc_status = rc.and_then(|rc| u16::try_from(rc).ok()).filter(|rc| (400..600).contains(rc));
            let reason = format!("HTTP {} with RC {}: {}", raw.status, rc.unwrap_or(-1), classify::excerpt(&raw.body));
            match rc_status {
                Some(rc) => Response::new(status, classify::by_status(rc, raw.retry_hint(), reason)),
                None => Response::failed(status, &reason),
            }
        }
        (404, _) => Response::failed(status, &classify::unrecognised_404(&reason)),
        _ => Response::new(status, classify::by_status(raw.status, raw.retry_hint(), reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::raw;
    use std::time::Duration;

    fn one(ids: &[String], status: u16, body: &str) -> Disposition {
        classify_response(&crate::testing::request(ids), &raw(status, body)).disposition
    }

    fn purge(status: u16, body: &str) -> Disposition {
        let req =
            DeleteRequest { conversation: Some("r"), messages: &[], purge: true, permanent: false, on_behalf_of: None };
        classify_response(&req, &raw(status, body)).disposition
    }

    #[test]
    fn the_seed_page_bodies() {
        let ids = ["5f890cf37d980e06f6aaf349".to_string()];
        let single = r#"{"RC":0,"RM":"Message deleted successfully","result":{"deletedCount":1,"roomID":"test-room-123","messageID":"5f890cf37d980e06f6aaf349","deletedBy":"admin-user-id","deletedAt":"2023-10-15T10:30:45.123Z"}}"#;
        assert_eq!(one(&ids, 200, single), Disposition::Messages(vec![(ids[0].clone(), MessageResult::Deleted(MODE))]));
        let all = r#"{"RC":0,"RM":"All messages deleted successfully","result":{"deletedCount":145,"roomID":"test-room-123","messageID":"_all"}}"#;
        assert_eq!(purge(200, all), Disposition::Purged { deleted_count: 145, mode: MODE });
        let gone = r#"{"RC":404,"RM":"Message not found","error":{"code":"MESSAGE_NOT_FOUND","message":"The specified message does not exist in this room"}}"#;
        assert_eq!(one(&ids, 404, gone), Disposition::Messages(vec![(ids[0].clone(), MessageResult::AlreadyDeleted)]));
        let room = r#"{"RC":404,"RM":"Room not found","error":{"code":"ROOM_NOT_FOUND","message":"The specified room does not exist"}}"#;
        assert!(matches!(one(&ids, 404, room), Disposition::Failed { .. }));
        assert!(matches!(purge(404, room), Disposition::Failed { .. }));
        let denied = r#"{"RC":403,"RM":"Permission denied","error":{"code":"INSUFFICIENT_PERMISSION","message":"Only platform admin, room owner or room manager can delete messages"}}"#;
        assert!(matches!(one(&ids, 403, denied), Disposition::Failed { .. }));
        let token =
            r#"{"RC":401,"RM":"Unauthorized","error":{"code":"INVALID_TOKEN","message":"Invalid or expired token"}}"#;
        assert!(matches!(one(&ids, 401, token), Disposition::ParkAccount { .. }));
        assert!(matches!(
            one(&ids, 403, r#"{"RC":403,"error":{"code":"INVALID_TOKEN"}}"#),
            Disposition::ParkAccount { .. }
        ));
    }

    #[test]
    fn only_the_documented_not_found_is_already_deleted() {
        let ids = ["m".to_string()];
        for body in [
            "",
            "<html>Not Found</html>",
            "Cannot DELETE /rooms/r/messages/m",
            r#"{"error":"MESSAGE_NOT_FOUND"}"#,
            r#"{"RC":404}"#,
        ] {
            assert!(matches!(one(&ids, 404, body), Disposition::Failed { .. }), "{body}");
        }
        let gone = r#"{"RC":404,"error":{"code":"MESSAGE_NOT_FOUND"}}"#;
        assert!(matches!(one(&ids, 410, gone), Disposition::Failed { .. }), "the code counts only on a 404");
        assert!(matches!(purge(404, gone), Disposition::Failed { .. }), "a purge is never 'already deleted'");
    }

    #[test]
    fn rc_decides_over_a_2xx_and_rate_limits_carry_their_hint() {
        let ids = ["m".to_string()];
        assert!(matches!(one(&ids, 200, r#"{"RC":401,"RM":"Unauthorized"}"#), Disposition::ParkAccount { .. }));
        assert!(matches!(one(&ids, 200, r#"{"RC":500,"RM":"boom"}"#), Disposition::Retry { .. }));
        assert!(matches!(one(&ids, 200, r#"{"RM":"no rc"}"#), Disposition::Failed { .. }));
        let limited = r#"{"error":"RATE_LIMIT_EXCEEDED","message":"slow down","retryAfter":60}"#;
        assert_eq!(
            one(&ids, 429, limited),
            Disposition::Retry { after: Some(Duration::from_secs(60)), reason: "HTTP 429 RATE_LIMIT_EXCEEDED".into() }
        );
        assert!(matches!(one(&ids, 404, "{}"), Disposition::Failed { .. }));
    }
}
