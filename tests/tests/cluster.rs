//! deleteq on a Redis Cluster (three masters with a replica each, `shards = 6`): two workers over 20,000 jobs of
//! several accounts, one worker SIGKILLed mid-run, then a master SIGKILLed mid-run and its replica promoted. Every
//! message ends with exactly one terminal record, read back through `deleteq audit export` (which merges the
//! shards' streams across the cluster's nodes).

use deleteq_emulator::EmulatorConfig;
use deleteq_tests::{deleteq, wait_until, RedisCluster, TestEmulator, Worker};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

const JOBS: usize = 20_000;

fn config(cluster: &RedisCluster, emulator: &TestEmulator) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("deleteq.toml");
    let url = emulator.url();
    let text = format!(
        "[redis]\nurl = {}\ncluster = true\nshards = 6\nprefix = \"deleteq\"\n\n[worker]\nconcurrency = 32\n\
         lease = \"2s\"\n\n[accounts.cc]\nprovider = \"cometchat\"\nbase_url = \"{url}\"\napi_key = \"k\"\n\
         rate_limit = \"100000/s\"\n\n[accounts.cc2]\nprovider = \"cometchat\"\nbase_url = \"{url}\"\napi_key = \"k\"\n\
         rate_limit = \"100000/s\"\n\n[accounts.nop]\nprovider = \"noop\"\n",
        cluster.seed_list()
    );
    std::fs::write(&path, text).expect("write config");
    (dir, path)
}

/// Terminal records per message, from every shard.
fn terminal_per_message(path: &std::path::Path) -> HashMap<String, Vec<String>> {
    let out = deleteq(path, &["audit", "export"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut per: HashMap<String, Vec<String>> = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let r: Value = serde_json::from_str(line).expect("json line");
        let outcome = r["outcome"].as_str().unwrap_or_default().to_string();
        if outcome != "retry_scheduled" && outcome != "replayed" {
            per.entry(r["message"].as_str().unwrap_or_default().to_string()).or_default().push(outcome);
        }
    }
    per
}

#[test]
fn a_cluster_survives_a_killed_worker_and_a_master_failover_with_one_record_per_message() {
    let mut cluster = RedisCluster::start(3, 1);
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::from_millis(3) });
    let (dir, path) = config(&cluster, &emulator);
    let accounts = ["cc", "cc2", "nop"];
    let lines: Vec<String> =
        (0..JOBS).map(|i| format!(r#"{{"account":"{}","message":"m{i}"}}"#, accounts[i % accounts.len()])).collect();
    let file = dir.path().join("jobs.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").expect("write jobs");
    let out = deleteq(&path, &["enqueue", "--file", file.to_str().expect("path")], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Let replication catch up before anything is killed: what the producer was told is stored must survive.
    std::thread::sleep(Duration::from_secs(1));

    let progress = || {
        let out = deleteq(&path, &["status", "--json"], None);
        serde_json::from_slice::<Value>(&out.stdout).ok().and_then(|s| s["audit_records"].as_u64()).unwrap_or(0)
    };
    let mut first = Worker::start(&path, dir.path().join("first.log"), "info");
    let second = Worker::start(&path, dir.path().join("second.log"), "info");
    assert!(wait_until(Duration::from_secs(60), || progress() >= 3_000), "{}", first.log());
    first.signal("KILL");
    first.wait(Duration::from_secs(5)).expect("killed");

    assert!(wait_until(Duration::from_secs(60), || progress() >= 8_000), "{}", second.log());
    let victim = cluster.master_for_key("{deleteq:0}:ready");
    cluster.kill_master(victim);
    assert!(cluster.wait_for_failover(Duration::from_secs(20)), "the replica was not promoted");
    let third = Worker::start(&path, dir.path().join("third.log"), "info");

    let finished = || {
        let out = deleteq(&path, &["status", "--json"], None);
        serde_json::from_slice::<Value>(&out.stdout).ok().is_some_and(|s| s["jobs"] == 0)
    };
    assert!(wait_until(Duration::from_secs(120), finished), "{}\n{}", second.log(), third.log());
    let per = terminal_per_message(&path);
    let missing: Vec<String> = (0..JOBS).map(|i| format!("m{i}")).filter(|m| !per.contains_key(m)).collect();
    assert!(
        missing.is_empty(),
        "{} messages have no terminal record, e.g. {:?}",
        missing.len(),
        &missing[..5.min(missing.len())]
    );
    let doubled: Vec<(&String, &Vec<String>)> = per.iter().filter(|(_, o)| o.len() > 1).collect();
    assert!(doubled.is_empty(), "{} messages have two terminal records, e.g. {:?}", doubled.len(), doubled.first());
    assert!(per.values().flatten().all(|o| o == "deleted" || o == "already_deleted"), "every outcome a success");
}
