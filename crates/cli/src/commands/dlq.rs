//! `deleteq dlq list | replay ID... | replay --all | purge [--older-than D]`: the dead-letter set.

use crate::args::DlqCommand;
use crate::exit::Failure;
use deleteq_core::Config;
use serde_json::Value;

pub(crate) async fn run(config: Config, command: DlqCommand) -> Result<(), Failure> {
    match command {
        DlqCommand::Replay { ids, all } => {
            let producer =
                deleteq_producer::Producer::connect(&config).await.map_err(|e| Failure::Runtime(e.to_string()))?;
            let by = std::env::var("USER").ok().map(|u| format!("dlq replay ({u})"));
            let replayed = if all {
                producer.replay_all_dead(by.as_deref()).await
            } else {
                producer.replay_dead(&ids, by.as_deref()).await
            }
            .map_err(|e| Failure::Runtime(e.to_string()))?;
            println!("replayed {replayed}");
            return Ok(());
        }
        DlqCommand::Purge { older_than } => {
            let age = older_than
                .as_deref()
                .map(|d| {
                    deleteq_core::duration::parse_duration(d)
                        .map_err(|e| Failure::Invalid(format!("--older-than: {e}")))
                })
                .transpose()?
                .unwrap_or_default();
            let queue = super::connect(&config).await?;
            let cutoff = deleteq_core::now_ms().saturating_sub(age.as_millis() as u64);
            println!("purged {}", queue.purge_dead(cutoff).await?);
            return Ok(());
        }
        DlqCommand::List { .. } => {}
    }
    let queue = super::connect(&config).await?;
    match command {
        DlqCommand::Replay { .. } | DlqCommand::Purge { .. } => {}
        DlqCommand::List { limit, account, json } => {
            let mut letters = queue.dead_letters(if account.is_some() { limit.max(10_000) } else { limit }).await?;
            if let Some(account) = &account {
                letters.retain(|l| {
                    let envelope: Value = serde_json::from_str(&l.envelope).unwrap_or_default();
                    envelope["job"]["account"].as_str() == Some(account.as_str())
                });
                letters.truncate(limit);
            }
            let items: Vec<Value> = letters
                .iter()
                .map(|d| {
                    let envelope: Value =
                        serde_json::from_str(&d.envelope).unwrap_or(Value::String(d.envelope.clone()));
                    serde_json::json!({
                        "id": d.id,
                        "at_ms": d.at_ms,
                        "job": envelope.get("job"),
                        "attempts": envelope.get("attempt"),
                        "last_error": envelope.get("last_error"),
                        "last_status": envelope.get("last_status"),
                    })
                })
                .collect();
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
