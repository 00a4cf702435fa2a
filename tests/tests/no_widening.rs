//! Nothing widens a request (DESIGN §2): `.` and `..` as any id or conversation, and `_all` as a room IM message
//! id, are refused at every door — `deleteq enqueue`, `campaign submit`, `POST /v1/jobs`, `POST /v1/campaigns`,
//! `[[schedules]]` job templates and the producer library — with exit 2 / HTTP 400 naming the line and field, and
//! nothing stored. The emulator implements IMKIT's `DELETE /rooms/{room}`, which `…/messages/..` would reach;
//! after a worker has run what was accepted, no room is deleted and the room's other messages are still there.

use deleteq_core::{Config, Job};
use deleteq_emulator::EmulatorConfig;
use deleteq_producer::{Producer, ProducerError};
use deleteq_tests::http::{post_json, request};
use deleteq_tests::inspect::{dbsize, terminal};
use deleteq_tests::{deleteq, wait_until, RedisServer, Server, TestConfig, TestEmulator, Worker};
use serde_json::Value;
use std::time::Duration;

const TOKEN: &str = "test-token-0123456789";
const ROOM: &str = "test-room-123";

/// Every account kind that takes ids, all on `emulator_url`, and an `[api]` token.
fn accounts(emulator_url: &str) -> String {
    format!(
        r#"[worker]
concurrency = 4
lease = "5s"
shutdown_grace = "2s"

[api]
tokens = ["{TOKEN}"]

[accounts.im]
provider = "room_im"
base_url = "{emulator_url}"
client_key = "c"
token = "t"
rate_limit = "100000/s"
[accounts.cc]
provider = "cometchat"
base_url = "{emulator_url}"
api_key = "k"
[accounts.qb]
provider = "quickblox"
base_url = "{emulator_url}"
api_key = "k"
[accounts.wa]
provider = "twochat"
base_url = "{emulator_url}"
api_key = "k"
[accounts.of]
provider = "ofauth"
base_url = "{emulator_url}"
api_key = "k"
connection_id = "conn"
"#
    )
}

/// (a job that would address more than it names, the field the refusal must name)
fn widening() -> Vec<(String, &'static str)> {
    let mut cases = Vec::new();
    for dots in [".", ".."] {
        cases.extend([
            (format!(r#"{{"account":"im","conversation":"{ROOM}","message":"{dots}"}}"#), "message"),
            (format!(r#"{{"account":"im","conversation":"{ROOM}","messages":["m1","{dots}"]}}"#), "messages"),
            (format!(r#"{{"account":"im","conversation":"{dots}","message":"m1"}}"#), "conversation"),
            (format!(r#"{{"account":"im","conversation":"{dots}","purge":true}}"#), "conversation"),
            (format!(r#"{{"account":"cc","message":"{dots}"}}"#), "message"),
            (format!(r#"{{"account":"qb","messages":["a","{dots}"]}}"#), "messages"),
            (format!(r#"{{"account":"wa","conversation":"{dots}","message":"MSG1"}}"#), "conversation"),
            (format!(r#"{{"account":"wa","conversation":"s","message":"{dots}"}}"#), "message"),
            (format!(r#"{{"account":"of","conversation":"1","message":"{dots}"}}"#), "message"),
            (format!(r#"{{"account":"of","conversation":"{dots}","message":"2"}}"#), "conversation"),
        ]);
    }
    cases.extend([
        (format!(r#"{{"account":"im","conversation":"{ROOM}","message":"_all"}}"#), "message"),
        (format!(r#"{{"account":"im","conversation":"{ROOM}","messages":["_all"]}}"#), "messages"),
    ]);
    cases
}

#[test]
fn every_door_refuses_a_job_that_would_widen_and_no_room_is_ever_deleted() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig::default());
    emulator.state.seed("room_im", Some(ROOM), &["m1".into(), "m2".into()]);
    let config = TestConfig::new(&redis.url(), &accounts(emulator.url()));
    let cases = widening();
    let good = format!(r#"{{"account":"im","conversation":"{ROOM}","message":"m1"}}"#);

    // `deleteq enqueue`: each as an argument, then all in one file, every line named.
    for (line, field) in &cases {
        let out = deleteq(&config.path, &["enqueue", &good, line], None);
        assert_eq!(out.status.code(), Some(2), "{line}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("argument 2: field \"{field}\"")), "{line}: {stderr}");
    }
    let mut lines = vec![good.clone()];
    lines.extend(cases.iter().map(|(l, _)| l.clone()));
    let file = config.jobs_file("widening.jsonl", &lines);
    let out = deleteq(&config.path, &["enqueue", "--file", file.to_str().expect("path")], None);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (i, (line, field)) in cases.iter().enumerate() {
        assert!(stderr.contains(&format!("line {}: field \"{field}\"", i + 2)), "{line}: {stderr}");
    }

    // `deleteq campaign submit`: the same file, every line named, no campaign stored.
    let out = deleteq(&config.path, &["campaign", "submit", file.to_str().expect("path")], None);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (i, (line, field)) in cases.iter().enumerate() {
        assert!(stderr.contains(&format!("line {}: field \"{field}\"", i + 2)), "{line}: {stderr}");
    }

    // The producer library, as a backend app calls it.
    let text = std::fs::read_to_string(&config.path).expect("config");
    let parsed = Config::from_toml(&text, |_| None).expect("config parses");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let producer = Producer::connect(&parsed).await.expect("producer");
        for (line, field) in &cases {
            let job = Job::from_json(line).expect("well-formed JSON job");
            match producer.enqueue(job).await {
                Err(ProducerError::Invalid { index: 0, error }) => assert_eq!(error.field, *field, "{line}"),
                other => panic!("{line}: expected a refusal naming {field}, got {other:?}"),
            }
        }
    });
    assert_eq!(dbsize(&redis.url()), 0, "nothing stored by the command line or the library");

    // `POST /v1/jobs` and `POST /v1/campaigns`: 400 naming the index (0-based line) and field.
    let server = Server::start(&config.path, config.dir.path().join("serve.log"), "info", &[], &[]);
    let port = server.port();
    let before = dbsize(&redis.url());
    for (line, field) in &cases {
        let job: Value = serde_json::from_str(line).expect("json");
        let answer = post_json(
            port,
            "/v1/jobs",
            Some(TOKEN),
            &Value::Array(vec![serde_json::from_str(&good).expect("json"), job]),
        );
        assert_eq!(answer.status, 400, "{line}: {}", answer.body);
        let error = &answer.json()["error"];
        assert_eq!((error["index"].as_u64(), error["field"].as_str()), (Some(1), Some(*field)), "{line}: {error}");
        let body = format!("{good}\n{line}\n");
        let answer = request(port, "POST", "/v1/campaigns?name=widening", Some(TOKEN), Some(body.as_bytes()));
        assert_eq!(answer.status, 400, "{line}: {}", answer.body);
        let error = &answer.json()["error"];
        assert_eq!((error["index"].as_u64(), error["field"].as_str()), (Some(1), Some(*field)), "{line}: {error}");
    }
    assert_eq!(dbsize(&redis.url()), before, "nothing stored over HTTP");
    drop(server);

    // What was refused never ran: a worker carries out the one good job, and the room and its other message stay.
    let out = deleteq(&config.path, &["enqueue", &good], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    assert!(wait_until(Duration::from_secs(30), || !terminal(&redis.url()).is_empty()), "{}", worker.log());
    drop(worker);
    let records = terminal(&redis.url());
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!((records[0]["outcome"].as_str(), records[0]["message"].as_str()), ("deleted", "m1"));
    let state = &emulator.state;
    assert_eq!(state.conversations_deleted(), 0, "no room was deleted");
    assert!(state.conversation_exists("room_im", ROOM) && state.exists("room_im", Some(ROOM), "m2"));
    assert_eq!((state.total_requests(), state.total_deletions()), (1, 1), "one call, for m1 only");
}

#[test]
fn a_schedule_template_that_would_widen_makes_the_config_invalid() {
    let redis = RedisServer::start();
    let templates = [
        (format!(r#"{{ account = "im", conversation = "{ROOM}", message = "_all" }}"#), "message"),
        (format!(r#"{{ account = "im", conversation = "{ROOM}", message = ".." }}"#), "message"),
        (r#"{ account = "im", conversation = "..", purge = true }"#.to_string(), "conversation"),
        (r#"{ account = "cc", messages = ["1", "."] }"#.to_string(), "messages"),
    ];
    for (job, field) in templates {
        let body = format!(
            "{}\n[[schedules]]\nname = \"nightly\"\ncron = \"0 3 * * *\"\njob = {job}\n",
            accounts("http://127.0.0.1:9")
        );
        let config = TestConfig::new(&redis.url(), &body);
        let out = deleteq(&config.path, &["status"], None);
        assert_eq!(out.status.code(), Some(2), "{job}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("schedules \"nightly\": job field") && stderr.contains(&format!("\"{field}\"")),
            "{job}: {stderr}"
        );
        let worker = deleteq(&config.path, &["worker"], None);
        assert_eq!(worker.status.code(), Some(2), "the worker refuses the config too: {job}");
    }
    assert_eq!(dbsize(&redis.url()), 0);
}
