//! `deleteq audit tail [--follow]` and `audit export [--campaign ID] [--since T] [--until T]`, as JSON lines.

use crate::args::AuditCommand;
use crate::exit::Failure;
use chrono::{DateTime, Utc};
use deleteq_core::Config;
use deleteq_ops::report::{number_field, NUMERIC_FIELDS};
use deleteq_ops::AuditEntry;
use serde_json::{Map, Value};
use std::io::Write;
use std::time::Duration;

pub(crate) async fn run(config: Config, command: AuditCommand) -> Result<(), Failure> {
    let queue = super::connect(&config).await?;
    let mut out = std::io::stdout().lock();
    match command {
        AuditCommand::Tail { count, follow } => {
            // One cursor per shard's stream: ids of different shards do not interleave in write order.
            let (entries, mut cursor) = queue.audit_last_and_cursor(count).await?;
            for entry in entries {
                print(&mut out, &entry);
            }
            if !follow {
                let _ = out.flush();
                return Ok(());
            }
            loop {
                let entries = queue.audit_next(&mut cursor, 1000).await?;
                if entries.is_empty() {
                    let _ = out.flush();
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                for entry in entries {
                    print(&mut out, &entry);
                }
            }
        }
        AuditCommand::Export { campaign, since, until } => {
            let since = since.as_deref().map(|t| time("--since", t)).transpose()?;
            let until = until.as_deref().map(|t| time("--until", t)).transpose()?;
            let after = match since {
                Some(t) => format!("{}-0", (t.timestamp_millis() - 1).max(0)),
                None => "-".to_string(),
            };
            let mut cursor = queue.audit_cursor(&after);
            loop {
                let entries = queue.audit_next(&mut cursor, 5000).await?;
                if entries.is_empty() {
                    break;
                }
                for entry in &entries {
                    let at = field(entry, "at").and_then(|a| DateTime::parse_from_rfc3339(a).ok());
                    if until.is_some_and(|u| at.is_some_and(|a| a >= u)) {
                        continue;
                    }
                    if campaign.as_deref().is_some_and(|c| field(entry, "campaign") != Some(c)) {
                        continue;
                    }
                    print(&mut out, entry);
                }
            }
        }
    }
    let _ = out.flush();
    Ok(())
}

fn time(flag: &str, text: &str) -> Result<DateTime<Utc>, Failure> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Failure::Invalid(format!("{flag}: {text:?} is not an RFC 3339 time ({e})")))
}

fn field<'a>(entry: &'a AuditEntry, name: &str) -> Option<&'a str> {
    entry.1.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// One record as a JSON line: its text fields as strings, the numeric ones (`http_status`, `attempt`,
/// `deleted_count`, `delay_ms`) as numbers or null, as `GET /v1/audit` gives them.
fn print(out: &mut impl Write, (id, fields): &AuditEntry) {
    let mut map = Map::new();
    map.insert("id".into(), Value::String(id.clone()));
    for (k, v) in fields {
        let value = if NUMERIC_FIELDS.contains(&k.as_str()) {
            number_field(fields, k).map_or(Value::Null, Value::from)
        } else {
            Value::String(v.clone())
        };
        map.insert(k.clone(), value);
    }
    let _ = writeln!(out, "{}", Value::Object(map));
}

#[cfg(test)]
mod tests {
    #[test]
    fn numeric_fields_are_numbers_or_null_and_text_stays_text() {
        let entry = (
            "1-0".to_string(),
            [("outcome", "deleted"), ("http_status", "200"), ("attempt", "2"), ("delay_ms", ""), ("message", "69")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>(),
        );
        let mut out = Vec::new();
        super::print(&mut out, &entry);
        let line: serde_json::Value = serde_json::from_slice(&out).expect("one JSON line");
        assert_eq!(
            line,
            serde_json::json!({"id": "1-0", "outcome": "deleted", "http_status": 200, "attempt": 2, "delay_ms": null, "message": "69"})
        );
    }
}
