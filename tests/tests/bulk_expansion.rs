//! Bulk jobs become child jobs: a SIGKILL while a 10,000-id QuickBlox job is being expanded and run loses and
//! duplicates nothing.

use deleteq_emulator::EmulatorConfig;
use deleteq_tests::inspect::{audit_len, terminal};
use deleteq_tests::{deleteq, wait_until, RedisServer, TestConfig, TestEmulator, Worker};
use std::collections::HashMap;
use std::time::Duration;

#[test]
fn sigkill_during_the_expansion_of_a_10000_id_job_loses_and_duplicates_nothing() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig::default());
    let ids: Vec<String> = (0..10_000).map(|i| format!("qb{i:05}")).collect();
    emulator.state.seed("quickblox", None, &ids);
    // One id per call makes 10,000 children, written in ten steps of 1,000: a kill lands among them.
    let config = TestConfig::new(
        &redis.url(),
        &format!(
            "[worker]\nconcurrency = 32\nlease = \"2s\"\n\n[accounts.qb]\nprovider = \"quickblox\"\nbase_url = \"{}\"\ntoken = \"t\"\nbatch_size = 1\nrate_limit = \"100000/s\"\n",
            emulator.url()
        ),
    );
    let job = serde_json::json!({"account": "qb", "messages": ids, "permanent": true}).to_string();
    let file = config.jobs_file("bulk.jsonl", &[job]);
    let out = deleteq(&config.path, &["enqueue", "--json", "--file", &file.to_string_lossy()], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let parent: Vec<String> = serde_json::from_slice(&out.stdout).expect("ids");

    let mut first = Worker::start(&config.path, config.dir.path().join("first.log"), "info");
    assert!(wait_until(Duration::from_secs(30), || audit_len(&redis.url()) > 0), "{}", first.log());
    first.signal("KILL");
    first.wait(Duration::from_secs(5)).expect("killed");
    let second = Worker::start(&config.path, config.dir.path().join("second.log"), "info");
    assert!(wait_until(Duration::from_secs(90), || audit_len(&redis.url()) >= ids.len()), "{}", second.log());
    std::thread::sleep(Duration::from_millis(500));

    let records = terminal(&redis.url());
    assert_eq!(records.len(), ids.len(), "one terminal record per message");
    let mut per_message: HashMap<&str, usize> = HashMap::new();
    for r in &records {
        *per_message.entry(r["message"].as_str()).or_default() += 1;
        assert_eq!(r["parent"], parent[0], "every record names its bulk job");
        assert!(r["job"].starts_with(&format!("{}:", parent[0])), "children ids derive from the parent");
        assert!(r["outcome"] == "deleted" || r["outcome"] == "already_deleted", "{r:?}");
    }
    assert_eq!(per_message.len(), ids.len());
    for id in &ids {
        assert_eq!(emulator.state.deletions("quickblox", None, id), 1, "{id} deleted exactly once");
    }
    // The parent's id list went with its last expansion step.
    let lists: Vec<String> = deleteq_tests::inspect::query(&redis.url(), redis::cmd("KEYS").arg("*expanding*"));
    assert!(lists.is_empty(), "{lists:?}");
}
