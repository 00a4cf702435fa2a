//! Settling an enqueue whose reply was lost: the batch may or may not have run, so the very same batch is repeated
//! under its batch token (see `Queue::enqueue_marked`), which stores nothing twice and answers what the first run
//! answered.

use crate::ProducerError;
use deleteq_queue::{NewJob, Queue};
use std::time::Duration;

/// The pause before each repeat of a batch whose outcome is unknown (about 5.6 s in all).
const SETTLE_PAUSES: [Duration; 5] = [
    Duration::from_millis(100),
    Duration::from_millis(300),
    Duration::from_millis(700),
    Duration::from_millis(1_500),
    Duration::from_millis(3_000),
];

/// No repeat starts later than this after the first try: the batch markers must outlive the last repeat
/// (`deleteq_queue::queue::BATCH_MARKER_TTL`, two minutes; one try takes at most the 10 s response timeout).
const SETTLE_WITHIN: Duration = Duration::from_secs(60);

/// Enqueues `new` under a fresh batch token; while the outcome is unknown, repeats it (a repeat that fails again
/// leaves it unknown); [`ProducerError::Unknown`] when no repeat settles it.
pub(crate) async fn enqueue_settled(queue: &Queue, new: &[NewJob]) -> Result<Vec<String>, ProducerError> {
    let token = ulid::Ulid::new().to_string();
    let started = std::time::Instant::now();
    let mut unknown = match queue.enqueue_marked(new, Some(&token)).await {
        Ok(ids) => return Ok(ids),
        Err(error) if error.outcome_unknown() => error,
        Err(error) => return Err(error.into()),
    };
    for pause in SETTLE_PAUSES {
        tracing::warn!(error = %unknown, jobs = new.len(), "Enqueue reply lost; repeating the batch to settle it.");
        tokio::time::sleep(pause).await;
        if started.elapsed() > SETTLE_WITHIN {
            break;
        }
        match queue.enqueue_marked(new, Some(&token)).await {
            Ok(ids) => {
                tracing::info!(jobs = new.len(), "Enqueue settled by repeating the batch.");
                return Ok(ids);
            }
            Err(error) => unknown = error,
        }
    }
    Err(ProducerError::Unknown(unknown))
}
