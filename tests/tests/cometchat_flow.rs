//! Enqueue → worker → CometChat emulator → one audit record per message, against a real redis-server.

use deleteq_emulator::{Credentials, EmulatorConfig, Fault};
use deleteq_tests::inspect::{self, outcome_counts, terminal};
use deleteq_tests::{deleteq, wait_until, RedisServer, TestConfig, TestEmulator, Worker};
use std::time::Duration;

const SECRET: &str = "cc-test-secret-key-7f3a9";

fn config(redis: &RedisServer, emulator: &TestEmulator, retry: &str) -> TestConfig {
    TestConfig::new(
        &redis.url(),
        &format!(
            r#"
[worker]
concurrency = 8
lease = "5s"
shutdown_grace = "5s"

{retry}

[accounts.cc]
provider = "cometchat"
base_url = "{}"
api_key = "{SECRET}"
"#,
            emulator.url()
        ),
    )
}

fn enqueue(config: &TestConfig, jobs: &[&str]) -> Vec<String> {
    let mut args = vec!["enqueue"];
    args.extend_from_slice(jobs);
    let out = deleteq(&config.path, &args, None);
    assert!(out.status.success(), "enqueue failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

fn stop(mut worker: Worker) -> String {
    worker.signal("TERM");
    let status = worker.wait(Duration::from_secs(10)).expect("worker exits after SIGTERM");
    assert!(status.success(), "worker exit status {status:?}\n{}", worker.log());
    worker.log()
}

#[test]
fn a_deletion_is_carried_out_and_audited_once() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig::default());
    emulator.state.seed("cometchat", None, &["69".to_string()]);
    let config = config(&redis, &emulator, "");
    let ids = enqueue(
        &config,
        &[
            r#"{"account":"cc","message":"69","permanent":true,"on_behalf_of":"superhero1","reason":"unsend","requested_by":"app"}"#,
            r#"{"account":"cc","message":"never-existed"}"#,
        ],
    );
    assert_eq!(ids.len(), 2);
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(15), || terminal(&redis.url()).len() >= 2), "{}", worker.log());
    let log = stop(worker);

    let records = terminal(&redis.url());
    assert_eq!(records.len(), 2, "{records:?}");
    let deleted = records.iter().find(|r| r["message"] == "69").expect("record for 69");
    assert_eq!(deleted["outcome"], "deleted");
    assert_eq!(deleted["job"], ids[0]);
    assert_eq!(deleted["account"], "cc");
    assert_eq!(deleted["provider"], "cometchat");
    assert_eq!(deleted["http_status"], "200");
    assert_eq!(deleted["attempt"], "1");
    assert_eq!(deleted["reason"], "unsend");
    assert_eq!(deleted["requested_by"], "app");
    let gone = records.iter().find(|r| r["message"] == "never-existed").expect("record for the missing one");
    assert_eq!(gone["outcome"], "already_deleted");
    assert_eq!(gone["http_status"], "404");
    assert_eq!(emulator.state.deletions("cometchat", None, "69"), 1);

    // The request was exactly what the page describes.
    let request = emulator.state.requests().into_iter().find(|r| r.path == "/v3/messages/69").expect("request for 69");
    assert_eq!(request.method, "DELETE");
    let header =
        |name: &str| request.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    assert_eq!(header("apikey").as_deref(), Some(SECRET));
    assert_eq!(header("onBehalfOf").as_deref(), Some("superhero1"));
    assert!(header("content-type").is_some_and(|v| v.starts_with("application/json")));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&request.body).ok(),
        Some(serde_json::json!({"permanent": true}))
    );

    // Completed jobs leave nothing behind but their audit records (and at most the idle-wake token), and keys that
    // expire on their own: the account's rate limiter and the shard's pace for it, the enqueue's batch marker (kept
    // two minutes, so a retried enqueue whose reply was lost stores nothing twice).
    let keys: Vec<String> = inspect::query(&redis.url(), redis::cmd("KEYS").arg("*"));
    for key in &keys {
        if key.starts_with("{deleteq:acct:") || key.starts_with("{deleteq}:enqueued:") || key == "{deleteq}:ready:pace"
        {
            let ttl: i64 = inspect::query(&redis.url(), redis::cmd("PTTL").arg(key));
            assert!(ttl > 0, "{key} must expire");
        } else {
            assert!(key == "{deleteq}:audit" || key == "{deleteq}:wake", "{keys:?}");
        }
    }
    assert!(!log.contains(SECRET));
}

#[test]
fn a_rejected_key_parks_the_account_after_one_call() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig::default());
    emulator.state.seed("cometchat", None, &["1".to_string()]);
    emulator
        .state
        .set_credentials("cometchat", Credentials { api_key: Some("another-key".into()), ..Credentials::default() });
    let config = config(&redis, &emulator, "");
    enqueue(&config, &[r#"{"account":"cc","message":"1"}"#]);
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "debug");
    let parked = || {
        let out = deleteq(&config.path, &["status", "--json"], None);
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status json");
        status["accounts"]["cc"]["parked"]["reason"].as_str().map(str::to_string)
    };
    assert!(wait_until(Duration::from_secs(15), || parked().is_some()), "{}", worker.log());
    std::thread::sleep(Duration::from_millis(500));
    let log = stop(worker);
    let reason = parked().expect("parked");
    assert!(reason.contains("HTTP 401") && reason.contains("AUTH_ERR"), "{reason}");
    assert!(terminal(&redis.url()).is_empty(), "the job waits, it does not fail");
    assert_eq!(emulator.state.calls("cometchat", None, "1"), 1);
    let out = deleteq(&config.path, &["dlq", "list", "--json"], None);
    let dead: serde_json::Value = serde_json::from_slice(&out.stdout).expect("dlq json");
    assert_eq!(dead.as_array().map(Vec::len), Some(0), "{dead}");
    // No configured credential anywhere: Redis (the parked reason included), the stream, the worker's debug log.
    assert!(!inspect::everything_stored(&redis.url()).contains(SECRET));
    assert!(!log.contains(SECRET), "credential in the log");
}

#[test]
fn retryable_failures_are_retried_then_succeed_or_end_dead() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig::default());
    emulator.state.seed("cometchat", None, &["flaky".to_string(), "down".to_string()]);
    let fault = |message: &str, statuses: Vec<u16>| Fault::new("cometchat", None, message, statuses);
    emulator.state.inject(fault("flaky", vec![500, 429]));
    emulator.state.inject(fault("down", vec![503; 10]));
    let retry = "[retry]\nmax_attempts = 3\ninitial_backoff = \"50ms\"\nmax_backoff = \"200ms\"";
    let config = config(&redis, &emulator, retry);
    enqueue(&config, &[r#"{"account":"cc","message":"flaky"}"#, r#"{"account":"cc","message":"down"}"#]);
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(20), || terminal(&redis.url()).len() == 2), "{}", worker.log());
    stop(worker);
    let records = terminal(&redis.url());
    let flaky = records.iter().find(|r| r["message"] == "flaky").expect("flaky");
    assert_eq!((flaky["outcome"].as_str(), flaky["attempt"].as_str()), ("deleted", "3"));
    let down = records.iter().find(|r| r["message"] == "down").expect("down");
    assert_eq!((down["outcome"].as_str(), down["http_status"].as_str()), ("dead", "503"));
    assert_eq!(emulator.state.calls("cometchat", None, "down"), 3, "exactly max_attempts calls");
    let retries = outcome_counts(&inspect::audit(&redis.url()))["retry_scheduled"];
    assert_eq!(retries, 4, "two retries each");
}

#[test]
fn run_at_waits_not_after_expires_and_idempotency_keys_dedupe() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, ..EmulatorConfig::default() });
    let config = config(&redis, &emulator, "");
    let run_at = chrono_like_rfc3339(2);
    let ids = enqueue(
        &config,
        &[
            &format!(r#"{{"account":"cc","message":"later","run_at":"{run_at}"}}"#),
            r#"{"account":"cc","message":"too-late","not_after":"2020-01-01T00:00:00Z"}"#,
            r#"{"account":"cc","message":"once","idempotency_key":"erase-user-42"}"#,
            r#"{"account":"cc","message":"once","idempotency_key":"erase-user-42"}"#,
        ],
    );
    assert_eq!(ids[2], ids[3], "a repeated idempotency key returns the first id");
    let again = enqueue(&config, &[r#"{"account":"cc","message":"once","idempotency_key":"erase-user-42"}"#]);
    assert_eq!(again[0], ids[2]);
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(10), || terminal(&redis.url()).len() >= 2), "{}", worker.log());
    assert_eq!(emulator.state.calls("cometchat", None, "later"), 0, "not called before run_at");
    assert!(wait_until(Duration::from_secs(10), || terminal(&redis.url()).len() >= 3), "{}", worker.log());
    stop(worker);
    let records = terminal(&redis.url());
    assert_eq!(records.len(), 3, "{records:?}");
    let outcome = |m: &str| records.iter().find(|r| r["message"] == m).map(|r| r["outcome"].clone());
    assert_eq!(outcome("too-late").as_deref(), Some("expired"));
    assert_eq!(emulator.state.calls("cometchat", None, "too-late"), 0, "no call for an expired job");
    assert_eq!(outcome("once").as_deref(), Some("deleted"));
    assert_eq!(emulator.state.calls("cometchat", None, "once"), 1);
    let later = records.iter().find(|r| r["message"] == "later").expect("later ran");
    assert!(later["at"] >= run_at, "ran at {} before run_at {run_at}", later["at"]);
}

/// Now plus `secs`, as RFC 3339 UTC with milliseconds (the audit `at` format, so the two compare as text).
fn chrono_like_rfc3339(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[test]
fn dead_letters_are_listed_replayed_and_purged() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig::default());
    let ids: Vec<String> = (0..3).map(|i| format!("d{i}")).collect();
    emulator.state.seed("cometchat", None, &ids);
    // Each message is refused once (a 403 fails that message alone), then allowed.
    for id in &ids {
        emulator.state.inject(Fault::new("cometchat", None, id, vec![403]));
    }
    let config = config(&redis, &emulator, "");
    enqueue(&config, &[r#"{"account":"cc","message":"d0"}"#, r#"{"account":"cc","message":"d1"}"#]);
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(15), || terminal(&redis.url()).len() == 2), "{}", worker.log());
    let listed = |args: &[&str]| -> serde_json::Value {
        let out = deleteq(&config.path, args, None);
        serde_json::from_slice(&out.stdout).expect("dlq json")
    };
    assert_eq!(listed(&["dlq", "list", "--json"]).as_array().map(Vec::len), Some(2));
    assert_eq!(listed(&["dlq", "list", "--json", "--account", "other"]).as_array().map(Vec::len), Some(0));

    // The refusal is lifted; replay one by id, then the rest with --all.
    let first = listed(&["dlq", "list", "--json"])[0]["id"].as_str().expect("id").to_string();
    let out = deleteq(&config.path, &["dlq", "replay", &first], None);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "replayed 1");
    let out = deleteq(&config.path, &["dlq", "replay", "--all"], None);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "replayed 1");
    assert!(wait_until(Duration::from_secs(15), || terminal(&redis.url()).len() == 4), "{}", worker.log());
    stop(worker);
    let counts = outcome_counts(&inspect::audit(&redis.url()));
    assert_eq!((counts["failed"], counts["replayed"], counts["deleted"]), (2, 2, 2));
    assert_eq!(listed(&["dlq", "list", "--json"]).as_array().map(Vec::len), Some(0));
    assert_eq!(emulator.state.deletions("cometchat", None, "d0"), 1);

    // Purge: a fresh failure is younger than an hour, so only the unconditional purge removes it.
    enqueue(&config, &[r#"{"account":"cc","message":"d2"}"#]);
    let worker = Worker::start(&config.path, config.dir.path().join("worker2.log"), "info");
    assert!(wait_until(Duration::from_secs(15), || terminal(&redis.url()).len() == 5), "{}", worker.log());
    stop(worker);
    let out = deleteq(&config.path, &["dlq", "purge", "--older-than", "1h"], None);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "purged 0");
    let out = deleteq(&config.path, &["dlq", "purge"], None);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "purged 1");
    assert_eq!(listed(&["dlq", "list", "--json"]).as_array().map(Vec::len), Some(0));
}

#[test]
fn a_429_with_retry_after_is_retried_no_earlier_than_the_hint() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig::default());
    emulator.state.seed("cometchat", None, &["limited".to_string(), "flaky".to_string()]);
    emulator.state.inject(Fault::new("cometchat", None, "limited", vec![429]).retry_after("2"));
    emulator.state.inject(Fault::new("cometchat", None, "flaky", vec![500]));
    let retry = "[retry]\nmax_attempts = 5\ninitial_backoff = \"10ms\"\nmax_backoff = \"50ms\"";
    let config = config(&redis, &emulator, retry);
    enqueue(&config, &[r#"{"account":"cc","message":"limited"}"#, r#"{"account":"cc","message":"flaky"}"#]);
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(15), || terminal(&redis.url()).len() == 2), "{}", worker.log());
    stop(worker);
    let calls: Vec<u64> =
        emulator.state.requests().iter().filter(|r| r.path == "/v3/messages/limited").map(|r| r.at_ms).collect();
    assert_eq!(calls.len(), 2);
    assert!(calls[1] - calls[0] >= 2_000, "retried after {} ms; Retry-After said 2 s", calls[1] - calls[0]);
    let retry_record = inspect::audit(&redis.url())
        .into_iter()
        .find(|r| r["message"] == "limited" && r["outcome"] == "retry_scheduled")
        .expect("a retry record");
    assert_eq!((retry_record["http_status"].as_str(), retry_record["delay_ms"].as_str()), ("429", "2000"));
    assert!(terminal(&redis.url()).iter().all(|r| r["outcome"] == "deleted"));
}
