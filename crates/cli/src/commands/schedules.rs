//! The `[[schedules]]` part of `deleteq status`: each schedule with its next fire time, computed from the config
//! alone (the scheduler keeps no state of its own in Redis besides each tick's idempotency key).

use chrono::{DateTime, SecondsFormat, Utc};
use deleteq_core::config::Schedule;
use deleteq_core::Config;
use serde_json::{json, Value};

/// `[{"name", "cron", "timezone", "next_fire"}]`, `next_fire` in RFC 3339 UTC (null if the schedule never fires
/// again).
pub(crate) fn schedules_json(config: &Config) -> Value {
    schedules_at(config, Utc::now())
}

fn schedules_at(config: &Config, now: DateTime<Utc>) -> Value {
    let rows = config.schedules.iter().map(|entry| {
        // Loading the config parsed every schedule; a failure here only leaves the fire time unknown.
        let next = Schedule::parse(entry).ok().and_then(|s| s.next_after(now));
        json!({
            "name": entry.name,
            "cron": entry.cron,
            "timezone": entry.timezone.as_deref().unwrap_or("UTC"),
            "next_fire": next.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
        })
    });
    Value::Array(rows.collect())
}

/// Prints the schedules as a short table after the rest of `status`; nothing when there are none.
pub(crate) fn print_table(config: &Config) {
    let rows = schedules_json(config);
    let Some(rows) = rows.as_array().filter(|r| !r.is_empty()) else {
        return;
    };
    println!();
    println!("{:<28} {:<22} {:<20} timezone", "schedule", "next fire (UTC)", "cron");
    for row in rows {
        let text = |field: &str| row[field].as_str().unwrap_or("-").to_string();
        println!("{:<28} {:<22} {:<20} {}", text("name"), text("next_fire"), text("cron"), text("timezone"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn lists_each_schedule_with_its_next_fire_time() {
        let text = r#"
[accounts.nop]
provider = "noop"

[[schedules]]
name = "nightly"
cron = "0 3 * * *"
timezone = "Europe/Berlin"
job = { account = "nop", purge = true }

[[schedules]]
name = "often"
cron = "*/10 * * * * *"
job = { account = "nop", message = "1" }
"#;
        let config = Config::from_toml(text, |_| None).expect("config");
        let now = Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 5).single().expect("time");
        let rows = schedules_at(&config, now);
        assert_eq!(
            rows,
            json!([
                {"name": "nightly", "cron": "0 3 * * *", "timezone": "Europe/Berlin",
                 "next_fire": "2026-07-02T01:00:00Z"},
                {"name": "often", "cron": "*/10 * * * * *", "timezone": "UTC", "next_fire": "2026-07-01T12:00:10Z"},
            ])
        );
    }
}
