//! Cron schedules: every worker runs the scheduler, yet each tick enqueues exactly one job (the tick's idempotency
//! key is its marker); a missed tick is fired at start only within `catch_up`; `status` shows the next fire time.

use deleteq_emulator::EmulatorConfig;
use deleteq_queue::Keys;
use deleteq_tests::inspect::{query, terminal, Record};
use deleteq_tests::{deleteq, wait_until, RedisServer, TestConfig, TestEmulator, Worker};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

/// Tick marker → job id, for every tick of `schedule` fired so far (read from the idempotency keys).
fn fired_ticks(redis_url: &str, schedule: &str) -> BTreeMap<i64, String> {
    let prefix = Keys::new("deleteq").idempotency(&format!("cron:{schedule}:"));
    let keys: Vec<String> = query(redis_url, redis::cmd("KEYS").arg(format!("{prefix}*")));
    keys.into_iter()
        .map(|key| {
            let ms = key[prefix.len()..].parse::<i64>().expect("tick ms");
            let id: String = query(redis_url, redis::cmd("GET").arg(&key));
            (ms, id)
        })
        .collect()
}

/// Terminal records of the jobs a schedule enqueued (`requested_by = "cron:<name>"`).
fn records_of(redis_url: &str, schedule: &str) -> Vec<Record> {
    let by = format!("cron:{schedule}");
    terminal(redis_url).into_iter().filter(|r| r.get("requested_by") == Some(&by)).collect()
}

const IM_ACCOUNT: &str = r#"[accounts.im]
provider = "room_im"
client_key = "im-client"
token = "im-token"
rate_limit = "1000/s"
"#;

#[test]
fn three_workers_fire_each_tick_once() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig::default());
    emulator.state.seed("room_im", Some("room-1"), &["m1".to_string(), "m2".to_string()]);
    let account = format!("{IM_ACCOUNT}base_url = \"{}\"\n", emulator.url());
    let schedule = r#"[[schedules]]
name = "purge-room-1"
cron = "*/2 * * * * *"
job = { account = "im", conversation = "room-1", purge = true }
"#;
    let config = TestConfig::new(&redis.url(), &format!("[worker]\nconcurrency = 4\n\n{account}\n{schedule}"));
    let level = "info,deleteq_worker::scheduler=debug";
    let mut workers: Vec<Worker> =
        (0..3).map(|i| Worker::start(&config.path, config.dir.path().join(format!("w{i}.log")), level)).collect();
    // Ten seconds from when all three schedulers run (a slow start must not shorten the window).
    let started =
        wait_until(Duration::from_secs(20), || workers.iter().all(|w| w.log().contains("Scheduler started.")));
    assert!(started, "{}", workers.iter().map(Worker::log).collect::<Vec<_>>().join("\n"));
    std::thread::sleep(Duration::from_secs(10));
    for worker in &workers {
        worker.signal("TERM");
    }
    for worker in &mut workers {
        assert!(worker.wait(Duration::from_secs(30)).is_some(), "{}", worker.log());
    }
    let logs: String = workers.iter().map(Worker::log).collect::<Vec<_>>().join("\n");

    let ticks = fired_ticks(&redis.url(), "purge-room-1");
    assert!((4..=6).contains(&ticks.len()), "5 ± 1 ticks in 10 s, got {ticks:?}\n{logs}");
    assert!(ticks.keys().all(|ms| ms % 2000 == 0), "ticks on even seconds: {ticks:?}");
    let ids: HashSet<&String> = ticks.values().collect();
    assert_eq!(ids.len(), ticks.len(), "one job per tick: {ticks:?}");
    assert_eq!(logs.matches("Cron tick fired.").count(), ticks.len(), "one worker fired each tick\n{logs}");

    // Whatever the stopped workers left queued, a worker without schedules finishes.
    let drain = TestConfig::new(&redis.url(), &format!("[worker]\nconcurrency = 4\n\n{account}"));
    let drainer = Worker::start(&drain.path, drain.dir.path().join("drain.log"), "info");
    assert!(
        wait_until(Duration::from_secs(20), || records_of(&redis.url(), "purge-room-1").len() >= ticks.len()),
        "{}",
        drainer.log()
    );
    std::thread::sleep(Duration::from_millis(500));
    let records = records_of(&redis.url(), "purge-room-1");
    assert_eq!(records.len(), ticks.len(), "one terminal record per tick: {records:?}");
    let recorded: HashSet<&String> = records.iter().map(|r| &r["job"]).collect();
    assert_eq!(recorded, ids, "each record is one tick's job");
    assert!(records.iter().all(|r| r["outcome"] == "purged" && r["conversation"] == "room-1"), "{records:?}");
    assert_eq!(emulator.state.calls("room_im", Some("room-1"), "_all"), ticks.len() as u64, "one purge call per tick");
}

#[test]
fn catch_up_fires_the_latest_missed_tick_once_and_only_when_configured() {
    let redis = RedisServer::start();
    // A tick every hour, the latest 30 s ago: missed, since no worker ran then.
    let tick = chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp() - 30, 0).expect("tick");
    let cron = tick.format("%-S %-M * * * *").to_string();
    let schedule = |name: &str, extra: &str| {
        let job = r#"job = { account = "nop", message = "x" }"#;
        format!("[[schedules]]\nname = \"{name}\"\ncron = \"{cron}\"\n{extra}{job}\n\n")
    };
    let body = format!(
        "[accounts.nop]\nprovider = \"noop\"\n\n{}{}",
        schedule("caught-up", "catch_up = \"2m\"\n"),
        schedule("not-caught-up", "")
    );
    let config = TestConfig::new(&redis.url(), &body);
    let level = "info,deleteq_worker::scheduler=debug";
    let first = Worker::start(&config.path, config.dir.path().join("w1.log"), level);
    assert!(
        wait_until(Duration::from_secs(15), || !records_of(&redis.url(), "caught-up").is_empty()),
        "{}",
        first.log()
    );
    let ticks = fired_ticks(&redis.url(), "caught-up");
    assert_eq!(ticks.keys().copied().collect::<Vec<_>>(), vec![tick.timestamp_millis()], "the missed tick, once");

    // A second worker starting within the window tries the same tick and finds it fired.
    let second = Worker::start(&config.path, config.dir.path().join("w2.log"), level);
    assert!(
        wait_until(Duration::from_secs(15), || second.log().contains("already fired by another worker")),
        "{}",
        second.log()
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(records_of(&redis.url(), "caught-up").len(), 1);
    assert_eq!(fired_ticks(&redis.url(), "caught-up").len(), 1);
    assert!(records_of(&redis.url(), "not-caught-up").is_empty(), "no catch_up: nothing at start");
    assert!(fired_ticks(&redis.url(), "not-caught-up").is_empty());
    drop((first, second));
}

#[test]
fn status_lists_schedules_with_their_next_fire_time() {
    let redis = RedisServer::start();
    let body = r#"[accounts.nop]
provider = "noop"

[[schedules]]
name = "nightly"
cron = "0 3 * * *"
timezone = "Europe/Berlin"
job = { account = "nop", purge = true }
"#;
    let config = TestConfig::new(&redis.url(), body);
    let out = deleteq(&config.path, &["status", "--json"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status json");
    let schedule = &status["schedules"][0];
    assert_eq!((schedule["name"].as_str(), schedule["cron"].as_str()), (Some("nightly"), Some("0 3 * * *")));
    assert_eq!(schedule["timezone"], "Europe/Berlin");
    let next = schedule["next_fire"].as_str().expect("next_fire");
    let next = chrono::DateTime::parse_from_rfc3339(next).expect("RFC 3339");
    assert!(next > chrono::Utc::now(), "{status}");
    assert!(next.to_rfc3339().ends_with("+00:00"), "UTC: {next}");

    let human = deleteq(&config.path, &["status"], None);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("nightly") && text.contains("0 3 * * *"), "{text}");

    let bad = TestConfig::new(&redis.url(), &body.replace("0 3 * * *", "0 3 * *"));
    let out = deleteq(&bad.path, &["status"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("schedules \"nightly\": cron: "), "{err}");
}
