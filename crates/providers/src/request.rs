//! What the worker asks of a provider and what comes back. Outcomes are types, not strings.

use crate::budget::RateBudget;
use deleteq_core::DeletionMode;
use std::time::Duration;

/// One provider call's worth of work.
#[derive(Debug, Clone)]
pub struct DeleteRequest<'a> {
    /// Room, session key or chat user id, where the provider's URL needs one.
    pub conversation: Option<&'a str>,
    /// The message ids this call addresses: one for most providers, a batch for QuickBlox, none for a purge.
    pub messages: &'a [String],
    /// Delete the whole conversation.
    pub purge: bool,
    /// Hard delete / delete for everyone.
    pub permanent: bool,
    /// The provider user the call acts for.
    pub on_behalf_of: Option<&'a str>,
}

/// The result for one message of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageResult {
    /// Deleted by this call, in the way the provider's page says this call deletes.
    Deleted(DeletionMode),
    /// Did not exist: already deleted.
    AlreadyDeleted,
    /// Permanently refused for this message.
    Failed(String),
    /// Not settled by this call (one half of a bisected QuickBlox batch): try this message again later.
    Retry {
        /// The provider's hint.
        after: Option<Duration>,
        /// Why, for the audit record.
        reason: String,
    },
}

/// What a call achieved, as the worker needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Every message of the call has a result.
    Messages(Vec<(String, MessageResult)>),
    /// The conversation was purged; the provider's count when it gave one.
    Purged {
        /// Messages the provider says it deleted.
        deleted_count: u64,
        /// How they were deleted.
        mode: DeletionMode,
    },
    /// Try the whole call again later, no earlier than `after` when the provider said so.
    Retry {
        /// The provider's hint.
        after: Option<Duration>,
        /// Why, for the audit record.
        reason: String,
    },
    /// Will never succeed as asked (credentials, permissions, bad request, unknown route).
    Failed {
        /// Why.
        reason: String,
    },
    /// The account as a whole cannot work until a person acts (credentials refused, credits exhausted, session
    /// expired): no other call of the account can succeed, so its jobs are set aside instead of failing one by one.
    ParkAccount {
        /// Why.
        reason: String,
        /// How long at least, when the provider said.
        hint: Option<Duration>,
    },
}

/// A classified response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status, when a response arrived.
    pub http_status: Option<u16>,
    /// What it means.
    pub disposition: Disposition,
    /// The rate-limit budget the provider reported on it, if any (filled by `http::exchange`, not by classifiers).
    pub budget: Option<RateBudget>,
}

impl Response {
    /// A response without a reported budget (`http::exchange` adds the budget after classification).
    pub fn new(http_status: Option<u16>, disposition: Disposition) -> Response {
        Response { http_status, disposition, budget: None }
    }

    /// The whole call failed permanently.
    pub fn failed(status: Option<u16>, reason: &str) -> Response {
        Response::new(status, Disposition::Failed { reason: reason.to_string() })
    }

    /// Every message of `req` got `result`.
    pub fn all(req: &DeleteRequest<'_>, status: Option<u16>, result: MessageResult) -> Response {
        let list = req.messages.iter().map(|m| (m.clone(), result.clone())).collect();
        Response::new(status, Disposition::Messages(list))
    }

    /// The same response, carrying the budget the provider reported.
    pub fn with_budget(self, budget: Option<RateBudget>) -> Response {
        Response { budget, ..self }
    }
}
