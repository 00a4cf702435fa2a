//! The emulator's state: which messages exist, how often each was called and deleted, injected faults, expected
//! credentials, and a bounded log of the requests received.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Requests kept in the log.
const REQUEST_LOG: usize = 10_000;

/// Options for one emulator instance.
#[derive(Debug, Clone, Default)]
pub struct EmulatorConfig {
    /// Any message id never deleted counts as existing (deleted once, then 404): benchmarks and the demo need no
    /// seeding.
    pub accept_unknown: bool,
    /// Added to every provider call (not to admin calls).
    pub latency: Duration,
}

/// Responses to inject for one message: one status per call, in order, before normal behaviour resumes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fault {
    /// Provider kind name (`cometchat`, …).
    pub provider: String,
    /// Room, session or chat user; `None` where the provider has none.
    #[serde(default)]
    pub conversation: Option<String>,
    /// The message id.
    pub message: String,
    /// Statuses to answer, one per call.
    pub statuses: Vec<u16>,
    /// A `Retry-After` value sent with them.
    #[serde(default)]
    pub retry_after: Option<String>,
    /// Extra latency for these calls.
    #[serde(default)]
    pub latency_ms: u64,
    /// The provider error code to use in their bodies.
    #[serde(default)]
    pub code: Option<String>,
}

impl Fault {
    /// `statuses` answered, in order, to the next calls for one message; nothing else injected.
    pub fn new(provider: &str, conversation: Option<&str>, message: &str, statuses: Vec<u16>) -> Fault {
        Fault {
            provider: provider.to_string(),
            conversation: conversation.map(str::to_string),
            message: message.to_string(),
            statuses,
            retry_after: None,
            latency_ms: 0,
            code: None,
        }
    }

    /// With a `Retry-After` header.
    pub fn retry_after(mut self, value: &str) -> Fault {
        self.retry_after = Some(value.to_string());
        self
    }

    /// With the provider error code to use in the bodies.
    pub fn code(mut self, code: &str) -> Fault {
        self.code = Some(code.to_string());
        self
    }
}

/// One request as received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Raw path, not decoded.
    pub path: String,
    /// Raw query string.
    pub query: Option<String>,
    /// Headers in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
    /// The status answered.
    pub status: u16,
    /// When (ms since the epoch).
    pub at_ms: u64,
}

/// Credentials a provider expects; unset fields accept any non-empty value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Credentials {
    /// API key.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Token.
    #[serde(default)]
    pub token: Option<String>,
    /// Client key.
    #[serde(default)]
    pub client_key: Option<String>,
    /// Connection id.
    #[serde(default)]
    pub connection_id: Option<String>,
}

/// An injected answer for one call.
#[derive(Debug, Clone)]
pub struct Injected {
    /// Status.
    pub status: u16,
    /// `Retry-After` value.
    pub retry_after: Option<String>,
    /// Error code for the body.
    pub code: Option<String>,
}

/// What a delete call for one message finds.
#[derive(Debug, Clone)]
pub enum Found {
    /// An injected answer.
    Fault(Injected),
    /// The message existed and is now deleted.
    Deleted,
    /// No such message.
    Missing,
}

#[derive(Default)]
struct Counts {
    calls: u64,
    deletions: u64,
}

/// Queued answers for one message, with what they carry.
struct QueuedFault {
    statuses: VecDeque<u16>,
    retry_after: Option<String>,
    latency_ms: u64,
    code: Option<String>,
}

#[derive(Default)]
struct Store {
    existing: HashSet<String>,
    deleted: HashSet<String>,
    /// Conversations that have ever held a seeded message (`provider\0conversation`).
    conversations: HashSet<String>,
    counts: HashMap<String, Counts>,
    faults: HashMap<String, QueuedFault>,
    credentials: HashMap<String, Credentials>,
    requests: VecDeque<RecordedRequest>,
    total_deletions: u64,
}

struct Inner {
    config: EmulatorConfig,
    store: Mutex<Store>,
    total_calls: AtomicU64,
    total_requests: AtomicU64,
}

/// Shared state handle; cheap to clone.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

fn key(provider: &str, conversation: Option<&str>, id: &str) -> String {
    format!("{provider}\u{0}{}\u{0}{id}", conversation.unwrap_or(""))
}

fn conversation_key(provider: &str, conversation: Option<&str>) -> String {
    format!("{provider}\u{0}{}", conversation.unwrap_or(""))
}

impl Emulator {
    /// A fresh emulator.
    pub fn new(config: EmulatorConfig) -> Self {
        Emulator {
            inner: Arc::new(Inner {
                config,
                store: Mutex::default(),
                total_calls: AtomicU64::new(0),
                total_requests: AtomicU64::new(0),
            }),
        }
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.inner.store.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The options it runs with.
    pub fn config(&self) -> &EmulatorConfig {
        &self.inner.config
    }

    /// Makes messages exist.
    pub fn seed(&self, provider: &str, conversation: Option<&str>, ids: &[String]) {
        let mut store = self.store();
        store.conversations.insert(conversation_key(provider, conversation));
        for id in ids {
            let k = key(provider, conversation, id);
            store.deleted.remove(&k);
            store.existing.insert(k);
        }
    }

    /// How many times this message was actually deleted.
    pub fn deletions(&self, provider: &str, conversation: Option<&str>, id: &str) -> u64 {
        self.store().counts.get(&key(provider, conversation, id)).map_or(0, |c| c.deletions)
    }

    /// How many provider calls addressed this message.
    pub fn calls(&self, provider: &str, conversation: Option<&str>, id: &str) -> u64 {
        self.store().counts.get(&key(provider, conversation, id)).map_or(0, |c| c.calls)
    }

    /// Whether the message exists now.
    pub fn exists(&self, provider: &str, conversation: Option<&str>, id: &str) -> bool {
        let k = key(provider, conversation, id);
        let store = self.store();
        store.existing.contains(&k) || (self.inner.config.accept_unknown && !store.deleted.contains(&k))
    }

    /// Message-calls so far: each message addressed by each provider request counts once (a QuickBlox request
    /// for 50 ids counts 50).
    pub fn total_calls(&self) -> u64 {
        self.inner.total_calls.load(Ordering::Relaxed)
    }

    /// Provider HTTP requests so far (a QuickBlox request for 50 ids counts 1).
    pub fn total_requests(&self) -> u64 {
        self.inner.total_requests.load(Ordering::Relaxed)
    }

    /// Counts one provider HTTP request, as it arrives.
    pub fn request_arrived(&self) {
        self.inner.total_requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Successful deletions so far.
    pub fn total_deletions(&self) -> u64 {
        self.store().total_deletions
    }

    /// Queues injected answers for a message.
    pub fn inject(&self, fault: Fault) {
        let k = key(&fault.provider, fault.conversation.as_deref(), &fault.message);
        let entry = QueuedFault {
            statuses: fault.statuses.into_iter().collect(),
            retry_after: fault.retry_after,
            latency_ms: fault.latency_ms,
            code: fault.code,
        };
        self.store().faults.insert(k, entry);
    }

    /// The last requests received, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.store().requests.iter().cloned().collect()
    }

    /// Sets the credentials a provider expects.
    pub fn set_credentials(&self, provider: &str, creds: Credentials) {
        self.store().credentials.insert(provider.to_string(), creds);
    }

    /// The credentials a provider expects, if set.
    pub fn credentials(&self, provider: &str) -> Option<Credentials> {
        self.store().credentials.get(provider).cloned()
    }

    /// Forgets everything.
    pub fn reset(&self) {
        *self.store() = Store::default();
        self.inner.total_calls.store(0, Ordering::Relaxed);
        self.inner.total_requests.store(0, Ordering::Relaxed);
    }

    /// One delete call for one message: counts it, applies a queued fault, else deletes the message if it exists.
    /// Returns what happened and the latency to wait before answering.
    pub fn delete(&self, provider: &str, conversation: Option<&str>, id: &str) -> (Found, Duration) {
        self.inner.total_calls.fetch_add(1, Ordering::Relaxed);
        let k = key(provider, conversation, id);
        let accept_unknown = self.inner.config.accept_unknown;
        let mut store = self.store();
        store.counts.entry(k.clone()).or_default().calls += 1;
        let mut latency = self.inner.config.latency;
        if let Some(fault) = store.faults.get_mut(&k) {
            latency += Duration::from_millis(fault.latency_ms);
            if let Some(status) = fault.statuses.pop_front() {
                let injected = Injected { status, retry_after: fault.retry_after.clone(), code: fault.code.clone() };
                return (Found::Fault(injected), latency);
            }
        }
        let exists = store.existing.remove(&k) || (accept_unknown && !store.deleted.contains(&k));
        if !exists {
            return (Found::Missing, latency);
        }
        store.deleted.insert(k.clone());
        store.counts.entry(k).or_default().deletions += 1;
        store.total_deletions += 1;
        (Found::Deleted, latency)
    }

    /// Counts a call that was refused before reaching the message (bad credentials, bad request).
    pub fn refused_call(&self, provider: &str, conversation: Option<&str>, id: &str) {
        self.inner.total_calls.fetch_add(1, Ordering::Relaxed);
        self.store().counts.entry(key(provider, conversation, id)).or_default().calls += 1;
    }

    /// The status the next call for this message will be answered with by an injected fault, if any.
    pub fn next_fault(&self, provider: &str, conversation: Option<&str>, id: &str) -> Option<u16> {
        self.store().faults.get(&key(provider, conversation, id)).and_then(|f| f.statuses.front().copied())
    }

    /// The error code of the next injected fault for this message, if any.
    pub fn next_fault_code(&self, provider: &str, conversation: Option<&str>, id: &str) -> Option<String> {
        let store = self.store();
        let fault = store.faults.get(&key(provider, conversation, id))?;
        fault.statuses.front()?;
        fault.code.clone()
    }

    /// Whether a conversation exists: it held a seeded message, or any does under `accept_unknown`.
    pub fn conversation_exists(&self, provider: &str, conversation: &str) -> bool {
        self.inner.config.accept_unknown
            || self.store().conversations.contains(&conversation_key(provider, Some(conversation)))
    }

    /// Deletes every remaining message of a conversation; returns how many. Counts one call.
    pub fn purge(&self, provider: &str, conversation: &str) -> (Option<Injected>, u64, Duration) {
        self.inner.total_calls.fetch_add(1, Ordering::Relaxed);
        let (found, latency) = {
            let mut store = self.store();
            let all = key(provider, Some(conversation), "_all");
            let mut latency = self.inner.config.latency;
            if let Some(fault) = store.faults.get_mut(&all) {
                latency += Duration::from_millis(fault.latency_ms);
                if let Some(status) = fault.statuses.pop_front() {
                    let injected =
                        Injected { status, retry_after: fault.retry_after.clone(), code: fault.code.clone() };
                    return (Some(injected), 0, latency);
                }
            }
            let prefix = format!("{}\u{0}", conversation_key(provider, Some(conversation)));
            let gone: Vec<String> = store.existing.iter().filter(|k| k.starts_with(&prefix)).cloned().collect();
            for k in &gone {
                store.existing.remove(k);
                store.deleted.insert(k.clone());
                store.counts.entry(k.clone()).or_default().deletions += 1;
            }
            store.total_deletions += gone.len() as u64;
            (gone.len() as u64, latency)
        };
        (None, found, latency)
    }

    /// Appends to the request log.
    pub fn record(&self, request: RecordedRequest) {
        let mut store = self.store();
        if store.requests.len() >= REQUEST_LOG {
            store.requests.pop_front();
        }
        store.requests.push_back(request);
    }
}
