//! `deleteq campaign submit|status|cancel|list`: a whole file as one campaign, followed by its exact counters.

use crate::args::CampaignCommand;
use crate::exit::Failure;
use crate::table;
use deleteq_core::{Config, Priority};
use deleteq_ops::report::{campaign_json, campaign_label as label, submitted_json, SHARE_WINDOW};
use deleteq_ops::{CampaignState, Ops};
use deleteq_producer::CAMPAIGN_PRIORITY;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::io::{IsTerminal, Read};
use std::path::Path;
use std::time::Duration;

/// Invalid lines reported before giving up on listing more.
const MAX_ERRORS: usize = 100;

pub(crate) async fn run(config: Config, cmd: CampaignCommand) -> Result<(), Failure> {
    match cmd {
        CampaignCommand::Submit { file, name, priority, json } => {
            submit(config, &file, name, priority.unwrap_or(CAMPAIGN_PRIORITY), json).await
        }
        CampaignCommand::Status { id, json, watch } => {
            let ops = super::connect(&config).await?;
            if watch {
                return follow(&ops, &id, json).await;
            }
            let state = find(&ops, &id).await?;
            if json {
                println!("{}", ops.campaign_status_json(&state).await?);
                return Ok(());
            }
            print_state(&state, false);
            for share in ops.campaign_shares(&state.info.id).await? {
                println!(
                    "  {:.0}% of account {}'s calls over the last {} s ({:.1}/s)",
                    share.share * 100.0,
                    share.account,
                    SHARE_WINDOW.as_secs(),
                    share.per_s
                );
            }
            Ok(())
        }
        CampaignCommand::Cancel { id, json } => {
            let state = super::connect(&config)
                .await?
                .cancel_campaign(&id)
                .await?
                .ok_or_else(|| Failure::Invalid(format!("no campaign {id:?}")))?;
            if json {
                println!("{}", campaign_json(&state));
            } else {
                println!("cancelled {id}: {} message(s) not yet run will end `cancelled`", state.pending());
            }
            Ok(())
        }
        CampaignCommand::List { json } => {
            let all = super::connect(&config).await?.campaigns().await?;
            if json {
                println!("{}", Value::Array(all.iter().map(campaign_json).collect()));
                return Ok(());
            }
            let mut table = table::new(&["id", "name", "total", "pending", "state"], &["total", "pending"]);
            for state in &all {
                let i = &state.info;
                table.add_row(vec![
                    i.id.clone(),
                    i.name.clone(),
                    i.total.to_string(),
                    state.pending().to_string(),
                    label(state).to_string(),
                ]);
            }
            println!("{}", table::render(&table));
            Ok(())
        }
    }
}

async fn submit(
    config: Config,
    file: &Path,
    name: Option<String>,
    priority: Priority,
    json: bool,
) -> Result<(), Failure> {
    let (text, label) = if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| Failure::Invalid(format!("stdin: {e}")))?;
        (text, "stdin".to_string())
    } else {
        let text = std::fs::read_to_string(file).map_err(|e| Failure::Invalid(format!("{}: {e}", file.display())))?;
        (text, file.display().to_string())
    };
    let name =
        name.unwrap_or_else(|| file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or(label.clone()));
    let ops = super::connect(&config).await?;
    let producer = ops.producer();
    let size = match producer.check_campaign(&text, MAX_ERRORS) {
        Ok(size) => size,
        Err(errors) => {
            for e in &errors {
                eprintln!("{label} {e}");
            }
            let more = if errors.len() >= MAX_ERRORS { " (only the first ones are listed)" } else { "" };
            return Err(Failure::Invalid(format!("invalid line(s){more}; nothing was submitted")));
        }
    };
    if size.jobs == 0 {
        return Err(Failure::Invalid(format!("{label}: no jobs in it; nothing was submitted")));
    }
    let bar = ProgressBar::new(size.jobs);
    if std::io::stderr().is_terminal() {
        bar.set_style(style("submitting {bar:40} {pos}/{len} jobs ({per_sec}, {eta} left)"));
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let info =
        producer.submit_campaign(&name, &text, size, priority, |done| bar.set_position(done)).await.map_err(|e| {
            Failure::Runtime(format!(
                "{e}; the campaign is incomplete (see `campaign list`): submit the file again as a new campaign"
            ))
        })?;
    bar.finish_and_clear();
    if json {
        println!("{}", submitted_json(&info));
    } else {
        println!("{}", info.id);
    }
    Ok(())
}

/// Shows progress until nothing is pending: a bar on a terminal, else a line (or JSON object) every two seconds.
async fn follow(ops: &Ops, id: &str, json: bool) -> Result<(), Failure> {
    let state = find(ops, id).await?;
    let tty = std::io::stdout().is_terminal() && !json;
    let bar = ProgressBar::new(state.info.total);
    if tty {
        bar.set_style(style("{msg:30} {bar:40} {pos}/{len} ({per_sec}, {eta} left)"));
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut state = state;
    loop {
        bar.set_position(state.finished());
        bar.set_message(format!("{} {}", state.info.name, label(&state)));
        if !tty {
            print_state(&state, json);
        }
        if state.pending() == 0 && state.info.submitted {
            break;
        }
        tokio::time::sleep(if tty { Duration::from_millis(250) } else { Duration::from_secs(2) }).await;
        state = find(ops, id).await?;
    }
    bar.finish_and_clear();
    if tty {
        print_state(&state, false);
    }
    Ok(())
}

async fn find(ops: &Ops, id: &str) -> Result<CampaignState, Failure> {
    ops.campaign(id).await?.ok_or_else(|| Failure::Invalid(format!("no campaign {id:?}")))
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn print_state(state: &CampaignState, json: bool) {
    if json {
        println!("{}", campaign_json(state));
        return;
    }
    let i = &state.info;
    let counts: Vec<String> = state.counts.iter().filter(|(_, n)| **n > 0).map(|(o, n)| format!("{o}={n}")).collect();
    println!(
        "{} {:?} {}: {}/{} finished, {} pending  {}",
        i.id,
        i.name,
        label(state),
        state.finished(),
        i.total,
        state.pending(),
        counts.join(" ")
    );
}
