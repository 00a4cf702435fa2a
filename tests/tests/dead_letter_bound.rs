//! Lowering `[dlq] max_len` below the dead letters already kept: 9,000 letters, the bound lowered from 10,000 to
//! 100. Every later job still ends right, the counts stay exact, and the set shrinks to the bound (each ack trims a
//! bounded step, maintenance catches up the rest) instead of every ack failing on the whole excess.

use deleteq_emulator::EmulatorConfig;
use deleteq_tests::inspect::{query, terminal};
use deleteq_tests::{deleteq, wait_until, RedisServer, TestConfig, TestEmulator, Worker};
use std::time::{Duration, Instant};

/// Accounts `cc` (CometChat on the emulator) and, when `old` is set, `old` (to enqueue jobs for an account the
/// worker's config no longer has: they end `failed` and are dead-lettered).
fn config(redis: &RedisServer, emulator: &TestEmulator, max_len: u64, old: bool) -> TestConfig {
    let old = if old { "\n[accounts.old]\nprovider = \"noop\"\n" } else { "" };
    TestConfig::new(
        &redis.url(),
        &format!(
            "[worker]\nconcurrency = 32\nlease = \"5s\"\n\n[dlq]\nmax_len = {max_len}\n\n[accounts.cc]\nprovider = \"cometchat\"\nbase_url = \"{}\"\napi_key = \"k\"\nrate_limit = \"100000/s\"\n{old}",
            emulator.url()
        ),
    )
}

fn enqueue(config: &TestConfig, name: &str, lines: Vec<String>) {
    let file = config.jobs_file(name, &lines);
    let out = deleteq(&config.path, &["enqueue", "--file", &file.to_string_lossy()], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn dead(url: &str) -> (u64, u64) {
    let set: u64 = query(url, redis::cmd("ZCARD").arg("{deleteq}:dead"));
    let counted: Option<u64> = query(url, redis::cmd("HGET").arg("{deleteq}:counts").arg("dead:old"));
    (set, counted.unwrap_or(0))
}

#[test]
fn lowering_the_dead_letter_bound_to_100_under_9000_letters_keeps_every_job_and_count_right() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::from_millis(0) });
    let producer = config(&redis, &emulator, 10_000, true);
    let url = redis.url();

    // 9,000 dead letters under the default-like bound of 10,000.
    enqueue(&producer, "old.jsonl", (0..9_000).map(|i| format!(r#"{{"account":"old","message":"o{i}"}}"#)).collect());
    let roomy = config(&redis, &emulator, 10_000, false);
    let mut worker = Worker::start(&roomy.path, roomy.dir.path().join("roomy.log"), "warn");
    assert!(wait_until(Duration::from_secs(120), || dead(&url).0 >= 9_000), "{}", worker.log());
    worker.signal("TERM");
    assert!(worker.wait(Duration::from_secs(20)).is_some_and(|s| s.success()), "{}", worker.log());
    assert_eq!(dead(&url), (9_000, 9_000));

    // The bound is lowered to 100; 1,000 more jobs, half of them failing.
    let lines = (0..1_000)
        .map(|i| {
            let account = if i % 2 == 0 { "cc" } else { "old" };
            format!(r#"{{"account":"{account}","message":"n{i}"}}"#)
        })
        .collect();
    enqueue(&producer, "new.jsonl", lines);
    let tight = config(&redis, &emulator, 100, false);
    let started = Instant::now();
    let mut worker = Worker::start(&tight.path, tight.dir.path().join("tight.log"), "warn");
    let done = || terminal(&url).len() >= 10_000;
    assert!(wait_until(Duration::from_secs(120), done), "{}", worker.log());
    let finished = started.elapsed();
    assert!(wait_until(Duration::from_secs(60), || dead(&url).0 <= 100), "the set did not shrink: {:?}", dead(&url));
    eprintln!("1,000 jobs finished {finished:?} after the bound was lowered; set at 100 after {:?}", started.elapsed());
    worker.signal("TERM");
    assert!(worker.wait(Duration::from_secs(20)).is_some_and(|s| s.success()), "{}", worker.log());

    let records = terminal(&url);
    let new: Vec<_> = records.iter().filter(|r| r["message"].starts_with('n')).collect();
    assert_eq!(new.len(), 1_000, "every later job ended, once");
    assert_eq!(new.iter().filter(|r| r["outcome"] == "deleted").count(), 500);
    assert_eq!(new.iter().filter(|r| r["outcome"] == "failed").count(), 500);
    let unfinished: u64 = query(&url, redis::cmd("HLEN").arg("{deleteq}:jobs"));
    let pending: Vec<String> = query(&url, redis::cmd("HKEYS").arg("{deleteq}:pending"));
    assert_eq!((unfinished, pending.len()), (0, 0), "nothing left unfinished or counted so: {pending:?}");
    assert_eq!(dead(&url), (100, 100), "the set at its bound, and the count agrees");
}
