//! Leases are Redis's, and have owners: a worker whose clock is wrong steals nothing, a stopping worker keeps the
//! leases of the calls it still runs, a job that kills its worker takes only itself to `dead`, and a killed
//! worker's calls are picked up within a lease and a second.

use deleteq_emulator::{EmulatorConfig, Fault};
use deleteq_tests::inspect::{query, terminal};
use deleteq_tests::{wait_until, RedisServer, TestConfig, TestEmulator, Worker};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// A config with one CometChat account `cc` limited to `rate`, and `worker` as its `[worker]` section.
fn config(redis: &RedisServer, emulator: &TestEmulator, worker: &str, rate: &str) -> TestConfig {
    let body = format!(
        "[worker]\n{worker}\n\n[accounts.cc]\nprovider = \"cometchat\"\nbase_url = \"{}\"\napi_key = \"k\"\nrate_limit = \"{rate}\"\n",
        emulator.url()
    );
    TestConfig::new(&redis.url(), &body)
}

/// The multithreaded libfaketime (Debian package `libfaketime`, installed with `faketime` by `make deps`).
fn libfaketime() -> String {
    let found = std::fs::read_dir("/usr/lib").into_iter().flatten().flatten().find_map(|dir| {
        let lib = dir.path().join("faketime/libfaketimeMT.so.1");
        lib.exists().then(|| lib.to_string_lossy().into_owned())
    });
    found.expect("libfaketime is missing: `make deps` installs it (Debian package faketime)")
}

/// Terminal records per message.
fn records_per_message(redis: &RedisServer) -> HashMap<String, Vec<String>> {
    let mut per: HashMap<String, Vec<String>> = HashMap::new();
    for r in terminal(&redis.url()) {
        per.entry(r["message"].clone()).or_default().push(r["outcome"].clone());
    }
    per
}

#[test]
fn a_worker_whose_clock_is_40_s_ahead_beside_a_correct_one_steals_no_lease() {
    let libfaketime = libfaketime();
    const JOBS: usize = 1_500;
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::from_millis(20) });
    // A shared limit the two workers together would exceed without it (the issue measured 200 calls in one
    // second through a 100/s limit with a skewed worker).
    const RATE: usize = 300;
    let config = config(&redis, &emulator, "concurrency = 16\nlease = \"3s\"", &format!("{RATE}/s"));
    config.enqueue_messages(JOBS);
    // libfaketime preloaded into the worker itself (the `faketime` command would stand between the test's signals
    // and the worker): its wall clock runs 40 s ahead, its monotonic clock (tokio's timers) is left alone.
    let env = [("LD_PRELOAD", libfaketime.as_str()), ("FAKETIME", "+40s"), ("FAKETIME_DONT_FAKE_MONOTONIC", "1")];
    let mut ahead = Worker::start_with_env(&config.path, config.dir.path().join("ahead.log"), "info", &env);
    let mut right = Worker::start(&config.path, config.dir.path().join("right.log"), "info");
    let finished = wait_until(Duration::from_secs(120), || terminal(&redis.url()).len() >= JOBS);
    assert!(finished, "ahead: {}\nright: {}", ahead.log(), right.log());
    std::thread::sleep(Duration::from_millis(500));
    for worker in [&mut ahead, &mut right] {
        worker.signal("TERM");
        assert!(worker.wait(Duration::from_secs(10)).is_some_and(|s| s.success()), "{}", worker.log());
    }
    // The shifted clock was in use (its last log line is stamped about 40 s ahead) and both workers did work.
    let log = ahead.log();
    let last = log.lines().rfind(|l| l.contains("Worker stopped")).unwrap_or_default();
    let stamp = last.split_whitespace().next().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    let skew = stamp.map(|t| t.timestamp_millis() - chrono::Utc::now().timestamp_millis());
    assert!(skew.is_some_and(|ms| ms > 30_000), "skew {skew:?}: {log}");
    let acked = |log: &str| -> u64 {
        let line = log.lines().find(|l| l.contains("Worker stopped")).unwrap_or_default();
        line.split_whitespace().find_map(|w| w.strip_prefix("acked=")).and_then(|n| n.parse().ok()).unwrap_or(0)
    };
    let (by_ahead, by_right) = (acked(&log), acked(&right.log()));
    assert!(by_ahead > 100 && by_right > 100, "both workers finished jobs: {by_ahead} and {by_right}");
    eprintln!("ahead finished {by_ahead}, right {by_right}, {} calls", emulator.state.total_calls());

    let per = records_per_message(&redis);
    assert_eq!(per.len(), JOBS, "every message has a record");
    assert!(per.values().all(|outcomes| outcomes.len() == 1), "a message has two terminal records");
    let not_deleted: Vec<_> = per.iter().filter(|(_, o)| o[0] != "deleted").collect();
    assert!(not_deleted.is_empty(), "every message ends `deleted`, none `already_deleted` or `dead`: {not_deleted:?}");
    for i in 0..JOBS {
        assert_eq!(emulator.state.deletions("cometchat", None, &format!("m{i}")), 1, "m{i} deleted once");
    }
    let calls = emulator.state.total_calls() as usize;
    assert!(calls <= JOBS + JOBS / 100, "{calls} calls for {JOBS} messages: more than 1% extra");
    let reclaims: usize = query(&redis.url(), redis::cmd("EXISTS").arg("{deleteq}:reclaims"));
    assert_eq!(reclaims, 0, "no lease expired under a running worker");
    // The shared limit held across both clocks: no one-second stretch saw more than the rate, but for calls that
    // arrived a little late bunching with the next ones. A slot may be used up to 50 ms late and a request may take
    // some ms more on a loaded machine, so one second of arrivals holds at most 1,050 ms of slots plus that jitter
    // (20 ms allowed): 7% over the rate at most. The skew bug let twice the rate through.
    let mut times: Vec<u64> = emulator.state.requests().iter().map(|r| r.at_ms).collect();
    times.sort_unstable();
    let busiest = (0..times.len()).map(|i| times[i..].iter().take_while(|t| **t < times[i] + 1000).count()).max();
    eprintln!("busiest second: {busiest:?} calls at {RATE}/s");
    let most = RATE * (1000 + 50 + 20) / 1000;
    assert!(busiest.is_some_and(|n| n <= most), "{busiest:?} calls in one second at {RATE}/s (at most {most})");
}

#[test]
fn sigterm_with_calls_twice_as_long_as_the_lease_calls_no_message_twice() {
    const JOBS: usize = 150;
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::from_secs(2) });
    let worker = "concurrency = 8\nlease = \"1s\"\nshutdown_grace = \"5s\"";
    let config = config(&redis, &emulator, worker, "100000/s");
    config.enqueue_messages(JOBS);
    let mut stopping = Worker::start(&config.path, config.dir.path().join("stopping.log"), "info");
    let other = Worker::start(&config.path, config.dir.path().join("other.log"), "info");
    // Both workers have calls running (a call takes 2 s, the lease is 1 s).
    assert!(wait_until(Duration::from_secs(20), || emulator.state.total_calls() >= 16), "{}", stopping.log());
    let asked = Instant::now();
    stopping.signal("TERM");
    let status = stopping.wait(Duration::from_secs(15)).expect("the stopped worker exits");
    let took = asked.elapsed();
    assert!(status.success(), "{status:?}: {}", stopping.log());
    assert!(took < Duration::from_secs(5 + 1), "exits within the grace (5 s): took {took:?}");
    assert!(wait_until(Duration::from_secs(120), || terminal(&redis.url()).len() >= JOBS), "{}", other.log());
    std::thread::sleep(Duration::from_millis(500));

    let twice: Vec<String> =
        (0..JOBS).map(|i| format!("m{i}")).filter(|m| emulator.state.calls("cometchat", None, m) != 1).collect();
    assert!(twice.is_empty(), "no message is called twice: {twice:?}\n{}", stopping.log());
    let per = records_per_message(&redis);
    assert_eq!(per.len(), JOBS);
    assert!(per.values().all(|o| o == &["deleted".to_string()]), "{per:?}");
    let log = stopping.log();
    assert!(log.contains("Released the jobs whose calls had not started"), "{log}");
}

#[test]
fn a_job_that_kills_its_worker_ends_dead_after_max_reclaims_and_its_batch_mates_end_deleted() {
    const JOBS: usize = 12;
    const MAX_RECLAIMS: u64 = 3;
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::from_millis(300) });
    // m0's call never returns within the test: its worker is killed in the middle of it, every time.
    emulator.state.inject(Fault::new("cometchat", None, "m0", Vec::new()).latency_ms(600_000));
    // One call a second, waited for in the slot: the jobs leased with m0 sit in their slots, not started, when
    // the worker dies.
    let worker = format!("concurrency = 4\nlease = \"1s\"\nmax_reclaims = {MAX_RECLAIMS}\nrate_wait = \"10s\"");
    let config = config(&redis, &emulator, &worker, "1/s");
    config.enqueue_messages(JOBS);
    let mut kills = 0;
    let (mut started, mut waiting) = (HashSet::new(), HashSet::new());
    for round in 1..=MAX_RECLAIMS {
        let mut worker = Worker::start(&config.path, config.dir.path().join(format!("w{round}.log")), "info");
        let held = || emulator.state.calls("cometchat", None, "m0") >= round;
        assert!(wait_until(Duration::from_secs(30), held), "{}", worker.log());
        std::thread::sleep(Duration::from_millis(300));
        worker.signal("KILL");
        worker.wait(Duration::from_secs(5)).expect("killed");
        kills += 1;
        // What the dead worker held: jobs whose call had started (holder token ending in '*') and jobs leased but
        // not started (in its buffer, or waiting in a slot for their rate-limit slot or m0's probe answer).
        let holders: HashMap<String, String> =
            query(&redis.url(), redis::cmd("HGETALL").arg("{deleteq}:leased:holders"));
        for (job, holder) in holders {
            if holder.ends_with('*') {
                started.insert(job);
            } else {
                waiting.insert(job);
            }
        }
    }
    let last = Worker::start(&config.path, config.dir.path().join("last.log"), "info");
    assert!(wait_until(Duration::from_secs(90), || terminal(&redis.url()).len() >= JOBS), "{}", last.log());
    std::thread::sleep(Duration::from_millis(300));

    let per = records_per_message(&redis);
    assert_eq!(per.len(), JOBS);
    assert_eq!(per["m0"], ["dead"], "the poison job is stopped");
    assert_eq!(emulator.state.calls("cometchat", None, "m0"), kills, "one call per kill, none after");
    // Every other job ends `deleted`, the ones leased with m0 but not started among them; a job whose call was in
    // flight beside m0 at a kill ran again and found its message gone (`already_deleted`), as at-least-once says.
    let mut beside = 0;
    for (m, outcomes) in per.iter().filter(|(m, _)| m.as_str() != "m0") {
        let calls = emulator.state.calls("cometchat", None, m);
        assert_eq!(emulator.state.deletions("cometchat", None, m), 1, "{m} deleted once");
        let expected = if calls == 1 { "deleted" } else { "already_deleted" };
        assert_eq!(outcomes, &[expected.to_string()], "{m}: {calls} calls");
        beside += usize::from(calls > 1);
    }
    assert!(beside <= 4 * kills as usize, "only calls in flight at a kill ran twice: {beside}");
    // The jobs leased beside m0 that never started at any kill were not counted: they end `deleted`.
    let never_started: Vec<&String> = waiting.difference(&started).collect();
    assert!(!never_started.is_empty(), "no job was leased but not started at a kill; nothing was tested");
    let records = terminal(&redis.url());
    for job in &never_started {
        let outcome = records.iter().find(|r| &&r["job"] == job).map(|r| r["outcome"].as_str());
        assert_eq!(outcome, Some("deleted"), "job {job}, leased but not started at a kill");
    }
    eprintln!("{kills} kills; {} jobs leased but never started at a kill, all deleted", never_started.len());
    let letters: u64 = query(&redis.url(), redis::cmd("ZCARD").arg("{deleteq}:dead"));
    assert_eq!(letters, 1);
    let left: u64 = query(&redis.url(), redis::cmd("EXISTS").arg("{deleteq}:reclaims").arg("{deleteq}:leased:holders"));
    assert_eq!(left, 0, "reclaim counts and lease holders go with their jobs");
}

#[test]
fn a_killed_workers_calls_are_recorded_within_the_lease_and_a_second() {
    const JOBS: usize = 1_000;
    let lease = Duration::from_secs(3);
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::from_millis(100) });
    let config = config(&redis, &emulator, "concurrency = 8\nlease = \"3s\"", "100000/s");
    config.enqueue_messages(JOBS);
    let mut killed = Worker::start(&config.path, config.dir.path().join("killed.log"), "info");
    let live = Worker::start(&config.path, config.dir.path().join("live.log"), "info");
    assert!(wait_until(Duration::from_secs(30), || terminal(&redis.url()).len() >= 50), "{}", killed.log());
    killed.signal("KILL");
    let kill_ms = deleteq_core::now_ms();
    killed.wait(Duration::from_secs(5)).expect("killed");
    // The killed worker's calls: those the provider saw that had no record at the kill.
    let recorded_at_kill: std::collections::HashSet<String> =
        terminal(&redis.url()).into_iter().map(|r| r["message"].clone()).collect();
    assert!(wait_until(Duration::from_secs(60), || terminal(&redis.url()).len() >= JOBS), "{}", live.log());
    let records = terminal(&redis.url());
    let at = |m: &str| {
        records.iter().find(|r| r["message"] == m).and_then(|r| chrono::DateTime::parse_from_rfc3339(&r["at"]).ok())
    };
    let orphans: Vec<String> = (0..JOBS)
        .map(|i| format!("m{i}"))
        .filter(|m| !recorded_at_kill.contains(m))
        .filter(|m| emulator.state.calls("cometchat", None, m) >= 2)
        .collect();
    assert!(!orphans.is_empty(), "the killed worker had calls in flight; nothing was tested");
    let slowest =
        orphans.iter().filter_map(|m| at(m).map(|t| t.timestamp_millis() as u64 - kill_ms)).max().unwrap_or(u64::MAX);
    // The bound the issue asks for (the lease and a second), with room for the re-run call itself (100 ms) and a
    // slow machine.
    let bound = lease.as_millis() as u64 + 1_000 + 100 + 400;
    assert!(slowest <= bound, "recorded {slowest} ms after the kill (bound {bound} ms), {} orphans", orphans.len());
    eprintln!("{} orphaned calls recorded at most {slowest} ms after the kill", orphans.len());
}
