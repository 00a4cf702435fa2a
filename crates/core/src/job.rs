//! The JSON v1 job of DESIGN §2, parsed field by field so that every error names the field it is about.

use crate::priority::Priority;
use crate::traceparent::Traceparent;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// What a job addresses: one message, a list of messages, or a whole room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `"message": "id"`.
    Message(String),
    /// `"messages": ["id", …]`, non-empty.
    Messages(Vec<String>),
    /// `"purge": true`: every message of the conversation.
    Purge,
}

/// One deletion job, as a backend app submits it. Credentials never appear here: `account` names a config entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The config account (provider kind, base URL, credentials) this job runs against.
    pub account: String,
    /// The message(s) to delete.
    pub target: Target,
    /// The provider's container: room, session key or chat user id.
    pub conversation: Option<String>,
    /// Delete for everyone / hard delete where the provider distinguishes.
    pub permanent: bool,
    /// The provider user the call is made on behalf of.
    pub on_behalf_of: Option<String>,
    /// Not before this time.
    pub run_at: Option<DateTime<Utc>>,
    /// Past this time the job ends `expired` without a call.
    pub not_after: Option<DateTime<Utc>>,
    /// When the message was sent, for provider windows.
    pub sent_at: Option<DateTime<Utc>>,
    /// A second enqueue with the same key returns the first job's id.
    pub idempotency_key: Option<String>,
    /// The campaign this job belongs to.
    pub campaign: Option<String>,
    /// Copied into the audit record.
    pub reason: Option<String>,
    /// Copied into the audit record.
    pub requested_by: Option<String>,
    /// The lane it waits in: `high`, `normal` (the default) or `low`.
    pub priority: Priority,
    /// The caller's W3C trace context: the worker's spans for this job continue that trace. Not part of the
    /// deletion: it is carried for observability only (and inherited by a bulk job's children).
    pub traceparent: Option<Traceparent>,
}

/// A job that cannot be accepted, naming the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field \"{field}\": {message}")]
pub struct JobError {
    /// The JSON field at fault (`"job"` when the problem is the whole object).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl JobError {
    /// An error about `field`.
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        JobError { field: field.to_string(), message: message.into() }
    }
}

const FIELDS: &[&str] = &[
    "account",
    "message",
    "messages",
    "purge",
    "conversation",
    "permanent",
    "on_behalf_of",
    "run_at",
    "not_after",
    "sent_at",
    "idempotency_key",
    "campaign",
    "reason",
    "requested_by",
    "priority",
    "traceparent",
];

impl Job {
    /// Parses one JSON job (one line of a `.jsonl` file). Checks shape and types only; see [`crate::validate`] for
    /// the rules that need the config.
    pub fn from_json(text: &str) -> Result<Job, JobError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| JobError::new("job", format!("not valid JSON: {e}")))?;
        Job::from_value(value)
    }

    /// Parses an already-decoded JSON value. A job without `priority` is `normal`.
    pub fn from_value(value: Value) -> Result<Job, JobError> {
        Job::from_value_or_priority(value, Priority::default())
    }

    /// [`Job::from_json`] with the priority a job without its own `priority` gets (a campaign's jobs are `low`
    /// unless they say otherwise). A `priority` the job sets, even `normal`, is kept.
    pub fn from_json_or_priority(text: &str, default: Priority) -> Result<Job, JobError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| JobError::new("job", format!("not valid JSON: {e}")))?;
        Job::from_value_or_priority(value, default)
    }

    /// [`Job::from_value`] with the priority a job without its own `priority` gets.
    pub fn from_value_or_priority(value: Value, default: Priority) -> Result<Job, JobError> {
        Job::from_json_value(&value, default)
    }

    /// Parses a JSON value without taking it (a stored envelope keeps its job's JSON: no copy is made to read it).
    pub fn from_json_value(value: &Value, default: Priority) -> Result<Job, JobError> {
        let Value::Object(map) = value else {
            return Err(JobError::new("job", "must be a JSON object"));
        };
        if let Some(unknown) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(JobError::new(unknown, "unknown field"));
        }
        let account = string(map, "account")?.ok_or_else(|| JobError::new("account", "is required"))?;
        let message = string(map, "message")?;
        let messages = string_list(map, "messages")?;
        let purge = boolean(map, "purge")?;
        let target = match (message, messages, purge) {
            (Some(m), None, None | Some(false)) => Target::Message(m),
            (None, Some(list), None | Some(false)) => {
                if list.is_empty() {
                    return Err(JobError::new("messages", "must not be empty"));
                }
                Target::Messages(list)
            }
            (None, None, Some(true)) => Target::Purge,
            (None, None, _) => {
                return Err(JobError::new("message", "one of \"message\", \"messages\" or \"purge\": true is required"))
            }
            (Some(_), Some(_), _) => {
                return Err(JobError::new("messages", "give either \"message\" or \"messages\", not both"))
            }
            (_, _, Some(true)) => {
                return Err(JobError::new(
                    "purge",
                    "a purge addresses the whole conversation; drop \"message\"/\"messages\"",
                ))
            }
        };
        Ok(Job {
            account,
            target,
            conversation: string(map, "conversation")?,
            permanent: boolean(map, "permanent")?.unwrap_or(false),
            on_behalf_of: string(map, "on_behalf_of")?,
            run_at: time(map, "run_at")?,
            not_after: time(map, "not_after")?,
            sent_at: time(map, "sent_at")?,
            idempotency_key: string(map, "idempotency_key")?,
            campaign: string(map, "campaign")?,
            reason: string(map, "reason")?,
            requested_by: string(map, "requested_by")?,
            priority: priority(map, "priority")?.unwrap_or(default),
            traceparent: traceparent(map, "traceparent")?,
        })
    }

    /// The JSON v1 form of this job, as the producer stores it and `dlq list` shows it.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("account".into(), self.account.clone().into());
        match &self.target {
            Target::Message(m) => {
                map.insert("message".into(), m.clone().into());
            }
            Target::Messages(list) => {
                map.insert("messages".into(), list.clone().into());
            }
            Target::Purge => {
                map.insert("purge".into(), true.into());
            }
        }
        let optional = [
            ("conversation", &self.conversation),
            ("on_behalf_of", &self.on_behalf_of),
            ("idempotency_key", &self.idempotency_key),
            ("campaign", &self.campaign),
            ("reason", &self.reason),
            ("requested_by", &self.requested_by),
        ];
        for (name, value) in optional {
            if let Some(v) = value {
                map.insert(name.into(), v.clone().into());
            }
        }
        if self.permanent {
            map.insert("permanent".into(), true.into());
        }
        // Only when it is not the default, so a normal job's stored form is what it was before lanes.
        if self.priority != Priority::default() {
            map.insert("priority".into(), self.priority.as_str().into());
        }
        if let Some(tp) = &self.traceparent {
            map.insert("traceparent".into(), tp.to_string().into());
        }
        for (name, value) in [("run_at", &self.run_at), ("not_after", &self.not_after), ("sent_at", &self.sent_at)] {
            if let Some(t) = value {
                map.insert(name.into(), t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true).into());
            }
        }
        Value::Object(map)
    }

    /// The message ids this job addresses (empty for a purge).
    pub fn message_ids(&self) -> &[String] {
        match &self.target {
            Target::Message(m) => std::slice::from_ref(m),
            Target::Messages(list) => list,
            Target::Purge => &[],
        }
    }
}

fn string(map: &Map<String, Value>, field: &str) -> Result<Option<String>, JobError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        // An id is text (DESIGN §2): a JSON number is refused rather than turned into whatever text it prints as
        // (1e3, 1.0 and 12345678901234567890 would not say what the caller meant).
        Some(Value::Number(n)) => Err(JobError::new(field, format!("must be a string, not a number: write \"{n}\""))),
        Some(other) => Err(JobError::new(field, format!("must be a string, not {}", kind(other)))),
    }
}

fn string_list(map: &Map<String, Value>, field: &str) -> Result<Option<Vec<String>>, JobError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => {
                    Err(JobError::new(field, format!("item {i} must be a string, not a number: write \"{n}\"")))
                }
                other => Err(JobError::new(field, format!("item {i} must be a string, not {}", kind(other)))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(JobError::new(field, format!("must be a list of strings, not {}", kind(other)))),
    }
}

fn boolean(map: &Map<String, Value>, field: &str) -> Result<Option<bool>, JobError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(JobError::new(field, format!("must be true or false, not {}", kind(other)))),
    }
}

fn priority(map: &Map<String, Value>, field: &str) -> Result<Option<Priority>, JobError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s.parse::<Priority>().map(Some).map_err(|e| JobError::new(field, e.to_string())),
        Some(other) => {
            Err(JobError::new(field, format!("must be \"high\", \"normal\" or \"low\", not {}", kind(other))))
        }
    }
}

fn traceparent(map: &Map<String, Value>, field: &str) -> Result<Option<Traceparent>, JobError> {
    let Some(text) = string(map, field)? else {
        return Ok(None);
    };
    Traceparent::parse(&text).map(Some).map_err(|e| JobError::new(field, e.to_string()))
}

fn time(map: &Map<String, Value>, field: &str) -> Result<Option<DateTime<Utc>>, JobError> {
    let Some(text) = string(map, field)? else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(&text)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|e| JobError::new(field, format!("{text:?} is not an RFC 3339 time ({e})")))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> JobError {
        Job::from_json(text).expect_err(text)
    }

    #[test]
    fn ids_are_strings_and_numbers_are_refused_naming_the_field() {
        for (text, field) in [
            (r#"{"account": "cc", "message": 1}"#, "message"),
            (r#"{"account": "of", "conversation": 12345, "message": "67890"}"#, "conversation"),
            (r#"{"account": "qb", "messages": ["a", 2]}"#, "messages"),
            (r#"{"account": "cc", "message": 1e3}"#, "message"),
        ] {
            let e = err(text);
            assert_eq!(e.field, field, "{text}: {e:?}");
            assert!(e.message.contains("must be a string, not a number"), "{text}: {e:?}");
        }
        assert!(err(r#"{"account": "cc", "message": 69}"#).message.contains(r#"write "69""#));
    }

    #[test]
    fn parses_every_design_example() {
        let lines = [
            r#"{"account": "cc-eu", "message": "69", "permanent": true, "on_behalf_of": "superhero1"}"#,
            r#"{"account": "im", "conversation": "test-room-123", "purge": true}"#,
            r#"{"account": "qb", "messages": ["5d76b949a0eb4721f80b72ab", "5d76b657a28f9a0cc7cb0f99"], "permanent": true}"#,
            r#"{"account": "wa", "conversation": "WW@c.us", "message": "MSG205", "sent_at": "2026-11-21T10:00:00Z"}"#,
        ];
        for line in lines {
            let job = Job::from_json(line).expect(line);
            assert_eq!(Job::from_value(job.to_value()).expect("round trip"), job);
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(err(r#"{"account": "a", "message": "1", "colour": 1}"#).field, "colour");
        assert_eq!(err(r#"{"message": "1"}"#).field, "account");
        assert_eq!(err(r#"{"account": "a", "message": true}"#).field, "message");
        assert_eq!(err(r#"{"account": "a", "messages": []}"#).field, "messages");
        assert_eq!(err(r#"{"account": "a", "messages": ["1", {}]}"#).field, "messages");
        assert_eq!(err(r#"{"account": "a", "message": "1", "messages": ["2"]}"#).field, "messages");
        assert_eq!(err(r#"{"account": "a", "message": "1", "purge": true}"#).field, "purge");
        assert_eq!(err(r#"{"account": "a"}"#).field, "message");
        assert_eq!(err(r#"{"account": "a", "message": "1", "run_at": "tomorrow"}"#).field, "run_at");
        assert_eq!(err(r#"{"account": "a", "message": "1", "permanent": "yes"}"#).field, "permanent");
        assert_eq!(err(r#"[1]"#).field, "job");
        assert_eq!(err(r#"{"account": "a", "#).field, "job");
    }

    #[test]
    fn priority_is_read_checked_and_written_only_when_not_normal() {
        let job = |p: &str| Job::from_json(&format!(r#"{{"account": "a", "message": "1"{p}}}"#));
        assert_eq!(job("").expect("none").priority, Priority::Normal);
        assert_eq!(job(r#", "priority": null"#).expect("null").priority, Priority::Normal);
        for p in Priority::ALL {
            let parsed = job(&format!(r#", "priority": "{p}""#)).expect("valid");
            assert_eq!(parsed.priority, p);
            let value = parsed.to_value();
            let written = value.get("priority").and_then(Value::as_str);
            assert_eq!(written, (p != Priority::Normal).then_some(p.as_str()), "{p}");
            assert_eq!(Job::from_value(value).expect("round trip"), parsed);
        }
        let unknown = err(r#"{"account": "a", "message": "1", "priority": "urgent"}"#);
        assert_eq!(unknown.field, "priority");
        assert!(unknown.message.contains("\"urgent\"") && unknown.message.contains("\"low\""), "{unknown}");
        assert_eq!(err(r#"{"account": "a", "message": "1", "priority": "High"}"#).field, "priority");
        let wrong = err(r#"{"account": "a", "message": "1", "priority": 1}"#);
        assert_eq!(
            (wrong.field.as_str(), wrong.message.as_str()),
            ("priority", r#"must be "high", "normal" or "low", not a number"#)
        );
    }

    #[test]
    fn traceparent_is_checked_strictly_and_round_trips() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let job = Job::from_json(&format!(r#"{{"account": "a", "message": "1", "traceparent": "{tp}"}}"#)).expect("ok");
        assert_eq!(job.traceparent.map(|t| t.to_string()).as_deref(), Some(tp));
        assert_eq!(job.to_value()["traceparent"], tp);
        assert_eq!(Job::from_value(job.to_value()).expect("round trip"), job);
        let none = Job::from_json(r#"{"account": "a", "message": "1"}"#).expect("none");
        assert!(none.traceparent.is_none() && none.to_value().get("traceparent").is_none());
        let bad = err(r#"{"account": "a", "message": "1", "traceparent": "00-0-0-01"}"#);
        assert_eq!(bad.field, "traceparent");
        assert!(bad.message.contains("55 characters"), "{bad}");
        assert_eq!(err(r#"{"account": "a", "message": "1", "traceparent": 7}"#).field, "traceparent");
    }

    #[test]
    fn a_default_priority_applies_only_to_jobs_without_their_own() {
        let low = Priority::Low;
        let none = Job::from_json_or_priority(r#"{"account": "a", "message": "1"}"#, low).expect("none");
        assert_eq!(none.priority, Priority::Low);
        let normal = r#"{"account": "a", "message": "1", "priority": "normal"}"#;
        assert_eq!(Job::from_json_or_priority(normal, low).expect("normal").priority, Priority::Normal);
        let high = r#"{"account": "a", "message": "1", "priority": "high"}"#;
        assert_eq!(Job::from_json_or_priority(high, low).expect("high").priority, Priority::High);
        let bad = r#"{"account": "a", "message": "1", "priority": "urgent"}"#;
        assert_eq!(Job::from_json_or_priority(bad, low).expect_err("bad").field, "priority");
        // What is stored reads back as it was chosen, whatever the reader's default.
        let stored = none.to_value();
        assert_eq!(Job::from_value(stored).expect("stored").priority, Priority::Low);
    }
}
