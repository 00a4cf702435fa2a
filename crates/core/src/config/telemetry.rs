//! `[log]` and `[telemetry]`: how a process writes its logs (text or JSON lines on stderr) and where, if anywhere,
//! `worker` and `serve` export their spans (OTLP over HTTP). Both are off the hot path unless asked for: without
//! `otlp_endpoint` no exporter is built.

use serde::Deserialize;

/// `[log]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `"text"` (the default: one human-readable line per event) or `"json"` (one JSON object per line).
    pub format: LogFormat,
}

/// The shape of a log line on stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// A human-readable line per event (colours only on a terminal).
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields` (with `message`) and the spans it ran in.
    Json,
}

impl LogFormat {
    /// The name in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// `[telemetry]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// The base URL of an OTLP/HTTP receiver (`http://host:4318`; spans go to `<endpoint>/v1/traces` as
    /// protobuf). `None` (the default): no exporter is built.
    pub otlp_endpoint: Option<String>,
    /// The `service.name` resource attribute of every exported span.
    pub service_name: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig { otlp_endpoint: None, service_name: "deleteq".into() }
    }
}

impl TelemetryConfig {
    /// The URL spans are posted to: the endpoint with `/v1/traces` appended, unless it ends so already.
    pub fn traces_url(&self) -> Option<String> {
        let endpoint = self.otlp_endpoint.as_deref()?.trim_end_matches('/');
        Some(if endpoint.ends_with("/v1/traces") { endpoint.to_string() } else { format!("{endpoint}/v1/traces") })
    }

    /// Checks the endpoint (an `http://` or `https://` URL with a host, no user or password, query or fragment)
    /// and the service name; the error names the key.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.service_name.trim().is_empty() {
            return Err("telemetry.service_name must not be empty".into());
        }
        let Some(endpoint) = &self.otlp_endpoint else {
            return Ok(());
        };
        let bad =
            |why: &str| Err(format!("telemetry.otlp_endpoint {endpoint:?}: {why} (e.g. \"http://127.0.0.1:4318\")"));
        let Some((scheme, rest)) = endpoint.split_once("://") else {
            return bad("not a URL");
        };
        if scheme != "http" && scheme != "https" {
            return bad("the scheme must be http or https (OTLP over HTTP)");
        }
        if endpoint.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("contains whitespace");
        }
        if rest.contains(['?', '#']) {
            return bad("must not have a query or fragment");
        }
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.contains('@') {
            return bad("must not carry a user or password");
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(inner) => match inner.split_once(']') {
                Some((host, "")) => (host, None),
                Some((host, after)) => match after.strip_prefix(':') {
                    Some(port) => (host, Some(port)),
                    None => return bad("has text after its IPv6 address"),
                },
                None => return bad("has an unclosed '['"),
            },
            None => match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        if port.is_some_and(|p| p.parse::<u16>().is_err()) {
            return bad("the port is not a number from 0 to 65535");
        }
        if host.is_empty() {
            return bad("has no host");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(url: &str) -> TelemetryConfig {
        TelemetryConfig { otlp_endpoint: Some(url.into()), ..TelemetryConfig::default() }
    }

    #[test]
    fn endpoints_are_checked_and_get_the_traces_path() {
        for ok in [
            "http://127.0.0.1:4318",
            "https://otel.example.com",
            "http://[::1]:4318/",
            "http://[::1]",
            "http://c:4318/v1/traces",
        ] {
            assert_eq!(endpoint(ok).check(), Ok(()), "{ok}");
        }
        assert_eq!(endpoint("http://h:4318").traces_url().as_deref(), Some("http://h:4318/v1/traces"));
        assert_eq!(endpoint("http://h:4318/").traces_url().as_deref(), Some("http://h:4318/v1/traces"));
        assert_eq!(endpoint("http://h/v1/traces").traces_url().as_deref(), Some("http://h/v1/traces"));
        assert_eq!(TelemetryConfig::default().traces_url(), None);
        for bad in [
            "127.0.0.1:4318",
            "grpc://h:4317",
            "http://",
            "http://:4318",
            "http://h:port",
            "http://u:p@h:4318",
            "http://h:4318?k=1",
            "http://h x",
        ] {
            let error = endpoint(bad).check().expect_err(bad);
            assert!(error.starts_with("telemetry.otlp_endpoint"), "{bad}: {error}");
        }
        let unnamed = TelemetryConfig { service_name: " ".into(), ..TelemetryConfig::default() };
        assert!(unnamed.check().expect_err("empty").starts_with("telemetry.service_name"));
    }
}
