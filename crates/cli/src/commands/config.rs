//! `deleteq config check [--json] [--for ROLE]`: validates the config without touching Redis and prints what it
//! resolved; `deleteq config example`: an annotated config to start from.
//!
//! Nothing printed holds a secret: the Redis target is host and port (its password, if any, is only said to be
//! there), credentials are `set` or the variable they wait for, API tokens are counted.

use crate::args::{ConfigCommand, Role};
use crate::exit::Failure;
use crate::settings::{self, Loaded};
use deleteq_core::config::{Needs, Unresolved};
use deleteq_core::Config;
use serde_json::{json, Map, Value};
use std::path::Path;

/// The example written by `deleteq config example`: the same file as `deploy/deleteq.example.toml`.
const EXAMPLE: &str = include_str!("../../../../deploy/deleteq.example.toml");

pub(crate) fn run(path: Option<&Path>, command: ConfigCommand) -> Result<(), Failure> {
    match command {
        ConfigCommand::Example => {
            print!("{EXAMPLE}");
            Ok(())
        }
        ConfigCommand::Check { json, role } => check(path, json, role),
    }
}

fn needs(role: Role) -> Needs {
    match role {
        Role::Producer => Needs::PRODUCER,
        Role::Worker => Needs::WORKER,
        Role::Serve => Needs::SERVER,
        Role::All => Needs::ALL,
    }
}

fn check(path: Option<&Path>, json: bool, role: Role) -> Result<(), Failure> {
    let loaded = match settings::load_from(path, needs(role)).and_then(|l| report(&l).map(|r| (l, r))) {
        Ok(ok) => ok,
        Err(failure) => {
            if json {
                println!("{}", json!({ "ok": false, "error": failure.to_string() }));
            }
            return Err(failure);
        }
    };
    let (loaded, value) = loaded;
    if json {
        println!("{value}");
    } else {
        print_text(&loaded, &value);
    }
    Ok(())
}

/// The report as one JSON object; fails only if the Redis URL does not parse.
fn report(loaded: &Loaded) -> Result<Value, Failure> {
    let config = &loaded.config;
    let target = deleteq_ops::RedisTarget::from_config(&config.redis)
        .map_err(|e| Failure::Invalid(format!("config {}: redis.url: {e}", loaded.path.display())))?;
    let urls = config.redis.url.all();
    let mut accounts = Map::new();
    for (name, account) in &config.accounts {
        let mut credentials = Map::new();
        for (field, secret) in account.credentials() {
            let state = match secret.unresolved_var() {
                Some(var) => format!("unresolved: ${{{var}}} is not set"),
                None => "set".into(),
            };
            credentials.insert(field.into(), Value::String(state));
        }
        let rate = account.effective_rate_limit().map(|r| {
            json!({
                "limit": r.to_string(),
                "per_second": r.per_second(),
                "burst": r.burst,
                "source": if account.rate_limit.is_some() { "configured" } else { "provider default" },
            })
        });
        accounts.insert(
            name.clone(),
            json!({
                "provider": account.provider().as_str(),
                "base_url": account.base_url(),
                "rate_limit": rate,
                "timeout_ms": account.timeout.as_millis() as u64,
                "credentials": credentials,
            }),
        );
    }
    let unresolved: Vec<Value> =
        config.unresolved.iter().map(|u| json!({ "key": u.key, "var": u.var, "needed_by": needed_by(u) })).collect();
    Ok(json!({
        "ok": true,
        "path": loaded.path.display().to_string(),
        "source": loaded.source.as_str(),
        "redis": {
            "target": target.redacted(),
            "tls": urls.iter().any(|u| u.starts_with("rediss://")),
            "password": if urls.iter().any(|u| has_credentials(u)) { "redacted" } else { "none" },
            "url_from": if loaded.redis_url_from_env { "$REDIS_URL" } else { "redis.url" },
            "cluster": config.redis.cluster,
            "prefix": config.redis.prefix,
            "shards": config.redis.shards,
        },
        "accounts": accounts,
        "schedules": deleteq_ops::report::schedules_json(config),
        "api": {
            "addr": config.api.addr.to_string(),
            "tokens": config.api.tokens.len(),
            "max_body": config.api.max_body,
        },
        "metrics": config.metrics.as_ref().map(|m| m.addr.to_string()),
        "log": { "format": config.log.format.as_str() },
        "telemetry": {
            "otlp_endpoint": config.telemetry.otlp_endpoint,
            "traces_url": config.telemetry.traces_url(),
            "service_name": config.telemetry.service_name,
        },
        "worker": {
            "concurrency": config.worker.concurrency,
            "lease_ms": config.worker.lease.as_millis() as u64,
            "max_attempts": config.retry.max_attempts,
        },
        "unresolved": unresolved,
    }))
}

/// Which command needs an unresolved field: the worker calls the providers, `serve` checks the API tokens.
fn needed_by(u: &Unresolved) -> &'static str {
    if u.key.starts_with("api.") {
        "serve"
    } else {
        "worker"
    }
}

/// Whether a Redis URL carries a user or password (`redis://user:pass@host`).
fn has_credentials(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?']).next().is_some_and(|authority| authority.contains('@'))
}

fn print_text(loaded: &Loaded, value: &Value) {
    let config: &Config = &loaded.config;
    let text = |v: &Value| v.as_str().unwrap_or("-").to_string();
    println!("config {} (from {}): ok", loaded.path.display(), loaded.source.as_str());
    let redis = &value["redis"];
    let password = if redis["password"] == "redacted" { ", password redacted" } else { "" };
    let from_env = if loaded.redis_url_from_env { ", URL from $REDIS_URL" } else { "" };
    println!(
        "redis      {}{} (prefix {}, {} shard(s){password}{from_env})",
        text(&redis["target"]),
        if redis["tls"] == true { " over TLS" } else { "" },
        config.redis.prefix,
        config.redis.shards
    );
    println!("accounts   {}", config.accounts.len());
    let mut rows = Vec::new();
    for (name, a) in value["accounts"].as_object().into_iter().flatten() {
        let rate = match a["rate_limit"].as_object() {
            Some(r) if r["source"] == "configured" => text(&r["limit"]),
            Some(r) => format!("{} (provider default)", text(&r["limit"])),
            None => "unlimited".into(),
        };
        let credentials: Vec<String> = a["credentials"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(field, state)| match state.as_str() {
                Some("set") => format!("{field} set"),
                _ => format!("{field} UNRESOLVED"),
            })
            .collect();
        rows.push([name.clone(), text(&a["provider"]), rate, text(&a["base_url"]), credentials.join(", ")]);
    }
    let widths: Vec<usize> = (0..4).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    for [name, provider, rate, base_url, credentials] in &rows {
        let line = format!(
            "  {name:<w0$}  {provider:<w1$}  {rate:<w2$}  {base_url:<w3$}  {credentials}",
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
        println!("{}", line.trim_end());
    }
    let schedules = value["schedules"].as_array().map(Vec::as_slice).unwrap_or_default();
    println!("schedules  {}", schedules.len());
    for s in schedules {
        let next = s["next_fire"].as_str().unwrap_or("never");
        println!("  {}  {:?} ({})  next fire {next}", text(&s["name"]), text(&s["cron"]), text(&s["timezone"]));
    }
    let unresolved_tokens = config.unresolved.iter().filter(|u| needed_by(u) == "serve").count();
    let unresolved_tokens = match unresolved_tokens {
        0 => String::new(),
        n => format!(" (+{n} unresolved)"),
    };
    println!("api        {}, {} token(s){unresolved_tokens}", config.api.addr, config.api.tokens.len());
    match &config.metrics {
        Some(m) => println!("metrics    {}", m.addr),
        None => println!("metrics    off (no [metrics])"),
    }
    println!("log        {}", config.log.format.as_str());
    match config.telemetry.traces_url() {
        Some(url) => println!("telemetry  spans to {url} (OTLP/HTTP, service {})", config.telemetry.service_name),
        None => println!("telemetry  off (no [telemetry] otlp_endpoint)"),
    }
    if !config.unresolved.is_empty() {
        println!("unresolved (unset variables; fine where the field is not used):");
        for u in &config.unresolved {
            println!("  {}: ${{{}}} is not set (needed by {})", u.key, u.var, needed_by(u));
        }
    }
}
