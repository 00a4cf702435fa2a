//! deleteq's domain model, shared by the producer, the queue and the worker. No I/O happens here.
//!
//! # Layout
//! - [`job`]: the JSON v1 job (DESIGN §2), parsed field by field so every error names its field.
//! - [`validate`]: the rules a job must meet against the configured accounts before it is enqueued.
//! - [`envelope`]: the form a job takes in Redis: id, attempt count and the job itself.
//! - [`outcome`]: the terminal and non-terminal outcomes of DESIGN §3.
//! - [`audit`]: one audit-stream record and its fixed field list.
//! - [`traceparent`]: the W3C trace context a caller may hand in with a job, parsed strictly.
//! - [`config`]: the TOML configuration (DESIGN §4–5), with `${VAR}` expansion and redacted secrets.
//! - [`duration`], [`rate`]: the small value syntaxes the config uses (`"30s"`, `"60/min burst 90"`).

pub mod audit;
pub mod config;
pub mod duration;
pub mod envelope;
pub mod job;
pub mod outcome;
pub mod priority;
pub mod rate;
pub mod traceparent;
pub mod validate;

pub use audit::AuditRecord;
pub use config::{Account, AccountKind, Config, ConfigError, ProviderKind};
pub use envelope::{Envelope, GivenUp, JobId};
pub use job::{Job, JobError, Target};
pub use outcome::{DeletionMode, Outcome};
pub use priority::Priority;
pub use traceparent::Traceparent;

/// Milliseconds since the Unix epoch, the one time unit stored in Redis.
pub fn now_ms() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0)
}
