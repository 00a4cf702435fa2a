//! `[api]`: the HTTP API of `deleteq serve` (DESIGN §8): where it listens, the bearer tokens it accepts, and how
//! large a request body may be. Every value is checked when the config loads, so the server never starts half
//! configured; errors name the key (`api.addr`, `api.tokens[1]`, `api.max_body`) and never a token's value.

use super::{ConfigError, Secret};
use serde::Deserialize;
use std::net::SocketAddr;

/// The address served when `[api] addr` is absent.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// The body cap when `[api] max_body` is absent: 64 MiB.
pub const DEFAULT_MAX_BODY: usize = 64 << 20;
/// The largest accepted `max_body`: 1 GiB (a body is held in memory whole while it is validated).
pub const MAX_MAX_BODY: usize = 1 << 30;

/// `[api]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// The socket address to listen on; `deleteq serve --addr` overrides it.
    pub addr: SocketAddr,
    /// Bearer tokens any one of which a request must present. Empty means none configured: the server then
    /// refuses to start unless told `--insecure-no-auth`.
    pub tokens: Vec<Secret>,
    /// The largest request body accepted, in bytes; a larger one is answered 413.
    pub max_body: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig { addr: SocketAddr::from(([127, 0, 0, 1], 8080)), tokens: Vec::new(), max_body: DEFAULT_MAX_BODY }
    }
}

/// `[api]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApi {
    addr: Option<toml::Value>,
    tokens: Option<toml::Value>,
    max_body: Option<toml::Value>,
}

impl RawApi {
    /// `unresolved(i)` says token `i` was left unresolved by a command that does not serve: it is left out (the
    /// config's `unresolved` list still names it).
    pub(super) fn into_config(self, unresolved: &dyn Fn(usize) -> bool) -> Result<ApiConfig, ConfigError> {
        let invalid = |m: String| ConfigError::Invalid(m);
        let mut api = ApiConfig::default();
        if let Some(addr) = self.addr {
            let text =
                addr.as_str().ok_or_else(|| invalid(format!("api.addr must be a string like \"{DEFAULT_ADDR}\"")))?;
            api.addr = text.parse().map_err(|_| {
                invalid(format!("api.addr {text:?} is not a socket address (host:port, e.g. \"{DEFAULT_ADDR}\")"))
            })?;
        }
        if let Some(tokens) = self.tokens {
            let list = tokens.as_array().ok_or_else(|| invalid("api.tokens must be a list of strings".into()))?;
            for (i, token) in list.iter().enumerate() {
                let token = token.as_str().ok_or_else(|| invalid(format!("api.tokens[{i}] must be a string")))?;
                if unresolved(i) {
                    continue;
                }
                check_token(token).map_err(|why| invalid(format!("api.tokens[{i}] {why}")))?;
                api.tokens.push(Secret::new(token));
            }
        }
        if let Some(size) = self.max_body {
            let text = size.as_str().ok_or_else(|| invalid("api.max_body must be a size like \"64MB\"".into()))?;
            api.max_body = parse_size(text).map_err(|why| invalid(format!("api.max_body {text:?}: {why}")))?;
            if api.max_body == 0 || api.max_body > MAX_MAX_BODY {
                return Err(invalid(format!("api.max_body {text:?} must be above zero and at most 1GB")));
            }
        }
        Ok(api)
    }
}

/// A token must be non-empty and fit an `Authorization` header as one word. The reason never quotes the value.
fn check_token(token: &str) -> Result<(), &'static str> {
    if token.is_empty() {
        return Err("is empty (is its environment variable set to an empty string?)");
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must be printable ASCII without spaces (it travels in an Authorization header)");
    }
    Ok(())
}

/// Parses a byte size: a whole number followed by `B`, `KB`, `MB` or `GB` (case-insensitive; `KiB`, `MiB` and
/// `GiB` are the same). Units are binary, as body limits usually are: `1KB` is 1,024 bytes.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: usize = digits.parse().map_err(|_| "expected a number followed by B, KB, MB or GB".to_string())?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "b" => 0,
        "kb" | "kib" => 10,
        "mb" | "mib" => 20,
        "gb" | "gib" => 30,
        _ => return Err("the unit must be B, KB, MB or GB".to_string()),
    };
    number.checked_mul(1 << shift).ok_or_else(|| "too large".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_binary_and_case_insensitive() {
        assert_eq!(parse_size("64MB"), Ok(64 << 20));
        assert_eq!(parse_size("512kb"), Ok(512 << 10));
        assert_eq!(parse_size("1KiB"), Ok(1024));
        assert_eq!(parse_size("10 B"), Ok(10));
        assert_eq!(parse_size("2GB"), Ok(2 << 30));
        for bad in ["", "MB", "12", "1.5MB", "-1KB", "3TB"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    fn load(api: &str) -> Result<ApiConfig, String> {
        let lookup = |var: &str| match var {
            "TOKEN" => Some("s3cret-token".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        crate::Config::from_toml(&format!("[api]\n{api}\n"), lookup).map(|c| c.api).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_addr_tokens_and_max_body() {
        let api =
            load("addr = \"0.0.0.0:9000\"\ntokens = [\"${TOKEN}\", \"other\"]\nmax_body = \"1KB\"").expect("valid");
        assert_eq!(api.addr.to_string(), "0.0.0.0:9000");
        assert_eq!(api.tokens.iter().map(Secret::expose).collect::<Vec<_>>(), ["s3cret-token", "other"]);
        assert_eq!(api.max_body, 1024);
        assert!(!format!("{api:?}").contains("s3cret"), "tokens are redacted in Debug");
        let defaults = crate::Config::from_toml("", |_| None).expect("empty config").api;
        assert_eq!(defaults, ApiConfig::default());
        assert_eq!(defaults.addr.to_string(), DEFAULT_ADDR);
    }

    #[test]
    fn errors_name_the_key_and_never_the_token() {
        for (api, key) in [
            ("addr = \"localhost\"", "api.addr"),
            ("addr = 8080", "api.addr"),
            ("tokens = \"s3cret-token\"", "api.tokens"),
            ("tokens = [\"ok\", \"\"]", "api.tokens[1]"),
            ("tokens = [\"${EMPTY}\"]", "api.tokens[0]"),
            ("tokens = [\"two words\"]", "api.tokens[0]"),
            ("tokens = [5]", "api.tokens[0]"),
            ("max_body = \"64 parsecs\"", "api.max_body"),
            ("max_body = \"0KB\"", "api.max_body"),
            ("max_body = \"2GB\"", "api.max_body"),
            ("colour = 1", "colour"),
        ] {
            let err = load(api).expect_err(api);
            assert!(err.contains(key), "{api}: {err}");
            assert!(!err.contains("two words") && !err.contains("s3cret"), "{api}: {err}");
        }
    }
}
