//! Campaigns end to end: submit a file as one, follow its exact counters, cancel it mid-run, replay its dead
//! letters; invalid files store nothing.

use deleteq_emulator::{EmulatorConfig, Fault};
use deleteq_tests::inspect::{dbsize, outcome_counts, terminal};
use deleteq_tests::{deleteq, wait_until, RedisServer, TestConfig, TestEmulator, Worker};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

fn submit(config: &TestConfig, lines: &[String], extra: &[&str]) -> Value {
    let file = config.jobs_file("campaign.jsonl", lines);
    let mut args = vec!["campaign", "submit", file.to_str().expect("path"), "--json"];
    args.extend_from_slice(extra);
    let out = deleteq(&config.path, &args, None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("submit --json")
}

fn status(config: &TestConfig, id: &str) -> Value {
    let out = deleteq(&config.path, &["campaign", "status", id, "--json"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("status --json")
}

const OUTCOMES: [&str; 7] = ["deleted", "already_deleted", "purged", "expired", "cancelled", "failed", "dead"];

/// The counts of a `campaign status --json` add up to its total, and match the audit stream's records of it.
fn assert_counts_add_up(status: &Value, url: &str) {
    let sum: u64 = OUTCOMES.iter().map(|o| status[*o].as_u64().expect(o)).sum();
    let total = status["total"].as_u64().expect("total");
    assert_eq!(sum + status["pending"].as_u64().expect("pending"), total, "{status}");
    let id = status["id"].as_str().expect("id");
    let records: Vec<_> = terminal(url).into_iter().filter(|r| r["campaign"] == id).collect();
    let audited = outcome_counts(&records);
    for outcome in OUTCOMES {
        let n = audited.get(outcome).copied().unwrap_or(0) as u64;
        assert_eq!(status[outcome].as_u64(), Some(n), "{outcome}: {status} vs the audit stream");
    }
}

#[test]
fn a_cancelled_campaign_ends_with_every_message_deleted_or_cancelled() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::from_millis(20) });
    let config = TestConfig::cometchat(&redis.url(), emulator.url(), "concurrency = 16");
    let lines: Vec<String> = (0..4_000).map(|i| format!(r#"{{"account":"cc","message":"c{i}"}}"#)).collect();
    let submitted = submit(&config, &lines, &["--name", "spam wave"]);
    assert_eq!((submitted["total"].as_u64(), submitted["jobs"].as_u64()), (Some(4_000), Some(4_000)), "{submitted}");
    let id = submitted["id"].as_str().expect("id").to_string();
    let before = status(&config, &id);
    assert_eq!((before["pending"].as_u64(), before["name"].as_str()), (Some(4_000), Some("spam wave")), "{before}");

    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    std::thread::sleep(Duration::from_secs(2));
    let out = deleteq(&config.path, &["campaign", "cancel", &id], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let done = || status(&config, &id)["pending"].as_u64() == Some(0);
    assert!(wait_until(Duration::from_secs(60), done), "{}", worker.log());

    let after = status(&config, &id);
    assert_counts_add_up(&after, &redis.url());
    let (deleted, cancelled) = (after["deleted"].as_u64().expect("n"), after["cancelled"].as_u64().expect("n"));
    assert_eq!(deleted + cancelled, 4_000, "{after}");
    assert!(deleted > 0 && cancelled > 0, "the cancel landed mid-run: {after}");
    // Cancelled messages were never called; deleted ones were called once.
    assert_eq!(emulator.state.total_deletions(), deleted, "{after}");
    let records = terminal(&redis.url());
    let mut per_message: HashMap<&str, usize> = HashMap::new();
    for r in &records {
        *per_message.entry(r["message"].as_str()).or_default() += 1;
    }
    assert!(per_message.len() == 4_000 && per_message.values().all(|n| *n == 1), "one terminal record each");
    let list = deleteq(&config.path, &["campaign", "list", "--json"], None);
    let list: Value = serde_json::from_slice(&list.stdout).expect("list --json");
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["state"], "done");
}

#[test]
fn counters_follow_failures_duplicates_and_replays() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::ZERO });
    emulator.state.inject(Fault::new("cometchat", None, "denied", vec![403]));
    emulator.state.inject(Fault::new("cometchat", None, "gone", vec![404]));
    let config = TestConfig::cometchat(&redis.url(), emulator.url(), "concurrency = 4");
    let mut lines: Vec<String> = (0..20).map(|i| format!(r#"{{"account":"cc","message":"m{i}"}}"#)).collect();
    lines.push(r#"{"account":"cc","message":"denied"}"#.into());
    lines.push(r#"{"account":"cc","message":"gone"}"#.into());
    lines.push(String::new());
    lines.push(r#"{"account":"cc","messages":["a","b","c"],"idempotency_key":"k1"}"#.into());
    lines.push(r#"{"account":"cc","messages":["a","b","c"],"idempotency_key":"k1"}"#.into());
    let submitted = submit(&config, &lines, &[]);
    assert_eq!(submitted["jobs"].as_u64(), Some(24), "{submitted}");
    assert_eq!(submitted["total"].as_u64(), Some(25), "the repeated idempotency key is not counted: {submitted}");
    assert_eq!(submitted["name"], "campaign.jsonl");
    let id = submitted["id"].as_str().expect("id").to_string();

    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    let done = || status(&config, &id)["pending"].as_u64() == Some(0);
    assert!(wait_until(Duration::from_secs(30), done), "{}", worker.log());
    let after = status(&config, &id);
    assert_counts_add_up(&after, &redis.url());
    assert_eq!((after["deleted"].as_u64(), after["already_deleted"].as_u64()), (Some(23), Some(1)), "{after}");
    assert_eq!(after["failed"].as_u64(), Some(1), "{after}");

    // The failed message is replayed: it is pending again, then deleted (the fault was used up).
    let out = deleteq(&config.path, &["dlq", "replay", "--all"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let replayed = || status(&config, &id)["deleted"].as_u64() == Some(24);
    assert!(wait_until(Duration::from_secs(30), replayed), "{}", worker.log());
    let last = status(&config, &id);
    assert_eq!((last["failed"].as_u64(), last["pending"].as_u64()), (Some(0), Some(0)), "{last}");
}

#[test]
fn an_invalid_campaign_file_stores_nothing_and_names_the_line() {
    let redis = RedisServer::start();
    let config = TestConfig::cometchat(&redis.url(), "http://127.0.0.1:9", "concurrency = 1");
    let lines = vec![
        r#"{"account":"cc","message":"1"}"#.to_string(),
        r#"{"account":"cc","mesage":"2"}"#.to_string(),
        r#"{"account":"cc","message":"3"}"#.to_string(),
    ];
    let file = config.jobs_file("bad.jsonl", &lines);
    let out = deleteq(&config.path, &["campaign", "submit", file.to_str().expect("path")], None);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 2") && stderr.contains("mesage"), "{stderr}");
    assert_eq!(dbsize(&redis.url()), 0, "nothing stored, not even the campaign");
    let out = deleteq(&config.path, &["campaign", "status", "01ARZ3NDEKTSV4RRFFQ69G5FAV"], None);
    assert_eq!(out.status.code(), Some(2), "an unknown campaign is bad input");
}

#[test]
fn a_campaign_label_on_a_plain_job_is_audited_but_not_counted() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::ZERO });
    let config = TestConfig::cometchat(&redis.url(), emulator.url(), "concurrency = 2");
    let job = r#"{"account":"cc","message":"labelled","campaign":"spam|wave|7"}"#;
    let out = deleteq(&config.path, &["enqueue", job], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(20), || terminal(&redis.url()).len() == 1), "{}", worker.log());
    let record = &terminal(&redis.url())[0];
    assert_eq!((record["outcome"].as_str(), record["campaign"].as_str()), ("deleted", "spam|wave|7"), "{record:?}");
    let counts: u64 =
        deleteq_tests::inspect::query(&redis.url(), redis::cmd("EXISTS").arg("{deleteq}:campaign:counts"));
    assert_eq!(counts, 0, "only submitted campaigns are counted");
}
