//! The worker's side of the per-account rate limits: calls ask for a slot, and the requests of all tasks are
//! batched into one Redis call per account (like the acker), so a limit costs far less than a round trip per call.
//! A 429 slows the account down for every worker.

use deleteq_core::rate::RateLimit;
use deleteq_queue::Queue;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

enum Request {
    Slot { account: String, limit: RateLimit, reply: oneshot::Sender<Duration> },
    SlowDown { account: String, limit: RateLimit },
}

/// Hands out call slots; cheap to clone.
#[derive(Clone)]
pub(crate) struct RateGate {
    tx: mpsc::UnboundedSender<Request>,
}

impl RateGate {
    /// Starts the batching task on `queue`.
    pub(crate) fn start(queue: Queue) -> RateGate {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(queue, rx));
        RateGate { tx }
    }

    /// How long this call must wait for its slot. If Redis cannot be asked, the call goes at once: a limit is a
    /// courtesy to the provider, and its 429s are handled anyway.
    pub(crate) async fn slot(&self, account: &str, limit: RateLimit) -> Duration {
        let (reply, wait) = oneshot::channel();
        let request = Request::Slot { account: account.to_string(), limit, reply };
        if self.tx.send(request).is_err() {
            return Duration::ZERO;
        }
        wait.await.unwrap_or(Duration::ZERO)
    }

    /// Reports a 429.
    pub(crate) fn slow_down(&self, account: &str, limit: RateLimit) {
        let _ = self.tx.send(Request::SlowDown { account: account.to_string(), limit });
    }
}

async fn run(queue: Queue, mut rx: mpsc::UnboundedReceiver<Request>) {
    while let Some(first) = rx.recv().await {
        let mut pending = vec![first];
        while let Ok(next) = rx.try_recv() {
            pending.push(next);
        }
        let mut slots: HashMap<String, (RateLimit, Vec<oneshot::Sender<Duration>>)> = HashMap::new();
        for request in pending {
            match request {
                Request::Slot { account, limit, reply } => {
                    slots.entry(account).or_insert((limit, Vec::new())).1.push(reply)
                }
                Request::SlowDown { account, limit } => {
                    match queue.slow_down(&account, &limit, deleteq_core::now_ms()).await {
                        Ok(factor) => {
                            tracing::warn!(%account, factor, "429 from the provider: slowing the account down for every worker.")
                        }
                        Err(error) => tracing::warn!(%error, %account, "Could not record a 429 slow-down."),
                    }
                }
            }
        }
        for (account, (limit, replies)) in slots {
            let waits = match queue.reserve_calls(&account, &limit, replies.len(), deleteq_core::now_ms()).await {
                Ok(waits) => waits,
                Err(error) => {
                    tracing::warn!(%error, %account, "Could not reserve rate-limit slots; calling without.");
                    vec![Duration::ZERO; replies.len()]
                }
            };
            for (reply, wait) in replies.into_iter().zip(waits.into_iter().chain(std::iter::repeat(Duration::ZERO))) {
                let _ = reply.send(wait);
            }
        }
    }
}
