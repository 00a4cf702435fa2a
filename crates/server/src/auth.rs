//! Bearer-token authentication for `/v1/*` (DESIGN §8): a request must carry `Authorization: Bearer <token>` with
//! one of `[api] tokens`, else it is answered 401 with `WWW-Authenticate: Bearer` before its body is read.
//!
//! The comparison takes the same time whatever the presented token is: every configured token is compared, each
//! over its whole length, without stopping at the first differing byte ([`subtle`]), so response times do not
//! reveal how much of a guess was right. The token never reaches a log: the header is marked sensitive for the
//! trace layer and nothing here prints it.

use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use deleteq_core::config::Secret;
use std::sync::Arc;
use subtle::{Choice, ConstantTimeEq};

/// Who may call the API.
#[derive(Clone)]
pub enum Access {
    /// Requests must present one of these tokens.
    Tokens(Arc<Vec<Secret>>),
    /// Anyone may (`--insecure-no-auth`).
    Open,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Access::Tokens(tokens) => write!(f, "Tokens({} configured)", tokens.len()),
            Access::Open => f.write_str("Open"),
        }
    }
}

impl Access {
    /// Whether a request with this `Authorization` header value may pass.
    pub fn allows(&self, authorization: Option<&[u8]>) -> bool {
        let tokens = match self {
            Access::Open => return true,
            Access::Tokens(tokens) => tokens,
        };
        let Some(presented) = authorization.and_then(bearer_token) else { return false };
        let mut any = Choice::from(0);
        for token in tokens.iter() {
            any |= same_token(presented, token.expose().as_bytes());
        }
        any.into()
    }
}

/// The token of a `Bearer <token>` header value (the scheme is case-insensitive, RFC 7235).
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case(b"bearer ").then(|| rest.trim_ascii())
}

/// Whether `presented` equals `expected`, in time that depends only on `expected`'s length (fixed by the config),
/// never on where the two first differ.
fn same_token(presented: &[u8], expected: &[u8]) -> Choice {
    let mut same = (presented.len() as u64).ct_eq(&(expected.len() as u64));
    for (i, byte) in expected.iter().enumerate() {
        same &= presented.get(i).copied().unwrap_or(0).ct_eq(byte);
    }
    same
}

/// The middleware: passes an authorized request on, answers any other with 401.
pub async fn require_token(State(access): State<Access>, request: Request, next: Next) -> Response {
    let header = request.headers().get(AUTHORIZATION).map(|v| v.as_bytes());
    if access.allows(header) {
        next.run(request).await
    } else {
        ApiError::Unauthorized.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(tokens: &[&str]) -> Access {
        Access::Tokens(Arc::new(tokens.iter().map(|t| Secret::new(*t)).collect()))
    }

    #[test]
    fn only_a_configured_bearer_token_passes() {
        let access = access(&["first-token", "second"]);
        assert!(access.allows(Some(b"Bearer first-token")));
        assert!(access.allows(Some(b"bearer second")));
        assert!(access.allows(Some(b"BEARER  second ")));
        for bad in [&b"Bearer first-toke"[..], b"Bearer first-tokenX", b"Bearer ", b"Basic second", b"second", b""] {
            assert!(!access.allows(Some(bad)), "{}", String::from_utf8_lossy(bad));
        }
        assert!(!access.allows(None));
        assert!(Access::Open.allows(None));
    }

    #[test]
    fn debug_never_shows_a_token() {
        assert_eq!(format!("{:?}", access(&["s3cret"])), "Tokens(1 configured)");
    }
}
