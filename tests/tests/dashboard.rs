//! The web dashboard at `/` of `deleteq serve` (DESIGN §8): its files are served open with their types, the
//! `GET /v1/audit` it reads needs the token, and, in a real headless Chromium, a person who enters the token sees a
//! running campaign's progress and a dead letter, and cancels the campaign with its button and a confirmation;
//! a parked account is resumed with its Resume button.
//!
//! `DELETEQ_SCREENSHOT=docs/dashboard.png` (relative to the repository root, or absolute) saves a 1366×768
//! screenshot taken while the campaign runs: the README's picture.

use deleteq_emulator::{EmulatorConfig, Fault};
use deleteq_tests::browser::Browser;
use deleteq_tests::http::{get, request};
use deleteq_tests::{deleteq, wait_until, RedisServer, Server, TestConfig, TestEmulator, Worker};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

const TOKEN: &str = "dashboard-token-0123456789";

/// A config with the token, a worker at concurrency 4, and `accounts` (TOML) after `redis` (more `[redis]` keys).
fn config(redis_url: &str, redis: &str, accounts: &str) -> TestConfig {
    let body = format!(
        "{redis}\n[worker]\nconcurrency = 4\nlease = \"5s\"\nshutdown_grace = \"2s\"\n\n[api]\ntokens = [\"{TOKEN}\"]\n\n\
         {accounts}\n"
    );
    TestConfig::new(redis_url, &body)
}

fn serve(config: &TestConfig) -> Server {
    Server::start(&config.path, config.dir.path().join("serve.log"), "info", &[], &[])
}

/// Every byte but letters and digits percent-encoded, for a query string.
fn query_encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// Submits `lines` as a campaign named `name` over the API; answers its id.
fn submit(port: u16, name: &str, lines: &[String]) -> String {
    let path = format!("/v1/campaigns?name={}", query_encode(name));
    let body = lines.join("\n");
    let answer = request(port, "POST", &path, Some(TOKEN), Some(body.as_bytes()));
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.json()["id"].as_str().expect("an id").to_string()
}

fn campaign(port: u16, id: &str) -> Value {
    let answer = get(port, &format!("/v1/campaigns/{id}"), Some(TOKEN));
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()
}

#[test]
fn the_page_and_its_files_are_open_and_the_audit_records_need_the_token() {
    let redis = RedisServer::start();
    let config = config(&redis.url(), "shards = 2", "[accounts.nop]\nprovider = \"noop\"\n");
    let server = serve(&config);
    let port = server.port();

    for (path, content_type, needle) in [
        ("/", "text/html; charset=utf-8", "<title>deleteq</title>"),
        ("/assets/dashboard.js", "text/javascript; charset=utf-8", "/v1/status"),
        ("/assets/dashboard.css", "text/css; charset=utf-8", ".progress"),
    ] {
        let answer = get(port, path, None);
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        assert_eq!(answer.header("content-type"), Some(content_type), "{path}");
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert!(answer.body.contains(needle), "{path} lacks {needle:?}");
    }
    let csp = get(port, "/", None).header("content-security-policy").map(str::to_string);
    assert!(csp.as_deref().is_some_and(|c| c.contains("default-src 'none'") && c.contains("script-src 'self'")));
    let missing = get(port, "/assets/nothing.js", None);
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert!(missing.json()["error"]["message"].is_string());

    for token in [None, Some("wrong-token")] {
        let refused = get(port, "/v1/audit", token);
        assert_eq!((refused.status, refused.header("www-authenticate")), (401, Some("Bearer")), "{token:?}");
    }
    assert_eq!(get(port, "/v1/audit", Some(TOKEN)).json(), json!([]));

    let jobs: Vec<String> = (0..6).map(|i| format!(r#"{{"account":"nop","message":"a{i}"}}"#)).collect();
    let file = config.jobs_file("jobs.jsonl", &jobs);
    let out = deleteq(&config.path, &["enqueue", "--file", file.to_str().expect("path")], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    let all = || get(port, "/v1/audit?limit=100", Some(TOKEN)).json();
    assert!(wait_until(Duration::from_secs(30), || all().as_array().map(Vec::len) == Some(6)), "{}", worker.log());

    // Newest first across both shards, each with its stream id and the 17 fields.
    let all = all();
    let records = all.as_array().expect("an array");
    // Newest as the streams order them: by stream id (time of writing, then sequence).
    let order = |r: &Value| {
        let id = r["id"].as_str().expect("a stream id");
        let (ms, seq) = id.split_once('-').expect("<ms>-<seq>");
        (ms.parse::<u64>().expect("ms"), seq.parse::<u64>().expect("seq"))
    };
    let ids: Vec<(u64, u64)> = records.iter().map(order).collect();
    assert!(ids.windows(2).all(|w| w[0] >= w[1]), "not newest first: {ids:?}");
    for record in records {
        assert_eq!(record.as_object().map(|o| o.len()), Some(1 + deleteq_core::audit::FIELDS.len()), "{record}");
        assert_eq!((record["outcome"].as_str(), record["provider"].as_str()), (Some("deleted"), Some("noop")));
        assert_eq!(record["mode"], "unknown", "noop deletes nothing anywhere: {record}");
    }
    let newest = get(port, "/v1/audit?limit=4", Some(TOKEN)).json();
    assert_eq!(newest.as_array().map(|a| a.as_slice()), Some(&records[..4]));
    assert_eq!(get(port, "/v1/audit", Some(TOKEN)).json(), all, "the default limit (50) covers all six");
    for bad in ["0", "10001", "ten", "-1"] {
        let answer = get(port, &format!("/v1/audit?limit={bad}"), Some(TOKEN));
        assert_eq!(answer.status, 400, "limit={bad}: {}", answer.body);
    }

    // The status has one entry per shard, adding up to the totals; the command line prints the same report.
    let status = get(port, "/v1/status", Some(TOKEN)).json();
    let shards = status["shards"].as_array().expect("shards");
    assert_eq!(shards.iter().map(|s| s["shard"].as_u64()).collect::<Vec<_>>(), [Some(0), Some(1)], "{status}");
    for key in ["queued", "leased", "scheduled", "dead", "jobs", "audit_records"] {
        let sum: u64 = shards.iter().map(|s| s[key].as_u64().expect(key)).sum();
        assert_eq!(Some(sum), status[key].as_u64(), "{key}: {status}");
    }
    assert_eq!(status["audit_records"], 6);
    let out = deleteq(&config.path, &["status", "--json"], None);
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).expect("status --json"), status);

    let spec = get(port, "/openapi.json", None).json();
    assert!(spec["paths"]["/v1/audit"]["get"].is_object(), "/v1/audit is missing from the spec");
    assert!(spec["components"]["schemas"]["ShardStatus"].is_object());
}

#[test]
fn a_person_sees_a_running_campaign_and_its_dead_letter_and_cancels_it_in_a_browser() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::from_millis(20) });
    // A 403 refuses this message alone (a 401 would park the whole account).
    emulator.state.inject(Fault::new("cometchat", None, "denied", vec![403]));
    // The rate limit bounds the campaign from below (3,000 messages take at least a minute), so it is still running
    // when the browser gets to it however fast the machine is.
    let account = format!(
        "[accounts.cc-eu]\nprovider = \"cometchat\"\nbase_url = \"{}\"\napi_key = \"k\"\nrate_limit = \"50/s\"\n",
        emulator.url()
    );
    let config = config(&redis.url(), "", &account);
    let server = serve(&config);
    let port = server.port();

    let small: Vec<String> = (0..40).map(|i| format!(r#"{{"account":"cc-eu","message":"g{i}"}}"#)).collect();
    submit(port, "gdpr erasure #4121", &small);
    let mut lines = vec![r#"{"account":"cc-eu","message":"denied"}"#.to_string()];
    lines.extend((1..3_000).map(|i| format!(r#"{{"account":"cc-eu","message":"c{i}"}}"#)));
    let id = submit(port, "spam wave 7", &lines);
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");

    let dead_id = || get(port, "/v1/dlq", Some(TOKEN)).json()[0]["id"].as_str().map(str::to_string);
    assert!(wait_until(Duration::from_secs(60), || dead_id().is_some()), "no dead letter: {}", worker.log());
    let dead_id = dead_id().expect("the dead letter");
    let started = || campaign(port, &id)["deleted"].as_u64().is_some_and(|n| n >= 20);
    assert!(wait_until(Duration::from_secs(60), started), "{}", worker.log());

    let browser = Browser::start();
    browser.goto(&format!("http://127.0.0.1:{port}/"));
    let input = browser.wait_for("#token-input", Duration::from_secs(20));
    browser.type_into(&input, TOKEN);
    browser.click(&browser.wait_for("#token-submit", Duration::from_secs(5)));

    // The running campaign, with a progress bar past zero and its counts; the dead letter by id.
    let card = format!(r#".campaign[data-id="{id}"]"#);
    browser.wait_for(&card, Duration::from_secs(20));
    let progress = || {
        let bar = format!("{card} [role=progressbar]");
        browser.script("return document.querySelector(arguments[0]).getAttribute('aria-valuenow');", &[json!(bar)])
    };
    let moving = || progress().as_str().and_then(|n| n.parse::<u64>().ok()).is_some_and(|n| n > 0);
    assert!(wait_until(Duration::from_secs(20), moving), "no progress shown: {}", browser.body_text());
    assert_eq!(browser.text(&format!("{card} .badge")), "running", "{}", browser.body_text());
    assert!(browser.text(&card).contains("spam wave 7"), "{}", browser.body_text());
    let letter = || browser.text("#dlq").contains(&dead_id);
    assert!(wait_until(Duration::from_secs(20), letter), "dead letter {dead_id} not shown: {}", browser.body_text());
    let audited = || browser.script("return document.querySelectorAll('#audit tbody tr').length;", &[]).as_u64();
    assert!(wait_until(Duration::from_secs(20), || audited().is_some_and(|n| n > 0)), "{}", browser.body_text());
    assert!(browser.text("#accounts").contains("cc-eu"), "{}", browser.body_text());
    // How each message was deleted: without `permanent`, CometChat keeps it (soft).
    let modes = || browser.text("#audit").contains("soft");
    assert!(wait_until(Duration::from_secs(20), modes), "no deletion mode shown: {}", browser.text("#audit"));
    assert!(browser.text("#live").contains("live"), "{}", browser.body_text());
    if let Some(path) = screenshot_path() {
        std::fs::write(&path, browser.screenshot()).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    // Cancel: the button asks first; "Keep it" changes nothing, "Cancel campaign" cancels.
    let cancel = format!("{card} button.cancel");
    browser.click(&browser.wait_for(&cancel, Duration::from_secs(5)));
    browser.click(&browser.wait_for("#confirm[open] #confirm-no", Duration::from_secs(5)));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(campaign(port, &id)["cancelled_ms"], Value::Null, "kept, yet cancelled");
    browser.click(&browser.wait_for(&cancel, Duration::from_secs(5)));
    browser.click(&browser.wait_for("#confirm[open] #confirm-yes", Duration::from_secs(5)));
    let cancelled = || campaign(port, &id)["cancelled_ms"].is_u64();
    assert!(wait_until(Duration::from_secs(10), cancelled), "not cancelled: {}", browser.body_text());

    let done = || campaign(port, &id)["pending"].as_u64() == Some(0);
    assert!(wait_until(Duration::from_secs(60), done), "{}", worker.log());
    let out = deleteq(&config.path, &["campaign", "status", &id, "--json"], None);
    let status: Value = serde_json::from_slice(&out.stdout).expect("campaign status --json");
    let count = |outcome: &str| status[outcome].as_u64().expect(outcome);
    assert_eq!((status["state"].as_str(), count("failed")), (Some("done"), 1), "{status}");
    assert!(count("deleted") > 0 && count("cancelled") > 0, "cancelled mid-run: {status}");
    assert_eq!(count("deleted") + count("cancelled") + count("failed"), 3_000, "{status}");
    let shown_done = || browser.text(&format!("{card} .badge")) == "done (cancelled)";
    assert!(wait_until(Duration::from_secs(20), shown_done), "{}", browser.body_text());

    // Names from the API are shown as text: markup in one is neither parsed nor run.
    let hostile = r#"<img src=x onerror="window.pwned=1"><b>bold</b>"#;
    let hostile_id = submit(port, hostile, &[r#"{"account":"cc-eu","message":"x1"}"#.to_string()]);
    let name = format!(r#".campaign[data-id="{hostile_id}"] .campaign-name"#);
    browser.wait_for(&name, Duration::from_secs(20));
    assert_eq!(browser.text(&name), hostile);
    let injected = browser.script(
        "return [window.pwned === undefined, document.querySelectorAll('.campaigns img, .campaigns b').length];",
        &[],
    );
    assert_eq!(injected, json!([true, 0]), "markup from the API reached the page");

    // A parked account shows its reason and a Resume button, which asks first and then resumes it.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let target = deleteq_queue::RedisTarget::new(&redis.url()).expect("url");
    let options = deleteq_queue::QueueOptions::from_config(&deleteq_core::Config::default());
    let queue = rt.block_on(deleteq_queue::Queue::connect(&target, options)).expect("connect");
    rt.block_on(queue.park_account("cc-eu", "HTTP 401: the key was refused", deleteq_core::now_ms())).expect("park");
    let resume = r#"#accounts tr[data-account="cc-eu"] button.resume"#;
    browser.wait_for(resume, Duration::from_secs(20));
    assert!(browser.text("#accounts").contains("the key was refused"), "{}", browser.text("#accounts"));
    // Clicked by script: the table is redrawn every two seconds, and a found button may be gone by the click.
    browser.script("document.querySelector(arguments[0]).click();", &[json!(resume)]);
    browser.click(&browser.wait_for("#confirm[open] #confirm-yes", Duration::from_secs(5)));
    let resumed = || rt.block_on(queue.account_parked("cc-eu")).is_ok_and(|p| p.is_none());
    assert!(wait_until(Duration::from_secs(10), resumed), "not resumed: {}", browser.body_text());
    let gone = || browser.find(resume).is_none();
    assert!(wait_until(Duration::from_secs(10), gone), "the button stays: {}", browser.text("#accounts"));
}

/// Where `DELETEQ_SCREENSHOT` asks for the screenshot, relative paths from the repository root.
fn screenshot_path() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os("DELETEQ_SCREENSHOT")?);
    let path = if path.is_absolute() { path } else { PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(path) };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("the screenshot's directory");
    }
    Some(path)
}
