//! `deleteq dlq list | replay ID... | replay --all | purge [--older-than D]`: the dead-letter set. `replay ID...`
//! exits 1 when none of the ids is a dead letter (and names the ones that are not); `replay --all` of an empty set
//! and `purge` of nothing succeed, there being nothing they were asked to find. `replay --json` prints the
//! [`ReplayReport`] that `POST /v1/dlq/replay` answers.

use crate::args::DlqCommand;
use crate::exit::Failure;
use deleteq_core::Config;
use deleteq_ops::ReplayReport;
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
    let report: ReplayReport = if all {
        ops.replay_all_dead(by.as_deref()).await.map_err(|e| Failure::Runtime(e.to_string()))?.into()
    } else {
        ops.replay_dead(&ids, by.as_deref()).await.map_err(|e| Failure::Runtime(e.to_string()))?.into()
    };
    let replayed = report.replayed();
    if json {
        // What `POST /v1/dlq/replay` answers too.
        println!("{}", report.to_json());
    } else if replayed > 0 || all {
        println!("replayed {replayed}");
    }
    let ReplayReport::Ids(outcome) = report else { return Ok(()) };
    let names = |list: &[String]| list.join(", ");
    if replayed == 0 {
        return Err(Failure::NothingMatched(match outcome.not_dead.len() {
            0 => "nothing replayed: the dead letters were replayed by someone else meanwhile".into(),
            _ => format!("nothing replayed: not dead letters: {}", names(&outcome.not_dead)),
        }));
    }
    if !outcome.not_dead.is_empty() && !json {
        eprintln!("not dead letters (skipped): {}", names(&outcome.not_dead));
    }
    Ok(())
}
