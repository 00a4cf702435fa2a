//! Rate limits hold across workers: two workers, one account at 20/s, 200 jobs: never more than 20 (+ burst) calls in
//! any one-second window at the provider, and another account's jobs are not held back. And an account configured
//! faster than its provider plan adapts to the budget the provider reports, before any 429.

use deleteq_emulator::EmulatorConfig;
use deleteq_tests::inspect::{audit_len, terminal};
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
    // Calls go at their reserved slots, 50 ms apart (none is reserved more than `rate_wait` ahead); a call that
    // wakes late on a busy machine bunches with the next, so a one-second stretch may hold one or two more than
    // 20 + 1. Over the whole run the rate holds exactly (the span below).
    const LATE_CALLS: usize = 2;
    for (i, start) in slow.iter().enumerate() {
        let in_window = slow[i..].iter().take_while(|t| **t < start + 1000).count();
        assert!(in_window <= 21 + LATE_CALLS, "{in_window} calls in the second from {start}");
    }
    let span = slow.last().copied().unwrap_or(0) - slow.first().copied().unwrap_or(0);
    assert!(span >= 9_000, "200 calls at 20/s took only {span} ms");
    // The fast account finished long before the slow one: its jobs were never stuck behind the limit.
    let fast_done = fast.iter().max().copied().unwrap_or(0);
    assert!(fast_done < slow[100], "fast account's last call at {fast_done}, slow account's 100th at {}", slow[100]);
}

/// The most calls in any one-second window starting at a call, over `times` (sorted, ms).
fn busiest_second(times: &[u64]) -> usize {
    (0..times.len()).map(|i| times[i..].iter().take_while(|t| **t < times[i] + 1000).count()).max().unwrap_or(0)
}

/// (It was flaky while jobs deferred to rate-limit slots held them seconds ahead and came back at promotion ticks;
/// with the short horizon of lanes no job holds a slot further than `rate_wait` ahead.)
#[test]
fn an_account_configured_faster_than_its_plan_follows_the_providers_budget_across_workers() {
    const PLAN: usize = 50;
    const JOBS: usize = 300;
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, ..EmulatorConfig::default() })
        .with_plan("cometchat", PLAN as u32);
    let config = TestConfig::new(
        &redis.url(),
        &format!(
            r#"
[worker]
concurrency = 16
lease = "10s"

[accounts.cc]
provider = "cometchat"
base_url = "{url}"
api_key = "k"
rate_limit = "100/s"
"#,
            url = emulator.url()
        ),
    );
    let lines: Vec<String> = (0..JOBS).map(|i| format!(r#"{{"account":"cc","message":"m{i}"}}"#)).collect();
    let file = config.jobs_file("jobs.jsonl", &lines);
    let out = deleteq(&config.path, &["enqueue", "--file", &file.to_string_lossy()], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let a = Worker::start(&config.path, config.dir.path().join("a.log"), "info");
    let b = Worker::start(&config.path, config.dir.path().join("b.log"), "info");
    let done = wait_until(Duration::from_secs(60), || terminal(&redis.url()).len() >= JOBS);
    assert!(done, "{}\n{}", a.log(), b.log());

    // Every message ends with exactly one terminal record, and it is `deleted`.
    let records = terminal(&redis.url());
    let mut messages: Vec<&str> = records.iter().map(|r| r["message"].as_str()).collect();
    messages.sort_unstable();
    messages.dedup();
    assert_eq!((records.len(), messages.len()), (JOBS, JOBS), "one terminal record per message");
    assert!(records.iter().all(|r| r["outcome"] == "deleted"), "{records:?}");

    // The call log. The provider's windows are wall-clock seconds: after the first second, no 429 and never more
    // than the plan in one. Any one-second stretch (sliding) may hold a few more: a window's budget may be spent
    // early in it, and the next one's late in the next.
    let mut calls: Vec<(u64, u16)> = emulator
        .state
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v3/messages/"))
        .map(|r| (r.at_ms, r.status))
        .collect();
    calls.sort_unstable();
    let start = calls.first().map(|c| c.0).unwrap_or(0);
    let (first, after): (Vec<&(u64, u16)>, Vec<_>) = calls.iter().partition(|c| c.0 < start + 1000);
    let refused = |list: &[&(u64, u16)]| list.iter().filter(|c| c.1 == 429).count();
    let mut per_window = std::collections::BTreeMap::<u64, usize>::new();
    for call in &after {
        *per_window.entry(call.0 / 1000).or_default() += 1;
    }
    let fullest = per_window.values().copied().max().unwrap_or(0);
    let times: Vec<u64> = after.iter().map(|c| c.0).collect();
    let busiest = busiest_second(&times);
    let span = calls.last().map(|c| c.0).unwrap_or(0) - start;
    eprintln!(
        "{} calls over {span} ms; first second: {} calls, {} 429s; after: {} 429s, fullest provider window {fullest}, \
         busiest sliding second {busiest}; per window {per_window:?}",
        calls.len(),
        first.len(),
        refused(&first),
        refused(&after)
    );
    assert_eq!(refused(&after), 0, "429s after the first second");
    assert!(fullest <= PLAN, "{fullest} calls in one provider window");
    assert!(busiest <= PLAN + PLAN / 5, "{busiest} calls in one second after the first");

    // status shows the provider's budget next to the configured rate.
    let out = deleteq(&config.path, &["status", "--json"], None);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status json");
    let cc = &status["accounts"]["cc"];
    assert_eq!((&cc["configured_rate_per_s"], &cc["provider_budget"]["limit"]), (&100.0.into(), &PLAN.into()), "{cc}");
    assert!(cc["provider_budget"]["observed_at"].as_u64().is_some_and(|t| t >= start), "{cc}");
}
