//! The schema of a job as clients see it (DESIGN §2), for the OpenAPI document: the body of `POST /v1/jobs` and
//! the `job` of a dead letter. Only a description: jobs are parsed and checked by `deleteq_core::Job`.

use deleteq_core::Priority;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::ToSchema;

/// A job, JSON v1 (DESIGN §2). `account` names a configured account; exactly one of `message`, `messages` or
/// `purge: true` says what to delete. Described here for clients; the server checks it with the same code as the
/// command line.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // a schema only: jobs are parsed by `deleteq_core::Job`.
pub struct JobInput {
    /// The config account it runs against (provider, base URL, credentials).
    account: String,
    /// One message id.
    message: Option<String>,
    /// Several message ids (non-empty, no repeats).
    messages: Option<Vec<String>>,
    /// `true`: every message of the conversation.
    purge: Option<bool>,
    /// The provider's container: room, session key or chat user id, where the provider needs one.
    conversation: Option<String>,
    /// Delete for everyone / hard delete where the provider distinguishes.
    permanent: Option<bool>,
    /// The provider user the call is made on behalf of.
    on_behalf_of: Option<String>,
    /// Not before this time (RFC 3339).
    #[schema(format = DateTime)]
    run_at: Option<String>,
    /// Past this time the job ends `expired` without a call (RFC 3339).
    #[schema(format = DateTime)]
    not_after: Option<String>,
    /// When the message was sent, for provider windows (RFC 3339).
    #[schema(format = DateTime)]
    sent_at: Option<String>,
    /// A second enqueue with the same key returns the first job's id and stores nothing.
    idempotency_key: Option<String>,
    /// A campaign id, copied into the audit records.
    campaign: Option<String>,
    /// Copied into the audit records.
    reason: Option<String>,
    /// Copied into the audit records.
    requested_by: Option<String>,
    /// The lane it waits in: per account a ready `high` job is called before any `normal` one, a `normal` before
    /// any `low` one, and no lane starves.
    #[schema(schema_with = job_priority_schema)]
    priority: Option<String>,
    /// The caller's W3C trace context (`00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`, lowercase): the
    /// worker's spans for this job continue that trace. Without it the job gets the request's `traceparent`
    /// header, if any.
    #[schema(pattern = "^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")]
    traceparent: Option<String>,
}

/// The schema of a priority (DESIGN §2, §6 lanes): one of [`Priority::ALL`]'s names, defaulting to `default`.
pub fn priority_schema(default: Priority, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(Priority::ALL.map(Priority::as_str)))
        .default(Some(default.as_str().into()))
        .description(Some(description))
        .build()
}

fn job_priority_schema() -> Object {
    priority_schema(
        Priority::default(),
        "The lane it waits in: per account a ready `high` job is called before any `normal` one, a `normal` \
         before any `low` one, and no lane starves.",
    )
}
