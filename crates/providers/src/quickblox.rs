//! QuickBlox chat (seed `002_…`): `DELETE {base}/chat/Message/{id,id,…}.json`, the ids joined with literal commas
//! (the page: a URL already percent-encoded "will not be processed"), `force=1` as a form body for delete-for-
//! everyone, `Authorization: ApiKey …` or `QB-Token`, and `On-Behalf-Of`. A 200 sorts the ids into buckets; the
//! page's 404 `{"errors": ["The resource wasn't found"]}` means none of them exists. A 403 that refuses messages
//! (not the credentials) is bisected so the permitted ones still go.

use crate::classify;
use crate::http::{segment, send, RawResponse};
use crate::request::{DeleteRequest, Disposition, MessageResult, Response};
use deleteq_core::config::{QuickBloxAuth, MAX_REQUEST_URL};
use deleteq_core::DeletionMode;
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A QuickBlox account.
#[derive(Debug, Clone)]
pub struct QuickBlox {
    base_url: crate::url::BaseUrl,
    auth: QuickBloxAuth,
    timeout: Duration,
}

/// A call's answer before bisection.
enum Answer {
    Done(Response),
    /// A 403 for the whole call that refuses some message(s): which ones is unknown until the call is split.
    Forbidden(Response),
}

impl QuickBlox {
    /// A client for one account.
    pub fn new(base_url: &str, auth: QuickBloxAuth, timeout: Duration) -> Self {
        QuickBlox { base_url: crate::url::BaseUrl::new(base_url), auth, timeout }
    }

    /// Deletes the ids of `req` in one call (split when the URL would be too long, bisected on a 403).
    pub async fn delete(&self, http: &reqwest::Client, req: &DeleteRequest<'_>) -> Response {
        if req.messages.is_empty() {
            return Response::failed(None, "no message ids");
        }
        self.call(http, req, req.messages).await
    }

    /// How the call deletes, by the seed page's recipes:
    /// - with `force=1`: "Set a `force` parameter to `1` to delete messages from all chat histories" and "It is
    ///   possible to completely remove a message by the **owner** - pass `force=1`": hard;
    /// - without it, as a user (a `QB-Token` session, or `On-Behalf-Of`): "the messages are removed for a user who
    ///   has sent the request without affecting chat histories of other users": self;
    /// - without it, with the API key and no `On-Behalf-Of`, the page's recipe says "deleted from all users'
    ///   histories" while its own hard-delete recipe needs `force=1`; the two disagree, so: unknown.
    fn mode(&self, req: &DeleteRequest<'_>) -> DeletionMode {
        match (req.permanent, &self.auth, req.on_behalf_of) {
            (true, _, _) => DeletionMode::Hard,
            (false, QuickBloxAuth::Token(_), _) | (false, QuickBloxAuth::ApiKey(_), Some(_)) => DeletionMode::SelfOnly,
            (false, QuickBloxAuth::ApiKey(_), None) => DeletionMode::Unknown,
        }
    }

    /// `{base}/chat/Message/{id,id,…}.json`, the ids joined with literal commas, checked by
    /// [`crate::url::BaseUrl::join`].
    fn url(&self, ids: &[String]) -> Result<reqwest::Url, crate::url::UrlRefused> {
        let joined: Vec<String> = ids.iter().map(|id| segment(id)).collect();
        let ids_json = format!("{}.json", joined.join(","));
        self.base_url.join(&["chat", "Message", &ids_json])
    }

    fn call<'a>(
        &'a self,
        http: &'a reqwest::Client,
        req: &'a DeleteRequest<'a>,
        ids: &'a [String],
    ) -> Pin<Box<dyn Future<Output = Response> + Send + 'a>> {
        Box::pin(async move {
            let url = match self.url(ids) {
                Ok(url) => url,
                Err(refused) => return refused.into(),
            };
            if url.as_str().len() > MAX_REQUEST_URL && ids.len() > 1 {
                // Longer ids than QuickBlox's own: split rather than send a URL a proxy would refuse.
                return self.halves(http, req, ids).await;
            }
            let mut call = http.delete(url);
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
                Err(settled) => return settled,
            };
            match classify_response(ids, &raw, self.mode(req)) {
                Answer::Done(response) => response.with_budget(raw.budget()),
                Answer::Forbidden(response) if ids.len() == 1 => {
                    let reason = match response.disposition {
                        Disposition::Failed { reason } => reason,
                        _ => raw.reason(None),
                    };
                    single(ids, response.http_status, MessageResult::Failed(reason)).with_budget(raw.budget())
                }
                Answer::Forbidden(_) => self.halves(http, req, ids).await,
            }
        })
    }

    /// Calls each half of `ids` on its own and joins the answers.
    async fn halves(&self, http: &reqwest::Client, req: &DeleteRequest<'_>, ids: &[String]) -> Response {
        let (left_ids, right_ids) = ids.split_at(ids.len() / 2);
        let left = self.call(http, req, left_ids).await;
        if matches!(left.disposition, Disposition::ParkAccount { .. }) {
            return left;
        }
        let right = self.call(http, req, right_ids).await;
        merge((left_ids, left), (right_ids, right))
    }
}

fn single(ids: &[String], status: Option<u16>, result: MessageResult) -> Response {
    let list = ids.iter().map(|id| (id.clone(), result.clone())).collect();
    Response::new(status, Disposition::Messages(list))
}

/// Joins the answers of two halves into one result per id: a half that failed or must be retried as a whole
/// fails or retries only its own ids, and the other half's results stand. A half that parks the account parks
/// the whole call (no other call of the account can succeed).
fn merge(left: (&[String], Response), right: (&[String], Response)) -> Response {
    let settled = |r: &Response| matches!(&r.disposition, Disposition::Messages(l) if l.iter().all(|(_, m)| matches!(m, MessageResult::Deleted(_) | MessageResult::AlreadyDeleted)));
    // The status worth recording is the one of a half that did not simply succeed.
    let status = if !settled(&left.1) { left.1.http_status } else { right.1.http_status.or(left.1.http_status) };
    // The later answer's budget is the freshest.
    let budget = right.1.budget.or(left.1.budget);
    let mut list = Vec::with_capacity(left.0.len() + right.0.len());
    for (ids, half) in [left, right] {
        let result = match half.disposition {
            Disposition::Messages(results) => {
                list.extend(results);
                continue;
            }
            Disposition::ParkAccount { .. } => return half,
            Disposition::Failed { reason } => MessageResult::Failed(reason),
            Disposition::Retry { after, reason } => MessageResult::Retry { after, reason },
            Disposition::Purged { .. } => {
                MessageResult::Failed("the provider's answer does not match the request".into())
            }
        };
        list.extend(ids.iter().map(|id| (id.clone(), result.clone())));
    }
    Response::new(status, Disposition::Messages(list)).with_budget(budget)
}

/// Whether a 403 refuses the credentials rather than a message: QuickBlox answers `Need user` when an
/// application session token is used where a user session is needed (research/providers.md §3: "app-session tokens
/// are read-only"). No message of the account can be deleted with it, so bisecting would only multiply refusals.
fn needs_user(raw: &RawResponse) -> bool {
    raw.json
        .as_ref()
        .and_then(|j| j.get("errors"))
        .is_some_and(|errors| errors.to_string().to_ascii_lowercase().contains("need user"))
}

/// Whether a 404 is the page's "All messages don't exist": `{"errors": ["The resource wasn't found"]}`.
fn none_exist(raw: &RawResponse) -> bool {
    let errors = raw.json.as_ref().and_then(|j| j.get("errors")).and_then(Value::as_array);
    errors.is_some_and(|list| {
        list.iter().filter_map(Value::as_str).any(|e| e.trim().eq_ignore_ascii_case("The resource wasn't found"))
    })
}

/// QuickBlox's contract (the seed page's Responses, and its errors page in research/providers.md §3):
/// - a 2xx sorts ids into `SuccessfullyDeleted`, `NotFound` and `WrongPermissions` ("If you're not the owner of
///   the dialog, the API will return the following message: \"WrongPermissions\""); an id the answer does not
///   mention fails;
/// - only the documented 404 ([`none_exist`]) means every id is gone; any other 404 is a configuration error;
/// - a 401 ("missing/invalid/expired session token") or a 403 `Need user` parks the account;
/// - any other 403 refuses some message(s) of the call and is bisected;
/// - the rest follows the status rules.
fn classify_response(ids: &[String], raw: &RawResponse, mode: DeletionMode) -> Answer {
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
            found.insert(id, MessageResult::Deleted(mode));
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
        404 if none_exist(raw) => Answer::Done(single(ids, status, MessageResult::AlreadyDeleted)),
        404 => Answer::Done(Response::failed(status, &classify::unrecognised_404(&reason))),
        403 if needs_user(raw) => Answer::Done(Response::new(
            status,
            classify::refused(format!("{reason} (an application token where a user session is needed)")),
        )),
        403 => Answer::Forbidden(Response::failed(status, &reason)),
        _ => Answer::Done(Response::new(status, classify::by_status(raw.status, raw.retry_hint(), reason))),
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
        match classify_response(ids, &raw(status, body), DeletionMode::Hard) {
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
                (asked[0].clone(), MessageResult::Deleted(DeletionMode::Hard)),
                (asked[1].clone(), MessageResult::Deleted(DeletionMode::Hard)),
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
        assert_eq!(results[0].1, MessageResult::Deleted(DeletionMode::Hard));
        assert!(matches!(results[1].1, MessageResult::Failed(ref e) if e.contains("WrongPermissions")));
        assert!(matches!(results[2].1, MessageResult::Failed(_)));
    }

    #[test]
    fn other_statuses() {
        let asked = ids(&["a"]);
        assert!(matches!(classify(&asked, 404, "<html>"), Disposition::Failed { .. }));
        assert!(matches!(
            classify(&asked, 401, r#"{"errors":["Token is required"]}"#),
            Disposition::ParkAccount { .. }
        ));
        assert!(matches!(classify(&asked, 422, r#"{"errors":{"base":["bad"]}}"#), Disposition::Failed { .. }));
        assert!(matches!(classify(&asked, 429, ""), Disposition::Retry { .. }));
        assert!(matches!(classify(&asked, 503, ""), Disposition::Retry { .. }));
        assert!(matches!(classify(&asked, 200, "{}"), Disposition::Failed { .. }));
        assert!(matches!(classify_response(&asked, &raw(403, "{}"), DeletionMode::Hard), Answer::Forbidden(_)));
    }

    #[test]
    fn need_user_parks_instead_of_bisecting() {
        let asked = ids(&["a", "b"]);
        for body in [r#"{"errors":["Need user"]}"#, r#"{"errors":{"base":["Need user"]}}"#] {
            let answer = classify_response(&asked, &raw(403, body), DeletionMode::Hard);
            assert!(
                matches!(answer, Answer::Done(Response { disposition: Disposition::ParkAccount { .. }, .. })),
                "{body}"
            );
        }
    }

    #[test]
    fn only_the_documented_404_means_none_exist() {
        let asked = ids(&["a"]);
        for body in [
            "",
            "<html>Not Found</html>",
            r#"{"errors":["Not Found"]}"#,
            r#"{"errors":"The resource wasn't found"}"#,
            r#"{"error":"The resource wasn't found"}"#,
        ] {
            assert!(matches!(classify(&asked, 404, body), Disposition::Failed { .. }), "{body}");
        }
    }

    #[test]
    fn a_half_that_fails_or_retries_fails_or_retries_only_its_ids() {
        let (left, right) = (ids(&["a", "b"]), ids(&["c", "d"]));
        let done = Response::new(
            Some(200),
            Disposition::Messages(vec![
                ("a".into(), MessageResult::Deleted(DeletionMode::Hard)),
                ("b".into(), MessageResult::AlreadyDeleted),
            ]),
        );
        let failed = Response::failed(Some(400), "HTTP 400: bad");
        let Disposition::Messages(list) = merge((&left, done.clone()), (&right, failed)).disposition else {
            panic!("messages")
        };
        assert_eq!(list[0].1, MessageResult::Deleted(DeletionMode::Hard));
        assert_eq!(list[1].1, MessageResult::AlreadyDeleted);
        assert!(matches!(list[2].1, MessageResult::Failed(_)) && matches!(list[3].1, MessageResult::Failed(_)));
        let retry = Response::new(Some(503), Disposition::Retry { after: None, reason: "HTTP 503".into() });
        let merged = merge((&left, done.clone()), (&right, retry));
        assert_eq!(merged.http_status, Some(503));
        let Disposition::Messages(list) = merged.disposition else { panic!("messages") };
        assert_eq!(list[0].1, MessageResult::Deleted(DeletionMode::Hard));
        assert!(matches!(list[2].1, MessageResult::Retry { .. }) && matches!(list[3].1, MessageResult::Retry { .. }));
        let parked = Response::new(Some(401), classify::refused("HTTP 401".into()));
        assert!(matches!(merge((&left, done), (&right, parked)).disposition, Disposition::ParkAccount { .. }));
    }

    #[test]
    fn the_mode_follows_force_and_who_calls() {
        let key = QuickBlox::new(
            "http://h",
            QuickBloxAuth::ApiKey(deleteq_core::config::Secret::new("k")),
            Duration::from_secs(1),
        );
        let token = QuickBlox::new(
            "http://h",
            QuickBloxAuth::Token(deleteq_core::config::Secret::new("t")),
            Duration::from_secs(1),
        );
        let asked = ids(&["a"]);
        let req = |permanent: bool, on_behalf_of: Option<&'static str>| DeleteRequest {
            conversation: None,
            messages: &asked,
            purge: false,
            permanent,
            on_behalf_of,
        };
        assert_eq!(key.mode(&req(true, None)), DeletionMode::Hard);
        assert_eq!(token.mode(&req(true, None)), DeletionMode::Hard);
        assert_eq!(token.mode(&req(false, None)), DeletionMode::SelfOnly);
        assert_eq!(key.mode(&req(false, Some("123"))), DeletionMode::SelfOnly);
        assert_eq!(key.mode(&req(false, None)), DeletionMode::Unknown);
    }
}
