//! One `[accounts.NAME]` entry: the provider kind, where it lives, its credentials and limits (DESIGN §5).

use super::Secret;
use crate::duration::parse_duration;
use crate::rate::RateLimit;
use serde::Deserialize;
use std::time::Duration;

/// The provider kinds, by their config names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// `"cometchat"`.
    CometChat,
    /// `"room_im"` (IMKIT).
    RoomIm,
    /// `"quickblox"`.
    QuickBlox,
    /// `"twochat"` (2Chat / WhatsApp).
    TwoChat,
    /// `"ofauth"`.
    OfAuth,
    /// `"noop"`: records `deleted` without a network call (benchmarks, smoke tests).
    Noop,
}

impl ProviderKind {
    /// The config and audit name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::CometChat => "cometchat",
            ProviderKind::RoomIm => "room_im",
            ProviderKind::QuickBlox => "quickblox",
            ProviderKind::TwoChat => "twochat",
            ProviderKind::OfAuth => "ofauth",
            ProviderKind::Noop => "noop",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [Self::CometChat, Self::RoomIm, Self::QuickBlox, Self::TwoChat, Self::OfAuth, Self::Noop]
            .into_iter()
            .find(|k| k.as_str() == name)
    }

    /// Whether a job for this provider must name a `conversation` (it is rejected where it has no meaning).
    pub fn needs_conversation(self) -> bool {
        matches!(self, ProviderKind::RoomIm | ProviderKind::TwoChat | ProviderKind::OfAuth)
    }

    /// Whether the provider can delete a whole conversation in one call.
    pub fn supports_purge(self) -> bool {
        matches!(self, ProviderKind::RoomIm)
    }
}

/// How a QuickBlox account authenticates.
#[derive(Debug, Clone)]
pub enum QuickBloxAuth {
    /// `Authorization: ApiKey …`.
    ApiKey(Secret),
    /// `QB-Token: …`.
    Token(Secret),
}

/// Kind-specific settings and credentials.
#[derive(Debug, Clone)]
pub enum AccountKind {
    /// CometChat REST v3.
    CometChat {
        /// e.g. `https://APPID.api-eu.cometchat.io`.
        base_url: String,
        /// Sent as `apikey`.
        api_key: Secret,
    },
    /// IMKIT room IM.
    RoomIm {
        /// The app's API host.
        base_url: String,
        /// Sent as `IM-CLIENT-KEY`.
        client_key: Secret,
        /// Sent as `IM-Authorization`.
        token: Secret,
    },
    /// QuickBlox chat.
    QuickBlox {
        /// e.g. `https://api.quickblox.com`.
        base_url: String,
        /// API key or session token.
        auth: QuickBloxAuth,
        /// Ids per comma-joined call.
        batch_size: usize,
    },
    /// 2Chat (WhatsApp).
    TwoChat {
        /// e.g. `https://api.p.2chat.io`.
        base_url: String,
        /// Sent as `X-User-API-Key`.
        api_key: Secret,
        /// Messages older than this (by `sent_at`) can no longer be deleted for everyone.
        window: Duration,
    },
    /// OFAuth.
    OfAuth {
        /// e.g. `https://api-next.ofauth.com`.
        base_url: String,
        /// Sent as `apiKey`.
        api_key: Secret,
        /// Sent as `x-connection-id`.
        connection_id: Secret,
    },
    /// No network call.
    Noop,
}

/// One configured account.
#[derive(Debug, Clone)]
pub struct Account {
    /// Kind, location and credentials.
    pub kind: AccountKind,
    /// Calls allowed across all workers; the provider's documented default when not configured.
    pub rate_limit: Option<RateLimit>,
    /// Per-call timeout.
    pub timeout: Duration,
}

impl Account {
    /// The provider kind.
    pub fn provider(&self) -> ProviderKind {
        match self.kind {
            AccountKind::CometChat { .. } => ProviderKind::CometChat,
            AccountKind::RoomIm { .. } => ProviderKind::RoomIm,
            AccountKind::QuickBlox { .. } => ProviderKind::QuickBlox,
            AccountKind::TwoChat { .. } => ProviderKind::TwoChat,
            AccountKind::OfAuth { .. } => ProviderKind::OfAuth,
            AccountKind::Noop => ProviderKind::Noop,
        }
    }

    /// The rate its calls are held to across all workers: the configured one, else the provider's documented
    /// default (DESIGN §5); `None` for `noop`.
    pub fn effective_rate_limit(&self) -> Option<RateLimit> {
        let default = |count, secs, burst| RateLimit { count, per: Duration::from_secs(secs), burst };
        self.rate_limit.or(match self.provider() {
            ProviderKind::CometChat => Some(default(20_000, 60, 1)),
            ProviderKind::RoomIm => Some(default(1_000, 60, 1)),
            ProviderKind::QuickBlox => Some(default(80, 1, 1)),
            ProviderKind::TwoChat => Some(default(80, 60, 1)),
            ProviderKind::OfAuth => Some(default(60, 60, 90)),
            ProviderKind::Noop => None,
        })
    }

    /// Every credential of this account, for tests and log scrubbing.
    pub fn secrets(&self) -> Vec<&Secret> {
        self.credentials().into_iter().map(|(_, secret)| secret).collect()
    }

    /// Every credential with its config field name (`api_key`, `token`, `client_key`, `connection_id`).
    pub fn credentials(&self) -> Vec<(&'static str, &Secret)> {
        match &self.kind {
            AccountKind::CometChat { api_key, .. } | AccountKind::TwoChat { api_key, .. } => {
                vec![("api_key", api_key)]
            }
            AccountKind::RoomIm { client_key, token, .. } => vec![("client_key", client_key), ("token", token)],
            AccountKind::QuickBlox { auth: QuickBloxAuth::ApiKey(s), .. } => vec![("api_key", s)],
            AccountKind::QuickBlox { auth: QuickBloxAuth::Token(s), .. } => vec![("token", s)],
            AccountKind::OfAuth { api_key, connection_id, .. } => {
                vec![("api_key", api_key), ("connection_id", connection_id)]
            }
            AccountKind::Noop => vec![],
        }
    }

    /// Where its provider's API is; `None` for `noop`.
    pub fn base_url(&self) -> Option<&str> {
        match &self.kind {
            AccountKind::CometChat { base_url, .. }
            | AccountKind::RoomIm { base_url, .. }
            | AccountKind::QuickBlox { base_url, .. }
            | AccountKind::TwoChat { base_url, .. }
            | AccountKind::OfAuth { base_url, .. } => Some(base_url),
            AccountKind::Noop => None,
        }
    }
}

/// The credential fields of an account table: a config loaded for a producer may leave them unresolved.
pub(super) const SECRET_FIELDS: &[&str] = &["api_key", "token", "client_key", "connection_id"];

/// The account table as written: every field optional, checked per kind by [`RawAccount::into_account`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccount {
    provider: String,
    base_url: Option<String>,
    rate_limit: Option<RateLimit>,
    timeout: Option<String>,
    api_key: Option<Secret>,
    token: Option<Secret>,
    client_key: Option<Secret>,
    connection_id: Option<Secret>,
    batch_size: Option<usize>,
    window: Option<String>,
}

impl RawAccount {
    /// Checks the fields against the kind's table (DESIGN §5) and builds the account; errors name the account and field.
    /// `unresolved(field)` names the unset variable of a credential the loading command left unresolved: that field
    /// becomes [`Secret::unresolved`] and is otherwise checked like any other.
    pub(super) fn into_account(
        self,
        name: &str,
        unresolved: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Account, String> {
        let at = |field: &str| format!("accounts.{name}.{field}");
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            return Err(format!("accounts.{name}: account names use letters, digits, '-', '_' and '.' only"));
        }
        let kind = ProviderKind::parse(&self.provider).ok_or_else(|| {
            format!(
                "{}: unknown provider {:?} (use cometchat, room_im, quickblox, twochat, ofauth or noop)",
                at("provider"),
                self.provider
            )
        })?;
        let allowed: &[&str] = match kind {
            ProviderKind::CometChat => &["api_key"],
            ProviderKind::RoomIm => &["client_key", "token"],
            ProviderKind::QuickBlox => &["api_key", "token", "batch_size"],
            ProviderKind::TwoChat => &["api_key", "window"],
            ProviderKind::OfAuth => &["api_key", "connection_id"],
            ProviderKind::Noop => &[],
        };
        let present = [
            ("api_key", self.api_key.is_some()),
            ("token", self.token.is_some()),
            ("client_key", self.client_key.is_some()),
            ("connection_id", self.connection_id.is_some()),
            ("batch_size", self.batch_size.is_some()),
            ("window", self.window.is_some()),
        ];
        for (field, set) in present {
            if set && !allowed.contains(&field) {
                return Err(format!("{}: provider {} takes no such field", at(field), kind.as_str()));
            }
        }
        if kind == ProviderKind::Noop {
            for (field, set) in [
                ("base_url", self.base_url.is_some()),
                ("rate_limit", self.rate_limit.is_some()),
                ("timeout", self.timeout.is_some()),
            ] {
                if set {
                    return Err(format!("{}: provider noop takes no other field", at(field)));
                }
            }
            return Ok(Account { kind: AccountKind::Noop, rate_limit: None, timeout: Duration::from_secs(10) });
        }
        let base_url =
            self.base_url.ok_or_else(|| format!("{}: required for provider {}", at("base_url"), kind.as_str()))?;
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(format!("{}: {base_url:?} must start with http:// or https://", at("base_url")));
        }
        let base_url = base_url.trim_end_matches('/').to_string();
        let required = |value: Option<Secret>, field: &str| {
            if let (Some(_), Some(var)) = (&value, unresolved(field)) {
                return Ok(Secret::unresolved(var));
            }
            value
                .filter(|s| !s.expose().is_empty())
                .ok_or_else(|| format!("{}: required (and non-empty) for provider {}", at(field), kind.as_str()))
        };
        let timeout = match self.timeout {
            Some(t) => parse_duration(&t).map_err(|e| format!("{}: {e}", at("timeout")))?,
            None => Duration::from_secs(10),
        };
        let account_kind = match kind {
            ProviderKind::CometChat => AccountKind::CometChat { base_url, api_key: required(self.api_key, "api_key")? },
            ProviderKind::RoomIm => AccountKind::RoomIm {
                base_url,
                client_key: required(self.client_key, "client_key")?,
                token: required(self.token, "token")?,
            },
            ProviderKind::QuickBlox => {
                let auth = match (self.api_key, self.token) {
                    (Some(k), None) => QuickBloxAuth::ApiKey(required(Some(k), "api_key")?),
                    (None, Some(t)) => QuickBloxAuth::Token(required(Some(t), "token")?),
                    _ => return Err(format!("{}: give exactly one of api_key or token", at("api_key"))),
                };
                let batch_size = self.batch_size.unwrap_or(50);
                let most = quickblox_max_batch(&base_url);
                if !(1..=most).contains(&batch_size) {
                    return Err(format!(
                        "{}: must be between 1 and {most}, so that a call's URL of {most} comma-joined \
                         {QUICKBLOX_ID_LEN}-character ids stays under {MAX_REQUEST_URL} bytes with this base_url",
                        at("batch_size")
                    ));
                }
                AccountKind::QuickBlox { base_url, auth, batch_size }
            }
            ProviderKind::TwoChat => {
                let window = match self.window {
                    Some(w) => parse_duration(&w).map_err(|e| format!("{}: {e}", at("window")))?,
                    None => Duration::from_secs(60 * 3600),
                };
                AccountKind::TwoChat { base_url, api_key: required(self.api_key, "api_key")?, window }
            }
            ProviderKind::OfAuth => AccountKind::OfAuth {
                base_url,
                api_key: required(self.api_key, "api_key")?,
                connection_id: required(self.connection_id, "connection_id")?,
            },
            ProviderKind::Noop => AccountKind::Noop,
        };
        Ok(Account { kind: account_kind, rate_limit: self.rate_limit, timeout })
    }
}

/// The longest request URL sent, in bytes: 8 KB is the smallest default request-line limit of the common servers
/// and proxies in front of an API (nginx's `large_client_header_buffers`, Apache's `LimitRequestLine`).
pub const MAX_REQUEST_URL: usize = 8 * 1024;

/// A QuickBlox message id's length: 24 hexadecimal characters (a MongoDB ObjectId), as on the seed page.
pub const QUICKBLOX_ID_LEN: usize = 24;

/// The largest `batch_size` whose call URL, `{base_url}/chat/Message/{id,…}.json`, stays under
/// [`MAX_REQUEST_URL`] with ids of [`QUICKBLOX_ID_LEN`] characters.
pub fn quickblox_max_batch(base_url: &str) -> usize {
    let fixed = base_url.len() + "/chat/Message/".len() + ".json".len();
    (MAX_REQUEST_URL.saturating_sub(fixed) + 1) / (QUICKBLOX_ID_LEN + 1)
}
