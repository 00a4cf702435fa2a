//! Helpers for the provider modules' unit tests: recorded responses and requests.

use crate::http::RawResponse;
use crate::request::DeleteRequest;

/// A response with `status` and `body`, as `http::send` would return it.
pub(crate) fn raw(status: u16, body: &str) -> RawResponse {
    RawResponse {
        status,
        headers: reqwest::header::HeaderMap::new(),
        body: body.to_string(),
        json: serde_json::from_str(body).ok(),
    }
}

/// A plain request for `ids`.
pub(crate) fn request(ids: &[String]) -> DeleteRequest<'_> {
    DeleteRequest { conversation: Some("room"), messages: ids, purge: false, permanent: true, on_behalf_of: None }
}
