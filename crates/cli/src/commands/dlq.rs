//! `deleteq dlq list | replay ID... | replay --all | purge [--older-than D]`: the dead-letter set. `replay ID...`
//! exits 1 when none of the ids is a dead letter (and names the ones that are not); `replay --all` of an empty set
//! and `purge` of nothing succeed, there being nothing they were asked to find.

use crate::args::DlqCommand;
use crate::exit::Failure;
use deleteq_core::Config;
use serde_json::Value;

pub(crate) async fn run(config: Config, command: DlqCommand) -> Result<(), Failure> {
    match command {
        DlqCommand::Replay { ids, all, json } => replay(&config, ids, all, json).await?,
        DlqCommand::Purge { older_than, json } => {
            let age = older_than
                .as_deref()
                .map(|d| {
                    deleteq_core::duration::parse_duration(d)
                        .map_err(|e| Failure::Invalid(format!("--older-than: {e}")))
                })
                .transpose()?;
            let purged = super::connect(&config).await?.purge_dead(age.unwrap_or_default()).await?;
            if json {
                let older_than_ms = age.map(|a| a.as_millis() as u64);
                println!("{}", serde_json::json!({ "purged": purged, "older_than_ms": older_than_ms }));
            } else {
                println!("purged {purged}");
            }
        }
        DlqCommand::List { limit, account, json } => {
            let items = super::connect(&config).await?.dead_letters_json(limit, account.as_deref()).await?;
            if json {
                println!("{}", Value::Array(items));
            } else {
                for item in items {
                    println!("{item}");
                }
            }
        }
    }
    Ok(())
}

async fn replay(config: &Config, ids: Vec<String>, all: bool, json: bool) -> Result<(), Failure> {
    let ops = super::connect(config).await?;
    let by = std::env::var("USER").ok().map(|u| format!("dlq replay ({u})"));
    if all {
        let replayed = ops.replay_all_dead(by.as_deref()).await.map_err(|e| Failure::Runtime(e.to_string()))?;
        if json {
            println!("{}", serde_json::json!({ "replayed": replayed, "all": true }));
        } else {
            println!("replayed {replayed}");
        }
        return Ok(());
    }
    let outcome = ops.replay_dead(&ids, by.as_deref()).await.map_err(|e| Failure::Runtime(e.to_string()))?;
    let (replayed, not_dead): (u64, Vec<&String>) = (outcome.replayed, outcome.not_dead.iter().collect());
    if json {
        let value = serde_json::json!({ "replayed": replayed, "requested": outcome.requested, "not_dead": not_dead });
        println!("{value}");
    } else if replayed > 0 {
        println!("replayed {replayed}");
    }
    let names = |list: &[&String]| list.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
    if replayed == 0 {
        return Err(Failure::NothingMatched(match not_dead.len() {
            0 => "nothing replayed: the dead letters were replayed by someone else meanwhile".into(),
            _ => format!("nothing replayed: not dead letters: {}", names(&not_dead)),
        }));
    }
    if !not_dead.is_empty() && !json {
        eprintln!("not dead letters (skipped): {}", names(&not_dead));
    }
    Ok(())
}
