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
    /// The request could not even be built (a header value HTTP cannot carry): sending again cannot help.
    #[error("request could not be built: {0}")]
    Unsendable(String),
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
        let (connect, builder) = (error.is_connect(), error.is_builder());
        let text = error.without_url().to_string();
        if builder {
            TransportError::Unsendable(text)
        } else if connect {
            TransportError::Connect(text)
        } else {
            TransportError::Other(text)
        }
    }
}

/// A response as every provider module reads it: status, headers (for rate-limit hints) and the body, parsed as
/// JSON when it is JSON.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body text.
    pub body: String,
    /// The body as JSON, if it parses.
    pub json: Option<serde_json::Value>,
}

impl RawResponse {
    /// A string field of the JSON body, at `path` (e.g. `["error", "code"]`).
    pub fn str_at(&self, path: &[&str]) -> Option<&str> {
        let mut v = self.json.as_ref()?;
        for key in path {
            v = v.get(key)?;
        }
        v.as_str()
    }

    /// The longest wait the response asks for, in any of its forms (reset epochs on a 429 only).
    pub fn retry_hint(&self) -> Option<Duration> {
        crate::hint::retry_hint(self.status, &self.headers, self.json.as_ref(), std::time::SystemTime::now())
    }

    /// The rate-limit budget the response reports, if its headers carry a complete one.
    pub fn budget(&self) -> Option<crate::budget::RateBudget> {
        crate::budget::rate_budget(&self.headers, std::time::SystemTime::now())
    }

    /// "HTTP 404 CODE" or "HTTP 404: <body excerpt>", for audit records.
    pub fn reason(&self, code: Option<&str>) -> String {
        match code.filter(|c| !c.is_empty()) {
            Some(code) => format!("HTTP {} {code}", self.status),
            None => format!("HTTP {}: {}", self.status, crate::classify::excerpt(&self.body)),
        }
    }
}

/// Sends a request and reads the whole response. No response (timeout, refused or reset connection) and a
/// redirect come back already classified, so no provider module can mistake either for the provider's answer.
pub async fn send(
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<RawResponse, crate::request::Response> {
    let transport = |e: reqwest::Error| {
        let error = TransportError::from_reqwest(e, timeout);
        crate::request::Response::new(None, crate::classify::transport(&error))
    };
    let response = request.timeout(timeout).send().await.map_err(transport)?;
    let status = response.status().as_u16();
    if response.status().is_redirection() {
        let host = location_host(response.url(), response.headers());
        return Err(crate::request::Response::new(Some(status), crate::classify::redirect(status, host.as_deref())));
    }
    let headers = response.headers().clone();
    let body = response.text().await.map_err(transport)?;
    let json = if body.is_empty() { None } else { serde_json::from_str(&body).ok() };
    Ok(RawResponse { status, headers, body, json })
}

/// The host (and port, when given) a redirect's `Location` points to, resolved against the request's URL.
fn location_host(url: &reqwest::Url, headers: &reqwest::header::HeaderMap) -> Option<String> {
    let location = headers.get(reqwest::header::LOCATION)?.to_str().ok()?;
    let target = url.join(location).ok()?;
    let host = target.host_str()?;
    Some(match target.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

/// Sends a request and classifies what comes back: a response through `classify` (with the rate-limit budget its
/// headers report); no response or a redirect as [`send`] classifies them.
pub async fn exchange(
    request: reqwest::RequestBuilder,
    timeout: Duration,
    classify: impl FnOnce(&RawResponse) -> crate::request::Response,
) -> crate::request::Response {
    match send(request, timeout).await {
        Ok(raw) => classify(&raw).with_budget(raw.budget()),
        Err(settled) => settled,
    }
}

/// One client for all accounts: pooled keep-alive connections; timeouts are set per request from the account.
/// Redirects are never followed (reqwest follows up to 10 by default): the next host would receive the account's
/// credentials in its headers. Fails only if the TLS backend cannot start.
pub fn client(max_idle_per_host: usize) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(max_idle_per_host)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("deleteq/", env!("CARGO_PKG_VERSION")))
        .build()
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
