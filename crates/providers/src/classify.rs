//! The one place where a status (and, before it, the provider's own error code) becomes retryable, permanent or
//! account-parking. Provider modules match their specific codes first and fall back to [`by_status`]; redirects
//! and transport failures are decided here before any provider module sees a response.

use crate::http::TransportError;
use crate::request::Disposition;
use std::time::Duration;

/// What a failure status means when the provider's body said nothing more specific.
///
/// - 401 refuses the account's credentials: no call of the account can succeed until a person fixes them, so the
///   account is parked instead of failing every job (every provider documents 401 this way: "Unauthorized,
///   usually in the context of an invalid API key", 2Chat; "401 Unauthorized - Authentication failed", IMKIT).
/// - 408, 425, 429 and 5xx are worth another try.
/// - Everything else (400, 403, 404, 405, 422, a 3xx, an unknown status) is permanent.
pub fn by_status(status: u16, hint: Option<Duration>, reason: String) -> Disposition {
    match status {
        401 => refused(reason),
        408 | 425 | 429 | 500..=599 => Disposition::Retry { after: hint, reason },
        _ => Disposition::Failed { reason },
    }
}

/// The account's credentials or plan were refused: park the account until `accounts resume`.
pub fn refused(reason: String) -> Disposition {
    Disposition::ParkAccount {
        reason: format!("{reason}: the provider refused this account; fix its credentials or plan, restart the workers, then run `deleteq accounts resume`"),
        hint: None,
    }
}

/// A 3xx is never followed: whatever host it points to would receive the account's credentials, and whatever
/// that host answers would be taken for the provider's word. The reason names the status and the Location's host
/// (never the whole URL, whose query might carry a token).
pub fn redirect(status: u16, location_host: Option<&str>) -> Disposition {
    let target = match location_host {
        Some(host) => format!("to host {host}"),
        None => "without a usable Location".to_string(),
    };
    Disposition::Failed {
        reason: format!(
            "HTTP {status} redirect {target}: redirects are never followed (a configuration error: check base_url)"
        ),
    }
}

/// Transport failures (timeouts, refused or reset connections) are worth another try; a request that could not
/// be built is not.
pub fn transport(error: &TransportError) -> Disposition {
    match error {
        TransportError::Timeout(_) | TransportError::Connect(_) | TransportError::Other(_) => {
            Disposition::Retry { after: None, reason: error.to_string() }
        }
        TransportError::Unsendable(_) => Disposition::Failed { reason: error.to_string() },
    }
}

/// The reason recorded for a 404 the provider module does not recognise: a wrong base URL or route, never
/// "already deleted".
pub fn unrecognised_404(reason: &str) -> String {
    format!("{reason} (an unrecognised 404 is a configuration error: check base_url)")
}

/// Whether a failure is the provider's side failing (a 5xx, or no answer at all): what the account's circuit
/// breaker counts. Decided here, next to the other rules, so the worker needs no second rule.
pub fn is_server_side(status: Option<u16>, disposition: &Disposition) -> bool {
    match status {
        Some(status) => (500..=599).contains(&status),
        None => matches!(disposition, Disposition::Retry { .. }),
    }
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
    fn statuses_split_into_retryable_permanent_and_refused() {
        for status in [408, 425, 429, 500, 502, 503, 504] {
            assert!(matches!(by_status(status, None, String::new()), Disposition::Retry { .. }), "{status}");
        }
        for status in [300, 301, 302, 307, 308, 400, 403, 404, 405, 409, 422, 486] {
            assert!(matches!(by_status(status, None, String::new()), Disposition::Failed { .. }), "{status}");
        }
        assert!(matches!(by_status(401, None, "HTTP 401".into()), Disposition::ParkAccount { .. }));
    }

    #[test]
    fn a_redirect_names_its_status_and_host_only() {
        let Disposition::Failed { reason } = redirect(307, Some("elsewhere.example:8443")) else { panic!("failed") };
        assert!(reason.contains("HTTP 307") && reason.contains("elsewhere.example:8443"), "{reason}");
        assert!(matches!(redirect(302, None), Disposition::Failed { .. }));
    }

    #[test]
    fn server_side_failures_are_5xx_or_no_answer() {
        let retry = Disposition::Retry { after: None, reason: String::new() };
        assert!(is_server_side(Some(503), &retry));
        assert!(is_server_side(None, &retry));
        assert!(!is_server_side(Some(429), &retry));
        assert!(!is_server_side(None, &Disposition::Failed { reason: String::new() }));
    }
}
