use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, |var| match var {
        "CC_KEY" => Some("cc-secret".into()),
        "QB_KEY" => Some("qb-secret".into()),
        _ => None,
    })
}

const FULL: &str = r#"
[redis]
url = "redis://127.0.0.1:6379"
prefix = "deleteq"

[worker]
concurrency = 64
lease = "30s"
shutdown_grace = "30s"

[retry]
max_attempts = 8
initial_backoff = "1s"
max_backoff = "10m"

[audit]
max_len = 10000000

[accounts.cc-eu]
provider = "cometchat"
base_url = "https://myapp.api-eu.cometchat.io"
api_key = "${CC_KEY}"
rate_limit = "50/s"

[accounts.qb]
provider = "quickblox"
base_url = "https://api.quickblox.com"
api_key = "${QB_KEY}"
batch_size = 50

[accounts.im]
provider = "room_im"
base_url = "https://app.imkit.io"
client_key = "ck"
token = "tok"

[accounts.wa]
provider = "twochat"
base_url = "https://api.p.2chat.io"
api_key = "k"
window = "60h"

[accounts.of]
provider = "ofauth"
base_url = "https://api-next.ofauth.com"
api_key = "k"
connection_id = "conn_1"
rate_limit = "60/min burst 90"
timeout = "5s"

[accounts.nop]
provider = "noop"

[[schedules]]
name = "nightly-test-room-reset"
cron = "0 3 * * *"
job = { account = "im", conversation = "test-room-123", purge = true }
"#;

#[test]
fn parses_the_design_example_with_every_kind() {
    let config = parse(FULL).expect("valid config");
    assert_eq!(config.accounts.len(), 6);
    assert_eq!(config.worker.lease, Duration::from_secs(30));
    assert_eq!(config.retry.max_backoff, Duration::from_secs(600));
    let cc = &config.accounts["cc-eu"];
    assert_eq!(cc.provider(), ProviderKind::CometChat);
    assert_eq!(cc.secrets()[0].expose(), "cc-secret");
    assert_eq!(config.accounts["of"].timeout, Duration::from_secs(5));
    assert_eq!(config.schedules.len(), 1);
}

#[test]
fn debug_output_redacts_every_credential() {
    let config = parse(FULL).expect("valid config");
    let shown = format!("{config:?}");
    for secret in ["cc-secret", "qb-secret", "\"ck\"", "\"tok\"", "conn_1"] {
        assert!(!shown.contains(secret), "{secret} leaked in {shown}");
    }
}

#[test]
fn a_missing_variable_is_named() {
    let err = parse("[accounts.x]\nprovider = \"cometchat\"\nbase_url = \"http://a\"\napi_key = \"${NOPE}\"\n")
        .expect_err("missing var");
    let text = err.to_string();
    assert!(text.contains("NOPE") && text.contains("accounts.x.api_key"), "{text}");
}

#[test]
fn account_fields_are_checked_per_kind() {
    let cases = [
        ("provider = \"slack\"", "unknown provider"),
        ("provider = \"cometchat\"\nbase_url = \"http://a\"", "api_key"),
        ("provider = \"cometchat\"\nbase_url = \"http://a\"\napi_key = \"k\"\nbatch_size = 5", "batch_size"),
        ("provider = \"noop\"\nbase_url = \"http://a\"", "base_url"),
        ("provider = \"quickblox\"\nbase_url = \"http://a\"\napi_key = \"k\"\ntoken = \"t\"", "exactly one"),
        ("provider = \"cometchat\"\nbase_url = \"ftp://a\"\napi_key = \"k\"", "http"),
        ("provider = \"cometchat\"\nbase_url = \"http://a\"\napi_key = \"k\"\ncolour = 1", "colour"),
        ("provider = \"cometchat\"\nbase_url = \"http://a\"\napi_key = \"k\"\nrate_limit = \"fast\"", "rate"),
    ];
    for (body, expected) in cases {
        let err = parse(&format!("[accounts.a]\n{body}\n")).expect_err(body).to_string();
        assert!(err.contains(expected), "{body}: {err}");
    }
}

#[test]
fn unknown_sections_and_keys_are_errors() {
    assert!(parse("[wroker]\nconcurrency = 1\n").is_err());
    assert!(parse("[worker]\nconcurency = 1\n").is_err());
    assert!(parse("[worker]\nlease = \"30\"\n").is_err());
}

#[test]
fn an_invalid_schedule_job_is_rejected() {
    let text = FULL.replace("purge = true", "purge = true, message = \"1\"");
    let err = parse(&text).expect_err("bad schedule").to_string();
    assert!(err.contains("nightly-test-room-reset"), "{err}");
}

#[test]
fn a_schedule_template_may_choose_its_lane() {
    let high = FULL.replace("purge = true }", "purge = true, priority = \"high\" }");
    let parsed = parse(&high).expect("valid template").parse_schedules().expect("parsed");
    let job = parsed[0].job_for(chrono::Utc::now()).expect("job");
    assert_eq!(job.priority, crate::Priority::High);
    let plain = parse(FULL).expect("valid").parse_schedules().expect("parsed");
    assert_eq!(plain[0].job_for(chrono::Utc::now()).expect("job").priority, crate::Priority::Normal);
}

#[test]
fn schedules_are_checked_at_load() {
    let with = |extra: &str| FULL.replace("cron = \"0 3 * * *\"", &format!("cron = \"0 3 * * *\"\n{extra}"));
    let config = parse(&with("timezone = \"Europe/Berlin\"\ncatch_up = \"2m\"")).expect("valid schedule");
    let parsed = config.parse_schedules().expect("parsed");
    assert_eq!(
        (parsed[0].timezone, parsed[0].catch_up),
        (chrono_tz::Tz::Europe__Berlin, Some(Duration::from_secs(120)))
    );
    let cases = [
        (FULL.replace("0 3 * * *", "0 3 * *"), "schedules \"nightly-test-room-reset\": cron: "),
        (with("timezone = \"Europe/Nowhere\""), "schedules \"nightly-test-room-reset\": timezone: "),
        (with("catch_up = \"25h\""), "schedules \"nightly-test-room-reset\": catch_up: "),
        (FULL.replace("purge = true }", "purge = true, run_at = \"2026-01-01T00:00:00Z\" }"), "job.run_at: "),
        (FULL.replace("nightly-test-room-reset", "nightly reset"), "schedules \"nightly reset\": name: "),
        // A template may not widen its job: `_all` as a message id purges, `..` climbs to the room itself.
        (FULL.replace("purge = true }", "message = \"_all\" }"), "job field \"message\": "),
        (FULL.replace("purge = true }", "message = \"..\" }"), "job field \"message\": "),
        (FULL.replace("conversation = \"test-room-123\"", "conversation = \".\""), "job field \"conversation\": "),
        // A lane is one of three, spelled exactly, and a string.
        (
            FULL.replace("purge = true }", "purge = true, priority = \"urgent\" }"),
            "schedules \"nightly-test-room-reset\": job field \"priority\": \"urgent\" is not a priority",
        ),
        (
            FULL.replace("purge = true }", "purge = true, priority = 1 }"),
            "schedules \"nightly-test-room-reset\": job field \"priority\": must be ",
        ),
        (format!("{FULL}\n[[schedules]]\nname = \"nightly-test-room-reset\"\ncron = \"0 4 * * *\"\njob = {{ account = \"nop\", message = \"1\" }}\n"), "name: appears twice"),
    ];
    for (text, expected) in cases {
        let err = parse(&text).expect_err(expected).to_string();
        assert!(err.starts_with(expected) || err.contains(expected), "{expected}: {err}");
    }
}

#[test]
fn the_example_config_in_deploy_parses() {
    let text = include_str!("../../../../deploy/deleteq.example.toml");
    let config = Config::from_toml(text, |_| Some("from-env".into())).expect("example config");
    assert_eq!(config.accounts.len(), 6);
}

#[test]
fn the_metrics_section_is_optional_and_its_addr_is_checked() {
    assert_eq!(parse("").expect("no section").metrics, None);
    let config = parse("[metrics]\naddr = \"127.0.0.1:9464\"\n").expect("valid");
    assert_eq!(config.metrics.map(|m| m.addr.to_string()).as_deref(), Some("127.0.0.1:9464"));
    for bad in ["[metrics]\naddr = \"localhost\"\n", "[metrics]\naddr = \"1.2.3.4:99999\"\n", "[metrics]\n"] {
        let error = parse(bad).expect_err(bad).to_string();
        assert!(error.contains("metrics.addr"), "{bad}: {error}");
    }
    assert!(parse("[metrics]\naddr = \"127.0.0.1:1\"\nport = 2\n").is_err(), "unknown keys are errors");
}

#[test]
fn campaign_retention_defaults_to_30_days_and_is_checked() {
    assert_eq!(parse("").expect("defaults").campaigns.retention, Duration::from_secs(30 * 86_400));
    assert_eq!(parse("[campaigns]\nretention = \"7d\"\n").expect("7d").campaigns.retention.as_secs(), 7 * 86_400);
    let short = parse("[campaigns]\nretention = \"5s\"\n").expect_err("5s").to_string();
    assert!(short.contains("campaigns.retention"), "{short}");
}

#[test]
fn wait_replicas_and_its_timeout_are_checked() {
    let config = parse("[redis]\nwait_replicas = 1\nwait_timeout = \"500ms\"\n").expect("valid");
    assert_eq!((config.redis.wait_replicas, config.redis.wait_timeout), (1, Duration::from_millis(500)));
    assert_eq!(parse("").expect("defaults").redis.wait_replicas, 0, "off by default");
    let too_many = parse("[redis]\nwait_replicas = 17\n").expect_err("17").to_string();
    assert!(too_many.contains("redis.wait_replicas"), "{too_many}");
    let no_time = parse("[redis]\nwait_replicas = 1\nwait_timeout = \"0s\"\n").expect_err("0s").to_string();
    assert!(no_time.contains("redis.wait_timeout"), "{no_time}");
    let too_long = parse("[redis]\nwait_replicas = 1\nwait_timeout = \"2m\"\n").expect_err("2m").to_string();
    assert!(too_long.contains("redis.wait_timeout"), "{too_long}");
}

#[test]
fn quickblox_batches_keep_the_url_under_8_kb() {
    let base = "https://api.quickblox.com";
    let most = super::quickblox_max_batch(base);
    let url = |n: usize| format!("{base}/chat/Message/{}.json", vec!["5d76b949a0eb4721f80b72ab"; n].join(","));
    assert!(url(most).len() <= super::MAX_REQUEST_URL, "{most} ids fit");
    assert!(url(most + 1).len() > super::MAX_REQUEST_URL, "{} ids do not", most + 1);
    let account = |n: usize| {
        format!("[accounts.qb]\nprovider = \"quickblox\"\nbase_url = \"{base}\"\napi_key = \"k\"\nbatch_size = {n}\n")
    };
    assert!(parse(&account(most)).is_ok());
    let err = parse(&account(most + 1)).expect_err("too large").to_string();
    assert!(err.contains("accounts.qb.batch_size") && err.contains("8192"), "{err}");
}

const SECRETS: &str = r#"
[api]
tokens = ["${API_TOKEN}", "literal-token"]

[accounts.cc]
provider = "cometchat"
base_url = "https://a.example"
api_key = "${CC_UNSET}"

[accounts.im]
provider = "room_im"
base_url = "https://b.example"
client_key = "${IM_CLIENT}"
token = "tok-${IM_TOKEN}"

[accounts.nop]
provider = "noop"
"#;

#[test]
fn a_producer_needs_no_provider_credential_and_a_worker_no_api_token() {
    let producer = Config::from_toml_for(SECRETS, |_| None, Needs::PRODUCER).expect("producer config");
    let cc = &producer.accounts["cc"];
    assert_eq!(cc.secrets()[0].unresolved_var(), Some("CC_UNSET"));
    assert_eq!(cc.secrets()[0].expose(), "", "an unresolved credential is empty");
    let im: Vec<_> = producer.accounts["im"].secrets().iter().map(|s| s.unresolved_var()).collect();
    assert_eq!(im, [Some("IM_CLIENT"), Some("IM_TOKEN")]);
    assert_eq!(producer.api.tokens.len(), 1, "the unresolved token is left out");
    let keys: Vec<_> = producer.unresolved.iter().map(|u| (u.key.as_str(), u.var.as_str())).collect();
    assert_eq!(
        keys,
        [
            ("accounts.cc.api_key", "CC_UNSET"),
            ("accounts.im.client_key", "IM_CLIENT"),
            ("accounts.im.token", "IM_TOKEN"),
            ("api.tokens[0]", "API_TOKEN")
        ]
    );
    assert!(!producer.fully_resolved());

    let worker = Config::from_toml_for(SECRETS, |_| None, Needs::WORKER).expect_err("worker needs the key");
    assert!(worker.to_string().contains("CC_UNSET") && worker.to_string().contains("accounts.cc.api_key"), "{worker}");
    let set = |var: &str| (var != "API_TOKEN").then(|| format!("{var}-value"));
    let worker = Config::from_toml_for(SECRETS, set, Needs::WORKER).expect("worker without the API token");
    assert_eq!(worker.accounts["im"].secrets()[1].expose(), "tok-IM_TOKEN-value");
    assert_eq!(worker.unresolved.len(), 1);
    let server = Config::from_toml_for(SECRETS, set, Needs::SERVER).expect_err("serve needs its tokens");
    assert!(server.to_string().contains("API_TOKEN"), "{server}");
    assert!(Config::from_toml(SECRETS, set).is_err(), "from_toml needs every variable");
}

#[test]
fn a_lenient_load_still_checks_everything_else() {
    let unset = |_: &str| None;
    for (text, key) in [
        ("[accounts.cc]\nprovider = \"cometchat\"\napi_key = \"${K}\"\n", "accounts.cc.base_url"),
        ("[accounts.n]\nprovider = \"noop\"\napi_key = \"${K}\"\n", "accounts.n.api_key"),
        ("[accounts.cc]\nprovider = \"cometchat\"\nbase_url = \"${URL}\"\napi_key = \"k\"\n", "URL"),
        ("[redis]\nurl = \"redis://:${REDIS_PASSWORD}@h:6379\"\n", "REDIS_PASSWORD"),
        ("[accounts.cc]\nprovider = \"cometchat\"\nbase_url = \"http://a\"\napi_key = \"${K\"\n", "unterminated"),
    ] {
        let err = Config::from_toml_for(text, unset, Needs::PRODUCER).expect_err(text).to_string();
        assert!(err.contains(key), "{text}: {err}");
    }
}

#[test]
fn type_errors_name_the_key_and_the_line() {
    let err = parse("[redis]\nprefix = \"p\"\n\n[worker]\nconcurrency = \"many\"\n").expect_err("type").to_string();
    assert!(err.contains("worker.concurrency") && err.contains("line 5"), "{err}");
    let err = parse("[worker]\ncolour = 1\n").expect_err("unknown key").to_string();
    assert!(err.contains("colour") && err.contains("line 2"), "{err}");
    let err = parse("[accounts.cc]\nprovider = \"cometchat\"\nbase_url = \"http://a\"\napi_key = [\"s3cret\"]\n")
        .expect_err("type")
        .to_string();
    assert!(err.contains("accounts.cc.api_key") && !err.contains("s3cret"), "{err}");
}

#[test]
fn log_and_telemetry_default_off_and_errors_name_their_key() {
    let config = parse("").expect("defaults");
    assert_eq!(config.log.format, LogFormat::Text);
    assert_eq!((config.telemetry.otlp_endpoint, config.telemetry.service_name.as_str()), (None, "deleteq"));
    let config = parse("[log]\nformat = \"json\"\n\n[telemetry]\notlp_endpoint = \"http://127.0.0.1:4318\"\nservice_name = \"dq-eu\"\n")
        .expect("valid");
    assert_eq!(config.log.format, LogFormat::Json);
    assert_eq!(config.telemetry.traces_url().as_deref(), Some("http://127.0.0.1:4318/v1/traces"));
    assert_eq!(config.telemetry.service_name, "dq-eu");
    let err = parse("[log]\nformat = \"xml\"\n").expect_err("format").to_string();
    assert!(err.contains("log.format") && err.contains("line 2"), "{err}");
    let err = parse("[telemetry]\notlp_endpoint = \"localhost:4318\"\n").expect_err("endpoint").to_string();
    assert!(err.contains("telemetry.otlp_endpoint"), "{err}");
    assert!(parse("[telemetry]\nendpoint = \"http://h\"\n").is_err(), "unknown keys are errors");
}
