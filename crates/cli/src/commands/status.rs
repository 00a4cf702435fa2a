//! `deleteq status [--json]`: queue depths.

use crate::exit::Failure;
use deleteq_core::Config;

pub(crate) async fn run(config: Config, json: bool) -> Result<(), Failure> {
    let queue = super::connect(&config).await?;
    let d = queue.depths().await?;
    if json {
        let value = serde_json::json!({
            "queued": d.ready, "leased": d.leased, "scheduled": d.scheduled, "dead": d.dead,
            "jobs": d.jobs, "audit_records": d.audit,
        });
        println!("{value}");
    } else {
        println!("queued     {}", d.ready);
        println!("leased     {}", d.leased);
        println!("scheduled  {}", d.scheduled);
        println!("dead       {}", d.dead);
        println!("jobs       {} (unfinished)", d.jobs);
        println!("audit      {} records", d.audit);
    }
    Ok(())
}
