//! The shared HTTP client (one connection pool for every account), path-segment encoding, and transport errors.

use std::time::Duration;

/// A call that got no HTTP response. The text never includes the URL or headers, so no credential can leak.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    /// No response within the account's timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The connection could not be made or was reset.
    #[error("connection failed: {0}")]
    Connect(String),
    /// Anything else reqwest reports.
    #[error("request failed: {0}")]
    Other(String),
}

impl TransportError {
    /// Classifies a reqwest error, dropping its URL.
    pub fn from_reqwest(error: reqwest::Error, timeout: Duration) -> Self {
        if error.is_timeout() {
            return TransportError::Timeout(timeout);
        }
        let connect = error.is_connect();
        let text = error.without_url().to_string();
        if connect {
            TransportError::Connect(text)
        } else {
            TransportError::Other(text)
        }
    }
}

/// One client for all accounts: pooled keep-alive connections; timeouts are set per request from the account.
pub fn client(max_idle_per_host: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(max_idle_per_host)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("deleteq/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Percent-encodes `id` as exactly one path segment: unreserved characters and `@ : ! $ & ' ( ) * + ; =` stay,
/// everything else (including `/ ? # % ,` and spaces) is encoded.
pub fn segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'@'
                    | b':'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b';'
                    | b'='
            );
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn segments_cannot_change_the_path() {
        assert_eq!(super::segment("5f890cf37d980e06f6aaf349"), "5f890cf37d980e06f6aaf349");
        assert_eq!(super::segment("WW-1@c.us"), "WW-1@c.us");
        assert_eq!(super::segment("a/b?c#d%e,f g"), "a%2Fb%3Fc%23d%25e%2Cf%20g");
        assert_eq!(super::segment("é"), "%C3%A9");
    }
}
