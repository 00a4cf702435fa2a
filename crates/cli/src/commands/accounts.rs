//! `deleteq accounts resume NAME [--json]`: releases a parked account. Exit 1 if there was nothing to resume (the
//! account was not parked and no job of it was set aside).

use crate::args::AccountsCommand;
use crate::exit::Failure;
use deleteq_core::Config;

pub(crate) async fn run(config: Config, command: AccountsCommand) -> Result<(), Failure> {
    match command {
        AccountsCommand::Resume { name, json } => {
            if !config.accounts.contains_key(&name) {
                return Err(Failure::Invalid(format!("unknown account {name:?} (not in [accounts])")));
            }
            let resumed = super::connect(&config).await?.resume_account(&name).await?;
            let moved = resumed.jobs_back;
            if json {
                println!("{}", serde_json::to_value(&resumed).unwrap_or_default());
            } else {
                match &resumed.reason {
                    Some(reason) => println!("resumed {name} (parked: {reason}); {moved} jobs back in line"),
                    None if moved > 0 => println!("{name} was not parked; {moved} set-aside jobs back in line"),
                    None => {}
                }
            }
            if !resumed.resumed_anything() {
                return Err(Failure::NothingMatched(format!("{name} is not parked: nothing to resume")));
            }
        }
    }
    Ok(())
}
