//! `[redis] shards = 4` on one Redis: two workers drain jobs of every shard, a SIGKILLed worker loses nothing, and
//! the readers (status, campaign status, audit export, dlq) merge the shards.

use deleteq_emulator::{EmulatorConfig, Fault};
use deleteq_tests::inspect::query;
use deleteq_tests::{deleteq, wait_until, RedisServer, TestConfig, TestEmulator, Worker};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

const JOBS: usize = 3_000;

fn sharded_config(redis: &RedisServer, emulator: &TestEmulator) -> TestConfig {
    let url = emulator.url();
    // The body continues the [redis] section the harness writes first.
    let body = format!(
        "shards = 4\n\n[worker]\nconcurrency = 16\nlease = \"2s\"\n\n[accounts.cc]\nprovider = \"cometchat\"\n\
         base_url = \"{url}\"\napi_key = \"k\"\nrate_limit = \"100000/s\"\n\n[accounts.cc2]\nprovider = \"cometchat\"\n\
         base_url = \"{url}\"\napi_key = \"k\"\nrate_limit = \"100000/s\"\n"
    );
    TestConfig::new(&redis.url(), &body)
}

/// Every terminal record of every shard's audit stream, through `deleteq audit export` (which merges them).
fn exported(config: &TestConfig) -> Vec<HashMap<String, Value>> {
    let out = deleteq(&config.path, &["audit", "export"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<HashMap<String, Value>>(l).expect("json line"))
        .filter(|r| !matches!(r["outcome"].as_str(), Some("retry_scheduled" | "replayed")))
        .collect()
}

#[test]
fn two_workers_over_four_shards_survive_a_sigkill_with_one_record_per_message() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::from_millis(2) });
    emulator.state.inject(Fault::new("cometchat", None, "denied", vec![403]));
    let config = sharded_config(&redis, &emulator);
    let mut lines: Vec<String> = (0..JOBS)
        .map(|i| format!(r#"{{"account":"{}","message":"m{i}"}}"#, if i % 2 == 0 { "cc" } else { "cc2" }))
        .collect();
    lines.push(r#"{"account":"cc","message":"denied"}"#.into());
    let file = config.jobs_file("jobs.jsonl", &lines);
    let out = deleteq(&config.path, &["campaign", "submit", file.to_str().expect("path"), "--json"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let campaign: Value = serde_json::from_slice(&out.stdout).expect("campaign");
    let id = campaign["id"].as_str().expect("id").to_string();
    for shard in 0..4 {
        let n: u64 = query(&redis.url(), redis::cmd("HLEN").arg(format!("{{deleteq:{shard}}}:jobs")));
        assert!(n > 300, "shard {shard} holds {n} jobs: they should spread");
    }

    let mut first = Worker::start(&config.path, config.dir.path().join("first.log"), "info");
    let second = Worker::start(&config.path, config.dir.path().join("second.log"), "info");
    assert!(wait_until(Duration::from_secs(30), || emulator.state.total_deletions() >= 500), "{}", first.log());
    first.signal("KILL");
    first.wait(Duration::from_secs(5)).expect("killed");
    let campaign_status = |config: &TestConfig| -> Value {
        let out = deleteq(&config.path, &["campaign", "status", &id, "--json"], None);
        serde_json::from_slice(&out.stdout).expect("status")
    };
    assert!(wait_until(Duration::from_secs(60), || campaign_status(&config)["pending"] == 0), "{}", second.log());

    let records = exported(&config);
    let mut per_message: HashMap<String, usize> = HashMap::new();
    for r in &records {
        *per_message.entry(r["message"].as_str().unwrap_or_default().to_string()).or_default() += 1;
    }
    assert_eq!(per_message.len(), JOBS + 1, "every message has a record");
    assert!(per_message.values().all(|n| *n == 1), "a message has two terminal records");
    let done = campaign_status(&config);
    assert_eq!(done["total"].as_u64(), Some(JOBS as u64 + 1), "{done}");
    assert_eq!(done["failed"].as_u64(), Some(1), "{done}");
    let succeeded = done["deleted"].as_u64().unwrap_or(0) + done["already_deleted"].as_u64().unwrap_or(0);
    assert_eq!(succeeded, JOBS as u64, "{done}");
    let out = deleteq(&config.path, &["status", "--json"], None);
    let status: Value = serde_json::from_slice(&out.stdout).expect("status");
    assert_eq!(status["jobs"].as_u64(), Some(0), "{status}");
    assert_eq!(status["dead"].as_u64(), Some(1), "{status}");
    assert_eq!(status["accounts"]["cc"]["dead"].as_u64(), Some(1), "{status}");
    assert_eq!(status["accounts"]["cc2"]["pending"].as_u64(), Some(0), "{status}");

    // The dead letter is found in its shard and replayed there.
    let out = deleteq(&config.path, &["dlq", "list", "--json"], None);
    let letters: Value = serde_json::from_slice(&out.stdout).expect("dlq list");
    assert_eq!(letters.as_array().map(Vec::len), Some(1), "{letters}");
    let out = deleteq(&config.path, &["dlq", "replay", "--all"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let replayed = || campaign_status(&config)["failed"] == 0 && campaign_status(&config)["pending"] == 0;
    assert!(wait_until(Duration::from_secs(30), replayed), "{}", second.log());
}
