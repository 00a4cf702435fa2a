//! `deleteq status [--json]`: queue depths, and per account its queued, leased, scheduled, parked and dead jobs,
//! effective rate, slow-down, parking, circuit, and outcome counts over the latest 10,000 audit records.

use crate::exit::Failure;
use deleteq_core::Config;
use serde_json::{json, Value};

pub(crate) async fn run(config: Config, json: bool) -> Result<(), Failure> {
    let queue = super::connect(&config).await?;
    let d = queue.depths().await?;
    let recent = recent_outcomes(&queue).await?;
    let depths = queue.account_depths().await?;
    let mut accounts = serde_json::Map::new();
    for (name, account) in &config.accounts {
        let limit = account.effective_rate_limit();
        let factor = match limit {
            Some(_) => queue.slow_down_factor(name).await?,
            None => 1.0,
        };
        let parked = queue.account_parked(name).await?;
        let parked_jobs = queue.parked_jobs(name).await?;
        let depth = depths.get(name).copied().unwrap_or_default();
        let policy = deleteq_queue::circuit::CircuitPolicy::from_config(&config.circuit);
        let now = deleteq_core::now_ms();
        let circuit_until = queue.circuit_open_until(name, &policy, now).await?;
        let circuit_open_ms = circuit_until.saturating_sub(now);
        accounts.insert(
            name.clone(),
            json!({
                "provider": account.provider().as_str(),
                "pending": depth.pending,
                "queued": depth.queued(parked_jobs),
                "leased": depth.leased,
                "scheduled": depth.scheduled,
                "dead": depth.dead,
                "rate_per_s": limit.map(|l| l.per_second() / factor),
                "slow_down": factor,
                "parked": parked.as_ref().map(|p| json!({"reason": p.reason, "since_ms": p.since_ms})),
                "parked_jobs": parked_jobs,
                "circuit_open_ms": circuit_open_ms,
                "recent": recent.get(name).cloned().unwrap_or_default(),
            }),
        );
    }
    if json {
        let value = json!({
            "queued": d.ready, "leased": d.leased, "scheduled": d.scheduled, "dead": d.dead,
            "jobs": d.jobs, "audit_records": d.audit, "accounts": Value::Object(accounts),
            "schedules": super::schedules::schedules_json(&config),
        });
        println!("{value}");
        return Ok(());
    }
    println!("queued     {}", d.ready);
    println!("leased     {}", d.leased);
    println!("scheduled  {}", d.scheduled);
    println!("dead       {}", d.dead);
    println!("jobs       {} (unfinished)", d.jobs);
    println!("audit      {} records", d.audit);
    if !accounts.is_empty() {
        println!();
        println!(
            "{:<16} {:<10} {:>8} {:>7} {:>9} {:>7} {:>10}  {:<40} recent outcomes",
            "account", "provider", "queued", "leased", "scheduled", "dead", "rate/s", "state"
        );
    }
    for (name, a) in &accounts {
        let rate = a["rate_per_s"].as_f64().map(|r| format!("{r:.1}")).unwrap_or_else(|| "unlimited".into());
        let state = match a["parked"].as_object() {
            Some(p) => format!("PARKED ({} jobs): {}", a["parked_jobs"], p["reason"].as_str().unwrap_or("")),
            None if a["slow_down"].as_f64().unwrap_or(1.0) > 1.0 => {
                format!("slowed down {}x after 429s", a["slow_down"])
            }
            None => "ok".into(),
        };
        let recent: Vec<String> =
            a["recent"].as_object().map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect()).unwrap_or_default();
        let provider = a["provider"].as_str().unwrap_or("");
        println!(
            "{name:<16} {provider:<10} {:>8} {:>7} {:>9} {:>7} {rate:>10}  {state:<40} {}",
            a["queued"],
            a["leased"],
            a["scheduled"],
            a["dead"],
            recent.join(" ")
        );
    }
    super::schedules::print_table(&config);
    Ok(())
}

/// Records looked at for "recent outcomes".
const RECENT: usize = 10_000;

/// Outcome counts per account over the latest audit records.
async fn recent_outcomes(queue: &deleteq_queue::Queue) -> Result<std::collections::HashMap<String, Value>, Failure> {
    let mut counts: std::collections::HashMap<String, serde_json::Map<String, Value>> = Default::default();
    for (_, fields) in queue.audit_last(RECENT).await? {
        let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
        let entry = counts.entry(field("account")).or_default().entry(field("outcome")).or_insert(json!(0));
        *entry = json!(entry.as_u64().unwrap_or(0) + 1);
    }
    Ok(counts.into_iter().map(|(k, v)| (k, Value::Object(v))).collect())
}
