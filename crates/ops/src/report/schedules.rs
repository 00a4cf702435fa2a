//! The `[[schedules]]` part of `status`: each schedule with its next fire time, computed from the config alone (the
//! scheduler keeps no state of its own in Redis besides each tick's idempotency key).

use chrono::{DateTime, SecondsFormat, Utc};
use deleteq_core::config::Schedule;
use deleteq_core::Config;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One cron schedule.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScheduleReport {
    /// Its unique name.
    pub name: String,
    /// Its five or six cron fields.
    pub cron: String,
    /// The IANA time zone the fields are read in.
    pub timezone: String,
    /// The next tick, RFC 3339 UTC; null if it never fires again.
    pub next_fire: Option<String>,
}

/// `[{"name", "cron", "timezone", "next_fire"}]` as of now.
pub fn schedules_json(config: &Config) -> Value {
    super::to_json(&schedules_at(config, Utc::now()))
}

/// Every schedule with its next fire time after `now`.
pub fn schedules_at(config: &Config, now: DateTime<Utc>) -> Vec<ScheduleReport> {
    let rows = config.schedules.iter().map(|entry| {
        // Loading the config parsed every schedule; a failure here only leaves the fire time unknown.
        let next = Schedule::parse(entry).ok().and_then(|s| s.next_after(now));
        ScheduleReport {
            name: entry.name.clone(),
            cron: entry.cron.clone(),
            timezone: entry.timezone.as_deref().unwrap_or("UTC").to_string(),
            next_fire: next.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
        }
    });
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

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
        let rows = super::super::to_json(&schedules_at(&config, now));
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
