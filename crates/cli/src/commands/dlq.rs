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
            println!("purged {}", queue.purge_dead(age).await?);
            return Ok(());
        }
        DlqCommand::List { .. } => {}
    }
    let queue = super::connect(&config).await?;
    match command {
        DlqCommand::Replay { .. } | DlqCommand::Purge { .. } => {}
        DlqCommand::List { limit, account, json } => {
            let items = deleteq_server::report::dead_letters_json(&queue, limit, account.as_deref()).await?;
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
