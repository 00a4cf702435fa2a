//! The command line an operator meets first (DESIGN §4): no config, no run; `config check`; producers that need no
//! provider secret while the worker does; `--json` and exit codes of the operator writes; help and version.

use deleteq_emulator::{EmulatorConfig, Fault};
use deleteq_tests::inspect::terminal;
use deleteq_tests::{
    deleteq, deleteq_in, deleteq_with_env, free_port, wait_until, RedisServer, Server, TestConfig, TestEmulator, Worker,
};
use serde_json::Value;
use std::process::Output;
use std::time::Duration;

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not one JSON object ({e}): {}", text(out)))
}

#[test]
fn without_a_config_the_commands_refuse_and_say_where_they_looked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let jobs = dir.path().join("jobs.jsonl");
    std::fs::write(&jobs, "{\"account\":\"cc\",\"message\":\"1\"}\n").expect("jobs");
    let jobs = jobs.to_str().expect("path");
    for args in [
        &["worker"][..],
        &["serve", "--insecure-no-auth"],
        &["enqueue", r#"{"account":"cc","message":"1"}"#],
        &["campaign", "submit", jobs],
        &["campaign", "list"],
        &["status"],
        &["dlq", "purge"],
        &["audit", "tail"],
        &["accounts", "resume", "cc"],
        &["config", "check"],
    ] {
        let out = deleteq_in(dir.path(), args, &[]);
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let here = dir.path().join("deleteq.toml");
        for place in ["--config", "$DELETEQ_CONFIG", here.to_str().expect("path"), "deleteq config example"] {
            assert!(said.contains(place), "{args:?} does not mention {place}: {said}");
        }
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out));
    }
    // The example it points at is a valid config (its secrets are variables: a producer needs none of them).
    let example = deleteq_in(dir.path(), &["config", "example"], &[]);
    assert!(example.status.success(), "{}", text(&example));
    std::fs::write(dir.path().join("deleteq.toml"), &example.stdout).expect("write the example");
    let out = deleteq_in(dir.path(), &["config", "check", "--json"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let report = json(&out);
    assert_eq!((report["ok"].as_bool(), report["source"].as_str()), (Some(true), Some("./deleteq.toml")), "{report}");
    // $DELETEQ_CONFIG is the second place looked.
    let other = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("deleteq.toml");
    let out =
        deleteq_in(other.path(), &["config", "check", "--json"], &[("DELETEQ_CONFIG", path.to_str().expect("p"))]);
    assert_eq!(json(&out)["source"], "$DELETEQ_CONFIG", "{}", text(&out));
}

/// A config with a password in the Redis URL, a credential from the environment, a literal one, an API token and
/// a schedule. Nothing listens on its Redis port: `config check` must not need Redis.
fn secret_config() -> (TestConfig, u16) {
    let port = free_port();
    let config = TestConfig::new(
        &format!("redis://:hunter2-redis-pw@127.0.0.1:{port}"),
        r#"
[api]
tokens = ["${CHECK_API_TOKEN}"]

[metrics]
addr = "127.0.0.1:9464"

[accounts.cc]
provider = "cometchat"
base_url = "https://app.example.com"
api_key = "${CHECK_CC_KEY}"
rate_limit = "50/s"

[accounts.qb]
provider = "quickblox"
base_url = "https://api.quickblox.com"
token = "literal-qb-token-777"

[accounts.of]
provider = "ofauth"
base_url = "https://api-next.ofauth.com"
api_key = "${CHECK_UNSET_OF_KEY}"
connection_id = "conn-literal-888"

[accounts.nop]
provider = "noop"

[[schedules]]
name = "nightly"
cron = "0 3 * * *"
job = { account = "nop", message = "m1" }
"#,
    );
    (config, port)
}

const SECRET_VALUES: [&str; 5] =
    ["hunter2-redis-pw", "env-cc-key-31337", "literal-qb-token-777", "conn-literal-888", "env-api-token-4242"];
const SECRET_ENV: [(&str, &str); 2] = [("CHECK_CC_KEY", "env-cc-key-31337"), ("CHECK_API_TOKEN", "env-api-token-4242")];

#[test]
fn config_check_prints_what_it_resolved_and_no_secret() {
    let (config, port) = secret_config();
    let out = deleteq_with_env(&config.path, &["config", "check", "--json"], None, &SECRET_ENV);
    assert!(out.status.success(), "{}", text(&out));
    let report = json(&out);
    assert_eq!(report["ok"], true);
    assert_eq!(report["source"], "--config");
    assert_eq!(report["redis"]["target"], format!("127.0.0.1:{port}"), "{report}");
    assert_eq!(report["redis"]["password"], "redacted");
    assert_eq!((report["redis"]["prefix"].as_str(), report["redis"]["shards"].as_u64()), (Some("deleteq"), Some(1)));
    let accounts = report["accounts"].as_object().expect("accounts");
    assert_eq!(accounts.keys().collect::<Vec<_>>(), ["cc", "nop", "of", "qb"]);
    assert_eq!(report["accounts"]["cc"]["provider"], "cometchat");
    assert_eq!(report["accounts"]["cc"]["rate_limit"]["limit"], "50/s");
    assert_eq!(report["accounts"]["cc"]["rate_limit"]["source"], "configured");
    assert_eq!(report["accounts"]["qb"]["rate_limit"]["source"], "provider default");
    assert!(report["accounts"]["nop"]["rate_limit"].is_null());
    assert_eq!(report["accounts"]["cc"]["credentials"]["api_key"], "set");
    assert_eq!(report["accounts"]["qb"]["credentials"]["token"], "set");
    let of_key = report["accounts"]["of"]["credentials"]["api_key"].as_str().expect("of api_key");
    assert!(of_key.contains("CHECK_UNSET_OF_KEY"), "{of_key}");
    assert_eq!(report["unresolved"][0]["key"], "accounts.of.api_key", "{report}");
    assert_eq!(report["unresolved"][0]["needed_by"], "worker");
    assert_eq!(report["schedules"][0]["name"], "nightly");
    assert!(report["schedules"][0]["next_fire"].as_str().is_some_and(|t| t.ends_with('Z')), "{report}");
    assert_eq!((report["api"]["tokens"].as_u64(), report["metrics"].as_str()), (Some(1), Some("127.0.0.1:9464")));

    let plain = deleteq_with_env(&config.path, &["config", "check"], None, &SECRET_ENV);
    assert!(plain.status.success(), "{}", text(&plain));
    let shown = text(&plain);
    for needle in
        [format!("127.0.0.1:{port}"), "password redacted".into(), "nightly".into(), "CHECK_UNSET_OF_KEY".into()]
    {
        assert!(shown.contains(&needle), "{needle} missing: {shown}");
    }
    let worker = deleteq_with_env(&config.path, &["config", "check", "--for", "worker"], None, &SECRET_ENV);
    assert_eq!(worker.status.code(), Some(2), "{}", text(&worker));
    assert!(text(&worker).contains("CHECK_UNSET_OF_KEY"), "{}", text(&worker));
    for out in [&out, &plain, &worker] {
        for secret in SECRET_VALUES {
            assert!(!text(out).contains(secret), "{secret} leaked: {}", text(out));
        }
    }
}

#[test]
fn config_check_of_a_broken_config_exits_2_naming_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (body, names) in [
        ("[worker]\nconcurrency = \"lots\"\n", &["worker.concurrency", "line 2"][..]),
        ("[accounts.cc]\nprovider = \"cometchat\"\napi_key = \"k\"\n", &["accounts.cc.base_url"]),
        ("[accounts.cc]\nprovider = \"telegram\"\n", &["accounts.cc.provider"]),
        ("[redis]\nshards = 0\n", &["redis.shards"]),
        ("[worker]\nconcurrency = \n", &["line 2"]),
        ("[[schedules]]\nname = \"x\"\ncron = \"every day\"\njob = { account = \"nop\", message = \"1\" }\n", &["x"]),
    ] {
        let path = dir.path().join("broken.toml");
        std::fs::write(&path, body).expect("write");
        let out = deleteq(&path, &["config", "check"], None);
        assert_eq!(out.status.code(), Some(2), "{body}: {}", text(&out));
        for name in names {
            assert!(text(&out).contains(name), "{body}: {name} not named: {}", text(&out));
        }
        let out = deleteq(&path, &["config", "check", "--json"], None);
        assert_eq!(out.status.code(), Some(2), "{body}: {}", text(&out));
        let report = json(&out);
        assert_eq!(report["ok"], false, "{report}");
        assert!(report["error"].as_str().is_some_and(|e| e.contains(names[0])), "{report}");
    }
}

#[test]
fn producers_need_no_provider_secret_and_the_worker_names_the_one_missing() {
    let redis = RedisServer::start();
    let config = TestConfig::new(
        &redis.url(),
        "[accounts.cc]\nprovider = \"cometchat\"\nbase_url = \"http://127.0.0.1:9\"\napi_key = \"${UNSET_VAR}\"\n",
    );
    let out = deleteq(&config.path, &["enqueue", r#"{"account":"cc","message":"m1"}"#], None);
    assert!(out.status.success(), "{}", text(&out));
    let file = config.jobs_file("c.jsonl", &[r#"{"account":"cc","message":"m2"}"#.to_string()]);
    let out = deleteq(&config.path, &["campaign", "submit", file.to_str().expect("path"), "--json"], None);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json(&out)["total"], 1);
    let out = deleteq(&config.path, &["status", "--json"], None);
    assert_eq!(json(&out)["accounts"]["cc"]["pending"], 2, "{}", text(&out));
    // A bad job is still refused: leniency is about secrets only.
    let out = deleteq(&config.path, &["enqueue", r#"{"account":"nope","message":"m1"}"#], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    let server = Server::start(&config.path, config.dir.path().join("serve.log"), "info", &["--insecure-no-auth"], &[]);
    let body = serde_json::json!({"account": "cc", "message": "m3"});
    let reply = deleteq_tests::http::post_json(server.port(), "/v1/jobs", None, &body);
    assert!(reply.status < 300, "{} {}", reply.status, reply.body);
    drop(server);

    let mut worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    let status = worker.wait(Duration::from_secs(20)).expect("the worker exits");
    assert_eq!(status.code(), Some(2), "{}", worker.log());
    assert!(worker.log().contains("UNSET_VAR") && worker.log().contains("accounts.cc.api_key"), "{}", worker.log());

    // The API tokens are serve's: the worker and the producers do without them, serve refuses.
    let config = TestConfig::new(
        &redis.url(),
        "[api]\ntokens = [\"${UNSET_API_TOKEN}\"]\n\n[accounts.nop]\nprovider = \"noop\"\n",
    );
    let out = deleteq(&config.path, &["enqueue", r#"{"account":"nop","message":"m4"}"#], None);
    assert!(out.status.success(), "{}", text(&out));
    let out = deleteq(&config.path, &["serve", "--addr", &format!("127.0.0.1:{}", free_port())], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("UNSET_API_TOKEN") && text(&out).contains("api.tokens[0]"), "{}", text(&out));
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(15), || terminal(&redis.url()).iter().any(|r| r["message"] == "m4")));
    drop(worker);
}

#[test]
fn operator_writes_answer_json_and_exit_1_when_nothing_matched() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig { accept_unknown: true, latency: Duration::ZERO });
    emulator.state.inject(Fault::new("cometchat", None, "denied", vec![403]));
    let config = TestConfig::cometchat(&redis.url(), emulator.url(), "concurrency = 2");

    let out = deleteq(&config.path, &["dlq", "replay", "NOPE"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("replayed 0"), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOPE"), "{}", text(&out));
    let out = deleteq(&config.path, &["dlq", "replay", "NOPE", "--json"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(json(&out), serde_json::json!({"replayed": 0, "requested": 1, "not_dead": ["NOPE"]}));
    let out = deleteq(&config.path, &["dlq", "replay", "--all", "--json"], None);
    assert!(out.status.success(), "an empty set replayed in full: {}", text(&out));
    assert_eq!(json(&out), serde_json::json!({"replayed": 0, "all": true}));

    let out = deleteq(&config.path, &["accounts", "resume", "cc"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("not parked"), "{}", text(&out));
    let out = deleteq(&config.path, &["accounts", "resume", "cc", "--json"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let resumed = json(&out);
    assert_eq!((resumed["account"].as_str(), resumed["was_parked"].as_bool()), (Some("cc"), Some(false)));
    assert_eq!(resumed["jobs_back"], 0);
    let out = deleteq(&config.path, &["accounts", "resume", "nope", "--json"], None);
    assert_eq!(out.status.code(), Some(2), "an account not configured is bad input: {}", text(&out));

    // A real dead letter, replayed by id beside one that is not.
    let out = deleteq(&config.path, &["enqueue", r#"{"account":"cc","message":"denied"}"#], None);
    assert!(out.status.success(), "{}", text(&out));
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(15), || terminal(&redis.url()).len() == 1), "{}", worker.log());
    drop(worker);
    let out = deleteq(&config.path, &["dlq", "replay", &id, "NOPE", "--json"], None);
    assert!(out.status.success(), "something matched: {}", text(&out));
    assert_eq!(json(&out), serde_json::json!({"replayed": 1, "requested": 2, "not_dead": ["NOPE"]}));

    let out = deleteq(&config.path, &["dlq", "purge", "--older-than", "1h", "--json"], None);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json(&out), serde_json::json!({"purged": 0, "older_than_ms": 3_600_000}));
    let out = deleteq(&config.path, &["dlq", "purge", "--json"], None);
    assert_eq!(json(&out), serde_json::json!({"purged": 0, "older_than_ms": null}), "{}", text(&out));
}

#[test]
fn help_lists_every_command_and_version_names_the_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = deleteq_in(dir.path(), &["--help"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let help = String::from_utf8_lossy(&out.stdout).to_string();
    let listed: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let all = ["worker", "enqueue", "campaign", "audit", "dlq", "status", "accounts", "emulator", "serve", "config"];
    for command in all {
        assert!(listed.contains(&command), "{command} is not in the help: {help}");
    }
    for (command, subcommands) in [
        ("campaign", &["submit", "status", "cancel", "list"][..]),
        ("audit", &["tail", "export"]),
        ("dlq", &["list", "replay", "purge"]),
        ("accounts", &["resume"]),
        ("config", &["check", "example"]),
    ] {
        let out = deleteq_in(dir.path(), &[command, "--help"], &[]);
        let help = String::from_utf8_lossy(&out.stdout);
        for sub in subcommands {
            assert!(help.contains(&format!("  {sub} ")), "{command} {sub} is not in: {help}");
        }
    }
    let out = deleteq_in(dir.path(), &["--version"], &[]);
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(version.starts_with("deleteq 0.") && version.contains("(commit "), "{version}");
}
