//! Lanes (DESIGN §6, issue 13): an app's `high` unsend is called within moments while a campaign saturates its
//! account, another account is not held back, a second campaign shares the account's rate from the moment it is
//! submitted, `low` is never starved by a stream of `high` jobs, and every message still ends in one terminal
//! record.

use deleteq_core::{Config, Job, Priority};
use deleteq_emulator::EmulatorConfig;
use deleteq_producer::Producer;
use deleteq_tests::inspect::terminal;
use deleteq_tests::{deleteq, wait_until, RedisServer, TestConfig, TestEmulator, Worker};
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn config(redis: &RedisServer, emulator: &TestEmulator, rate: &str) -> TestConfig {
    TestConfig::new(
        &redis.url(),
        &format!(
            r#"
[accounts.cc]
provider = "cometchat"
base_url = "{url}"
api_key = "k"
rate_limit = "{rate}"

[accounts.other]
provider = "room_im"
base_url = "{url}"
client_key = "c"
token = "t"
rate_limit = "200/s"
"#,
            url = emulator.url()
        ),
    )
}

fn producer(config: &TestConfig, rt: &tokio::runtime::Runtime) -> Producer {
    let text = std::fs::read_to_string(&config.path).expect("config");
    let config = Config::from_toml(&text, |_| None).expect("config");
    rt.block_on(Producer::connect(&config)).expect("producer")
}

fn job(account: &str, message: &str, priority: Priority) -> Job {
    let conversation = if account == "other" { r#","conversation":"room""# } else { "" };
    let text = format!(r#"{{"account":"{account}","message":"{message}"{conversation}}}"#);
    let mut job = Job::from_json(&text).expect("job");
    job.priority = priority;
    job
}

/// Submits a campaign of `n` messages with ids `<prefix><i>` through the CLI (its jobs are `low`); returns its id.
fn submit(config: &TestConfig, prefix: &str, n: usize) -> String {
    let lines: Vec<String> = (0..n).map(|i| format!(r#"{{"account":"cc","message":"{prefix}{i}"}}"#)).collect();
    let file = config.jobs_file(&format!("{prefix}.jsonl"), &lines);
    let out = deleteq(&config.path, &["campaign", "submit", file.to_str().expect("path"), "--json"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).expect("campaign json");
    info["id"].as_str().expect("campaign id").to_string()
}

/// When each message was called at the emulator (ms since the epoch), by message id (the last path segment of
/// CometChat's `/v3/messages/<id>` and IMKIT's `/rooms/<room>/messages/<id>`).
fn calls(emulator: &TestEmulator) -> HashMap<String, u64> {
    let mut at = HashMap::new();
    for r in emulator.state.requests() {
        if let Some(id) = r.path.rsplit('/').next() {
            at.entry(id.to_string()).or_insert(r.at_ms);
        }
    }
    at
}

fn now_ms() -> u64 {
    deleteq_core::now_ms()
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

#[test]
fn an_unsend_is_called_at_once_behind_a_campaign_and_a_second_campaign_gets_its_share() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, ..EmulatorConfig::default() });
    let config = config(&redis, &emulator, "200/s");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let producer = producer(&config, &rt);
    let first = submit(&config, "a", 6_000);
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(20), || !emulator.state.requests().is_empty()), "{}", worker.log());
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(3));

    // Ten unsends on the saturated account, one every half second; one job of another account; and, a second
    // in, a second campaign on the same account.
    let mut asked: Vec<(String, u64)> = Vec::new();
    let mut other_asked = 0;
    let mut second = (String::new(), 0);
    for i in 0..10 {
        let id = format!("u{i}");
        asked.push((id.clone(), now_ms()));
        rt.block_on(producer.enqueue(job("cc", &id, Priority::High))).expect("enqueue");
        if i == 1 {
            other_asked = now_ms();
            rt.block_on(producer.enqueue(job("other", "o1", Priority::Normal))).expect("enqueue");
        }
        if i == 2 {
            let campaign = submit(&config, "b", 2_000);
            second = (campaign, now_ms());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(2));
    let at = calls(&emulator);
    let waits: Vec<u64> = asked.iter().map(|(id, t)| at.get(id).map_or(u64::MAX, |c| c.saturating_sub(*t))).collect();
    eprintln!("unsend waits (ms): {waits:?}; campaign running since {:?}", started.elapsed());
    assert!(waits.iter().all(|w| *w <= 1_500), "every unsend within 1.5 s: {waits:?}\n{}", worker.log());
    assert!(median(waits.clone()) <= 500, "median within 0.5 s: {waits:?}");
    let other = at.get("o1").map_or(u64::MAX, |c| c.saturating_sub(other_asked));
    assert!(other <= 500, "another account's job waited {other} ms");

    // The second campaign's share of the account's calls in the two seconds after its submission.
    let (_, submitted) = second;
    let window: Vec<&String> = at
        .iter()
        .filter(|(id, c)| !id.starts_with('o') && **c >= submitted && **c < submitted + 2_000)
        .map(|(id, _)| id)
        .collect();
    let of_second = window.iter().filter(|id| id.starts_with('b')).count();
    eprintln!("in the 2 s after the second campaign: {of_second} of {} calls", window.len());
    assert!(window.len() >= 300, "the account ran at its rate: {} calls in 2 s", window.len());
    assert!(of_second * 10 >= window.len() * 4, "the second campaign got {of_second} of {} calls", window.len());

    // Cancel what is left; every message ends in exactly one terminal record.
    for campaign in [&first, &second.0] {
        let out = deleteq(&config.path, &["campaign", "cancel", campaign], None);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let total = 6_000 + 2_000 + 10 + 1;
    assert!(
        wait_until(Duration::from_secs(60), || terminal(&redis.url()).len() >= total),
        "{} of {total} terminal\n{}",
        terminal(&redis.url()).len(),
        worker.log()
    );
    let records = terminal(&redis.url());
    let mut per_message: HashMap<String, usize> = HashMap::new();
    for r in &records {
        *per_message.entry(r.get("message").cloned().unwrap_or_default()).or_default() += 1;
    }
    assert_eq!(per_message.len(), total, "every message has a record");
    assert!(per_message.values().all(|n| *n == 1), "one terminal record per message");
    let unsends = records.iter().filter(|r| r.get("message").is_some_and(|m| m.starts_with('u')));
    assert!(
        unsends.clone().count() == 10
            && unsends.into_iter().all(|r| r.get("outcome").map(String::as_str) == Some("deleted"))
    );
    // Nothing was called twice.
    let requests = emulator.state.requests();
    assert_eq!(requests.len(), calls(&emulator).len(), "no message was called twice");
}

#[test]
fn low_still_gets_its_share_under_a_stream_of_high_jobs_at_the_full_rate() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, ..EmulatorConfig::default() });
    let config = config(&redis, &emulator, "100/s");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let producer = producer(&config, &rt);
    submit(&config, "l", 2_000);
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(20), || !emulator.state.requests().is_empty()), "{}", worker.log());

    // `high` jobs at the account's full rate (100/s, ten every 100 ms) for ten seconds.
    let begin = now_ms();
    for batch in 0..100 {
        let jobs: Vec<Job> = (0..10).map(|i| job("cc", &format!("h{batch}-{i}"), Priority::High)).collect();
        rt.block_on(producer.enqueue_many(&jobs)).expect("enqueue");
        let due = Duration::from_millis(100 * (batch + 1));
        let elapsed = Duration::from_millis(now_ms() - begin);
        std::thread::sleep(due.saturating_sub(elapsed));
    }
    let end = now_ms();
    let at = calls(&emulator);
    // From a second in (the stream is established) to its end.
    let window: Vec<&String> = at.iter().filter(|(_, c)| **c >= begin + 1_000 && **c < end).map(|(id, _)| id).collect();
    let low = window.iter().filter(|id| id.starts_with('l')).count();
    eprintln!("low got {low} of {} calls under the high stream", window.len());
    assert!(window.len() >= 700, "the account ran at its rate: {} calls", window.len());
    assert!(low * 10 >= window.len(), "low got {low} of {} calls: starved\n{}", window.len(), worker.log());
    assert!(low * 10 <= window.len() * 3, "high went first: low got {low} of {}", window.len());
}
