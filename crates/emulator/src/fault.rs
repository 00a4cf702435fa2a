//! Fault injection: the answers a test queues for one message, and what a delete call finds once they are applied.
//!
//! A fault is a list of statuses answered one per call, in order; when it runs out the message behaves normally
//! again (exists → deleted, else not found). Each provider module turns an [`Injected`] answer into that
//! provider's own error body for the status, so the worker is tested against realistic shapes.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::Duration;

/// Responses to inject for one message: one status per call, in order, before normal behaviour resumes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fault {
    /// Provider kind name (`cometchat`, `room_im`, `quickblox`, `twochat`, `ofauth`).
    pub provider: String,
    /// Room, session or chat user; `None` where the provider has none (CometChat, QuickBlox).
    #[serde(default)]
    pub conversation: Option<String>,
    /// The message id (`_all` for an IMKIT room purge).
    pub message: String,
    /// Statuses to answer, one per call (e.g. `[500, 429, 503]`).
    pub statuses: Vec<u16>,
    /// A `Retry-After` header value sent with them (e.g. `"2"`).
    #[serde(default)]
    pub retry_after: Option<String>,
    /// Extra latency before each injected answer, and before later normal answers for this message.
    #[serde(default)]
    pub latency_ms: u64,
    /// The provider error code to put in the bodies (`RULES_OUTDATED`, `SESSION_EXPIRED`,
    /// `ERR_MESSAGE_NOT_A_SENDER`, …); without it each provider uses its usual code for the status. QuickBlox also
    /// knows `forbid_call`: a 403 that refuses the whole multi-id call instead of one id's bucket.
    #[serde(default)]
    pub code: Option<String>,
}

impl Fault {
    /// `statuses` answered, in order, to the next calls for one message; nothing else injected.
    pub fn new(provider: &str, conversation: Option<&str>, message: &str, statuses: Vec<u16>) -> Fault {
        Fault {
            provider: provider.to_string(),
            conversation: conversation.map(str::to_string),
            message: message.to_string(),
            statuses,
            retry_after: None,
            latency_ms: 0,
            code: None,
        }
    }

    /// With a `Retry-After` header.
    pub fn retry_after(mut self, value: &str) -> Fault {
        self.retry_after = Some(value.to_string());
        self
    }

    /// With the provider error code to use in the bodies.
    pub fn code(mut self, code: &str) -> Fault {
        self.code = Some(code.to_string());
        self
    }

    /// With extra latency before answering.
    pub fn latency_ms(mut self, ms: u64) -> Fault {
        self.latency_ms = ms;
        self
    }
}

/// An injected answer for one call.
#[derive(Debug, Clone)]
pub struct Injected {
    /// Status.
    pub status: u16,
    /// `Retry-After` value.
    pub retry_after: Option<String>,
    /// Error code for the body.
    pub code: Option<String>,
}

/// What a delete call for one message finds.
#[derive(Debug, Clone)]
pub enum Found {
    /// An injected answer.
    Fault(Injected),
    /// The message existed and is now deleted.
    Deleted,
    /// No such message.
    Missing,
}

/// The answers still queued for one message, as the store keeps them.
pub(crate) struct QueuedFault {
    statuses: VecDeque<u16>,
    retry_after: Option<String>,
    latency: Duration,
    code: Option<String>,
}

impl QueuedFault {
    pub(crate) fn new(fault: Fault) -> Self {
        QueuedFault {
            statuses: fault.statuses.into(),
            retry_after: fault.retry_after,
            latency: Duration::from_millis(fault.latency_ms),
            code: fault.code,
        }
    }

    /// Extra latency for every call to this message.
    pub(crate) fn latency(&self) -> Duration {
        self.latency
    }

    /// Takes the next injected answer, if any remain.
    pub(crate) fn take(&mut self) -> Option<Injected> {
        let status = self.statuses.pop_front()?;
        Some(Injected { status, retry_after: self.retry_after.clone(), code: self.code.clone() })
    }

    /// The next status without taking it.
    pub(crate) fn peek(&self) -> Option<u16> {
        self.statuses.front().copied()
    }

    /// The error code of the next answer, if one remains and it has a code.
    pub(crate) fn peek_code(&self) -> Option<&str> {
        self.statuses.front()?;
        self.code.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_come_out_in_order_then_run_out() {
        let mut queued = QueuedFault::new(Fault::new("cometchat", None, "1", vec![500, 429]).retry_after("3"));
        assert_eq!(queued.peek(), Some(500));
        let first = queued.take().expect("first");
        assert_eq!((first.status, first.retry_after.as_deref()), (500, Some("3")));
        assert_eq!(queued.take().map(|i| i.status), Some(429));
        assert!(queued.take().is_none());
        assert!(queued.peek_code().is_none());
    }

    #[test]
    fn json_fields_default() {
        let fault: Fault = serde_json::from_str(r#"{"provider":"ofauth","message":"9","statuses":[401]}"#)
            .expect("a fault without optional fields");
        assert_eq!((fault.conversation, fault.retry_after, fault.latency_ms, fault.code), (None, None, 0, None));
    }
}
