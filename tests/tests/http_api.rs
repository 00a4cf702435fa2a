//! `deleteq serve` end to end (DESIGN §8): jobs posted over HTTP are carried out and audited; requests without a
//! valid token, invalid batches and oversized bodies store nothing; campaigns and dead letters answer as the
//! command line's `--json` (a replay by id and of all included); without tokens the server refuses to start.

use deleteq_emulator::{EmulatorConfig, Fault};
use deleteq_tests::http::{get, post_json, request};
use deleteq_tests::inspect::{dbsize, terminal};
use deleteq_tests::{deleteq, wait_until, RedisServer, Server, TestConfig, TestEmulator, Worker};
use serde_json::{json, Value};
use std::time::Duration;

const TOKEN: &str = "test-token-0123456789";

/// A config with `[api]` (`api` is its body), a fast worker, and one CometChat account `cc` on `emulator_url`.
fn config(redis_url: &str, emulator_url: &str, api: &str) -> TestConfig {
    let body = format!(
        "[worker]\nconcurrency = 4\nlease = \"5s\"\nshutdown_grace = \"2s\"\n\n[retry]\nmax_attempts = 3\n\
         initial_backoff = \"50ms\"\nmax_backoff = \"200ms\"\n\n[api]\n{api}\n\n[accounts.cc]\nprovider = \"cometchat\"\n\
         base_url = \"{emulator_url}\"\napi_key = \"cc-http-secret\"\nrate_limit = \"100000/s\"\n"
    );
    TestConfig::new(redis_url, &body)
}

fn tokens() -> String {
    format!("tokens = [\"{TOKEN}\", \"second-token\"]")
}

fn serve(config: &TestConfig) -> Server {
    Server::start(&config.path, config.dir.path().join("serve.log"), "info", &[], &[])
}

/// What `deleteq ARGS… --json` prints, parsed.
fn cli_json(config: &TestConfig, args: &[&str]) -> Value {
    let out = deleteq(&config.path, args, None);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("--json output")
}

#[test]
fn a_job_posted_over_http_is_carried_out_and_audited() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::ZERO });
    let config = config(&redis.url(), emulator.url(), &tokens());
    let server = serve(&config);
    let port = server.port();

    let one = post_json(port, "/v1/jobs", Some(TOKEN), &json!({"account": "cc", "message": "h1", "reason": "http"}));
    assert_eq!(one.status, 201, "{}", one.body);
    assert_eq!(one.header("content-type"), Some("application/json"));
    let id = one.json()["ids"][0].as_str().expect("an id").to_string();
    let many: Vec<Value> = (2..5).map(|i| json!({"account": "cc", "message": format!("h{i}")})).collect();
    let batch = post_json(port, "/v1/jobs", Some("second-token"), &Value::Array(many));
    assert_eq!(batch.status, 201, "{}", batch.body);
    assert_eq!(batch.json()["ids"].as_array().map(Vec::len), Some(3), "{}", batch.body);

    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(30), || terminal(&redis.url()).len() == 4), "{}", worker.log());
    let records = terminal(&redis.url());
    let first = records.iter().find(|r| r["job"] == id).expect("the posted job's record");
    assert_eq!((first["outcome"].as_str(), first["message"].as_str()), ("deleted", "h1"));
    assert_eq!(first["reason"], "http");
    assert!(records.iter().all(|r| r["outcome"] == "deleted"), "{records:?}");

    // The reports are the command line's, value for value.
    let status = get(port, "/v1/status", Some(TOKEN));
    assert_eq!(status.status, 200, "{}", status.body);
    assert_eq!(status.json(), cli_json(&config, &["status", "--json"]));
    assert_eq!(status.json()["accounts"]["cc"]["recent"]["deleted"], 4);

    // Probes and the spec need no token; the spec names the bearer scheme and every endpoint.
    assert_eq!(get(port, "/healthz", None).status, 200);
    assert_eq!(get(port, "/readyz", None).status, 200);
    let spec = get(port, "/openapi.json", None);
    assert_eq!(spec.status, 200);
    let spec = spec.json();
    assert!(spec["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{spec}");
    assert_eq!(spec["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    for path in ["/v1/jobs", "/v1/campaigns", "/v1/campaigns/{id}", "/v1/campaigns/{id}/cancel", "/v1/status"] {
        assert!(spec["paths"][path].is_object(), "{path} is missing from the spec");
    }
    assert!(spec["paths"]["/v1/dlq"].is_object() && spec["paths"]["/v1/dlq/replay"].is_object());
    assert!(!server.log().contains(TOKEN), "the token reached the log");
}

#[test]
fn requests_without_a_valid_token_are_refused_and_store_nothing() {
    let redis = RedisServer::start();
    let config = config(&redis.url(), "http://127.0.0.1:9", &tokens());
    let server = Server::start(&config.path, config.dir.path().join("serve.log"), "debug", &[], &[]);
    let port = server.port();
    let before = dbsize(&redis.url());
    let job = json!({"account": "cc", "message": "1"});
    for token in [None, Some("wrong-token"), Some("test-token-012345678"), Some("test-token-01234567890")] {
        let answer = post_json(port, "/v1/jobs", token, &job);
        assert_eq!(answer.status, 401, "{token:?}: {}", answer.body);
        assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
        assert!(answer.json()["error"]["message"].is_string(), "{}", answer.body);
    }
    let basic = request(port, "GET", "/v1/status", None, None);
    assert_eq!(basic.status, 401);
    for path in ["/v1/status", "/v1/campaigns", "/v1/dlq"] {
        assert_eq!(get(port, path, None).status, 401, "{path}");
    }
    let replay = post_json(port, "/v1/dlq/replay", Some("nope"), &json!({"all": true}));
    assert_eq!(replay.status, 401);
    assert_eq!(dbsize(&redis.url()), before, "a refused request stored nothing");
    // A valid token passes, and never reaches the log, even at debug level.
    assert_eq!(post_json(port, "/v1/jobs", Some(TOKEN), &job).status, 201);
    let log = server.log();
    assert!(!log.contains(TOKEN) && !log.contains("wrong-token") && !log.contains("cc-http-secret"), "{log}");
}

#[test]
fn an_invalid_job_in_a_batch_enqueues_nothing_and_is_named() {
    let redis = RedisServer::start();
    let config = config(&redis.url(), "http://127.0.0.1:9", &tokens());
    let server = serve(&config);
    let port = server.port();
    let before = dbsize(&redis.url());
    let batch = json!([
        {"account": "cc", "message": "ok-1"},
        {"account": "cc", "message": "ok-2"},
        {"account": "cc", "message": "a/b"},
        {"account": "cc", "message": "ok-3"},
    ]);
    let answer = post_json(port, "/v1/jobs", Some(TOKEN), &batch);
    assert_eq!(answer.status, 400, "{}", answer.body);
    let error = &answer.json()["error"];
    assert_eq!((error["index"].as_u64(), error["field"].as_str()), (Some(2), Some("message")), "{error}");
    assert!(error["message"].is_string());
    let unknown = post_json(port, "/v1/jobs", Some(TOKEN), &json!({"account": "nope", "message": "1"}));
    assert_eq!((unknown.status, unknown.json()["error"]["field"].as_str()), (400, Some("account")));
    assert_eq!(unknown.json()["error"]["index"], 0);
    let not_json = request(port, "POST", "/v1/jobs", Some(TOKEN), Some(b"{\"account\": "));
    assert_eq!((not_json.status, not_json.json()["error"]["field"].as_str()), (400, Some("body")));
    for body in ["[]", "42", "\"job\""] {
        let answer = request(port, "POST", "/v1/jobs", Some(TOKEN), Some(body.as_bytes()));
        assert_eq!((answer.status, answer.json()["error"]["field"].as_str()), (400, Some("body")), "{body}");
    }
    assert_eq!(dbsize(&redis.url()), before, "nothing was enqueued");

    // Unknown routes and methods answer JSON errors too.
    let missing = get(port, "/v2/jobs", Some(TOKEN));
    assert_eq!(missing.status, 404);
    assert!(missing.json()["error"]["message"].is_string());
    let method = request(port, "DELETE", "/v1/jobs", Some(TOKEN), None);
    assert_eq!(method.status, 405);
    assert!(method.json()["error"]["message"].is_string());
    let limit = get(port, "/v1/dlq?limit=many", Some(TOKEN));
    assert_eq!(limit.status, 400);
    assert!(limit.json()["error"]["message"].is_string());
}

#[test]
fn a_body_over_the_cap_is_refused_with_413() {
    let redis = RedisServer::start();
    let config = config(&redis.url(), "http://127.0.0.1:9", &format!("{}\nmax_body = \"1KB\"", tokens()));
    let server = serve(&config);
    let port = server.port();
    let before = dbsize(&redis.url());
    let big: Vec<Value> = (0..60).map(|i| json!({"account": "cc", "message": format!("m{i}")})).collect();
    let big = Value::Array(big);
    assert!(big.to_string().len() > 1024);
    let answer = post_json(port, "/v1/jobs", Some(TOKEN), &big);
    assert_eq!(answer.status, 413, "{}", answer.body);
    assert!(answer.json()["error"]["message"].as_str().is_some_and(|m| m.contains("1024")), "{}", answer.body);
    let lines = "{\"account\":\"cc\",\"message\":\"x\"}\n".repeat(40);
    let campaign = request(port, "POST", "/v1/campaigns?name=big", Some(TOKEN), Some(lines.as_bytes()));
    assert_eq!(campaign.status, 413, "{}", campaign.body);
    assert_eq!(dbsize(&redis.url()), before, "nothing was stored");
    let small = post_json(port, "/v1/jobs", Some(TOKEN), &json!([{"account": "cc", "message": "fits"}]));
    assert_eq!(small.status, 201, "{}", small.body);
}

#[test]
fn a_campaign_is_submitted_followed_cancelled_and_listed_over_http() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::ZERO });
    let config = config(&redis.url(), emulator.url(), &tokens());
    let server = serve(&config);
    let port = server.port();

    // An invalid line: nothing stored; `index` is the line's 0-based position, blank lines included.
    let before = dbsize(&redis.url());
    let bad = "{\"account\":\"cc\",\"message\":\"1\"}\n\n{\"account\":\"cc\",\"mesage\":\"2\"}\n";
    let answer = request(port, "POST", "/v1/campaigns?name=bad", Some(TOKEN), Some(bad.as_bytes()));
    assert_eq!(answer.status, 400, "{}", answer.body);
    let error = &answer.json()["error"];
    assert_eq!((error["index"].as_u64(), error["field"].as_str()), (Some(2), Some("mesage")), "{error}");
    assert_eq!(dbsize(&redis.url()), before, "nothing stored, not even the campaign");

    let mut lines: Vec<String> = (0..30).map(|i| format!(r#"{{"account":"cc","message":"c{i}"}}"#)).collect();
    lines.insert(10, String::new());
    lines.push(r#"{"account":"cc","messages":["x1","x2"]}"#.into());
    let body = lines.join("\n");
    let submitted = request(port, "POST", "/v1/campaigns?name=spam%20wave", Some(TOKEN), Some(body.as_bytes()));
    assert_eq!(submitted.status, 201, "{}", submitted.body);
    let submitted = submitted.json();
    assert_eq!((submitted["total"].as_u64(), submitted["jobs"].as_u64()), (Some(32), Some(31)), "{submitted}");
    assert_eq!(submitted["name"], "spam wave");
    let id = submitted["id"].as_str().expect("id").to_string();

    let shown = get(port, &format!("/v1/campaigns/{id}"), Some(TOKEN));
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(shown.json(), cli_json(&config, &["campaign", "status", &id, "--json"]));
    assert_eq!((shown.json()["pending"].as_u64(), shown.json()["state"].as_str()), (Some(32), Some("running")));

    let cancelled = request(port, "POST", &format!("/v1/campaigns/{id}/cancel"), Some(TOKEN), None);
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.json()["state"], "cancelling");
    assert!(cancelled.json()["cancelled_ms"].is_u64());

    // With nothing called before the cancel, every message ends `cancelled`.
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    let done = || get(port, &format!("/v1/campaigns/{id}"), Some(TOKEN)).json()["pending"] == 0;
    assert!(wait_until(Duration::from_secs(30), done), "{}", worker.log());
    let listed = get(port, "/v1/campaigns", Some(TOKEN));
    assert_eq!(listed.status, 200);
    assert_eq!(listed.json(), cli_json(&config, &["campaign", "list", "--json"]));
    let only = &listed.json()[0];
    assert_eq!((only["id"].as_str(), only["state"].as_str()), (Some(id.as_str()), Some("done")), "{only}");
    assert_eq!(only["cancelled"], 32, "{only}");
    assert_eq!(emulator.state.total_deletions(), 0, "no provider call for a cancelled campaign");

    for (method, path) in [("GET", "/v1/campaigns/01ARZ3NDEKTSV4RRFFQ69G5FAV"), ("POST", "/v1/campaigns/nope/cancel")] {
        let missing = request(port, method, path, Some(TOKEN), None);
        assert_eq!(missing.status, 404, "{path}: {}", missing.body);
        assert!(missing.json()["error"]["message"].is_string());
    }
}

#[test]
fn dead_letters_are_listed_and_replayed_over_http() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::ZERO });
    emulator.state.inject(Fault::new("cometchat", None, "denied", vec![403]));
    let config = config(&redis.url(), emulator.url(), &tokens());
    let server = serve(&config);
    let port = server.port();
    let jobs = json!([{"account": "cc", "message": "denied"}, {"account": "cc", "message": "fine"}]);
    let posted = post_json(port, "/v1/jobs", Some(TOKEN), &jobs);
    assert_eq!(posted.status, 201, "{}", posted.body);
    let denied_id = posted.json()["ids"][0].as_str().expect("id").to_string();

    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(30), || terminal(&redis.url()).len() == 2), "{}", worker.log());
    let listed = get(port, "/v1/dlq", Some(TOKEN));
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.json(), cli_json(&config, &["dlq", "list", "--json"]));
    let letters = listed.json();
    assert_eq!(letters.as_array().map(Vec::len), Some(1), "{letters}");
    assert_eq!((letters[0]["id"].as_str(), letters[0]["last_status"].as_u64()), (Some(denied_id.as_str()), Some(403)));
    assert_eq!(letters[0]["job"]["message"], "denied");
    assert_eq!(get(port, "/v1/dlq?account=cc&limit=5", Some(TOKEN)).json().as_array().map(Vec::len), Some(1));
    assert_eq!(get(port, "/v1/dlq?account=other", Some(TOKEN)).json(), json!([]));

    let neither = post_json(port, "/v1/dlq/replay", Some(TOKEN), &json!({}));
    assert_eq!(neither.status, 400, "{}", neither.body);
    let replayed = post_json(port, "/v1/dlq/replay", Some(TOKEN), &json!({"ids": [denied_id, "no-such-id"]}));
    let answer = json!({"replayed": 1, "requested": 2, "not_dead": ["no-such-id"]});
    assert_eq!((replayed.status, replayed.json()), (200, answer), "{}", replayed.body);
    // The fault was used up: the replay deletes it.
    let deleted = || terminal(&redis.url()).iter().any(|r| r["message"] == "denied" && r["outcome"] == "deleted");
    assert!(wait_until(Duration::from_secs(30), deleted), "{}", worker.log());
    assert_eq!(get(port, "/v1/dlq", Some(TOKEN)).json(), json!([]));
    let all = post_json(port, "/v1/dlq/replay", Some(TOKEN), &json!({"all": true}));
    assert_eq!((all.status, all.json()), (200, json!({"replayed": 0, "all": true})), "{}", all.body);
}

/// What `deleteq dlq replay ARGS… --json` prints (it must succeed), as text.
fn cli_replay(config: &TestConfig, args: &[&str]) -> String {
    let args: Vec<&str> = ["dlq", "replay"].iter().chain(args).chain(&["--json"]).copied().collect();
    let out = deleteq(&config.path, &args, None);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8").trim_end().to_string()
}

#[test]
fn a_replay_over_http_answers_what_dlq_replay_json_prints() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::ZERO });
    // Each refusal dead-letters the job: m1 and m2 are refused once (deleted once replayed), m3 and m4 twice (dead
    // again after one replay, deleted after the second).
    let messages = ["m1", "m2", "m3", "m4"];
    for (message, refusals) in messages.iter().zip([1, 1, 2, 2]) {
        emulator.state.inject(Fault::new("cometchat", None, message, vec![403; refusals]));
    }
    let config = config(&redis.url(), emulator.url(), &tokens());
    let server = serve(&config);
    let port = server.port();
    let jobs: Vec<Value> = messages.iter().map(|m| json!({"account": "cc", "message": m})).collect();
    let posted = post_json(port, "/v1/jobs", Some(TOKEN), &Value::Array(jobs));
    assert_eq!(posted.status, 201, "{}", posted.body);
    let ids: Vec<String> =
        posted.json()["ids"].as_array().expect("ids").iter().map(|id| id.as_str().expect("id").to_string()).collect();
    // The dead letters' ids, sorted.
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };
    let dead = || {
        let letters = get(port, "/v1/dlq", Some(TOKEN)).json();
        sorted(letters.as_array().expect("letters").iter().map(|l| l["id"].as_str().expect("id").to_string()).collect())
    };

    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    let all_four = sorted(ids.clone());
    assert!(wait_until(Duration::from_secs(30), || dead() == all_four), "{:?}: {}", dead(), worker.log());

    // By id, one of the two ids not a dead letter: the API on m1 and the command line on m2, the same state.
    let by_id = post_json(port, "/v1/dlq/replay", Some(TOKEN), &json!({"ids": [ids[0], "no-such-id"]}));
    assert_eq!(by_id.status, 200, "{}", by_id.body);
    let cli = cli_replay(&config, &[&ids[1], "no-such-id"]);
    assert_eq!(by_id.body, cli, "the same fields, names and order");
    assert_eq!(by_id.json(), json!({"replayed": 1, "requested": 2, "not_dead": ["no-such-id"]}));
    let both = sorted(ids[2..].to_vec());
    assert_eq!(dead(), both);

    // All: the API replays m3 and m4; refused again, they are dead again, and the command line replays them.
    let all = post_json(port, "/v1/dlq/replay", Some(TOKEN), &json!({"all": true}));
    assert_eq!(all.status, 200, "{}", all.body);
    assert!(wait_until(Duration::from_secs(30), || dead() == both), "{:?}: {}", dead(), worker.log());
    let cli = cli_replay(&config, &["--all"]);
    assert_eq!(all.body, cli, "the same fields, names and order");
    assert_eq!(all.json(), json!({"replayed": 2, "all": true}));

    let deleted = || terminal(&redis.url()).iter().filter(|r| r["outcome"] == "deleted").count() == messages.len();
    assert!(wait_until(Duration::from_secs(30), deleted), "{}", worker.log());
    assert_eq!(dead(), Vec::<String>::new());
}

#[test]
fn serve_without_tokens_refuses_to_start_unless_told_and_stops_on_sigterm() {
    let redis = RedisServer::start();
    let config = config(&redis.url(), "http://127.0.0.1:9", "addr = \"127.0.0.1:0\"");
    let out = deleteq(&config.path, &["serve"], None);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("[api] tokens") && stderr.contains("--insecure-no-auth"), "{stderr}");

    let mut open =
        Server::start(&config.path, config.dir.path().join("open.log"), "info", &["--insecure-no-auth"], &[]);
    assert_eq!(get(open.port(), "/v1/status", None).status, 200, "--insecure-no-auth serves without a token");
    open.signal("TERM");
    let status = open.wait(Duration::from_secs(10)).expect("it stops on SIGTERM");
    assert!(status.success(), "{status}: {}", open.log());

    // Tokens from the environment (`${VAR}`), as deployments give them; configured tokens are required even
    // with --insecure-no-auth.
    let env_config = config_with_env_token(&redis.url());
    let env = [("DELETEQ_TEST_API_TOKEN", "from-the-environment")];
    let log = env_config.dir.path().join("env.log");
    let server = Server::start(&env_config.path, log, "info", &["--insecure-no-auth"], &env);
    assert_eq!(get(server.port(), "/v1/status", Some("from-the-environment")).status, 200);
    assert_eq!(get(server.port(), "/v1/status", Some("${DELETEQ_TEST_API_TOKEN}")).status, 401);
    assert_eq!(get(server.port(), "/v1/status", None).status, 401);
}

fn config_with_env_token(redis_url: &str) -> TestConfig {
    config(redis_url, "http://127.0.0.1:9", "tokens = [\"${DELETEQ_TEST_API_TOKEN}\"]")
}

#[test]
fn a_parked_account_is_resumed_over_http() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::ZERO });
    let config = config(&redis.url(), emulator.url(), &tokens());
    let server = serve(&config);
    let port = server.port();
    // Parked as a worker parks it when the provider refuses its key.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let target = deleteq_queue::RedisTarget::new(&redis.url()).expect("url");
    let options = deleteq_queue::QueueOptions::from_config(&deleteq_core::Config::default());
    let queue = rt.block_on(deleteq_queue::Queue::connect(&target, options)).expect("connect");
    rt.block_on(queue.park_account("cc", "HTTP 401: the key was refused", deleteq_core::now_ms())).expect("park");
    let status = get(port, "/v1/status", Some(TOKEN)).json();
    assert_eq!(status["accounts"]["cc"]["parked"]["reason"], "HTTP 401: the key was refused", "{status}");

    let resume =
        |name: &str, token: Option<&str>| request(port, "POST", &format!("/v1/accounts/{name}/resume"), token, None);
    assert_eq!(resume("cc", None).status, 401, "a token is needed");
    assert!(rt.block_on(queue.account_parked("cc")).expect("parked").is_some(), "still parked");
    let answer = resume("cc", Some(TOKEN));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();
    assert_eq!(
        (body["account"].as_str(), body["was_parked"].as_bool(), body["reason"].as_str(), body["jobs_back"].as_u64()),
        (Some("cc"), Some(true), Some("HTTP 401: the key was refused"), Some(0)),
        "{body}"
    );
    assert!(rt.block_on(queue.account_parked("cc")).expect("parked").is_none(), "resumed");
    assert!(get(port, "/v1/status", Some(TOKEN)).json()["accounts"]["cc"]["parked"].is_null());
    // Again: nothing to do, said so; an account not in the config is 404.
    assert_eq!(resume("cc", Some(TOKEN)).json()["was_parked"], false);
    assert_eq!(resume("nope", Some(TOKEN)).status, 404);
}

#[test]
fn serve_waits_unready_while_redis_is_down_and_serves_once_it_answers() {
    let mut redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig::default());
    let config = config(&redis.url(), emulator.url(), &tokens());
    redis.kill();
    // Redis is down at startup: serve listens anyway, alive but not ready, and refuses work with a 503.
    let server = serve(&config);
    assert_eq!(get(server.port(), "/healthz", None).status, 200);
    let ready = get(server.port(), "/readyz", None);
    assert_eq!(ready.status, 503, "{}", ready.body);
    let job = json!({"account": "cc", "message": "m-wait"});
    let refused = post_json(server.port(), "/v1/jobs", Some(TOKEN), &job);
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert!(
        refused.json()["error"]["message"].as_str().unwrap_or("").contains("not reachable yet"),
        "{}",
        refused.body
    );
    assert_eq!(get(server.port(), "/v1/status", Some("wrong-token")).status, 401, "the token is still checked first");

    // Redis comes back: ready, and the job is taken.
    redis.restart();
    assert!(
        wait_until(Duration::from_secs(15), || get(server.port(), "/readyz", None).status == 200),
        "{}",
        server.log()
    );
    let stored = post_json(server.port(), "/v1/jobs", Some(TOKEN), &job);
    assert_eq!(stored.status, 201, "{}", stored.body);
    let log = server.log();
    assert!(log.contains("serving 503 until it does") && log.contains("the HTTP API is ready"), "{log}");
    assert!(!server.log().contains("cc-http-secret"));
}
