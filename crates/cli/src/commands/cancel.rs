//! `deleteq cancel ID... [--json]`: jobs not yet called end `cancelled` (with a bulk job, its children not yet
//! called too); a job whose call is running says so, and one finished or unknown says so. Exit 1 when none was
//! cancelled (every id running, finished or unknown), as `dlq replay` of nothing replayable.

use crate::args::CancelArgs;
use crate::exit::Failure;
use deleteq_core::Config;
use deleteq_ops::{CancelledJob, JobCancelState};

pub(crate) async fn run(config: Config, args: CancelArgs) -> Result<(), Failure> {
    let ops = super::connect(&config).await?;
    let by = std::env::var("USER").ok().map(|u| format!("deleteq cancel ({u})")).unwrap_or("deleteq cancel".into());
    let report = ops.cancel_jobs(&args.ids, Some(&by)).await.map_err(|e| Failure::Runtime(e.to_string()))?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        for job in &report.jobs {
            println!("{}", line(job));
        }
    }
    if report.cancelled == 0 {
        return Err(Failure::NothingMatched("nothing cancelled".into()));
    }
    Ok(())
}

/// One job's line of the text output.
fn line(job: &CancelledJob) -> String {
    let of = job.parent.as_deref().map(|p| format!(" (of {p})")).unwrap_or_default();
    match job.state {
        JobCancelState::Cancelled => {
            format!("{}{of} cancelled: {} message(s) recorded `cancelled`", job.id, job.messages)
        }
        JobCancelState::Running => format!("{}{of} running: its call goes on and ends as it ends", job.id),
        JobCancelState::Finished => format!("{} finished: it is a dead letter (see `dlq list`)", job.id),
        JobCancelState::NotFound => format!("{} not found: it finished already, or was never enqueued", job.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_state_says_what_happened() {
        let job = |state, parent: Option<&str>| CancelledJob {
            id: "J:0".into(),
            state,
            messages: 1,
            parent: parent.map(str::to_string),
        };
        assert_eq!(
            line(&job(JobCancelState::Cancelled, Some("J"))),
            "J:0 (of J) cancelled: 1 message(s) recorded `cancelled`"
        );
        assert!(line(&job(JobCancelState::Running, None)).ends_with("running: its call goes on and ends as it ends"));
        assert!(line(&job(JobCancelState::NotFound, None)).contains("not found"));
    }
}
