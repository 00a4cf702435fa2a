//! `deleteq dlq list`: the dead-letter set, newest first.

use crate::args::DlqCommand;
use crate::exit::Failure;
use deleteq_core::Config;
use serde_json::Value;

pub(crate) async fn run(config: Config, command: DlqCommand) -> Result<(), Failure> {
    let queue = super::connect(&config).await?;
    match command {
        DlqCommand::List { limit, json } => {
            let letters = queue.dead_letters(limit).await?;
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
