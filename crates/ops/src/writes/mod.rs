//! The operator writes, one file each; the command line and the HTTP API call these and only print or send what
//! they answer.

mod accounts;
mod campaigns;
mod dlq;
mod jobs;

pub use accounts::Resumed;
pub use dlq::{ReplayReport, ReplayedAll, ReplayedIds};
pub use jobs::{CancelReport, CancelledJob, JobCancelState};
