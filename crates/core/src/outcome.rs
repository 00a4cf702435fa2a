//! The outcomes of DESIGN §3: every message ends in exactly one terminal outcome.

/// What happened to a message (or, for a purge, to a conversation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The provider confirmed the deletion.
    Deleted,
    /// The provider says the message does not exist: deletion is idempotent, so this is success.
    AlreadyDeleted,
    /// A room purge succeeded; the record carries the provider's count.
    Purged,
    /// `not_after` or a provider window passed before the call; no call was made.
    Expired,
    /// Its campaign was cancelled before it ran.
    Cancelled,
    /// A permanent error; dead-lettered for replay.
    Failed,
    /// Retryable errors outlasted the retry budget; dead-lettered for replay.
    Dead,
    /// Not terminal: a retry is scheduled.
    RetryScheduled,
    /// Not terminal: a dead letter was put back in the queue (`dlq replay`); a new terminal record will follow.
    Replayed,
}

impl Outcome {
    /// Every terminal outcome, in the order reports list them.
    pub const TERMINAL: [Outcome; 7] = [
        Outcome::Deleted,
        Outcome::AlreadyDeleted,
        Outcome::Purged,
        Outcome::Expired,
        Outcome::Cancelled,
        Outcome::Failed,
        Outcome::Dead,
    ];

    /// The name used in the audit stream and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Deleted => "deleted",
            Outcome::AlreadyDeleted => "already_deleted",
            Outcome::Purged => "purged",
            Outcome::Expired => "expired",
            Outcome::Cancelled => "cancelled",
            Outcome::Failed => "failed",
            Outcome::Dead => "dead",
            Outcome::RetryScheduled => "retry_scheduled",
            Outcome::Replayed => "replayed",
        }
    }

    /// Parses an audit-stream name.
    pub fn parse(name: &str) -> Option<Outcome> {
        Outcome::TERMINAL.into_iter().chain([Outcome::RetryScheduled, Outcome::Replayed]).find(|o| o.as_str() == name)
    }

    /// Whether this ends the message's life.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Outcome::RetryScheduled | Outcome::Replayed)
    }

    /// Whether the job goes to the dead-letter set for replay.
    pub fn is_dead_letter(self) -> bool {
        matches!(self, Outcome::Failed | Outcome::Dead)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a `deleted` or `purged` message was deleted (DESIGN §3, the audit record's `mode`). Each provider module
/// decides it from its page's words: what "deleted" means differs between providers and between flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeletionMode {
    /// Gone for everyone, not kept by the provider.
    Hard,
    /// Hidden from everyone, but kept by the provider (CometChat without `permanent`).
    Soft,
    /// Removed from the calling user's history only (QuickBlox without `force`).
    SelfOnly,
    /// The provider's page does not say.
    Unknown,
}

impl DeletionMode {
    /// The name used in the audit stream: `hard`, `soft`, `self` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionMode::Hard => "hard",
            DeletionMode::Soft => "soft",
            DeletionMode::SelfOnly => "self",
            DeletionMode::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for DeletionMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
