//! A worker killed with SIGKILL mid-run loses nothing: its leased jobs come back after the lease and a second
//! worker finishes them, with exactly one terminal record per message.

use deleteq_emulator::EmulatorConfig;
use deleteq_tests::inspect::terminal;
use deleteq_tests::{wait_until, RedisServer, TestConfig, TestEmulator, Worker};
use std::collections::HashMap;
use std::time::Duration;

const JOBS: usize = 2_000;

#[test]
fn sigkill_mid_run_then_a_second_worker_finishes_every_job_once() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::from_millis(3) });
    let config = TestConfig::cometchat(&redis.url(), emulator.url(), "concurrency = 32\nlease = \"2s\"");
    config.enqueue_messages(JOBS);

    let mut first = Worker::start(&config.path, config.dir.path().join("first.log"), "info");
    assert!(wait_until(Duration::from_secs(30), || terminal(&redis.url()).len() >= JOBS / 4), "{}", first.log());
    first.signal("KILL");
    first.wait(Duration::from_secs(5)).expect("killed");
    let at_kill = terminal(&redis.url()).len();
    assert!(at_kill < JOBS, "the first worker finished everything before the kill; nothing was tested");

    let second = Worker::start(&config.path, config.dir.path().join("second.log"), "info");
    assert!(wait_until(Duration::from_secs(60), || terminal(&redis.url()).len() >= JOBS), "{}", second.log());
    std::thread::sleep(Duration::from_millis(500));

    let records = terminal(&redis.url());
    let mut per_message: HashMap<String, usize> = HashMap::new();
    for r in &records {
        *per_message.entry(r["message"].clone()).or_default() += 1;
        assert!(r["outcome"] == "deleted" || r["outcome"] == "already_deleted", "{r:?}");
    }
    assert_eq!(per_message.len(), JOBS, "every message has a record");
    assert!(per_message.values().all(|n| *n == 1), "a message has two terminal records");
    assert_eq!(records.len(), JOBS);
    // The per-account count of unfinished jobs agrees after the crash and the re-runs.
    let pending: std::collections::HashMap<String, i64> =
        deleteq_tests::inspect::query(&redis.url(), redis::cmd("HGETALL").arg("{deleteq}:pending"));
    assert_eq!(pending.get("cc"), None, "{pending:?}");
    for i in 0..JOBS {
        assert_eq!(
            emulator.state.deletions("cometchat", None, &format!("m{i}")),
            1,
            "m{i} deleted once at the provider"
        );
    }
}

#[test]
fn a_job_that_takes_down_every_worker_is_dead_lettered_after_max_reclaims() {
    let redis = RedisServer::start();
    // Every call hangs far longer than the test: the worker holding the job is killed mid-call, like a job that
    // crashes its worker.
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::from_secs(120) });
    let config =
        TestConfig::cometchat(&redis.url(), emulator.url(), "concurrency = 4\nlease = \"1s\"\nmax_reclaims = 2");
    config.enqueue_messages(1);
    for round in 1..=2 {
        let mut worker = Worker::start(&config.path, config.dir.path().join(format!("w{round}.log")), "info");
        let calls = round as u64;
        assert!(wait_until(Duration::from_secs(20), || emulator.state.total_requests() >= calls), "{}", worker.log());
        worker.signal("KILL");
        worker.wait(Duration::from_secs(5)).expect("killed");
    }
    let last = Worker::start(&config.path, config.dir.path().join("last.log"), "info");
    assert!(wait_until(Duration::from_secs(20), || terminal(&redis.url()).len() == 1), "{}", last.log());
    let records = terminal(&redis.url());
    assert_eq!(records[0]["outcome"], "dead", "{records:?}");
    assert!(records[0]["error"].contains("stopped while running it 2 times"), "{records:?}");
    assert_eq!(emulator.state.total_requests(), 2, "no third call");
    let dead: u64 = deleteq_tests::inspect::query(&redis.url(), redis::cmd("ZCARD").arg("{deleteq}:dead"));
    assert_eq!(dead, 1, "dead-lettered for inspection and replay");
}

#[test]
fn older_and_corrupted_stored_jobs_do_not_stall_a_worker() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::ZERO });
    let config = TestConfig::cometchat(&redis.url(), emulator.url(), "concurrency = 2");
    // One job in the previous stored form ("<rev>|<envelope>"), one value that is not a job at all, one fresh job.
    let legacy = r#"0|{"v":1,"id":"legacy","attempt":0,"job":{"account":"cc","message":"old|form"}}"#;
    let (): () = deleteq_tests::inspect::query(
        &redis.url(),
        redis::cmd("HSET").arg("{deleteq}:jobs").arg("legacy").arg(legacy).arg("garbage").arg("not a job"),
    );
    let (): () = deleteq_tests::inspect::query(
        &redis.url(),
        redis::cmd("RPUSH").arg("{deleteq}:ready").arg("legacy").arg("garbage"),
    );
    config.enqueue_messages(1);
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(20), || terminal(&redis.url()).len() == 3), "{}", worker.log());
    let records = terminal(&redis.url());
    let outcome = |job: &str| records.iter().find(|r| r["job"] == job).map(|r| r["outcome"].clone());
    assert_eq!(outcome("legacy").as_deref(), Some("deleted"), "{records:?}");
    assert_eq!(outcome("garbage").as_deref(), Some("failed"), "{records:?}");
    assert_eq!(emulator.state.deletions("cometchat", None, "m0"), 1, "the fresh job ran too");
    let dead: u64 = deleteq_tests::inspect::query(&redis.url(), redis::cmd("ZCARD").arg("{deleteq}:dead"));
    assert_eq!(dead, 1, "the unreadable value is kept as a dead letter");
}
