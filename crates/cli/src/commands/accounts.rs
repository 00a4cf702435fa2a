//! `deleteq accounts resume NAME [--json]`: releases a parked account. Exit 1 if there was nothing to resume (the
//! account was not parked and no job of it was set aside).

use crate::args::AccountsCommand;
use crate::exit::Failure;
use deleteq_core::Config;
use serde_json::json;

pub(crate) async fn run(config: Config, command: AccountsCommand) -> Result<(), Failure> {
    match command {
        AccountsCommand::Resume { name, json } => {
            if !config.accounts.contains_key(&name) {
                return Err(Failure::Invalid(format!("unknown account {name:?} (not in [accounts])")));
            }
            let queue = super::connect(&config).await?;
            let was = queue.account_parked(&name).await?;
            let moved = queue.resume_account(&name).await?;
            let reason = was.as_ref().map(|p| p.reason.clone());
            if json {
                let value =
                    json!({ "account": name, "was_parked": was.is_some(), "reason": reason, "jobs_back": moved });
                println!("{value}");
            } else {
                match &reason {
                    Some(reason) => println!("resumed {name} (parked: {reason}); {moved} jobs back in line"),
                    None if moved > 0 => println!("{name} was not parked; {moved} set-aside jobs back in line"),
                    None => {}
                }
            }
            if was.is_none() && moved == 0 {
                return Err(Failure::NothingMatched(format!("{name} is not parked: nothing to resume")));
            }
        }
    }
    Ok(())
}
