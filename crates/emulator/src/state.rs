//! The emulator's state: which messages and conversations exist, how often each message was called and deleted
//! and how (permanent, on behalf of whom), deleted rooms, injected faults, expected credentials, and a bounded log
//! of the requests received.
//!
//! Messages are keyed by (provider, conversation, id). One mutex guards the message store and is held only for
//! map operations, never across an await; the request log and the credentials have their own locks so that the
//! per-request path stays cheap under benchmark load (tens of thousands of requests per second).

pub use crate::deletion::DeletedAs;
use crate::fault::QueuedFault;
pub use crate::fault::{Fault, Found, Injected};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

/// Requests kept in the log (a ring: the oldest is dropped).
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

/// Credentials a provider expects. When set, a call with other credentials gets the provider's 401; unset fields
/// accept any non-empty value, and a missing credential is always a 401.
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

/// How often one message was addressed and deleted, and what the call that deleted it last asked for.
#[derive(Default)]
struct Counts {
    calls: u64,
    deletions: u64,
    deleted_as: Option<DeletedAs>,
}

/// Everything a delete call reads or changes, under one lock.
#[derive(Default)]
struct Store {
    existing: HashSet<String>,
    /// Deleted at least once: under `accept_unknown` these are the only ids that do not exist.
    deleted: HashSet<String>,
    /// Conversations that have ever held a seeded message (`provider\0conversation`).
    conversations: HashSet<String>,
    /// Conversations deleted as a whole (IMKIT `DELETE /rooms/{room}`) and not seeded since.
    deleted_conversations: HashSet<String>,
    counts: HashMap<String, Counts>,
    faults: HashMap<String, QueuedFault>,
    total_deletions: u64,
    conversations_deleted: u64,
}

impl Store {
    /// Counts one call for a message and, if a fault is queued for it, takes its next answer and extra latency.
    fn call(&mut self, k: &str) -> (Option<Injected>, Duration) {
        match self.counts.get_mut(k) {
            Some(counts) => counts.calls += 1,
            None => {
                self.counts.insert(k.to_string(), Counts { calls: 1, ..Counts::default() });
            }
        }
        match self.faults.get_mut(k) {
            Some(fault) => (fault.take(), fault.latency()),
            None => (None, Duration::ZERO),
        }
    }

    /// Records a successful deletion of an existing message, and what the call asked for.
    fn mark_deleted(&mut self, k: String, how: &DeletedAs) {
        if let Some(counts) = self.counts.get_mut(&k) {
            counts.deletions += 1;
            counts.deleted_as = Some(how.clone());
        }
        self.deleted.insert(k);
        self.total_deletions += 1;
    }

    /// Deletes every existing message of a conversation (a purge, or the conversation's own deletion); returns how
    /// many there were.
    fn remove_conversation_messages(&mut self, provider: &str, conversation: &str) -> u64 {
        let prefix = key(provider, Some(conversation), "");
        let gone: Vec<String> = self.existing.iter().filter(|k| k.starts_with(&prefix)).cloned().collect();
        for k in gone.iter().cloned() {
            self.existing.remove(&k);
            self.counts.entry(k.clone()).or_default();
            self.mark_deleted(k, &DeletedAs::default());
        }
        gone.len() as u64
    }
}

struct Inner {
    config: EmulatorConfig,
    store: Mutex<Store>,
    credentials: RwLock<HashMap<String, Credentials>>,
    requests: Mutex<VecDeque<RecordedRequest>>,
    plans: crate::plan::Plans,
    total_calls: AtomicU64,
    total_requests: AtomicU64,
}

/// Shared state handle: the message store, counters, faults, credentials and request log of one emulator.
/// Cheap to clone (an `Arc` inside), so tests keep one while the server runs with another.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

fn key(provider: &str, conversation: Option<&str>, id: &str) -> String {
    let conversation = conversation.unwrap_or("");
    let mut k = String::with_capacity(provider.len() + conversation.len() + id.len() + 2);
    k.push_str(provider);
    k.push('\0');
    k.push_str(conversation);
    k.push('\0');
    k.push_str(id);
    k
}

fn conversation_key(provider: &str, conversation: Option<&str>) -> String {
    format!("{provider}\u{0}{}", conversation.unwrap_or(""))
}

impl Emulator {
    /// A fresh emulator with no messages, faults or credentials.
    pub fn new(config: EmulatorConfig) -> Self {
        Emulator {
            inner: Arc::new(Inner {
                config,
                store: Mutex::default(),
                credentials: RwLock::default(),
                requests: Mutex::new(VecDeque::with_capacity(1024)),
                plans: crate::plan::Plans::default(),
                total_calls: AtomicU64::new(0),
                total_requests: AtomicU64::new(0),
            }),
        }
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.inner.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The options it runs with.
    pub fn config(&self) -> &EmulatorConfig {
        &self.inner.config
    }

    /// Makes messages exist (again, if they were deleted). `conversation` is the room id, session key or chat user
    /// id; `None` for CometChat and QuickBlox. Seeding also makes the conversation known (IMKIT rooms, 2Chat
    /// sessions), even with no ids, and brings back a deleted one.
    pub fn seed(&self, provider: &str, conversation: Option<&str>, ids: &[String]) {
        let mut store = self.store();
        let conversation_key = conversation_key(provider, conversation);
        store.deleted_conversations.remove(&conversation_key);
        store.conversations.insert(conversation_key);
        for id in ids {
            let k = key(provider, conversation, id);
            store.deleted.remove(&k);
            store.existing.insert(k);
        }
    }

    /// How many times this message was actually deleted (answered with a success for it); 0 or 1 in a correct run.
    pub fn deletions(&self, provider: &str, conversation: Option<&str>, id: &str) -> u64 {
        self.store().counts.get(&key(provider, conversation, id)).map_or(0, |c| c.deletions)
    }

    /// How many provider calls addressed this message, whatever they were answered.
    pub fn calls(&self, provider: &str, conversation: Option<&str>, id: &str) -> u64 {
        self.store().counts.get(&key(provider, conversation, id)).map_or(0, |c| c.calls)
    }

    /// What the call that deleted this message asked for; `None` while it was never deleted.
    pub fn deleted_as(&self, provider: &str, conversation: Option<&str>, id: &str) -> Option<DeletedAs> {
        self.store().counts.get(&key(provider, conversation, id)).and_then(|c| c.deleted_as.clone())
    }

    /// Whether the message exists now (never, in a deleted conversation).
    pub fn exists(&self, provider: &str, conversation: Option<&str>, id: &str) -> bool {
        let k = key(provider, conversation, id);
        let store = self.store();
        if store.deleted_conversations.contains(&conversation_key(provider, conversation)) {
            return false;
        }
        store.existing.contains(&k) || (self.inner.config.accept_unknown && !store.deleted.contains(&k))
    }

    /// Message-calls so far, all providers: each message addressed by each provider request counts once (a
    /// QuickBlox request for 50 ids counts 50, an IMKIT `_all` purge counts 1).
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

    /// Successful deletions so far, all providers (a purge counts each message it removed).
    pub fn total_deletions(&self) -> u64 {
        self.store().total_deletions
    }

    /// Queues injected answers for a message, replacing any still queued for it.
    pub fn inject(&self, fault: Fault) {
        let k = key(&fault.provider, fault.conversation.as_deref(), &fault.message);
        self.store().faults.insert(k, QueuedFault::new(fault));
    }

    /// The last requests received (at most 10,000), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.requests.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect()
    }

    /// Sets the credentials a provider expects from now on.
    pub fn set_credentials(&self, provider: &str, creds: Credentials) {
        self.inner.credentials.write().unwrap_or_else(PoisonError::into_inner).insert(provider.to_string(), creds);
    }

    /// The credentials a provider expects, if set (`None`: any non-empty value is accepted).
    pub fn credentials(&self, provider: &str) -> Option<Credentials> {
        self.inner.credentials.read().unwrap_or_else(PoisonError::into_inner).get(provider).cloned()
    }

    /// Limits a provider to `per_second` requests in each wall-clock second (`None`: unlimited, the default), with
    /// its documented rate-limit headers on every response and its 429 once a second's requests are spent (see
    /// the `plan` module for which headers and bodies are documented and which invented).
    pub fn set_plan(&self, provider: &str, per_second: Option<u32>) {
        self.inner.plans.set(provider, per_second);
    }

    /// A provider's plan limit (requests per second), if set.
    pub fn plan(&self, provider: &str) -> Option<u32> {
        self.inner.plans.get(provider)
    }

    pub(crate) fn plans(&self) -> &crate::plan::Plans {
        &self.inner.plans
    }

    /// Forgets everything: messages, counters, faults, credentials, plan limits and the request log.
    pub fn reset(&self) {
        *self.store() = Store::default();
        self.inner.plans.clear();
        self.inner.credentials.write().unwrap_or_else(PoisonError::into_inner).clear();
        self.inner.requests.lock().unwrap_or_else(PoisonError::into_inner).clear();
        self.inner.total_calls.store(0, Ordering::Relaxed);
        self.inner.total_requests.store(0, Ordering::Relaxed);
    }

    /// One delete call for one message that asks for nothing special: [`Emulator::delete_as`] with the defaults.
    pub fn delete(&self, provider: &str, conversation: Option<&str>, id: &str) -> (Found, Duration) {
        self.delete_as(provider, conversation, id, &DeletedAs::default())
    }

    /// One delete call for one message: counts it, applies a queued fault, else deletes the message if it exists,
    /// recording `how`. Returns what happened and the latency to wait before answering.
    pub fn delete_as(
        &self,
        provider: &str,
        conversation: Option<&str>,
        id: &str,
        how: &DeletedAs,
    ) -> (Found, Duration) {
        self.inner.total_calls.fetch_add(1, Ordering::Relaxed);
        let k = key(provider, conversation, id);
        let accept_unknown = self.inner.config.accept_unknown;
        let mut store = self.store();
        let (injected, extra) = store.call(&k);
        let latency = self.inner.config.latency + extra;
        if let Some(injected) = injected {
            return (Found::Fault(injected), latency);
        }
        let exists = store.existing.remove(&k) || (accept_unknown && !store.deleted.contains(&k));
        if !exists {
            return (Found::Missing, latency);
        }
        store.mark_deleted(k, how);
        (Found::Deleted, latency)
    }

    /// Counts a call that was refused before reaching the message (bad credentials, bad request, unknown room).
    pub fn refused_call(&self, provider: &str, conversation: Option<&str>, id: &str) {
        self.inner.total_calls.fetch_add(1, Ordering::Relaxed);
        self.store().counts.entry(key(provider, conversation, id)).or_default().calls += 1;
    }

    /// The status the next call for this message will be answered with by an injected fault, if any.
    pub fn next_fault(&self, provider: &str, conversation: Option<&str>, id: &str) -> Option<u16> {
        self.store().faults.get(&key(provider, conversation, id)).and_then(QueuedFault::peek)
    }

    /// The error code of the next injected fault for this message, if any.
    pub fn next_fault_code(&self, provider: &str, conversation: Option<&str>, id: &str) -> Option<String> {
        self.store().faults.get(&key(provider, conversation, id)).and_then(|f| f.peek_code().map(str::to_string))
    }

    /// Whether a conversation exists: it was seeded, or any does under `accept_unknown`; never once deleted as a
    /// whole (until seeded again).
    pub fn conversation_exists(&self, provider: &str, conversation: &str) -> bool {
        let k = conversation_key(provider, Some(conversation));
        let store = self.store();
        !store.deleted_conversations.contains(&k)
            && (self.inner.config.accept_unknown || store.conversations.contains(&k))
    }

    /// Whether a conversation was deleted as a whole (IMKIT `DELETE /rooms/{room}`) and not seeded since.
    pub fn conversation_deleted(&self, provider: &str, conversation: &str) -> bool {
        self.store().deleted_conversations.contains(&conversation_key(provider, Some(conversation)))
    }

    /// Conversations deleted as a whole so far, all providers: 0 in any run of deleteq, which only deletes messages.
    pub fn conversations_deleted(&self) -> u64 {
        self.store().conversations_deleted
    }

    /// Deletes a conversation and every message in it (IMKIT `DELETE /rooms/{room}`); later calls find no such
    /// conversation. Counts one call. Returns how many messages went with it and the latency to wait, or `None`
    /// (still a call) when the conversation does not exist.
    pub fn delete_conversation(&self, provider: &str, conversation: &str) -> Option<(u64, Duration)> {
        self.inner.total_calls.fetch_add(1, Ordering::Relaxed);
        let k = conversation_key(provider, Some(conversation));
        let mut store = self.store();
        let known = self.inner.config.accept_unknown || store.conversations.contains(&k);
        if !known || store.deleted_conversations.contains(&k) {
            return None;
        }
        store.conversations.remove(&k);
        store.deleted_conversations.insert(k);
        store.conversations_deleted += 1;
        let gone = store.remove_conversation_messages(provider, conversation);
        Some((gone, self.inner.config.latency))
    }

    /// Counts a call that was refused before reaching a conversation or message (a room deletion with bad
    /// credentials).
    pub fn refused_conversation_call(&self) {
        self.inner.total_calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Deletes every remaining message of a conversation (IMKIT `_all`); returns an injected answer (a fault queued
    /// for message `_all`) or how many were deleted, and the latency to wait. Counts one call, on `_all`.
    pub fn purge(&self, provider: &str, conversation: &str) -> (Option<Injected>, u64, Duration) {
        self.inner.total_calls.fetch_add(1, Ordering::Relaxed);
        let mut store = self.store();
        let (injected, extra) = store.call(&key(provider, Some(conversation), "_all"));
        let latency = self.inner.config.latency + extra;
        if injected.is_some() {
            return (injected, 0, latency);
        }
        let gone = store.remove_conversation_messages(provider, conversation);
        (None, gone, latency)
    }

    /// Appends to the request log, dropping the oldest entry once it holds 10,000.
    pub fn record(&self, request: RecordedRequest) {
        let mut requests = self.inner.requests.lock().unwrap_or_else(PoisonError::into_inner);
        if requests.len() >= REQUEST_LOG {
            requests.pop_front();
        }
        requests.push_back(request);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_seeded_message_is_deleted_once_then_missing() {
        let emu = Emulator::new(EmulatorConfig::default());
        emu.seed("cometchat", None, &ids(&["1"]));
        assert!(matches!(emu.delete("cometchat", None, "1").0, Found::Deleted));
        assert!(matches!(emu.delete("cometchat", None, "1").0, Found::Missing));
        assert!(matches!(emu.delete("cometchat", None, "2").0, Found::Missing));
        assert_eq!((emu.calls("cometchat", None, "1"), emu.deletions("cometchat", None, "1")), (2, 1));
        assert_eq!((emu.total_calls(), emu.total_deletions()), (3, 1));
    }

    #[test]
    fn conversations_keep_ids_apart() {
        let emu = Emulator::new(EmulatorConfig::default());
        emu.seed("room_im", Some("a"), &ids(&["m"]));
        assert!(!emu.exists("room_im", Some("b"), "m"));
        assert!(!emu.exists("twochat", Some("a"), "m"));
        assert!(emu.conversation_exists("room_im", "a") && !emu.conversation_exists("room_im", "b"));
    }

    #[test]
    fn accept_unknown_makes_any_id_exist_until_deleted() {
        let emu = Emulator::new(EmulatorConfig { accept_unknown: true, ..EmulatorConfig::default() });
        assert!(emu.exists("ofauth", Some("1"), "2") && emu.conversation_exists("twochat", "anything"));
        assert!(matches!(emu.delete("ofauth", Some("1"), "2").0, Found::Deleted));
        assert!(matches!(emu.delete("ofauth", Some("1"), "2").0, Found::Missing));
    }

    #[test]
    fn purge_removes_only_that_room() {
        let emu = Emulator::new(EmulatorConfig::default());
        emu.seed("room_im", Some("r"), &ids(&["1", "2", "3"]));
        emu.seed("room_im", Some("r2"), &ids(&["1"]));
        assert_eq!(emu.purge("room_im", "r").1, 3);
        assert_eq!(emu.purge("room_im", "r").1, 0);
        assert!(emu.exists("room_im", Some("r2"), "1"));
        assert_eq!(emu.deletions("room_im", Some("r"), "2"), 1);
        assert_eq!(emu.calls("room_im", Some("r"), "_all"), 2);
    }

    #[test]
    fn a_deleted_room_takes_its_messages_and_stays_gone_until_seeded() {
        let emu = Emulator::new(EmulatorConfig { accept_unknown: true, ..EmulatorConfig::default() });
        emu.seed("room_im", Some("r"), &ids(&["1", "2"]));
        emu.seed("room_im", Some("r2"), &ids(&["1"]));
        assert_eq!(emu.delete_conversation("room_im", "r").map(|(n, _)| n), Some(2));
        assert!(!emu.conversation_exists("room_im", "r") && emu.conversation_deleted("room_im", "r"));
        assert!(!emu.exists("room_im", Some("r"), "1") && !emu.exists("room_im", Some("r"), "never-seeded"));
        assert_eq!((emu.deletions("room_im", Some("r"), "2"), emu.conversations_deleted()), (1, 1));
        assert!(emu.delete_conversation("room_im", "r").is_none(), "a deleted room is not found");
        assert!(emu.exists("room_im", Some("r2"), "1"));
        assert_eq!((emu.total_calls(), emu.total_deletions()), (2, 2));
        emu.seed("room_im", Some("r"), &[]);
        assert!(emu.conversation_exists("room_im", "r") && !emu.conversation_deleted("room_im", "r"));
    }

    #[test]
    fn a_deletion_records_what_the_call_asked() {
        let emu = Emulator::new(EmulatorConfig::default());
        emu.seed("cometchat", None, &ids(&["1", "2"]));
        let hard = DeletedAs::new(true, Some("superhero1"));
        assert!(matches!(emu.delete_as("cometchat", None, "1", &hard).0, Found::Deleted));
        assert!(matches!(emu.delete("cometchat", None, "2").0, Found::Deleted));
        assert_eq!(emu.deleted_as("cometchat", None, "1"), Some(hard));
        assert_eq!(emu.deleted_as("cometchat", None, "2"), Some(DeletedAs::default()));
        assert_eq!(emu.deleted_as("cometchat", None, "3"), None);
        // A call that finds the message gone changes nothing.
        assert!(matches!(emu.delete("cometchat", None, "1").0, Found::Missing));
        assert_eq!(emu.deleted_as("cometchat", None, "1").map(|d| d.permanent), Some(true));
    }

    #[test]
    fn faults_come_first_and_carry_latency() {
        let emu = Emulator::new(EmulatorConfig { latency: Duration::from_millis(1), ..EmulatorConfig::default() });
        emu.seed("cometchat", None, &ids(&["1"]));
        emu.inject(Fault::new("cometchat", None, "1", vec![503]).latency_ms(5));
        let (found, latency) = emu.delete("cometchat", None, "1");
        assert!(matches!(found, Found::Fault(Injected { status: 503, .. })));
        assert_eq!(latency, Duration::from_millis(6));
        assert!(matches!(emu.delete("cometchat", None, "1").0, Found::Deleted));
    }

    #[test]
    fn the_request_log_is_bounded() {
        let emu = Emulator::new(EmulatorConfig::default());
        for i in 0..(REQUEST_LOG + 5) {
            emu.record(RecordedRequest {
                method: "DELETE".into(),
                path: format!("/v3/messages/{i}"),
                query: None,
                headers: Vec::new(),
                body: String::new(),
                status: 200,
                at_ms: 0,
            });
        }
        let log = emu.requests();
        assert_eq!((log.len(), log[0].path.as_str()), (REQUEST_LOG, "/v3/messages/5"));
        emu.reset();
        assert!(emu.requests().is_empty());
    }
}
