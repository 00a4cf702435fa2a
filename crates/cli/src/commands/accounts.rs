//! `deleteq accounts resume NAME`: releases a parked account.

use crate::args::AccountsCommand;
use crate::exit::Failure;
use deleteq_core::Config;

pub(crate) async fn run(config: Config, command: AccountsCommand) -> Result<(), Failure> {
    match command {
        AccountsCommand::Resume { name } => {
            if !config.accounts.contains_key(&name) {
                return Err(Failure::Invalid(format!("unknown account {name:?}")));
            }
            let queue = super::connect(&config).await?;
            let was = queue.account_parked(&name).await?;
            let moved = queue.resume_account(&name).await?;
            match was {
                Some(p) => println!("resumed {name} (parked: {}); {moved} jobs back in line", p.reason),
                None => println!("{name} was not parked; {moved} jobs back in line"),
            }
        }
    }
    Ok(())
}
