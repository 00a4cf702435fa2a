//! Exit codes: 0 success, 1 runtime failure (Redis unreachable, …) or nothing matched (`dlq replay` of ids that are
//! not dead letters, `cancel ID...` when none was cancelled, `accounts resume` of an account not parked), 2 invalid
//! input, config or usage.

/// Why a command failed, and so its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Bad input: a job, a file line, a config value, an argument. Exit 2; nothing was done.
    #[error("{0}")]
    Invalid(String),
    /// The input was fine but the work could not be done. Exit 1.
    #[error("error: {0}")]
    Runtime(String),
    /// The command ran but found nothing to act on (like grep finding no line). Exit 1.
    #[error("{0}")]
    NothingMatched(String),
}

impl Failure {
    /// The process exit code.
    pub fn code(&self) -> u8 {
        match self {
            Failure::Invalid(_) => 2,
            Failure::Runtime(_) | Failure::NothingMatched(_) => 1,
        }
    }
}

impl From<deleteq_ops::QueueError> for Failure {
    fn from(e: deleteq_ops::QueueError) -> Self {
        Failure::Runtime(e.to_string())
    }
}

impl From<deleteq_ops::ConnectError> for Failure {
    fn from(e: deleteq_ops::ConnectError) -> Self {
        if e.is_config() {
            Failure::Invalid(e.to_string())
        } else {
            Failure::Runtime(e.to_string())
        }
    }
}
