//! SIGTERM drains within the grace period and leaves the rest queued; a Redis crash and restart mid-run (AOF on)
//! is waited out and nothing is lost; SIGTERM during a Redis outage still exits by its deadline.

use deleteq_emulator::EmulatorConfig;
use deleteq_tests::inspect::{query, terminal};
use deleteq_tests::{wait_until, RedisServer, TestConfig, TestEmulator, Worker};
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn setup(redis: &RedisServer, emulator: &TestEmulator, worker: &str, jobs: usize) -> TestConfig {
    let config = TestConfig::cometchat(&redis.url(), emulator.url(), worker);
    config.enqueue_messages(jobs);
    config
}

#[test]
fn sigterm_finishes_in_flight_calls_and_leaves_the_rest_queued() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::from_millis(300) });
    let config = setup(&redis, &emulator, "concurrency = 4\nlease = \"30s\"\nshutdown_grace = \"3s\"", 200);
    let mut worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(15), || terminal(&redis.url()).len() >= 4), "{}", worker.log());
    let asked = Instant::now();
    worker.signal("TERM");
    let status = worker.wait(Duration::from_secs(10)).expect("exits");
    assert!(status.success(), "{status:?}: {}", worker.log());
    assert!(asked.elapsed() < Duration::from_secs(3 + 2), "took {:?}", asked.elapsed());

    let done = terminal(&redis.url()).len();
    let unfinished: usize = query(&redis.url(), redis::cmd("HLEN").arg("{deleteq}:jobs"));
    let leased: usize = query(&redis.url(), redis::cmd("ZCARD").arg("{deleteq}:leased"));
    assert!(done < 200, "everything finished; nothing was tested");
    assert_eq!(done + unfinished, 200, "every job is either finished or still queued");
    assert_eq!(leased, 0, "no job is left leased");
    // Every call that started was finished and recorded: nothing reached the provider without an outcome.
    assert_eq!(emulator.state.total_calls() as usize, done);
}

#[test]
fn a_redis_crash_and_restart_mid_run_is_survived_without_loss() {
    let mut redis = RedisServer::start_with_aof();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::from_millis(5) });
    let jobs = 1_000;
    let config = setup(&redis, &emulator, "concurrency = 8\nlease = \"3s\"\nshutdown_grace = \"5s\"", jobs);
    let mut worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(30), || terminal(&redis.url()).len() >= 150), "{}", worker.log());
    redis.kill();
    std::thread::sleep(Duration::from_secs(2));
    assert!(worker.wait(Duration::ZERO).is_none(), "the worker must survive the outage: {}", worker.log());
    redis.restart();
    assert!(wait_until(Duration::from_secs(60), || terminal(&redis.url()).len() >= jobs), "{}", worker.log());
    std::thread::sleep(Duration::from_millis(500));
    let records = terminal(&redis.url());
    let mut per_message: HashMap<&str, usize> = HashMap::new();
    for r in &records {
        *per_message.entry(r["message"].as_str()).or_default() += 1;
    }
    assert_eq!(per_message.len(), jobs, "no job lost");
    assert!(per_message.values().all(|n| *n == 1), "no message recorded twice");
    assert!(worker.log().contains("retrying"), "the outage was logged: {}", worker.log());
    worker.signal("TERM");
    assert!(worker.wait(Duration::from_secs(10)).is_some_and(|s| s.success()));
}

#[test]
fn calls_outlasting_the_grace_period_are_abandoned_and_their_jobs_handed_back() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::from_secs(8) });
    let config = setup(&redis, &emulator, "concurrency = 4\nlease = \"30s\"\nshutdown_grace = \"1s\"", 20);
    let mut worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(10), || emulator.state.total_calls() >= 4), "{}", worker.log());
    let asked = Instant::now();
    worker.signal("TERM");
    let status = worker.wait(Duration::from_secs(10)).expect("exits");
    assert!(status.success(), "{status:?}: {}", worker.log());
    assert!(asked.elapsed() < Duration::from_secs(5), "took {:?}, calls take 8 s", asked.elapsed());
    let unfinished: usize = query(&redis.url(), redis::cmd("HLEN").arg("{deleteq}:jobs"));
    let leased: usize = query(&redis.url(), redis::cmd("ZCARD").arg("{deleteq}:leased"));
    let ready: usize = query(&redis.url(), redis::cmd("HGET").arg("{deleteq}:ready:depth").arg("normal:cc"));
    assert_eq!((unfinished, leased, ready), (20, 0, 20), "every job handed back, ready to run at once");
    assert!(terminal(&redis.url()).is_empty());
}

#[test]
fn sigterm_during_a_redis_outage_exits_by_its_deadline() {
    let mut redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::from_millis(300) });
    let config = setup(&redis, &emulator, "concurrency = 4\nlease = \"30s\"\nshutdown_grace = \"2s\"", 200);
    let mut worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(15), || terminal(&redis.url()).len() >= 8), "{}", worker.log());
    // Redis goes away with calls in flight: their outcomes cannot be written, and the acker retries them.
    redis.kill();
    std::thread::sleep(Duration::from_secs(1));
    let asked = Instant::now();
    worker.signal("TERM");
    let status = worker.wait(Duration::from_secs(20)).expect("exits although Redis is down");
    eprintln!("exited {:?} after SIGTERM", asked.elapsed());
    assert!(status.success(), "{status:?}: {}", worker.log());
    // The grace (2 s), then at most 5 s more of retrying the writes, and a second per try past that.
    assert!(asked.elapsed() < Duration::from_secs(2 + 5 + 2), "took {:?}: {}", asked.elapsed(), worker.log());
    assert!(worker.log().contains("before shutdown"), "the abandoned writes were logged: {}", worker.log());
}
