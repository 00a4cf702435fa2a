//! A provider outage (every call 503) opens the account's circuit after a burst of failures, so the jobs wait
//! instead of each burning its retry budget; other accounts are not affected.

use deleteq_emulator::{EmulatorConfig, Fault};
use deleteq_tests::{deleteq, wait_until, RedisServer, TestConfig, TestEmulator, Worker};
use std::time::Duration;

#[test]
fn an_outage_opens_the_circuit_instead_of_burning_every_jobs_retries() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, ..EmulatorConfig::default() });
    let ids: Vec<String> = (0..60).map(|i| format!("m{i}")).collect();
    for id in &ids {
        emulator.state.inject(Fault::new("cometchat", None, id, vec![503; 50]));
    }
    let config = TestConfig::new(
        &redis.url(),
        &format!(
            "[worker]\nconcurrency = 8\nlease = \"10s\"\n\n[retry]\nmax_attempts = 8\ninitial_backoff = \"10ms\"\nmax_backoff = \"20ms\"\n\n[accounts.cc]\nprovider = \"cometchat\"\nbase_url = \"{url}\"\napi_key = \"k\"\nrate_limit = \"100000/s\"\n\n[accounts.nop]\nprovider = \"noop\"\n",
            url = emulator.url()
        ),
    );
    let mut lines: Vec<String> = ids.iter().map(|id| format!(r#"{{"account":"cc","message":"{id}"}}"#)).collect();
    lines.extend((0..10).map(|i| format!(r#"{{"account":"nop","message":"n{i}"}}"#)));
    let file = config.jobs_file("jobs.jsonl", &lines);
    assert!(deleteq(&config.path, &["enqueue", "--file", &file.to_string_lossy()], None).status.success());
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    let status = || -> serde_json::Value {
        let out = deleteq(&config.path, &["status", "--json"], None);
        serde_json::from_slice(&out.stdout).expect("status json")
    };
    assert!(
        wait_until(Duration::from_secs(10), || status()["accounts"]["cc"]["circuit_open_ms"].as_u64().unwrap_or(0) > 0),
        "{}",
        worker.log()
    );
    std::thread::sleep(Duration::from_secs(2));
    // Without the circuit, 60 jobs × 8 attempts at 10-20 ms backoff would have made ~480 calls by now.
    let calls = emulator.state.total_requests();
    assert!(calls < 60, "{calls} calls during an outage");
    assert!(worker.log().contains("circuit open"), "{}", worker.log());
    let nop_done = deleteq_tests::inspect::terminal(&redis.url()).iter().filter(|r| r["account"] == "nop").count();
    assert_eq!(nop_done, 10, "another account's jobs are not held back");
    drop(worker);
}
