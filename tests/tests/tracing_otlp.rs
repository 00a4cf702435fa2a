//! Traces and logs end to end: a job's W3C `traceparent` (the HTTP API's header, or the job's own field through
//! the CLI) is stored with the job, and the spans the worker exports over OTLP/HTTP (`[telemetry]
//! otlp_endpoint`) continue the caller's trace: the HTTP request, the job's `lease`, its provider `call` and its
//! `ack` share the caller's trace id, and the call's parent chain leads to the caller's span. A job without a
//! `traceparent` starts a trace of its own. No span carries a credential. `[log] format = "json"` makes every
//! stderr line a JSON object.

use deleteq_emulator::EmulatorConfig;
use deleteq_tests::http::request_with;
use deleteq_tests::inspect::terminal;
use deleteq_tests::otlp::{OtlpReceiver, ReceivedSpan};
use deleteq_tests::{deleteq, wait_until, RedisServer, Server, TestConfig, TestEmulator, Worker};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

const TOKEN: &str = "trace-token-0123456789";
const SECRET: &str = "cc-trace-secret-key";
/// The caller of the HTTP request: trace A, its span `a1`.
const TRACE_A: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_A: &str = "00f067aa0ba902b7";
/// The caller of `deleteq enqueue`: trace B, its span `b1`.
const TRACE_B: &str = "0af7651916cd43dd8448eb211c80319c";
const SPAN_B: &str = "b7ad6b7169203331";
/// The caller of a bulk job: trace C, its span `c1`.
const TRACE_C: &str = "5c2e1f0b9a8d7c6b5a49382716051f0e";
const SPAN_C: &str = "1a2b3c4d5e6f7081";

/// A config exporting spans to `endpoint`, with `[api]` tokens and one CometChat account on the emulator.
fn config(redis_url: &str, emulator_url: &str, extra: &str) -> TestConfig {
    let body = format!(
        "[worker]\nconcurrency = 4\nlease = \"5s\"\nshutdown_grace = \"3s\"\n\n{extra}\n\n[api]\ntokens = [\"{TOKEN}\"]\n\n\
         [accounts.cc]\nprovider = \"cometchat\"\nbase_url = \"{emulator_url}\"\napi_key = \"{SECRET}\"\nrate_limit = \"100000/s\"\n"
    );
    TestConfig::new(redis_url, &body)
}

/// The spans of `trace`, by name (the last of each name).
fn by_name(spans: &[ReceivedSpan], trace: &str) -> HashMap<String, ReceivedSpan> {
    spans.iter().filter(|s| s.trace_id == trace).map(|s| (s.name.clone(), s.clone())).collect()
}

/// Follows `span`'s parents through `spans`; returns the id of the first parent not among them (the caller's).
fn chain_root(spans: &[ReceivedSpan], span: &ReceivedSpan) -> String {
    let mut current = span.clone();
    for _ in 0..16 {
        match spans.iter().find(|s| s.span_id == current.parent_span_id) {
            Some(parent) => current = parent.clone(),
            None => return current.parent_span_id,
        }
    }
    panic!("a parent cycle at {span:?}");
}

/// Checks the worker's spans of the job `id` in `trace`, whose caller's span is `caller`.
fn assert_job_trace(spans: &[ReceivedSpan], trace: &str, caller: &str, id: &str) {
    let named = by_name(spans, trace);
    let lease = named.get("lease").unwrap_or_else(|| panic!("no lease span in trace {trace}: {spans:#?}"));
    assert_eq!(lease.attributes.get("job").map(String::as_str), Some(id), "{lease:?}");
    assert_eq!(lease.parent_span_id, caller, "the job's lease span is a child of the caller's span");
    assert_eq!(lease.service, "dq-test");
    let call = named.get("call").unwrap_or_else(|| panic!("no call span in trace {trace}: {spans:#?}"));
    assert_eq!(call.parent_span_id, lease.span_id, "the call runs in the job's lease");
    assert_eq!(chain_root(spans, call), caller, "the call's parent chain leads to the caller's span");
    for (key, value) in [("account", "cc"), ("provider", "cometchat"), ("status", "200"), ("outcome", "deleted")] {
        assert_eq!(call.attributes.get(key).map(String::as_str), Some(value), "{key}: {call:?}");
    }
    let ack = named.get("ack").unwrap_or_else(|| panic!("no ack span in trace {trace}: {spans:#?}"));
    assert_eq!(ack.parent_span_id, lease.span_id, "the ack is the job's");
    assert_eq!(ack.attributes.get("kind").map(String::as_str), Some("ack"), "{ack:?}");
    assert!(ack.attributes.get("batch").is_some_and(|b| b != "0"), "{ack:?}");
}

#[test]
fn one_jobs_spans_share_the_callers_trace_over_otlp() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::ZERO });
    let receiver = OtlpReceiver::start();
    let telemetry = format!("[telemetry]\notlp_endpoint = \"{}\"\nservice_name = \"dq-test\"", receiver.endpoint());
    let config = config(&redis.url(), emulator.url(), &telemetry);
    // Export every 100 ms instead of every 5 s, so the test does not wait for the batch delay.
    let env = [("OTEL_BSP_SCHEDULE_DELAY", "100")];
    let server = Server::start(&config.path, config.dir.path().join("serve.log"), "info", &[], &env);
    let mut worker = Worker::start_with_env(&config.path, config.dir.path().join("worker.log"), "info", &env);

    // Through the HTTP API, with the caller's traceparent header.
    let header = format!("00-{TRACE_A}-{SPAN_A}-01");
    let body = br#"{"account": "cc", "message": "t-http"}"#;
    let posted = request_with(server.port(), "POST", "/v1/jobs", Some(TOKEN), &[("traceparent", &header)], Some(body));
    assert_eq!(posted.status, 201, "{}", posted.body);
    let http_id = posted.json()["ids"][0].as_str().expect("id").to_string();
    // Through the CLI, with the job's own traceparent field.
    let job = format!(r#"{{"account": "cc", "message": "t-cli", "traceparent": "00-{TRACE_B}-{SPAN_B}-01"}}"#);
    let out = deleteq(&config.path, &["enqueue", &job], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cli_id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // A bulk job: its children (one message each on CometChat) inherit its traceparent.
    let bulk =
        format!(r#"{{"account": "cc", "messages": ["t-c1", "t-c2"], "traceparent": "00-{TRACE_C}-{SPAN_C}-01"}}"#);
    let out = deleteq(&config.path, &["enqueue", &bulk], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bulk_id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // And one without any: its spans are a trace of their own.
    let out = deleteq(&config.path, &["enqueue", r#"{"account": "cc", "message": "t-none"}"#], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let own_id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // A malformed header is ignored with a warning, never refused.
    let bad = [("traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01")];
    let body = br#"{"account": "cc", "message": "t-bad"}"#;
    let posted = request_with(server.port(), "POST", "/v1/jobs", Some(TOKEN), &bad, Some(body));
    assert_eq!(posted.status, 201, "{}", posted.body);

    assert!(wait_until(Duration::from_secs(30), || terminal(&redis.url()).len() == 6), "{}", worker.log());
    let children = |spans: &[ReceivedSpan]| {
        let child = |s: &&ReceivedSpan| s.name == "call" && s.trace_id == TRACE_C;
        spans.iter().filter(child).count()
    };
    let complete = |spans: &[ReceivedSpan]| {
        let a = by_name(spans, TRACE_A);
        let b = by_name(spans, TRACE_B);
        ["request", "lease", "call", "ack"].iter().all(|n| a.contains_key(*n))
            && ["lease", "call", "ack"].iter().all(|n| b.contains_key(*n))
            && spans.iter().any(|s| s.name == "lease" && s.attributes.get("job") == Some(&own_id))
            && children(spans) == 2
    };
    assert!(
        wait_until(Duration::from_secs(30), || complete(&receiver.spans())),
        "spans missing: {:#?}\nworker: {}",
        receiver.spans(),
        worker.log()
    );
    let spans = receiver.spans();

    // The HTTP request's span continues the header's trace, as a child of the caller's span.
    let request = &by_name(&spans, TRACE_A)["request"];
    assert_eq!(request.parent_span_id, SPAN_A);
    assert_eq!(request.attributes.get("path").map(String::as_str), Some("/v1/jobs"));
    assert_job_trace(&spans, TRACE_A, SPAN_A, &http_id);
    assert_job_trace(&spans, TRACE_B, SPAN_B, &cli_id);

    // The bulk job's lease (its expansion) and both children's leases are in its caller's trace, children of its
    // caller's span, each with its call inside.
    let leases: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.name == "lease" && s.trace_id == TRACE_C).collect();
    let mut jobs: Vec<&str> = leases.iter().filter_map(|s| s.attributes.get("job").map(String::as_str)).collect();
    jobs.sort_unstable();
    assert_eq!(jobs, [bulk_id.clone(), format!("{bulk_id}:0"), format!("{bulk_id}:1")], "{leases:#?}");
    assert!(leases.iter().all(|s| s.parent_span_id == SPAN_C), "{leases:#?}");
    assert_eq!(children(&spans), 2);

    // A job without a traceparent: a root lease span in a trace of its own, with its call inside.
    let own = spans.iter().find(|s| s.name == "lease" && s.attributes.get("job") == Some(&own_id)).expect("own lease");
    assert!(own.parent_span_id.is_empty(), "{own:?}");
    assert!(own.trace_id != TRACE_A && own.trace_id != TRACE_B);
    assert!(by_name(&spans, &own.trace_id).contains_key("call"), "{spans:#?}");
    // Leasing is one span per batch, naming the lease token each job's lease span names too.
    let batch = spans.iter().find(|s| s.name == "lease_batch" && s.attributes.get("leased").is_some_and(|n| n != "0"));
    let batch = batch.expect("a lease_batch span that leased jobs");
    assert!(spans.iter().any(|s| s.name == "lease" && s.attributes.get("lease") == batch.attributes.get("lease")));

    // The malformed header was logged, and no span or attribute ever holds the account's key or a URL.
    assert!(server.log().contains("malformed traceparent"), "{}", server.log());
    for span in &spans {
        for (key, value) in &span.attributes {
            assert!(!value.contains(SECRET) && !value.contains("http://"), "{key}={value} in {span:?}");
        }
    }
    assert!(receiver.strays.lock().expect("strays").is_empty(), "{:?}", receiver.strays.lock());

    // Shutdown flushes and exits cleanly within the grace period.
    worker.signal("TERM");
    let status = worker.wait(Duration::from_secs(15)).expect("the worker stops");
    assert!(status.success(), "{}", worker.log());
}

#[test]
fn json_logs_are_one_object_per_line_and_bad_settings_name_their_key() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::ZERO });
    let config = config(&redis.url(), emulator.url(), "[log]\nformat = \"json\"");
    let mut worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    config.enqueue_messages(3);
    assert!(wait_until(Duration::from_secs(30), || terminal(&redis.url()).len() == 3), "{}", worker.log());
    worker.signal("TERM");
    assert!(worker.wait(Duration::from_secs(15)).is_some_and(|s| s.success()), "{}", worker.log());
    let log = worker.log();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 2, "{log}");
    for line in &lines {
        let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        for key in ["timestamp", "level", "target", "message"] {
            assert!(value[key].is_string(), "{key} missing: {line}");
        }
    }
    let started = lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"))
        .find(|v| v["message"] == "Worker started.");
    let started = started.unwrap_or_else(|| panic!("no start line: {log}"));
    assert_eq!((started["level"].as_str(), started["accounts"].as_u64()), (Some("INFO"), Some(1)), "{started}");
    assert!(!log.contains(SECRET), "{log}");

    // `config check` shows both sections; a bad one exits 2 naming its key.
    let out = deleteq(&config.path, &["config", "check", "--json"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["log"]["format"], "json");
    assert_eq!(
        (report["telemetry"]["otlp_endpoint"].is_null(), &report["telemetry"]["service_name"]),
        (true, &Value::from("deleteq"))
    );
    for (section, key) in [
        ("[log]\nformat = \"xml\"", "log.format"),
        ("[telemetry]\notlp_endpoint = \"localhost:4318\"", "telemetry.otlp_endpoint"),
    ] {
        let bad = TestConfig::new(&redis.url(), section);
        for args in [&["worker"][..], &["config", "check"][..]] {
            let out = deleteq(&bad.path, args, None);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(stderr.contains(key), "{args:?}: {stderr}");
        }
    }
}

#[test]
fn an_unreachable_collector_never_holds_a_job_up_and_is_logged_once() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::ZERO });
    // Nothing listens there: every export fails at once.
    let telemetry = format!("[telemetry]\notlp_endpoint = \"http://127.0.0.1:{}\"", deleteq_tests::free_port());
    let config = config(&redis.url(), emulator.url(), &telemetry);
    let env = [("OTEL_BSP_SCHEDULE_DELAY", "50")];
    let mut worker = Worker::start_with_env(&config.path, config.dir.path().join("worker.log"), "info", &env);
    for round in 0..4 {
        let lines: Vec<String> = (0..10)
            .map(|i| format!(r#"{{"account":"cc","message":"u{round}-{i}","traceparent":"00-{TRACE_A}-{SPAN_A}-01"}}"#))
            .collect();
        let file = config.jobs_file(&format!("round{round}.jsonl"), &lines);
        let out = deleteq(&config.path, &["enqueue", "--file", &file.to_string_lossy()], None);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        std::thread::sleep(Duration::from_millis(150));
    }
    assert!(wait_until(Duration::from_secs(30), || terminal(&redis.url()).len() == 40), "{}", worker.log());
    assert!(terminal(&redis.url()).iter().all(|r| r["outcome"] == "deleted"));
    assert!(
        wait_until(Duration::from_secs(10), || worker.log().contains("Could not export spans")),
        "{}",
        worker.log()
    );
    worker.signal("TERM");
    let status = worker.wait(Duration::from_secs(15)).expect("the worker stops despite the collector");
    assert!(status.success(), "{}", worker.log());
    // Several batches failed to export within the minute; one line says so.
    assert_eq!(worker.log().matches("Could not export spans").count(), 1, "{}", worker.log());
}
