//! A `[[schedules]]` entry made usable: its cron expression parsed (five fields, or six with leading seconds), its
//! IANA time zone resolved, and the fire-time arithmetic that the worker's scheduler and `status` share.
//!
//! Fire times are whole seconds. Across a DST change a fixed-time schedule (`30 2 * * *`) fires once: in a gap at
//! the instant the gap ends, in an overlap at the earlier instant; an interval schedule fires on the wall-clock
//! times that exist.

use super::ScheduleConfig;
use crate::job::{Job, JobError};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use serde_json::{Map, Value};
use std::time::Duration;

/// Longest schedule name: it is part of the `cron:<name>:<tick ms>` idempotency key, which is at most 256 bytes.
pub const MAX_NAME_LEN: usize = 100;

/// Job fields the scheduler sets itself, so a template must not carry them.
const OWNED_FIELDS: [&str; 2] = ["run_at", "idempotency_key"];

/// A schedule that cannot be used; shows as `schedules "NAME": FIELD: reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schedules \"{name}\": {field}: {message}")]
pub struct ScheduleError {
    /// The schedule's name as written.
    pub name: String,
    /// The field at fault (`cron`, `timezone`, `name`, `job.run_at`, …).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// One parsed schedule: when it fires and the job it enqueues each time.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// Its unique name.
    pub name: String,
    /// The cron expression as written.
    pub cron: String,
    /// The time zone its fields are read in.
    pub timezone: Tz,
    /// How far back the most recent missed tick is still fired when a worker starts.
    pub catch_up: Option<Duration>,
    template: Map<String, Value>,
    parsed: Cron,
}

impl Schedule {
    /// Parses and checks one `[[schedules]]` entry. The job template is checked here only for the fields the
    /// scheduler owns; [`crate::Config`] validates the rest against the accounts.
    pub fn parse(config: &ScheduleConfig) -> Result<Schedule, ScheduleError> {
        let err = |field: &str, message: String| ScheduleError {
            name: config.name.clone(),
            field: field.to_string(),
            message,
        };
        check_name(&config.name).map_err(|m| err("name", m))?;
        let parsed = parse_cron(&config.cron).map_err(|m| err("cron", m))?;
        let timezone = match &config.timezone {
            None => Tz::UTC,
            Some(name) => name
                .parse::<Tz>()
                .map_err(|_| err("timezone", format!("{name:?} is not an IANA time zone (e.g. \"Europe/Berlin\")")))?,
        };
        if let Some(owned) = OWNED_FIELDS.iter().find(|f| config.job.contains_key(**f)) {
            return Err(err(&format!("job.{owned}"), "is set by the scheduler; remove it from the template".into()));
        }
        let template = match serde_json::to_value(&config.job) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(err("job", "must be a table".into())),
            Err(e) => return Err(err("job", e.to_string())),
        };
        let schedule = Schedule {
            name: config.name.clone(),
            cron: config.cron.clone(),
            timezone,
            catch_up: config.catch_up,
            template,
            parsed,
        };
        if schedule.next_after(Utc::now()).is_none() {
            return Err(err("cron", format!("{:?} never fires", config.cron)));
        }
        Ok(schedule)
    }

    /// The first fire time strictly after `t`; `None` if the expression never matches again.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let from = whole_second(t).with_timezone(&self.timezone);
        self.parsed.find_next_occurrence(&from, false).ok().map(|d| whole_second(d.with_timezone(&Utc)))
    }

    /// The latest fire time at or before `t`; `None` if there is none within the search limit.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let from = whole_second(t).with_timezone(&self.timezone);
        self.parsed.find_previous_occurrence(&from, true).ok().map(|d| whole_second(d.with_timezone(&Utc)))
    }

    /// The idempotency key of the job fired for `tick`: every worker computes the same one, so the enqueue script
    /// stores the tick's job once however many workers fire it.
    pub fn tick_key(&self, tick: DateTime<Utc>) -> String {
        format!("cron:{}:{}", self.name, tick.timestamp_millis())
    }

    /// The job to enqueue for `tick`: the template with the tick's idempotency key, and `requested_by =
    /// "cron:<name>"` unless the template names someone.
    pub fn job_for(&self, tick: DateTime<Utc>) -> Result<Job, JobError> {
        let mut map = self.template.clone();
        map.insert("idempotency_key".into(), self.tick_key(tick).into());
        map.entry("requested_by").or_insert_with(|| format!("cron:{}", self.name).into());
        Job::from_value(Value::Object(map))
    }
}

fn whole_second(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(format!("must be 1 to {MAX_NAME_LEN} characters"));
    }
    match name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        Some(c) => Err(format!("{c:?} is not allowed (letters, digits, '.', '_' and '-' only)")),
        None => Ok(()),
    }
}

/// Five fields (minute first) or six (second first); the `@daily`-style nicknames too.
fn parse_cron(expr: &str) -> Result<Cron, String> {
    let fields = expr.split_whitespace().count();
    let nickname = expr.trim().starts_with('@');
    if !nickname && !(5..=6).contains(&fields) {
        return Err(format!(
            "{expr:?} has {fields} fields; give five (minute hour day month weekday) or six (second first)"
        ));
    }
    let parser = CronParser::builder().seconds(Seconds::Optional).year(Year::Disallowed).build();
    parser.parse(expr).map_err(|e| format!("{expr:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn schedule(cron: &str, timezone: Option<&str>) -> Result<Schedule, ScheduleError> {
        let job: toml::Table = r#"account = "im"
conversation = "room-1"
purge = true"#
            .parse()
            .expect("template");
        Schedule::parse(&ScheduleConfig {
            name: "nightly".into(),
            cron: cron.into(),
            timezone: timezone.map(str::to_string),
            job,
            catch_up: None,
        })
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).single().expect("valid time")
    }

    #[test]
    fn five_fields_fire_on_the_minute_six_on_the_second() {
        let five = schedule("*/5 * * * *", None).expect("five fields");
        assert_eq!(five.next_after(utc(2026, 1, 1, 10, 2, 30)), Some(utc(2026, 1, 1, 10, 5, 0)));
        assert_eq!(five.next_after(utc(2026, 1, 1, 10, 5, 0)), Some(utc(2026, 1, 1, 10, 10, 0)), "strictly after");
        let six = schedule("*/2 * * * * *", None).expect("six fields");
        let half = utc(2026, 1, 1, 10, 0, 1) + chrono::Duration::milliseconds(500);
        assert_eq!(six.next_after(half), Some(utc(2026, 1, 1, 10, 0, 2)));
        assert_eq!(six.latest_at_or_before(half), Some(utc(2026, 1, 1, 10, 0, 0)));
        assert_eq!(six.latest_at_or_before(utc(2026, 1, 1, 10, 0, 2)), Some(utc(2026, 1, 1, 10, 0, 2)), "inclusive");
    }

    #[test]
    fn fields_are_read_in_the_time_zone_across_dst() {
        let berlin = schedule("30 2 * * *", Some("Europe/Berlin")).expect("berlin");
        // Winter: 02:30 CET is 01:30 UTC.
        assert_eq!(berlin.next_after(utc(2026, 1, 10, 12, 0, 0)), Some(utc(2026, 1, 11, 1, 30, 0)));
        // 29 March 2026: 02:00 jumps to 03:00; the tick in the gap fires once, as the gap ends (01:00 UTC).
        let spring = berlin.next_after(utc(2026, 3, 28, 12, 0, 0)).expect("spring");
        assert_eq!(spring, utc(2026, 3, 29, 1, 0, 0));
        assert_eq!(berlin.next_after(spring), Some(utc(2026, 3, 30, 0, 30, 0)), "summer: 02:30 CEST");
        // 25 October 2026: 02:30 happens twice; a fixed-time schedule fires once, at the first.
        let autumn = berlin.next_after(utc(2026, 10, 24, 12, 0, 0)).expect("autumn");
        assert_eq!(autumn, utc(2026, 10, 25, 0, 30, 0));
        assert_eq!(berlin.next_after(autumn), Some(utc(2026, 10, 26, 1, 30, 0)));
        let utc_schedule = schedule("30 2 * * *", None).expect("utc");
        assert_eq!(utc_schedule.timezone, Tz::UTC);
        assert_eq!(utc_schedule.next_after(utc(2026, 3, 28, 12, 0, 0)), Some(utc(2026, 3, 29, 2, 30, 0)));
    }

    #[test]
    fn bad_expressions_name_the_schedule_and_field() {
        for bad in ["* * * *", "0 0 0 1 1 * 2030", "61 * * * *", "0 25 * * *", "* * * * FOO", "", "0 0 30 2 *"] {
            let e = schedule(bad, None).expect_err(bad);
            assert_eq!(e.field, "cron", "{bad}: {e}");
            assert!(e.to_string().starts_with("schedules \"nightly\": cron: "), "{e}");
        }
        let e = schedule("0 3 * * *", Some("Mars/Olympus")).expect_err("tz");
        assert_eq!(
            e.to_string(),
            "schedules \"nightly\": timezone: \"Mars/Olympus\" is not an IANA time zone (e.g. \"Europe/Berlin\")"
        );
        assert!(schedule("@daily", None).is_ok());
    }

    #[test]
    fn names_and_owned_fields_are_checked() {
        let base = |name: &str, job: &str| ScheduleConfig {
            name: name.into(),
            cron: "0 3 * * *".into(),
            timezone: None,
            job: job.parse().expect("template"),
            catch_up: None,
        };
        let ok = r#"account = "im""#;
        assert!(Schedule::parse(&base("room-1.reset_v2", ok)).is_ok());
        for name in ["", "has space", "colon:name", "slash/name", &"x".repeat(MAX_NAME_LEN + 1)] {
            assert_eq!(Schedule::parse(&base(name, ok)).expect_err(name).field, "name");
        }
        let e = Schedule::parse(&base(
            "n",
            r#"account = "im"
run_at = "2026-01-01T00:00:00Z""#,
        ))
        .expect_err("run_at");
        assert_eq!(e.field, "job.run_at");
        let e = Schedule::parse(&base(
            "n",
            r#"account = "im"
idempotency_key = "k""#,
        ))
        .expect_err("key");
        assert_eq!(e.field, "job.idempotency_key");
    }

    #[test]
    fn each_tick_has_its_own_key_and_job() {
        let s = schedule("0 3 * * *", None).expect("schedule");
        let tick = utc(2026, 5, 1, 3, 0, 0);
        assert_eq!(s.tick_key(tick), format!("cron:nightly:{}", tick.timestamp_millis()));
        let job = s.job_for(tick).expect("job");
        assert_eq!(job.idempotency_key.as_deref(), Some(s.tick_key(tick).as_str()));
        assert_eq!(job.requested_by.as_deref(), Some("cron:nightly"));
        assert_eq!(job.conversation.as_deref(), Some("room-1"));
    }
}
