//! Builds one client per configured account, sharing one HTTP connection pool.

use crate::cometchat::CometChat;
use crate::ofauth::OfAuth;
use crate::quickblox::QuickBlox;
use crate::request::{DeleteRequest, Response};
use crate::room_im::RoomIm;
use crate::twochat::TwoChat;
use deleteq_core::config::{AccountKind, Config};
use deleteq_core::ProviderKind;
use std::collections::HashMap;

/// The provider behind one account. An enum rather than a trait object: the set is closed and known.
#[derive(Debug, Clone)]
enum Backend {
    CometChat(CometChat),
    RoomIm(RoomIm),
    QuickBlox(QuickBlox),
    TwoChat(TwoChat),
    OfAuth(OfAuth),
    Noop,
}

/// One account's client.
#[derive(Debug, Clone)]
pub struct AccountClient {
    kind: ProviderKind,
    backend: Backend,
    /// Message ids per call (QuickBlox `batch_size`; 1 elsewhere).
    pub batch_size: usize,
    /// The 2Chat deletion window, checked against `sent_at` before any call.
    pub window: Option<std::time::Duration>,
}

impl AccountClient {
    /// The provider kind.
    pub fn kind(&self) -> ProviderKind {
        self.kind
    }

    /// Makes one call and classifies its response. Never panics and never returns an error: every failure is a
    /// [`Disposition`].
    pub async fn delete(&self, http: &reqwest::Client, req: &DeleteRequest<'_>) -> Response {
        match &self.backend {
            Backend::CometChat(c) => c.delete(http, req).await,
            Backend::RoomIm(c) => c.delete(http, req).await,
            Backend::QuickBlox(c) => c.delete(http, req).await,
            Backend::TwoChat(c) => c.delete(http, req).await,
            Backend::OfAuth(c) => c.delete(http, req).await,
            Backend::Noop => crate::noop::delete(req),
        }
    }
}

/// Every account's client and the shared HTTP client.
#[derive(Debug, Clone)]
pub struct Providers {
    http: reqwest::Client,
    accounts: HashMap<String, AccountClient>,
}

impl Providers {
    /// Builds clients for every account of `config`; `pool` is the idle connections kept per host. Fails only if
    /// the HTTP client cannot be built (its TLS backend cannot start).
    pub fn new(config: &Config, pool: usize) -> Result<Self, reqwest::Error> {
        let accounts = config
            .accounts
            .iter()
            .map(|(name, account)| {
                let timeout = account.timeout;
                let (backend, batch_size, window) = match &account.kind {
                    AccountKind::CometChat { base_url, api_key } => {
                        (Backend::CometChat(CometChat::new(base_url, api_key.clone(), timeout)), 1, None)
                    }
                    AccountKind::RoomIm { base_url, client_key, token } => {
                        (Backend::RoomIm(RoomIm::new(base_url, client_key.clone(), token.clone(), timeout)), 1, None)
                    }
                    AccountKind::QuickBlox { base_url, auth, batch_size } => {
                        (Backend::QuickBlox(QuickBlox::new(base_url, auth.clone(), timeout)), *batch_size, None)
                    }
                    AccountKind::TwoChat { base_url, api_key, window } => {
                        (Backend::TwoChat(TwoChat::new(base_url, api_key.clone(), timeout)), 1, Some(*window))
                    }
                    AccountKind::OfAuth { base_url, api_key, connection_id } => {
                        let client = OfAuth::new(base_url, api_key.clone(), connection_id.clone(), timeout);
                        (Backend::OfAuth(client), 1, None)
                    }
                    AccountKind::Noop => (Backend::Noop, 1, None),
                };
                (name.clone(), AccountClient { kind: account.provider(), backend, batch_size, window })
            })
            .collect();
        Ok(Providers { http: crate::http::client(pool)?, accounts })
    }

    /// The client of `account`, if configured.
    pub fn account(&self, account: &str) -> Option<&AccountClient> {
        self.accounts.get(account)
    }

    /// The shared HTTP client.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
}
