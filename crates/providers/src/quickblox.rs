//! QuickBlox chat (seed `002_…`): `DELETE {base}/chat/Message/{id,id,…}.json`, the ids joined with literal commas
//! (the page: a URL already percent-encoded "will not be processed"), `force=1` as a form body for delete-for-
//! everyone, `Authorization: ApiKey …` or `QB-Token`, and `On-Behalf-Of`. A 200 sorts the ids into buckets; a 404
//! `{"errors": …}` means none of them exists. A 403 on several ids is bisected so the permitted ones still go.

use crate::classify;
use crate::http::{segment, send, RawResponse};
use crate::request::{DeleteRequest, Disposition, MessageResult, Response};
use deleteq_core::config::QuickBloxAuth;
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A QuickBlox account.
#[derive(Debug, Clone)]
pub struct QuickBlox {
    base_url: String,
    auth: QuickBloxAuth,
    timeout: Duration,
}

/// A call's answer before bisection.
enum Answer {
    Done(Response),
    /// 403 for the whole call: which ids are refused is unknown until the call is split.
    Forbidden(Response),
}

impl QuickBlox {
    /// A client for one account.
    pub fn new(base_url: &str, auth: QuickBloxAuth, timeout: Duration) -> Self {
        QuickBlox { base_url: base_url.to_string(), auth, timeout }
    }

    /// Deletes the ids of `req` in one call (bisecting on a 403).
    pub async fn delete(&self, http: &reqwest::Client, req: &DeleteRequest<'_>) -> Response {
        if req.messages.is_empty() {
            return Response::failed(None, "no message ids");
        }
        self.call(http, req, req.messages).await
    }

    fn call<'a>(
        &'a self,
        http: &'a reqwest::Client,
        req: &'a DeleteRequest<'a>,
        ids: &'a [String],
    ) -> Pin<Box<dyn Future<Output = Response> + Send + 'a>> {
        Box::pin(async move {
            let joined: Vec<String> = ids.iter().map(|id| segment(id)).collect();
            let mut call = http.delete(format!("{}/chat/Message/{}.json", self.base_url, joined.join(",")));
            call = match &self.auth {
                QuickBloxAuth::ApiKey(key) => call.header("Authorization", format!("ApiKey {}", key.expose())),
                QuickBloxAuth::Token(token) => call.header("QB-Token", token.expose()),
            };
            if let Some(user) = req.on_behalf_of {
                call = call.header("On-Behalf-Of", user);
            }
            if req.permanent {
                call = call.header("content-type", "application/x-www-form-urlencoded").body("force=1");
            }
            let raw = match send(call, self.timeout).await {
                Ok(raw) => raw,
                Err(error) => return Response::new(None, classify::transport(&error)),
            };
            match classify_response(ids, &raw) {
                Answer::Done(response) => response.with_budget(raw.budget()),
                Answer::Forbidden(response) if ids.len() == 1 => {
                    let reason = match response.disposition {
                        Disposition::Failed { reason } => reason,
                        _ => raw.reason(None),
                    };
                    single(ids, response.http_status, MessageResult::Failed(reason)).with_budget(raw.budget())
                }
                Answer::Forbidden(_) => {
                    let (left, right) = ids.split_at(ids.len() / 2);
                    let left = self.call(http, req, left).await;
                    let right = self.call(http, req, right).await;
                    merge(left, right)
                }
            }
        })
    }
}

fn single(ids: &[String], status: Option<u16>, result: MessageResult) -> Response {
    let list = ids.iter().map(|id| (id.clone(), result.clone())).collect();
    Response::new(status, Disposition::Messages(list))
}

/// Joins the halves of a bisected call. A half that must be retried makes the whole call retried (ids the other
/// half deleted come back as `NotFound`, recorded as already deleted); a half that failed as a whole fails its ids.
fn merge(left: Response, right: Response) -> Response {
    // The status worth recording is the refusal's, when a half has one.
    let refused = |r: &Response| matches!(&r.disposition, Disposition::Messages(l) if l.iter().any(|(_, m)| matches!(m, MessageResult::Failed(_))));
    let status = if refused(&left) { left.http_status } else { right.http_status.or(left.http_status) };
    let status = if refused(&right) { right.http_status } else { status };
    let budget = right.budget.or(left.budget);
    let mut list = Vec::new();
    for half in [left, right] {
        match half.disposition {
            Disposition::Messages(results) => list.extend(results),
            Disposition::Retry { .. } | Disposition::ParkAccount { .. } => return half,
            Disposition::Failed { .. } | Disposition::Purged { .. } => return half,
        }
    }
    Response::new(status, Disposition::Messages(list)).with_budget(budget)
}

/// QuickBlox's contract: a 2xx sorts ids into `SuccessfullyDeleted`, `NotFound` and `WrongPermissions`; a 404 with
/// `errors` means every id is gone; a 403 needs bisecting; the rest follows the status rules.
fn classify_response(ids: &[String], raw: &RawResponse) -> Answer {
    let status = Some(raw.status);
    if (200..300).contains(&raw.status) {
        let Some(buckets) =
            raw.json.as_ref().filter(|j| j.get("SuccessfullyDeleted").is_some() || j.get("NotFound").is_some())
        else {
            return Answer::Done(Response::failed(
                status,
                &format!("HTTP {} without result buckets: {}", raw.status, classify::excerpt(&raw.body)),
            ));
        };
        let mut found: HashMap<&str, MessageResult> = HashMap::new();
        let bucket = |name: &str| -> Vec<&str> {
            buckets
                .pointer(&format!("/{name}/ids"))
                .and_then(Value::as_array)
                .map(|ids| ids.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default()
        };
        for id in bucket("SuccessfullyDeleted") {
            found.insert(id, MessageResult::Deleted);
        }
        for id in bucket("NotFound") {
            found.insert(id, MessageResult::AlreadyDeleted);
        }
        for id in bucket("WrongPermissions") {
            found.insert(id, MessageResult::Failed("WrongPermissions: not permitted to delete this message".into()));
        }
        let list = ids
            .iter()
            .map(|id| {
                let result = found
                    .remove(id.as_str())
                    .unwrap_or_else(|| MessageResult::Failed("the provider's answer did not mention this id".into()));
                (id.clone(), result)
            })
            .collect();
        return Answer::Done(Response::new(status, Disposition::Messages(list)));
    }
    let reason = raw.reason(None);
    match raw.status {
        404 if raw.json.as_ref().and_then(|j| j.get("errors")).is_some() => {
            Answer::Done(single(ids, status, MessageResult::AlreadyDeleted))
        }
        404 => Answer::Done(Response::failed(status, &classify::unrecognised_404(&reason))),
        403 => Answer::Forbidden(Response::failed(status, &reason)),
        _ => Answer::Done(Response {
            http_status: status,
            disposition: classify::by_status(raw.status, raw.retry_hint(), reason),
            budget: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::raw;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn classify(ids: &[String], status: u16, body: &str) -> Disposition {
        match classify_response(ids, &raw(status, body)) {
            Answer::Done(r) | Answer::Forbidden(r) => r.disposition,
        }
    }

    #[test]
    fn the_seed_page_buckets_become_per_id_outcomes() {
        let asked = ids(&["5d76b949a0eb4721f80b72ab", "5d76b657a28f9a0cc7cb0f99", "5d76b6sdfff9a0cc7cb023"]);
        let body = r#"{"SuccessfullyDeleted":{"ids":["5d76b657a28f9a0cc7cb0f99","5d76b949a0eb4721f80b72ab"]},"NotFound":{"ids":["5d76b6sdfff9a0cc7cb023"]}}"#;
        assert_eq!(
            classify(&asked, 200, body),
            Disposition::Messages(vec![
                (asked[0].clone(), MessageResult::Deleted),
                (asked[1].clone(), MessageResult::Deleted),
                (asked[2].clone(), MessageResult::AlreadyDeleted),
            ])
        );
        let all_gone = r#"{"errors":["The resource wasn't found"]}"#;
        assert_eq!(
            classify(&asked[..2], 404, all_gone),
            Disposition::Messages(vec![
                (asked[0].clone(), MessageResult::AlreadyDeleted),
                (asked[1].clone(), MessageResult::AlreadyDeleted)
            ])
        );
    }

    #[test]
    fn wrong_permissions_and_unmentioned_ids_fail_alone() {
        let asked = ids(&["a", "b", "c"]);
        let body = r#"{"SuccessfullyDeleted":{"ids":["a"]},"NotFound":{"ids":[]},"WrongPermissions":{"ids":["b"]}}"#;
        let Disposition::Messages(results) = classify(&asked, 200, body) else { panic!("messages") };
        assert_eq!(results[0].1, MessageResult::Deleted);
        assert!(matches!(results[1].1, MessageResult::Failed(ref e) if e.contains("WrongPermissions")));
        assert!(matches!(results[2].1, MessageResult::Failed(_)));
    }

    #[test]
    fn other_statuses() {
        let asked = ids(&["a"]);
        assert!(matches!(classify(&asked, 404, "<html>"), Disposition::Failed { .. }));
        assert!(matches!(classify(&asked, 401, r#"{"errors":["Token is required"]}"#), Disposition::Failed { .. }));
        assert!(matches!(classify(&asked, 422, r#"{"errors":{"base":["bad"]}}"#), Disposition::Failed { .. }));
        assert!(matches!(classify(&asked, 429, ""), Disposition::Retry { .. }));
        assert!(matches!(classify(&asked, 503, ""), Disposition::Retry { .. }));
        assert!(matches!(classify(&asked, 200, "{}"), Disposition::Failed { .. }));
        assert!(matches!(classify_response(&asked, &raw(403, "{}")), Answer::Forbidden(_)));
    }
}
