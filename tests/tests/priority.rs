//! A job's `priority` end to end (DESIGN §2, §6 lanes; issue 13): checked like every field by `deleteq enqueue`,
//! `POST /v1/jobs` and cron templates; a campaign's jobs are `low` unless a line sets its own or `--priority`
//! (`?priority=` over HTTP) gives another default. What was stored is read back from the job's envelope in Redis.

use deleteq_tests::http::{post_json, request};
use deleteq_tests::inspect::{dbsize, query};
use deleteq_tests::{deleteq, RedisServer, Server, TestConfig};
use serde_json::{json, Value};
use std::collections::HashMap;

const TOKEN: &str = "priority-token-0123456789";

/// A config with `[api] tokens` and one CometChat account `cc` (no worker runs: stored jobs stay stored).
fn config(redis_url: &str) -> TestConfig {
    let body = format!(
        "[api]\ntokens = [\"{TOKEN}\"]\n\n[accounts.cc]\nprovider = \"cometchat\"\nbase_url = \"http://127.0.0.1:9\"\n\
         api_key = \"k\"\nrate_limit = \"100/s\"\n"
    );
    TestConfig::new(redis_url, &body)
}

/// Every stored job's `priority` as its envelope holds it (`None`: absent, which reads back as `normal`), by
/// message id.
fn stored_priorities(url: &str) -> HashMap<String, Option<String>> {
    let stored: HashMap<String, String> = query(url, redis::cmd("HGETALL").arg("{deleteq}:jobs"));
    stored
        .into_values()
        .map(|value| {
            // The value is a header (`<rev>|<account>|…`) and the envelope JSON: the envelope starts at the first `{`.
            let start = value.find('{').unwrap_or_else(|| panic!("no envelope in {value:?}"));
            let envelope: Value = serde_json::from_str(&value[start..]).unwrap_or_else(|e| panic!("{e}: {value:?}"));
            let job = &envelope["job"];
            let message = job["message"].as_str().unwrap_or_else(|| panic!("a one-message job: {envelope}"));
            (message.to_string(), job.get("priority").and_then(Value::as_str).map(str::to_string))
        })
        .collect()
}

fn priority_of(url: &str, message: &str) -> Option<String> {
    let all = stored_priorities(url);
    all.get(message).unwrap_or_else(|| panic!("{message} is not stored: {all:?}")).clone()
}

#[test]
fn enqueue_checks_the_priority_and_stores_the_lane_chosen() {
    let redis = RedisServer::start();
    let url = redis.url();
    let config = config(&url);
    let lines = [
        r#"{"account":"cc","message":"e1"}"#.to_string(),
        r#"{"account":"cc","message":"e2","priority":"urgent"}"#.into(),
    ];
    let file = config.jobs_file("jobs.jsonl", &lines);
    let before = dbsize(&url);
    let out = deleteq(&config.path, &["enqueue", "--file", file.to_str().expect("path")], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("line 2") && stderr.contains("field \"priority\"") && stderr.contains("\"urgent\""),
        "{stderr}"
    );
    assert!(!stderr.contains("line 1"), "{stderr}");
    assert_eq!(dbsize(&url), before, "nothing was stored");
    let wrong_type = deleteq(&config.path, &["enqueue", r#"{"account":"cc","message":"e3","priority":1}"#], None);
    let stderr = String::from_utf8_lossy(&wrong_type.stderr);
    assert_eq!(wrong_type.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("argument 1") && stderr.contains("field \"priority\""), "{stderr}");
    assert_eq!(dbsize(&url), before, "nothing was stored");

    let jobs = [
        r#"{"account":"cc","message":"high","priority":"high"}"#,
        r#"{"account":"cc","message":"normal","priority":"normal"}"#,
        r#"{"account":"cc","message":"low","priority":"low"}"#,
        r#"{"account":"cc","message":"plain"}"#,
    ];
    let mut args = vec!["enqueue"];
    args.extend(jobs);
    let out = deleteq(&config.path, &args, None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stored = stored_priorities(&url);
    let expected: HashMap<String, Option<String>> = [
        ("high", Some("high")),
        ("normal", None), // the default is not written: a normal job is stored as before lanes
        ("low", Some("low")),
        ("plain", None),
    ]
    .into_iter()
    .map(|(m, p)| (m.to_string(), p.map(str::to_string)))
    .collect();
    assert_eq!(stored, expected);
}

#[test]
fn a_campaign_is_low_unless_a_line_or_the_submitter_says_otherwise() {
    let redis = RedisServer::start();
    let url = redis.url();
    let config = config(&url);
    let submit = |name: &str, lines: &[&str], extra: &[&str]| {
        let lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        let file = config.jobs_file(name, &lines);
        let mut args = vec!["campaign", "submit", file.to_str().expect("path")];
        args.extend_from_slice(extra);
        deleteq(&config.path, &args, None)
    };

    let out = submit(
        "default.jsonl",
        &[
            r#"{"account":"cc","message":"c-plain"}"#,
            r#"{"account":"cc","message":"c-high","priority":"high"}"#,
            r#"{"account":"cc","message":"c-normal","priority":"normal"}"#,
        ],
        &[],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(priority_of(&url, "c-plain").as_deref(), Some("low"), "a campaign's jobs are low by default");
    assert_eq!(priority_of(&url, "c-high").as_deref(), Some("high"), "a line's own priority is kept");
    assert_eq!(priority_of(&url, "c-normal"), None, "a line's own normal is kept, not made low");

    let out = submit(
        "normal.jsonl",
        &[r#"{"account":"cc","message":"n-plain"}"#, r#"{"account":"cc","message":"n-low","priority":"low"}"#],
        &["--priority", "normal"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(priority_of(&url, "n-plain"), None, "--priority normal is the default of lines without one");
    assert_eq!(priority_of(&url, "n-low").as_deref(), Some("low"));

    let out = submit("high.jsonl", &[r#"{"account":"cc","message":"h-plain"}"#], &["--priority", "high"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(priority_of(&url, "h-plain").as_deref(), Some("high"));

    let before = dbsize(&url);
    let out = submit("bad.jsonl", &[r#"{"account":"cc","message":"b-plain"}"#], &["--priority", "urgent"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--priority") && stderr.contains("\"urgent\""), "{stderr}");
    let out = submit("bad-line.jsonl", &[r#"{"account":"cc","message":"b-line","priority":"urgent"}"#], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("line 1") && stderr.contains("field \"priority\""), "{stderr}");
    assert_eq!(dbsize(&url), before, "nothing was stored");
}

#[test]
fn the_http_api_checks_the_priority_and_campaigns_take_it_from_the_query() {
    let redis = RedisServer::start();
    let url = redis.url();
    let config = config(&url);
    let server = Server::start(&config.path, config.dir.path().join("serve.log"), "info", &[], &[]);
    let port = server.port();
    let before = dbsize(&url);

    let batch = json!([
        {"account": "cc", "message": "j-ok"},
        {"account": "cc", "message": "j-bad", "priority": "urgent"},
    ]);
    let answer = post_json(port, "/v1/jobs", Some(TOKEN), &batch);
    assert_eq!(answer.status, 400, "{}", answer.body);
    let error = &answer.json()["error"];
    assert_eq!((&error["index"], &error["field"]), (&json!(1), &json!("priority")), "{}", answer.body);
    assert!(error["message"].as_str().is_some_and(|m| m.contains("\"urgent\"")), "{}", answer.body);
    let answer = post_json(port, "/v1/jobs", Some(TOKEN), &json!({"account": "cc", "message": "j", "priority": true}));
    assert_eq!((answer.status, &answer.json()["error"]["field"]), (400, &json!("priority")), "{}", answer.body);
    assert_eq!(dbsize(&url), before, "nothing was stored");

    let answer =
        post_json(port, "/v1/jobs", Some(TOKEN), &json!({"account": "cc", "message": "j-high", "priority": "high"}));
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(priority_of(&url, "j-high").as_deref(), Some("high"));

    let campaign = |path: &str, lines: &[&str]| {
        let body = lines.join("\n") + "\n";
        request(port, "POST", path, Some(TOKEN), Some(body.as_bytes()))
    };
    let before = dbsize(&url);
    let answer = campaign("/v1/campaigns?priority=urgent", &[r#"{"account":"cc","message":"q-bad"}"#]);
    assert_eq!(answer.status, 400, "{}", answer.body);
    let message = answer.json()["error"]["message"].as_str().map(str::to_string).unwrap_or_default();
    assert!(message.contains("priority") && message.contains("\"urgent\""), "{}", answer.body);
    assert_eq!(dbsize(&url), before, "nothing was stored");

    let answer = campaign(
        "/v1/campaigns?name=lanes",
        &[r#"{"account":"cc","message":"q-plain"}"#, r#"{"account":"cc","message":"q-high","priority":"high"}"#],
    );
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(priority_of(&url, "q-plain").as_deref(), Some("low"));
    assert_eq!(priority_of(&url, "q-high").as_deref(), Some("high"));
    let answer = campaign("/v1/campaigns?priority=normal", &[r#"{"account":"cc","message":"q-normal"}"#]);
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(priority_of(&url, "q-normal"), None);
}

#[test]
fn a_cron_template_with_an_unknown_priority_is_refused_at_load() {
    let redis = RedisServer::start();
    let schedule = |priority: &str| {
        let body = format!(
            "[accounts.cc]\nprovider = \"cometchat\"\nbase_url = \"http://127.0.0.1:9\"\napi_key = \"k\"\n\n\
             [[schedules]]\nname = \"nightly\"\ncron = \"0 3 * * *\"\njob = {{ account = \"cc\", message = \"1\", priority = {priority} }}\n"
        );
        TestConfig::new(&redis.url(), &body)
    };
    let bad = schedule("\"urgent\"");
    let out = deleteq(&bad.path, &["status"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("schedules \"nightly\"") && stderr.contains("field \"priority\""), "{stderr}");
    let good = schedule("\"high\"");
    let out = deleteq(&good.path, &["status"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
