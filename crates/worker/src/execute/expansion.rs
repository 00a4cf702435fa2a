//! The expansion step of a bulk job: its ids become children of at most a call's worth each, at most
//! [`MAX_CHILDREN_PER_STEP`] per step, the rest kept once in the parent's id list in Redis.

use super::finishing::{defer_until, with_ids};
use super::{Executor, Finish};
use crate::records::RecordBase;
use deleteq_core::{Envelope, Job, Outcome};
use deleteq_queue::{Ack, Expand, Leased};
use std::time::Duration;

/// Children written by one expansion script call: bounds how long it holds Redis.
pub(crate) const MAX_CHILDREN_PER_STEP: usize = 1000;

/// How soon a bulk job whose next ids could not be read is tried again.
const LISTED_RETRY: Duration = Duration::from_secs(1);

impl Executor {
    /// Fills a listed bulk job's `messages` with the ids of its next expansion step, read from its id list. When
    /// they cannot be read, the job is handed back to try again shortly (nothing spent, nothing recorded).
    pub(super) async fn fill_listed(
        &self,
        leased: &Leased,
        mut envelope: Envelope,
        per_call: usize,
    ) -> Result<Envelope, Finish> {
        let take = envelope.listed.min((MAX_CHILDREN_PER_STEP * per_call) as u64);
        match self.queue.expansion_ids(leased.shard, &leased.id, take).await {
            Ok(ids) if !ids.is_empty() => {
                if let Some(job) = envelope.job.as_object_mut() {
                    job.insert("messages".into(), ids.into());
                }
                Ok(envelope)
            }
            Ok(_) => {
                // The list is gone (Redis lost data): the job cannot be continued; fail what is left of it.
                tracing::error!(job = %leased.id, listed = envelope.listed, "A bulk job's id list is missing.");
                let base = RecordBase::undecodable(&leased.id);
                let error = format!("its id list ({} ids not yet expanded) is missing", envelope.listed);
                Err(Finish::Ack(Ack {
                    shard: leased.shard,
                    id: leased.id.clone(),
                    rev: leased.rev,
                    records: vec![base.record(None, Outcome::Failed, None, Some(&error))],
                    dead_letter: Some(envelope.encode()),
                    account: leased.account.clone(),
                }))
            }
            Err(error) => {
                tracing::warn!(%error, job = %leased.id, "Could not read a bulk job's next ids; trying again shortly.");
                Err(defer_until(leased.clone(), envelope, LISTED_RETRY))
            }
        }
    }
}

/// One expansion step: the first ids become children of `per_call` ids each (one child per message for providers
/// without batch deletes), with ids `PARENT:N` (N = the position of the child's first message in the original
/// list). The rest stays in the parent's id list in Redis: pushed there by the first step (the job's own ids), taken
/// from its head by the later ones (`job` then holds just the ids read for this step); the parent's envelope keeps
/// only the count (`listed`) and the position reached (`expanded`).
pub(super) fn expand(leased: Leased, mut envelope: Envelope, job: &Job, per_call: usize) -> Finish {
    let ids = job.message_ids();
    let take = ids.len().min(MAX_CHILDREN_PER_STEP * per_call);
    let base = envelope.expanded;
    let children = ids[..take]
        .chunks(per_call)
        .enumerate()
        .map(|(i, chunk)| {
            let position = base + (i * per_call) as u64;
            let child_id = format!("{}:{position}", leased.id);
            let child = Envelope {
                v: 1,
                id: deleteq_core::JobId(child_id.clone()),
                attempt: 0,
                job: with_ids(job, chunk.to_vec()).to_value(),
                expanded: 0,
                listed: 0,
                parent: Some(deleteq_core::JobId(leased.id.clone())),
                last_error: None,
                last_status: None,
                given_up: None,
            };
            (child_id, child.encode())
        })
        .collect();
    let (pop, push, left) = if envelope.listed > 0 {
        (take as u64, Vec::new(), envelope.listed.saturating_sub(take as u64))
    } else {
        (0, ids[take..].to_vec(), (ids.len() - take) as u64)
    };
    let rest = (left > 0).then(|| {
        envelope.expanded = base + take as u64;
        envelope.listed = left;
        envelope.job = with_ids(job, Vec::new()).to_value();
        envelope.encode()
    });
    Finish::Expand(Expand {
        shard: leased.shard,
        id: leased.id,
        rev: leased.rev,
        children,
        rest,
        pop,
        push,
        account: job.account.clone(),
    })
}
