//! Rate limits hold across workers: two workers, one account at 20/s, 200 jobs: never more than 20 (+ burst) calls in
//! any one-second window at the provider, and another account's jobs are not held back.

use deleteq_emulator::EmulatorConfig;
use deleteq_tests::inspect::audit_len;
use deleteq_tests::{deleteq, wait_until, RedisServer, TestConfig, TestEmulator, Worker};
use std::time::Duration;

#[test]
fn two_workers_share_one_accounts_rate_and_other_accounts_flow_freely() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, ..EmulatorConfig::default() });
    let config = TestConfig::new(
        &redis.url(),
        &format!(
            r#"
[worker]
concurrency = 16
lease = "10s"

[accounts.slow]
provider = "cometchat"
base_url = "{url}"
api_key = "k"
rate_limit = "20/s"

[accounts.fast]
provider = "room_im"
base_url = "{url}"
client_key = "c"
token = "t"
rate_limit = "1000/s"
"#,
            url = emulator.url()
        ),
    );
    let mut lines: Vec<String> = (0..200).map(|i| format!(r#"{{"account":"slow","message":"s{i}"}}"#)).collect();
    lines.extend((0..50).map(|i| format!(r#"{{"account":"fast","conversation":"room","message":"f{i}"}}"#)));
    let file = config.jobs_file("jobs.jsonl", &lines);
    let out = deleteq(&config.path, &["enqueue", "--file", &file.to_string_lossy()], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let a = Worker::start(&config.path, config.dir.path().join("a.log"), "info");
    let b = Worker::start(&config.path, config.dir.path().join("b.log"), "info");
    assert!(wait_until(Duration::from_secs(40), || audit_len(&redis.url()) >= 250), "{}\n{}", a.log(), b.log());

    let requests = emulator.state.requests();
    let slow: Vec<u64> = requests.iter().filter(|r| r.path.starts_with("/v3/messages/")).map(|r| r.at_ms).collect();
    let fast: Vec<u64> = requests.iter().filter(|r| r.path.starts_with("/rooms/")).map(|r| r.at_ms).collect();
    assert_eq!((slow.len(), fast.len()), (200, 50));
    for (i, start) in slow.iter().enumerate() {
        let in_window = slow[i..].iter().take_while(|t| **t < start + 1000).count();
        assert!(in_window <= 21, "{in_window} calls in the second from {start}");
    }
    let span = slow.last().copied().unwrap_or(0) - slow.first().copied().unwrap_or(0);
    assert!(span >= 9_000, "200 calls at 20/s took only {span} ms");
    // The fast account finished long before the slow one: its jobs were never stuck behind the limit.
    let fast_done = fast.iter().max().copied().unwrap_or(0);
    assert!(fast_done < slow[100], "fast account's last call at {fast_done}, slow account's 100th at {}", slow[100]);
}
