//! Every error the API answers, as one JSON shape: `{"error": {"message": ...}}`, plus `index` and `field` when a
//! job (or a campaign line) is at fault (DESIGN §8). The status code is decided here, by one exhaustive match.

use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use deleteq_ops::{ProducerError, QueueError};
use serde::Serialize;
use utoipa::ToSchema;

/// Why a request was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A job, a campaign line or the body as a whole is invalid; nothing was stored.
    #[error("{field}: {message}")]
    Invalid {
        /// The job's position in the request (see each endpoint), absent when the body as a whole is at fault.
        index: Option<usize>,
        /// The JSON field at fault, `body` for the body as a whole.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A query or path parameter is invalid.
    #[error("{0}")]
    BadParameter(String),
    /// No valid bearer token.
    #[error("a valid bearer token is required (Authorization: Bearer <token>)")]
    Unauthorized,
    /// No such campaign, job, account or route.
    #[error("{0}")]
    NotFound(String),
    /// The route exists, but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The body is larger than `[api] max_body`.
    #[error("the request body is larger than the limit of {limit} bytes ([api] max_body)")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Redis failed; see each endpoint for what may have been done.
    #[error("the queue's Redis did not answer; try again")]
    Redis(#[source] QueueError),
    /// Redis may have stored the jobs, but its reply was lost (or the replicas `[redis] wait_replicas` asks for
    /// did not confirm them) and repeating the batch could not settle it.
    #[error("the queue's Redis may or may not have stored the jobs durably ({0}); resend them with idempotency_key to be sure")]
    Unsettled(#[source] QueueError),
    /// `serve` is up but its Redis (named, redacted) has not answered yet: try again shortly.
    #[error("the queue's Redis at {0} is not reachable yet; try again shortly")]
    NotConnected(String),
    /// The request took longer than the server allows.
    #[error("the request took longer than {0} s and was abandoned")]
    Timeout(u64),
    /// Too many requests in flight.
    #[error("too many requests in flight; try again shortly")]
    Overloaded,
    /// A bug: a task panicked.
    #[error("internal error")]
    Internal,
}

/// The error body every non-2xx answer carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong, and where when a job is at fault.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A sentence for people.
    pub message: String,
    /// The position of the job (or campaign line) at fault; absent when it is not about one job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// The JSON field at fault (`body` when it is the body as a whole); absent when it is not about input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// The body as a whole is at fault.
    pub fn invalid_body(message: impl Into<String>) -> ApiError {
        ApiError::Invalid { index: None, field: "body".into(), message: message.into() }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid { .. } | ApiError::BadParameter(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Redis(_)
            | ApiError::Unsettled(_)
            | ApiError::Timeout(_)
            | ApiError::Overloaded
            | ApiError::NotConnected(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn body(&self) -> ErrorBody {
        let (index, field, message) = match self {
            ApiError::Invalid { index, field, message } => (*index, Some(field.clone()), message.clone()),
            other => (None, None, other.to_string()),
        };
        ErrorBody { error: ErrorDetail { message, index, field } }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Redis(error) | ApiError::Unsettled(error) = &self {
            tracing::warn!(%error, "Redis failed during a request.");
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        let headers = response.headers_mut();
        match self {
            ApiError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::Overloaded | ApiError::Redis(_) | ApiError::Unsettled(_) | ApiError::NotConnected(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

impl From<QueueError> for ApiError {
    fn from(error: QueueError) -> Self {
        ApiError::Redis(error)
    }
}

impl From<ProducerError> for ApiError {
    fn from(error: ProducerError) -> Self {
        match error {
            ProducerError::Invalid { index, error } => {
                ApiError::Invalid { index: Some(index), field: error.field, message: error.message }
            }
            ProducerError::Queue(error) => ApiError::Redis(error),
            ProducerError::Unknown(error) => ApiError::Unsettled(error),
            ProducerError::Connect(error) => ApiError::Redis(error.into_source()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadParameter(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::BadParameter(rejection.body_text())
    }
}

/// The body, or why it could not be read: over the cap (413) or broken off (400).
pub fn read_body(body: Result<axum::body::Bytes, BytesRejection>, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge { limit },
        _ => ApiError::invalid_body(format!("could not be read: {}", rejection.body_text())),
    })
}
