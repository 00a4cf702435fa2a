//! A worker with `[metrics]` serves `/metrics`, `/healthz` and `/readyz` (DESIGN §8): after a run of mixed
//! outcomes its `deleteq_outcomes_total` equals the audit stream's count per outcome, provider calls are timed by
//! status class, and `/readyz` turns 503 when its Redis dies while `/metrics` keeps answering.

use deleteq_emulator::{EmulatorConfig, Fault};
use deleteq_tests::inspect::{self, outcome_counts, terminal};
use deleteq_tests::{deleteq, free_port, wait_until, RedisServer, TestConfig, TestEmulator, Worker};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::Duration;

/// `GET path` over HTTP/1.0 (the server closes after answering): the status code and the body.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// The value of every sample of `metric` (exact name, any labels), summed per value of `label`.
fn sum_by(text: &str, metric: &str, label: &str) -> HashMap<String, u64> {
    let mut sums = HashMap::new();
    for line in text.lines().filter(|l| l.starts_with(&format!("{metric}{{"))) {
        let (labels, value) = line.rsplit_once(' ').expect("a sample has a value");
        let key = format!("{label}=\"");
        let start = labels.find(&key).map(|i| i + key.len()).expect("the label is present");
        let name = labels[start..].split('"').next().expect("a quoted value").to_string();
        *sums.entry(name).or_insert(0) += value.parse::<f64>().expect("a number") as u64;
    }
    sums
}

/// The value of the one sample written exactly as `sample` (name with labels).
fn value(text: &str, sample: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
}

/// `promtool check metrics` (Prometheus's own linter: names, units, types, help) passes on `text`, when promtool is
/// installed (`make deps` installs it); without it the check is skipped with a note.
fn promtool_accepts(text: &str) {
    let spawned = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = spawned else {
        eprintln!("note: promtool is not installed; `promtool check metrics` skipped");
        return;
    };
    child.stdin.take().expect("piped stdin").write_all(text.as_bytes()).expect("write to promtool");
    let out = child.wait_with_output().expect("promtool runs");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "promtool check metrics: {said}\n{text}");
}

#[test]
fn metrics_match_the_audit_stream_and_readiness_follows_redis() {
    let mut redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig::default());
    let seeded: Vec<String> = ["d1", "d2", "d3", "denied", "flaky", "limited"].iter().map(|s| s.to_string()).collect();
    emulator.state.seed("cometchat", None, &seeded);
    emulator.state.inject(Fault::new("cometchat", None, "denied", vec![403]));
    emulator.state.inject(Fault::new("cometchat", None, "flaky", vec![500]));
    emulator.state.inject(Fault::new("cometchat", None, "limited", vec![429]));
    let port = free_port();
    let config = TestConfig::new(
        &redis.url(),
        &format!(
            r#"
[worker]
concurrency = 4
lease = "5s"
shutdown_grace = "2s"

[retry]
max_attempts = 4
initial_backoff = "50ms"
max_backoff = "200ms"

[metrics]
addr = "127.0.0.1:{port}"

[accounts.cc]
provider = "cometchat"
base_url = "{}"
api_key = "cc-metrics-secret"
rate_limit = "100000/s"
"#,
            emulator.url()
        ),
    );
    let messages = ["d1", "d2", "d3", "gone", "denied", "flaky", "limited"];
    let lines: Vec<String> = messages.iter().map(|m| format!(r#"{{"account":"cc","message":"{m}"}}"#)).collect();
    let file = config.jobs_file("jobs.jsonl", &lines);
    let out = deleteq(&config.path, &["enqueue", "--file", &file.to_string_lossy()], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(20), || terminal(&redis.url()).len() >= messages.len()), "{}", worker.log());
    let audit = outcome_counts(&inspect::audit(&redis.url()));
    let expected: HashMap<String, u64> = audit.iter().map(|(k, v)| (k.clone(), *v as u64)).collect();
    assert_eq!(
        (expected.get("deleted"), expected.get("already_deleted"), expected.get("failed")),
        (Some(&5), Some(&1), Some(&1)),
        "the mix ran as planned: {expected:?}"
    );
    assert_eq!(expected.get("retry_scheduled"), Some(&2), "flaky and limited were retried once: {expected:?}");

    // The counters are bumped right after the script that wrote the records returns: wait for that moment.
    let mut text = String::new();
    let matched = wait_until(Duration::from_secs(5), || {
        text = get(port, "/metrics").map(|(_, body)| body).unwrap_or_default();
        sum_by(&text, "deleteq_outcomes_total", "outcome") == expected
    });
    assert!(matched, "outcomes {:?} != audit {expected:?}\n{text}", sum_by(&text, "deleteq_outcomes_total", "outcome"));
    let (status, _) = get(port, "/metrics").expect("/metrics answers");
    assert_eq!(status, 200);

    // Every call was timed by its status class: 200s, the 404 and 403 and 429, and the 500.
    let calls = sum_by(&text, "deleteq_provider_request_duration_seconds_count", "status");
    assert_eq!(calls.get("2xx"), Some(&5), "{text}");
    assert_eq!(calls.get("4xx"), Some(&3), "{text}");
    assert_eq!(calls.get("5xx"), Some(&1), "{text}");
    let inf = r#"deleteq_provider_request_duration_seconds_bucket{account="cc",status="2xx",le="+Inf"}"#;
    assert_eq!(value(&text, inf), Some(5.0), "{text}");
    let the_429 = r#"deleteq_rate_limited_total{account="cc",reason="provider_429"}"#;
    assert_eq!(value(&text, the_429), Some(1.0), "the 429, told from local pacing: {text}");
    for (sample, expected) in [
        (r#"deleteq_queue_depth{shard="0",lane="high"}"#, 0.0),
        (r#"deleteq_queue_depth{shard="0",lane="normal"}"#, 0.0),
        (r#"deleteq_queue_depth{shard="0",lane="low"}"#, 0.0),
        ("deleteq_scheduled", 0.0),
        ("deleteq_dead", 1.0),
        ("deleteq_jobs_in_flight", 0.0),
        (r#"deleteq_account_parked{account="cc"}"#, 0.0),
    ] {
        assert_eq!(value(&text, sample), Some(expected), "{sample}\n{text}");
    }
    assert!(!text.contains("cc-metrics-secret"), "no credential in the metrics");

    // The build the worker runs, and the process metrics every Prometheus client library exposes.
    let build = text.lines().find(|l| l.starts_with("deleteq_build_info{")).unwrap_or_default();
    let version = format!("version=\"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(build.contains(&version) && build.contains("commit=\"") && build.ends_with(" 1"), "{text}");
    for name in ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds"] {
        let sample = value(&text, name).unwrap_or_else(|| panic!("{name}\n{text}"));
        assert!(sample > 0.0, "{name} = {sample}");
    }
    assert!(value(&text, "process_open_fds").is_some_and(|n| n >= 3.0), "{text}");
    promtool_accepts(&text);

    assert_eq!(get(port, "/healthz").map(|(s, _)| s), Some(200));
    let (status, body) = get(port, "/readyz").expect("/readyz answers");
    assert_eq!(status, 200, "{body}");

    // Redis dies: not ready (with a reason), still alive, and /metrics still serves the counters.
    redis.kill();
    let mut answer = None;
    assert!(
        wait_until(Duration::from_secs(15), || {
            answer = get(port, "/readyz");
            answer.as_ref().is_some_and(|(s, _)| *s == 503)
        }),
        "{answer:?}"
    );
    let (_, body) = answer.expect("a 503");
    assert!(body.contains("\"reason\""), "{body}");
    assert_eq!(get(port, "/healthz").map(|(s, _)| s), Some(200));
    let (status, text) = get(port, "/metrics").expect("/metrics answers without Redis");
    assert_eq!(status, 200);
    assert_eq!(sum_by(&text, "deleteq_outcomes_total", "outcome"), expected, "{text}");
    assert!(!text.contains("deleteq_queue_depth"), "gauges from Redis are left out while it is down: {text}");
    assert!(!worker.log().contains("cc-metrics-secret"));
}

#[test]
fn a_taken_metrics_address_stops_the_worker_at_startup() {
    let redis = RedisServer::start();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let config = TestConfig::new(
        &redis.url(),
        &format!("[metrics]\naddr = \"127.0.0.1:{port}\"\n\n[accounts.nop]\nprovider = \"noop\"\n"),
    );
    let mut worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    let status = worker.wait(Duration::from_secs(10)).expect("the worker exits");
    assert_eq!(status.code(), Some(1), "{}", worker.log());
    assert!(worker.log().contains("metrics.addr"), "{}", worker.log());
    drop(taken);
}
