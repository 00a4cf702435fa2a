//! Cancelling single jobs (`deleteq cancel`, `POST /v1/jobs/{id}/cancel`): a job not yet called (ready,
//! scheduled, waiting for a retry, leased with its call not started) ends `cancelled` with one terminal record per
//! message, its counts exact (the account's unfinished jobs, the lanes, the campaign's counters), and is never
//! called; a job whose call started says `running` and ends as it ends; a finished or unknown id says so, and exit
//! 1 when nothing was cancelled.

use deleteq_core::Config;
use deleteq_emulator::{EmulatorConfig, Fault};
use deleteq_tests::http::{get, post_json, request};
use deleteq_tests::inspect::{query, terminal, Record};
use deleteq_tests::{deleteq, wait_until, RedisServer, Server, TestConfig, TestEmulator, Worker};
use serde_json::{json, Value};
use std::time::Duration;

const TOKEN: &str = "cancel-token-0123456789";

/// A config with a fast worker, `[api]` tokens, and one CometChat account `cc` on `emulator_url`.
fn config(redis_url: &str, emulator_url: &str, worker: &str, retry: &str) -> TestConfig {
    let body = format!(
        "[worker]\n{worker}\nlease = \"10s\"\nshutdown_grace = \"2s\"\n\n[retry]\n{retry}\n\n[api]\n\
         tokens = [\"{TOKEN}\"]\n\n[accounts.cc]\nprovider = \"cometchat\"\nbase_url = \"{emulator_url}\"\n\
         api_key = \"k\"\nrate_limit = \"100000/s\"\n"
    );
    TestConfig::new(redis_url, &body)
}

fn emulator(latency: Duration) -> TestEmulator {
    TestEmulator::start(EmulatorConfig { accept_unknown: true, latency })
}

/// `deleteq ARGS…`: its exit code and stdout.
fn run(config: &TestConfig, args: &[&str]) -> (i32, String) {
    let out = deleteq(&config.path, args, None);
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn json_of(config: &TestConfig, args: &[&str]) -> (i32, Value) {
    let (code, out) = run(config, args);
    (code, serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}")))
}

fn enqueue(config: &TestConfig, job: Value) -> String {
    let (code, out) = run(config, &["enqueue", &job.to_string()]);
    assert_eq!(code, 0, "{out}");
    out.trim().to_string()
}

fn status(config: &TestConfig) -> Value {
    let (code, value) = json_of(config, &["status", "--json"]);
    assert_eq!(code, 0);
    value
}

/// The queue holds nothing unfinished of `cc`: no job, no lane entry, no count.
fn assert_empty(config: &TestConfig, url: &str) {
    let s = status(config);
    for field in ["queued", "leased", "scheduled", "jobs"] {
        assert_eq!(s[field], 0, "{field}: {s}");
    }
    assert_eq!(s["accounts"]["cc"]["pending"], 0, "{s}");
    let depth: Vec<String> = query(url, redis::cmd("HGETALL").arg("{deleteq}:ready:depth"));
    assert!(depth.is_empty(), "lane depths: {depth:?}");
    let accounts: u64 = query(url, redis::cmd("LLEN").arg("{deleteq}:ready:accounts"));
    assert_eq!(accounts, 0, "the account left the rotation");
    let lanes: Vec<String> = query(url, redis::cmd("KEYS").arg("{deleteq}:ready:*:cc*"));
    assert!(lanes.is_empty(), "lane lists left: {lanes:?}");
}

/// The terminal records of job `id`.
fn records_of(url: &str, id: &str) -> Vec<Record> {
    terminal(url).into_iter().filter(|r| r["job"] == id).collect()
}

#[test]
fn ready_and_scheduled_jobs_end_cancelled_and_are_never_called() {
    let redis = RedisServer::start();
    let emulator = emulator(Duration::ZERO);
    let config = config(&redis.url(), emulator.url(), "concurrency = 4", "max_attempts = 3");
    let ready = enqueue(&config, json!({"account": "cc", "message": "r1", "reason": "spam"}));
    let high = enqueue(&config, json!({"account": "cc", "message": "r2", "priority": "high"}));
    let later = enqueue(&config, json!({"account": "cc", "message": "s1", "run_at": "2099-01-01T00:00:00Z"}));
    assert_eq!(status(&config)["scheduled"], 1);

    let (code, report) = json_of(&config, &["cancel", &ready, &high, &later, "--json"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!((report["requested"].as_u64(), report["cancelled"].as_u64()), (Some(3), Some(3)), "{report}");
    assert_eq!(report["messages"], 3);
    for (i, id) in [&ready, &high, &later].into_iter().enumerate() {
        assert_eq!(report["jobs"][i]["id"], id.as_str());
        assert_eq!(report["jobs"][i]["state"], "cancelled", "{report}");
        assert_eq!(report["jobs"][i]["messages"], 1);
        let records = records_of(&redis.url(), id);
        assert_eq!(records.len(), 1, "one terminal record: {records:?}");
        assert_eq!(records[0]["outcome"], "cancelled");
        assert!(records[0]["error"].contains("deleteq cancel"), "{:?}", records[0]);
    }
    assert_eq!(records_of(&redis.url(), &ready)[0]["reason"], "spam", "the job's fields are kept");
    assert_empty(&config, &redis.url());

    // A worker finds nothing to call, and a second cancel finds nothing: exit 1.
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(emulator.state.total_calls(), 0, "{}", worker.log());
    let (code, again) = run(&config, &["cancel", &ready]);
    assert_eq!(code, 1, "nothing cancelled: {again}");
    assert!(again.contains("not found"), "{again}");
    assert_eq!(terminal(&redis.url()).len(), 3, "no second record");
}

#[test]
fn a_job_waiting_for_a_retry_ends_cancelled() {
    let redis = RedisServer::start();
    let emulator = emulator(Duration::ZERO);
    emulator.state.inject(Fault::new("cometchat", None, "w1", vec![500]));
    let config = config(
        &redis.url(),
        emulator.url(),
        "concurrency = 2",
        "max_attempts = 5\ninitial_backoff = \"10m\"\nmax_backoff = \"10m\"",
    );
    let id = enqueue(&config, json!({"account": "cc", "message": "w1"}));
    let mut worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    let retried = || deleteq_tests::inspect::audit(&redis.url()).iter().any(|r| r["outcome"] == "retry_scheduled");
    assert!(wait_until(Duration::from_secs(20), retried), "{}", worker.log());
    worker.signal("TERM");
    assert!(worker.wait(Duration::from_secs(10)).is_some(), "{}", worker.log());
    assert_eq!(emulator.state.total_calls(), 1);

    let (code, out) = run(&config, &["cancel", &id]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("cancelled"), "{out}");
    let records = records_of(&redis.url(), &id);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!((records[0]["outcome"].as_str(), records[0]["attempt"].as_str()), ("cancelled", "1"));
    assert_empty(&config, &redis.url());
}

/// The queue as a worker sees it, for leasing by hand.
fn queue(config: &TestConfig) -> (tokio::runtime::Runtime, deleteq_queue::Queue) {
    let text = std::fs::read_to_string(&config.path).expect("config");
    let parsed = Config::from_toml(&text, |_| None).expect("config");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let queue = rt.block_on(deleteq_queue::open(&parsed)).expect("queue");
    (rt, queue)
}

#[test]
fn a_leased_job_whose_call_has_not_started_is_cancelled_and_its_start_refused() {
    let redis = RedisServer::start();
    let emulator = emulator(Duration::ZERO);
    let config = config(&redis.url(), emulator.url(), "concurrency = 1", "max_attempts = 3");
    let waiting = enqueue(&config, json!({"account": "cc", "message": "l1"}));
    let started = enqueue(&config, json!({"account": "cc", "message": "l2"}));
    let (rt, queue) = queue(&config);
    let lease = Duration::from_secs(30);
    let leased = rt.block_on(queue.lease(2, lease, "test#1", true)).expect("lease");
    assert_eq!(leased.len(), 2);
    let of = |id: &str| leased.iter().find(|l| l.id == id).expect("leased").lease();
    // One call starts (its start recorded, as the worker's keeper does before any call).
    let held = rt.block_on(queue.hold(0, &[(of(&started), true)], lease)).expect("hold");
    assert_eq!(held, [true]);

    let (code, report) = json_of(&config, &["cancel", &waiting, &started, "--json"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["jobs"][0]["state"], "cancelled", "{report}");
    assert_eq!(report["jobs"][1]["state"], "running", "{report}");
    assert_eq!((report["cancelled"].as_u64(), report["messages"].as_u64()), (Some(1), Some(1)));
    let (_, text) = run(&config, &["cancel", &started]);
    assert!(text.contains("running: its call goes on"), "{text}");

    // The worker's start gate: Redis no longer takes a start for the cancelled job, so it is never called.
    let held = rt.block_on(queue.hold(0, &[(of(&waiting), true)], lease)).expect("hold");
    assert_eq!(held, [false], "the cancelled job's lease is gone");
    assert_eq!(records_of(&redis.url(), &waiting).len(), 1);
    assert!(records_of(&redis.url(), &started).is_empty(), "the running job is untouched");
    let s = status(&config);
    assert_eq!(
        (s["leased"].as_u64(), s["jobs"].as_u64(), s["accounts"]["cc"]["pending"].as_u64()),
        (Some(1), Some(1), Some(1)),
        "{s}"
    );
}

#[test]
fn a_bulk_job_ends_cancelled_message_by_message_and_its_running_child_finishes() {
    let redis = RedisServer::start();
    let emulator = emulator(Duration::from_secs(3));
    let config = config(&redis.url(), emulator.url(), "concurrency = 1", "max_attempts = 3");
    // Before expansion: the parent carries its messages, one record each.
    let whole = enqueue(&config, json!({"account": "cc", "messages": ["a1", "a2", "a3"]}));
    let (code, report) = json_of(&config, &["cancel", &whole, "--json"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!((report["cancelled"].as_u64(), report["messages"].as_u64()), (Some(1), Some(3)), "{report}");
    let records = records_of(&redis.url(), &whole);
    let mut messages: Vec<&str> = records.iter().map(|r| r["message"].as_str()).collect();
    messages.sort();
    assert_eq!(messages, ["a1", "a2", "a3"]);
    assert_empty(&config, &redis.url());

    // Expanded, one child's call in flight: the others end cancelled, each with its own record; the running one
    // ends as its call ends.
    let bulk = enqueue(&config, json!({"account": "cc", "messages": ["b1", "b2", "b3", "b4"]}));
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    let url = redis.url();
    let in_flight = || {
        let holders: Vec<String> = query(&url, redis::cmd("HVALS").arg("{deleteq}:leased:holders"));
        holders.iter().any(|h| h.ends_with('*'))
    };
    assert!(wait_until(Duration::from_secs(20), in_flight), "{}", worker.log());
    let (code, report) = json_of(&config, &["cancel", &bulk, "--json"]);
    assert_eq!(code, 0, "{report}");
    let jobs = report["jobs"].as_array().expect("jobs");
    assert_eq!(jobs[0]["state"], "not_found", "the parent was fully expanded: {report}");
    let children: Vec<&Value> = jobs[1..].iter().collect();
    assert_eq!(children.len(), 4, "{report}");
    assert!(children.iter().all(|c| c["parent"] == bulk.as_str()), "{report}");
    let running = children.iter().filter(|c| c["state"] == "running").count();
    assert_eq!((running, report["cancelled"].as_u64()), (1, Some(3)), "{report}");

    let done =
        || records_of(&url, &bulk).len() + terminal(&url).iter().filter(|r| r["parent"] == bulk.as_str()).count() >= 4;
    assert!(wait_until(Duration::from_secs(30), done), "{}", worker.log());
    let of_bulk: Vec<_> = terminal(&url).into_iter().filter(|r| r["parent"] == bulk.as_str()).collect();
    let outcomes = deleteq_tests::inspect::outcome_counts(&of_bulk);
    assert_eq!((outcomes.get("deleted"), outcomes.get("cancelled")), (Some(&1), Some(&3)), "{of_bulk:?}");
    assert_eq!(emulator.state.total_calls(), 1, "the cancelled children were never called: {}", worker.log());
    assert_empty(&config, &url);
}

#[test]
fn finished_and_unknown_jobs_say_so_and_exit_1() {
    let redis = RedisServer::start();
    let emulator = emulator(Duration::ZERO);
    emulator.state.inject(Fault::new("cometchat", None, "denied", vec![403]));
    let config = config(&redis.url(), emulator.url(), "concurrency = 2", "max_attempts = 3");
    let done = enqueue(&config, json!({"account": "cc", "message": "f1"}));
    let failed = enqueue(&config, json!({"account": "cc", "message": "denied"}));
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(20), || terminal(&redis.url()).len() == 2), "{}", worker.log());

    let (code, report) = json_of(&config, &["cancel", &done, &failed, "NOPE", "--json"]);
    assert_eq!(code, 1, "nothing cancelled: {report}");
    let states: Vec<&str> =
        report["jobs"].as_array().expect("jobs").iter().filter_map(|j| j["state"].as_str()).collect();
    assert_eq!(states, ["not_found", "finished", "not_found"], "{report}");
    assert_eq!(report["cancelled"], 0);
    let (code, text) = run(&config, &["cancel", &failed]);
    assert_eq!(code, 1);
    assert!(text.contains("dead letter"), "{text}");
    let (code, _) = run(&config, &["cancel"]);
    assert_eq!(code, 2, "an id is required");
    assert_eq!(terminal(&redis.url()).len(), 2, "nothing recorded");
}

#[test]
fn cancelling_jobs_of_a_campaign_keeps_its_counters_exact() {
    let redis = RedisServer::start();
    let emulator = emulator(Duration::ZERO);
    let config = config(&redis.url(), emulator.url(), "concurrency = 4", "max_attempts = 3");
    let lines: Vec<String> = (0..10).map(|i| format!(r#"{{"account":"cc","message":"c{i}"}}"#)).collect();
    let file = config.jobs_file("campaign.jsonl", &lines);
    let (code, submitted) = json_of(&config, &["campaign", "submit", file.to_str().expect("path"), "--json"]);
    assert_eq!(code, 0);
    let campaign = submitted["id"].as_str().expect("id").to_string();
    let mut ids: Vec<String> = query(&redis.url(), redis::cmd("HKEYS").arg("{deleteq}:jobs"));
    ids.sort();
    let (code, report) = json_of(&config, &["cancel", &ids[0], &ids[1], &ids[2], "--json"]);
    assert_eq!((code, report["cancelled"].as_u64()), (0, Some(3)), "{report}");

    let (_, counts) = json_of(&config, &["campaign", "status", &campaign, "--json"]);
    assert_eq!((counts["cancelled"].as_u64(), counts["pending"].as_u64()), (Some(3), Some(7)), "{counts}");
    assert_eq!(status(&config)["lanes"]["low"], 7, "the low lane's depth");

    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    let finished = || json_of(&config, &["campaign", "status", &campaign, "--json"]).1["pending"] == 0;
    assert!(wait_until(Duration::from_secs(30), finished), "{}", worker.log());
    let (_, counts) = json_of(&config, &["campaign", "status", &campaign, "--json"]);
    assert_eq!((counts["deleted"].as_u64(), counts["cancelled"].as_u64()), (Some(7), Some(3)), "{counts}");
    assert_eq!(emulator.state.total_calls(), 7);
    let records: Vec<_> = terminal(&redis.url()).into_iter().filter(|r| r["campaign"] == campaign.as_str()).collect();
    assert_eq!(records.len(), 10, "one terminal record per message");
    assert_empty(&config, &redis.url());
}

#[test]
fn the_http_api_cancels_a_job_404s_an_unknown_one_and_needs_a_token() {
    let redis = RedisServer::start();
    let emulator = emulator(Duration::ZERO);
    let config = config(&redis.url(), emulator.url(), "concurrency = 2", "max_attempts = 3");
    let server = Server::start(&config.path, config.dir.path().join("serve.log"), "info", &[], &[]);
    let port = server.port();
    let posted = post_json(port, "/v1/jobs", Some(TOKEN), &json!({"account": "cc", "message": "h1"}));
    assert_eq!(posted.status, 201, "{}", posted.body);
    let id = posted.json()["ids"][0].as_str().expect("id").to_string();
    let path = format!("/v1/jobs/{id}/cancel");

    let unauthorized = request(port, "POST", &path, None, None);
    assert_eq!(unauthorized.status, 401, "{}", unauthorized.body);
    assert_eq!(records_of(&redis.url(), &id).len(), 0, "nothing done without a token");

    let cancelled = request(port, "POST", &path, Some(TOKEN), None);
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let report = cancelled.json();
    assert_eq!((report["cancelled"].as_u64(), report["jobs"][0]["state"].as_str()), (Some(1), Some("cancelled")));
    let records = records_of(&redis.url(), &id);
    assert_eq!(records.len(), 1);
    assert!(records[0]["error"].contains("http api"), "{:?}", records[0]);

    let again = request(port, "POST", &path, Some(TOKEN), None);
    assert_eq!(again.status, 404, "{}", again.body);
    assert!(
        again.json()["error"]["message"].as_str().is_some_and(|m| m.contains("no unfinished job")),
        "{}",
        again.body
    );
    let unknown = request(port, "POST", "/v1/jobs/NOPE/cancel", Some(TOKEN), None);
    assert_eq!(unknown.status, 404, "{}", unknown.body);

    let spec = get(port, "/openapi.json", None).json();
    let operation = &spec["paths"]["/v1/jobs/{id}/cancel"]["post"];
    assert!(operation["responses"]["200"].is_object() && operation["responses"]["404"].is_object(), "{operation}");
    assert!(spec["components"]["schemas"]["CancelReport"].is_object());
}

#[test]
fn jobs_are_found_and_cancelled_in_every_shard() {
    let redis = RedisServer::start();
    let body = "shards = 3\n\n[worker]\nconcurrency = 2\n\n[accounts.cc]\nprovider = \"noop\"\n";
    let config = TestConfig::new(&redis.url(), body);
    let ids: Vec<String> =
        (0..9).map(|i| enqueue(&config, json!({"account": "cc", "message": format!("x{i}")}))).collect();
    let shards: Vec<u64> =
        (0..3).map(|i| query(&redis.url(), redis::cmd("HLEN").arg(format!("{{deleteq:{i}}}:jobs")))).collect();
    assert!(shards.iter().filter(|n| **n > 0).count() > 1, "spread over the shards: {shards:?}");
    let mut args = vec!["cancel", "--json"];
    args.extend(ids.iter().map(String::as_str));
    let (code, report) = json_of(&config, &args);
    assert_eq!((code, report["cancelled"].as_u64(), report["messages"].as_u64()), (0, Some(9), Some(9)), "{report}");
    let s = status(&config);
    assert_eq!(
        (s["jobs"].as_u64(), s["queued"].as_u64(), s["accounts"]["cc"]["pending"].as_u64()),
        (Some(0), Some(0), Some(0)),
        "{s}"
    );
    let audited: u64 =
        (0..3).map(|i| query::<u64>(&redis.url(), redis::cmd("XLEN").arg(format!("{{deleteq:{i}}}:audit")))).sum();
    assert_eq!(audited, 9, "one record each, in its shard's stream");
}
