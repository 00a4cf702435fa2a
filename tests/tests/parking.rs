//! A provider's account-wide stop (2Chat 402: credits exhausted) parks the account: its jobs wait without spending
//! attempts, `status` says why, and `accounts resume` lets them finish.

use deleteq_emulator::{EmulatorConfig, Fault};
use deleteq_tests::inspect::{outcome_counts, terminal};
use deleteq_tests::{deleteq, deleteq_with_env, wait_until, RedisServer, TestConfig, TestEmulator, Worker};
use std::time::Duration;

#[test]
fn a_402_parks_the_account_until_it_is_resumed() {
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig::default());
    let session = "WW-1@c.us";
    let ids: Vec<String> = (0..20).map(|i| format!("MSG{i}")).collect();
    emulator.state.seed("twochat", Some(session), &ids);
    emulator.state.seed("cometchat", None, &["other".to_string()]);
    emulator.state.inject(Fault::new("twochat", Some(session), "MSG0", vec![402]));
    let config = TestConfig::new(
        &redis.url(),
        &format!(
            "[worker]\nconcurrency = 1\nlease = \"10s\"\n\n[accounts.wa]\nprovider = \"twochat\"\nbase_url = \"{url}\"\napi_key = \"k\"\nrate_limit = \"1000/s\"\n\n[accounts.cc]\nprovider = \"cometchat\"\nbase_url = \"{url}\"\napi_key = \"k\"\n",
            url = emulator.url()
        ),
    );
    let mut lines: Vec<String> =
        ids.iter().map(|id| format!(r#"{{"account":"wa","conversation":"{session}","message":"{id}"}}"#)).collect();
    lines.push(r#"{"account":"cc","message":"other"}"#.to_string());
    let file = config.jobs_file("jobs.jsonl", &lines);
    assert!(deleteq(&config.path, &["enqueue", "--file", &file.to_string_lossy()], None).status.success());

    let worker = Worker::start(&config.path, config.dir.path().join("worker.log"), "info");
    // The other account's job is not held back by the parked one.
    assert!(wait_until(Duration::from_secs(15), || terminal(&redis.url()).len() == 1), "{}", worker.log());
    let status = |cfg: &TestConfig| -> serde_json::Value {
        let out = deleteq(&cfg.path, &["status", "--json"], None);
        serde_json::from_slice(&out.stdout).expect("status json")
    };
    assert!(
        wait_until(Duration::from_secs(10), || status(&config)["accounts"]["wa"]["parked_jobs"].as_u64() == Some(20)),
        "{}\n{}",
        status(&config),
        worker.log()
    );
    let now = status(&config);
    assert!(now["accounts"]["wa"]["parked"]["reason"].as_str().is_some_and(|r| r.contains("402")), "{now}");
    assert!(now["accounts"]["cc"]["parked"].is_null());
    assert_eq!(
        (now["accounts"]["wa"]["pending"].as_u64(), now["accounts"]["cc"]["pending"].as_u64()),
        (Some(20), Some(0))
    );
    assert_eq!(emulator.state.total_calls(), 2, "one call hit the 402, one for the other account; nothing since");
    assert_eq!(terminal(&redis.url())[0]["account"], "cc");

    let out = deleteq(&config.path, &["accounts", "resume", "wa"], None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("20 jobs back in line"), "{out:?}");
    assert!(wait_until(Duration::from_secs(15), || terminal(&redis.url()).len() == 21), "{}", worker.log());
    let counts = outcome_counts(&terminal(&redis.url()));
    assert_eq!(counts["deleted"], 21);
    let msg0 = terminal(&redis.url()).into_iter().find(|r| r["message"] == "MSG0").expect("MSG0");
    assert_eq!(msg0["attempt"], "1", "parking spent no attempt");
    let after = status(&config);
    assert!(after["accounts"]["wa"]["parked"].is_null());
    assert_eq!(after["accounts"]["wa"]["recent"]["deleted"], 20, "{after}");
    assert_eq!(after["accounts"]["wa"]["pending"], 0, "{after}");
    drop(worker);
}

/// A refused key (a 401 for every call) parks the account after a probe call per worker, instead of
/// dead-lettering its jobs one by one; a resume with the key still wrong parks it again at once; after the key is
/// fixed and the workers restarted, a resume runs every job.
#[test]
fn a_refused_key_parks_the_account_after_a_few_calls() {
    use deleteq_emulator::Credentials;
    let redis = RedisServer::start();
    let emulator = TestEmulator::start(EmulatorConfig::default());
    let ids: Vec<String> = (0..30).map(|i| format!("m{i}")).collect();
    emulator.state.seed("cometchat", None, &ids);
    emulator
        .state
        .set_credentials("cometchat", Credentials { api_key: Some("right-key-5150".into()), ..Credentials::default() });
    let config = TestConfig::new(
        &redis.url(),
        &format!(
            "[worker]\nconcurrency = 64\nlease = \"10s\"\n\n[accounts.cc]\nprovider = \"cometchat\"\nbase_url = \"{}\"\napi_key = \"${{CC_KEY}}\"\nrate_limit = \"1000/s\"\n",
            emulator.url()
        ),
    );
    let lines: Vec<String> = ids.iter().map(|id| format!(r#"{{"account":"cc","message":"{id}"}}"#)).collect();
    let file = config.jobs_file("jobs.jsonl", &lines);
    let env = [("CC_KEY", "wrong")];
    let out = deleteq_with_env(&config.path, &["enqueue", "--file", &file.to_string_lossy()], None, &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status = || -> serde_json::Value {
        let out = deleteq_with_env(&config.path, &["status", "--json"], None, &env);
        serde_json::from_slice(&out.stdout).expect("status json")
    };
    let all_parked = || status()["accounts"]["cc"]["parked_jobs"].as_u64() == Some(30);

    let log = |name: &str| config.dir.path().join(name);
    let workers = [
        Worker::start_with_env(&config.path, log("w1.log"), "info", &env),
        Worker::start_with_env(&config.path, log("w2.log"), "info", &env),
    ];
    assert!(wait_until(Duration::from_secs(20), all_parked), "{}\n{}", status(), workers[0].log());
    let first = emulator.state.total_requests();
    assert!((1..=5).contains(&first), "{first} calls for 30 jobs of a refused key");
    let now = status();
    assert!(now["accounts"]["cc"]["parked"]["reason"].as_str().is_some_and(|r| r.contains("401")), "{now}");
    assert!(terminal(&redis.url()).is_empty(), "nothing ended: {:?}", terminal(&redis.url()));
    assert_eq!(now["accounts"]["cc"]["pending"], 30, "{now}");
    assert_eq!(now["dead"], 0, "nothing dead-lettered: {now}");

    // Resumed with the key still wrong: parked again after a probe per worker, no loop.
    let out = deleteq_with_env(&config.path, &["accounts", "resume", "cc"], None, &env);
    assert!(out.status.success(), "{out:?}");
    assert!(
        wait_until(Duration::from_secs(20), || status()["accounts"]["cc"]["parked"].is_object() && all_parked()),
        "{}",
        status()
    );
    std::thread::sleep(Duration::from_secs(2));
    let second = emulator.state.total_requests() - first;
    assert!((1..=4).contains(&second), "{second} calls after a resume with the wrong key");
    assert!(terminal(&redis.url()).is_empty());
    drop(workers);

    // The key fixed, the workers restarted with it, the account resumed: every job runs.
    let fixed = [("CC_KEY", "right-key-5150")];
    let worker = Worker::start_with_env(&config.path, log("w3.log"), "info", &fixed);
    let out = deleteq_with_env(&config.path, &["accounts", "resume", "cc"], None, &fixed);
    assert!(String::from_utf8_lossy(&out.stdout).contains("30 jobs back in line"), "{out:?}");
    assert!(wait_until(Duration::from_secs(20), || terminal(&redis.url()).len() == 30), "{}", worker.log());
    let counts = outcome_counts(&terminal(&redis.url()));
    assert_eq!(counts["deleted"], 30, "{counts:?}");
    assert!(terminal(&redis.url()).iter().all(|r| r["attempt"] == "1"), "parking spent no attempt");
    assert!(!worker.log().contains("right-key-5150"), "no key in the log");
    eprintln!("calls: {first} until parked, {second} after a resume with the wrong key");
}
