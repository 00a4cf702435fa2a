//! The rules of DESIGN §2 that need the configuration: the account exists, the addressing fits its provider, and
//! every id is safe to put in a URL and names no more than itself.

use crate::config::Config;
use crate::job::{Job, JobError, Target};
use std::collections::HashSet;

/// Longest accepted id, in bytes.
pub const MAX_ID_BYTES: usize = 256;
/// Most message ids one job may address.
pub const MAX_MESSAGES: usize = 100_000;
/// The room IM message id that purges the whole room (seed `001_…`): only `purge: true` may ask for it.
pub const ROOM_PURGE_ID: &str = "_all";

/// Checks `job` against `config`; the error names the field.
pub fn validate(job: &Job, config: &Config) -> Result<(), JobError> {
    let account = config.accounts.get(&job.account).ok_or_else(|| {
        let known: Vec<&str> = config.accounts.keys().map(String::as_str).collect();
        JobError::new("account", format!("unknown account {:?} (configured: {})", job.account, known.join(", ")))
    })?;
    let provider = account.provider();
    let is_noop = provider == crate::ProviderKind::Noop;
    match (&job.conversation, provider.needs_conversation()) {
        (None, true) => {
            return Err(JobError::new("conversation", format!("is required for provider {}", provider.as_str())))
        }
        (Some(_), false) if !is_noop => {
            return Err(JobError::new("conversation", format!("has no meaning for provider {}", provider.as_str())))
        }
        (Some(c), _) => check_id("conversation", c)?,
        (None, false) => {}
    }
    match &job.target {
        Target::Message(id) => {
            check_id("message", id)?;
            check_not_wider("message", provider, id)?;
        }
        Target::Messages(ids) => {
            if ids.len() > MAX_MESSAGES {
                return Err(JobError::new("messages", format!("at most {MAX_MESSAGES} ids per job; split the list")));
            }
            let mut seen = HashSet::with_capacity(ids.len());
            for id in ids {
                check_id("messages", id)?;
                check_not_wider("messages", provider, id)?;
                if !seen.insert(id.as_str()) {
                    return Err(JobError::new("messages", format!("id {id:?} appears twice")));
                }
            }
        }
        Target::Purge if !provider.supports_purge() && !is_noop => {
            return Err(JobError::new("purge", format!("provider {} cannot purge a conversation", provider.as_str())))
        }
        Target::Purge => {}
    }
    check_text("on_behalf_of", job.on_behalf_of.as_deref(), MAX_ID_BYTES)?;
    if job.on_behalf_of.as_deref().is_some_and(|v| !v.bytes().all(|b| b.is_ascii_graphic() || b == b' ')) {
        // It travels as an HTTP header (`onBehalfOf`, `On-Behalf-Of`), which carries visible ASCII only.
        return Err(JobError::new("on_behalf_of", "must be visible ASCII: it is sent as an HTTP header"));
    }
    check_text("idempotency_key", job.idempotency_key.as_deref(), MAX_ID_BYTES)?;
    check_text("campaign", job.campaign.as_deref(), 128)?;
    check_text("reason", job.reason.as_deref(), 1024)?;
    check_text("requested_by", job.requested_by.as_deref(), MAX_ID_BYTES)?;
    if let (Some(run_at), Some(not_after)) = (job.run_at, job.not_after) {
        if not_after <= run_at {
            return Err(JobError::new("not_after", "must be later than run_at"));
        }
    }
    Ok(())
}

/// An id goes into a URL path: it must be non-empty, bounded, and free of anything that would change the request
/// (`/ ? # %`, control characters) or, joined by QuickBlox, address two messages (`,`).
fn check_id(field: &str, id: &str) -> Result<(), JobError> {
    if id.is_empty() {
        return Err(JobError::new(field, "ids must not be empty"));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(JobError::new(field, format!("ids are at most {MAX_ID_BYTES} bytes")));
    }
    if let Some(c) = id.chars().find(|c| matches!(c, '/' | '?' | '#' | '%' | ',') || c.is_control()) {
        return Err(JobError::new(field, format!("id {id:?} contains {c:?}, which would change the request")));
    }
    if is_dot_segment(id) {
        return Err(JobError::new(
            field,
            format!("id {id:?} is a dot segment: URL normalisation would drop it or climb to the parent path"),
        ));
    }
    Ok(())
}

/// Whether `id`, put into a URL as one path segment, is one that URL normalisation removes: `.` (the segment is
/// dropped) or `..` (the segment and its parent are dropped). Either turns a message delete into a call on its
/// container: IMKIT's `…/rooms/r/messages/..` becomes `DELETE /rooms/r`, which deletes the room.
///
/// This is the whole rule because every other id survives: the providers encode an id with
/// `deleteq_providers::http::segment`, which keeps only unreserved characters and `@ : ! $ & ' ( ) * + ; =`, none
/// of which a URL parser rewrites in a path, and encodes the rest (`\`, which WHATWG URL parsing reads as `/`,
/// included). The percent-encoded dots `%2e`/`%2E` that parsers also treat as dots cannot occur: `%` is refused
/// (and would be encoded as `%25`). The providers crate proves this round trip against reqwest's parser and
/// refuses, before sending, any request whose parsed path differs from the one built.
pub fn is_dot_segment(id: &str) -> bool {
    matches!(id, "." | "..")
}

/// An id must not address more than one message: IMKIT's `_all` (in any letter case, in case the service does not
/// distinguish) as a room IM message id would purge the room, which only `purge: true` may ask for.
fn check_not_wider(field: &str, provider: crate::ProviderKind, id: &str) -> Result<(), JobError> {
    if provider == crate::ProviderKind::RoomIm && id.eq_ignore_ascii_case(ROOM_PURGE_ID) {
        return Err(JobError::new(
            field,
            format!("id {id:?} would purge the whole room; to purge, send {{\"purge\": true}} without message ids"),
        ));
    }
    Ok(())
}

fn check_text(field: &str, value: Option<&str>, max: usize) -> Result<(), JobError> {
    let Some(value) = value else { return Ok(()) };
    if value.is_empty() {
        return Err(JobError::new(field, "must not be empty when given"));
    }
    if value.len() > max {
        return Err(JobError::new(field, format!("at most {max} bytes")));
    }
    if value.chars().any(char::is_control) {
        return Err(JobError::new(field, "must not contain control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let text = r#"
[accounts.cc]
provider = "cometchat"
base_url = "http://127.0.0.1:1"
api_key = "k"
[accounts.qb]
provider = "quickblox"
base_url = "http://127.0.0.1:1"
api_key = "k"
[accounts.im]
provider = "room_im"
base_url = "http://127.0.0.1:1"
client_key = "c"
token = "t"
[accounts.wa]
provider = "twochat"
base_url = "http://127.0.0.1:1"
api_key = "k"
"#;
        Config::from_toml(text, |_| None).expect("config")
    }

    fn field_of(line: &str) -> Option<String> {
        let job = match Job::from_json(line) {
            Ok(job) => job,
            Err(e) => return Some(e.field),
        };
        validate(&job, &config()).err().map(|e| e.field)
    }

    #[test]
    fn accepts_well_formed_jobs() {
        for line in [
            r#"{"account":"cc","message":"69","permanent":true,"on_behalf_of":"superhero1"}"#,
            r#"{"account":"qb","messages":["a","b"]}"#,
            r#"{"account":"im","conversation":"room-1","purge":true}"#,
            r#"{"account":"wa","conversation":"WW-1@c.us","message":"MSG1"}"#,
        ] {
            assert_eq!(field_of(line), None, "{line}");
        }
    }

    #[test]
    fn every_rule_names_its_field() {
        let long = "x".repeat(257);
        let cases = [
            (r#"{"account":"nope","message":"1"}"#.to_string(), "account"),
            (r#"{"account":"cc","conversation":"r","message":"1"}"#.into(), "conversation"),
            (r#"{"account":"qb","conversation":"r","message":"1"}"#.into(), "conversation"),
            (r#"{"account":"im","message":"1"}"#.into(), "conversation"),
            (r#"{"account":"cc","purge":true}"#.into(), "purge"),
            (r#"{"account":"qb","messages":["a,b"]}"#.into(), "messages"),
            (r#"{"account":"qb","messages":["a","a"]}"#.into(), "messages"),
            (r#"{"account":"cc","message":""}"#.into(), "message"),
            (format!(r#"{{"account":"cc","message":"{long}"}}"#), "message"),
            (r#"{"account":"cc","message":"a/b"}"#.into(), "message"),
            (r#"{"account":"cc","message":"a?b"}"#.into(), "message"),
            (r#"{"account":"cc","message":"a#b"}"#.into(), "message"),
            (r#"{"account":"cc","message":"a%2F"}"#.into(), "message"),
            (r#"{"account":"cc","message":"a\u0001"}"#.into(), "message"),
            (r#"{"account":"im","conversation":"r/1","message":"1"}"#.into(), "conversation"),
            (r#"{"account":"im","conversation":"r","message":"_all"}"#.into(), "message"),
            (r#"{"account":"im","conversation":"r","message":"_ALL"}"#.into(), "message"),
            (r#"{"account":"im","conversation":"r","messages":["m","_all"]}"#.into(), "messages"),
            (r#"{"account":"cc","message":"1","on_behalf_of":"a\nb"}"#.into(), "on_behalf_of"),
            (r#"{"account":"cc","message":"1","on_behalf_of":"bj\u00f6rn"}"#.into(), "on_behalf_of"),
            (
                r#"{"account":"cc","message":"1","run_at":"2026-01-02T00:00:00Z","not_after":"2026-01-01T00:00:00Z"}"#
                    .into(),
                "not_after",
            ),
        ];
        for (line, field) in cases {
            assert_eq!(field_of(&line).as_deref(), Some(field), "{line}");
        }
    }

    #[test]
    fn dot_segments_are_refused_as_any_id_or_conversation() {
        for dots in [".", ".."] {
            for (line, field) in [
                (format!(r#"{{"account":"cc","message":"{dots}"}}"#), "message"),
                (format!(r#"{{"account":"qb","messages":["a","{dots}"]}}"#), "messages"),
                (format!(r#"{{"account":"im","conversation":"{dots}","message":"m"}}"#), "conversation"),
                (format!(r#"{{"account":"im","conversation":"r","message":"{dots}"}}"#), "message"),
                (format!(r#"{{"account":"im","conversation":"{dots}","purge":true}}"#), "conversation"),
                (format!(r#"{{"account":"wa","conversation":"{dots}","message":"m"}}"#), "conversation"),
                (format!(r#"{{"account":"wa","conversation":"s","message":"{dots}"}}"#), "message"),
            ] {
                assert_eq!(field_of(&line).as_deref(), Some(field), "{line}");
            }
        }
    }

    #[test]
    fn ids_that_only_look_like_dots_or_all_are_accepted() {
        for line in [
            r#"{"account":"cc","message":"..."}"#,
            r#"{"account":"cc","message":".a"}"#,
            r#"{"account":"cc","message":"a."}"#,
            r#"{"account":"cc","message":"_all"}"#,
            r#"{"account":"im","conversation":"_all","message":"m"}"#,
            r#"{"account":"im","conversation":"r","message":"_all_"}"#,
            r#"{"account":"wa","conversation":"s","message":"_all"}"#,
        ] {
            assert_eq!(field_of(line), None, "{line}");
        }
    }
}
