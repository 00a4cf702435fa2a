//! `deleteq status [--json]`: queue depths, and per account its effective rate and whether it is parked.

use crate::exit::Failure;
use deleteq_core::Config;
use serde_json::{json, Value};

pub(crate) async fn run(config: Config, json: bool) -> Result<(), Failure> {
    let queue = super::connect(&config).await?;
    let d = queue.depths().await?;
    let mut accounts = serde_json::Map::new();
    for (name, account) in &config.accounts {
        let limit = account.effective_rate_limit();
        let factor = match limit {
            Some(_) => queue.slow_down_factor(name).await?,
            None => 1.0,
        };
        let parked = queue.account_parked(name).await?;
        let parked_jobs = queue.parked_jobs(name).await?;
        let policy = deleteq_queue::circuit::CircuitPolicy::default();
        let now = deleteq_core::now_ms();
        let circuit_until = queue.circuit_open_until(name, &policy, now).await?;
        let circuit_open_ms = circuit_until.saturating_sub(now);
        accounts.insert(
            name.clone(),
            json!({
                "provider": account.provider().as_str(),
                "rate_per_s": limit.map(|l| l.per_second() / factor),
                "slow_down": factor,
                "parked": parked.as_ref().map(|p| json!({"reason": p.reason, "since_ms": p.since_ms})),
                "parked_jobs": parked_jobs,
                "circuit_open_ms": circuit_open_ms,
            }),
        );
    }
    if json {
        let value = json!({
            "queued": d.ready, "leased": d.leased, "scheduled": d.scheduled, "dead": d.dead,
            "jobs": d.jobs, "audit_records": d.audit, "accounts": Value::Object(accounts),
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
        println!("{:<16} {:<10} {:>12}  state", "account", "provider", "rate/s");
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
        println!("{:<16} {:<10} {:>12}  {state}", name, a["provider"].as_str().unwrap_or(""), rate);
    }
    Ok(())
}
