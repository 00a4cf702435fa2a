//! The one place where a status (and, before it, the provider's own error code) becomes retryable, permanent or
//! account-parking. Provider modules match their specific codes first and fall back to [`by_status`].

use crate::http::TransportError;
use crate::request::Disposition;
use std::time::Duration;

/// What a failure status means when the provider's body said nothing more specific.
pub fn by_status(status: u16, hint: Option<Duration>, reason: String) -> Disposition {
    match status {
        408 | 425 | 429 | 500..=599 => Disposition::Retry { after: hint, reason },
        _ => Disposition::Failed { reason },
    }
}

/// Transport failures (timeouts, refused or reset connections) are always worth another try.
pub fn transport(error: &TransportError) -> Disposition {
    match error {
        TransportError::Timeout(_) | TransportError::Connect(_) | TransportError::Other(_) => {
            Disposition::Retry { after: None, reason: error.to_string() }
        }
    }
}

/// The reason recorded for a 404 the provider module does not recognise: a wrong base URL or route, never
/// "already deleted".
pub fn unrecognised_404(reason: &str) -> String {
    format!("{reason} (an unrecognised 404 is a configuration error: check base_url)")
}

/// A short, single-line excerpt of a response body for an error message (bodies are not trusted to be small).
pub fn excerpt(body: &str) -> String {
    let flat: String = body.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let mut cut: String = flat.chars().take(200).collect();
    if flat.chars().count() > 200 {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_split_into_retryable_and_permanent() {
        for status in [408, 425, 429, 500, 502, 503, 504] {
            assert!(matches!(by_status(status, None, String::new()), Disposition::Retry { .. }), "{status}");
        }
        for status in [400, 401, 403, 404, 405, 409, 422] {
            assert!(matches!(by_status(status, None, String::new()), Disposition::Failed { .. }), "{status}");
        }
    }
}
