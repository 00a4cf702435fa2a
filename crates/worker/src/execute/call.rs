//! The call step: the start gate, then the provider calls (one purge, or the messages in chunks of the account's
//! batch size), each answer classified by the provider module and folded into the job's [`Progress`].

use super::progress::{Progress, RetryCause};
use super::Executor;
use crate::records::RecordBase;
use deleteq_core::rate::RateLimit;
use deleteq_core::{Job, Outcome, ProviderKind, Target};
use deleteq_providers::{AccountClient, DeleteRequest, Disposition, MessageResult};
use deleteq_queue::Leased;

impl Executor {
    /// Passes the start gate: true when the call may be made. A `noop` account makes no call, so its start is
    /// recorded in this process only (`Starter::start_without_call`); every other waits for Redis to take it.
    pub(super) async fn start(&self, leased: &Leased, client: &AccountClient) -> bool {
        if client.kind() == ProviderKind::Noop {
            self.starter.start_without_call(leased)
        } else {
            self.starter.start(leased).await
        }
    }

    /// Makes the provider calls: one purge, or the messages in chunks of the account's batch size. Stops at the
    /// first retryable failure so that the rest is retried later instead of burning calls now.
    pub(super) async fn call(
        &self,
        client: &AccountClient,
        job: &Job,
        base: &RecordBase,
        limit: Option<RateLimit>,
    ) -> Progress {
        let mut progress = Progress::default();
        let purge = job.target == Target::Purge;
        let ids = job.message_ids();
        let batch = client.batch_size.max(1);
        let chunks: Vec<&[String]> = if purge { vec![&[]] } else { ids.chunks(batch).collect() };
        for (i, chunk) in chunks.into_iter().enumerate() {
            let req = DeleteRequest {
                conversation: job.conversation.as_deref(),
                messages: chunk,
                purge,
                permanent: job.permanent,
                on_behalf_of: job.on_behalf_of.as_deref(),
            };
            // Boxed: the provider's future (about 1.6 KB) would otherwise sit in this future twice, once as it is
            // built and once inside `timed_call`'s, in every job's state for the whole job.
            let call = Box::pin(client.delete(self.providers.http(), &req));
            let span = crate::spans::call(&job.account, client.kind().as_str(), chunk.len());
            let response = crate::spans::in_span!(span, self.metrics.timed_call(&job.account, client.kind(), call));
            let status = response.http_status;
            crate::spans::called(&span, status, &response.disposition);
            if let (Some(429), Some(limit)) = (status, limit) {
                self.gate.slow_down(&job.account, limit);
            }
            self.parking.settle(&job.account, status, &response.disposition);
            if let (Some(budget), Some(limit)) = (&response.budget, limit) {
                self.gate.observe(&job.account, limit, budget);
            }
            if deleteq_providers::classify::is_server_side(status, &response.disposition) {
                self.circuits.failure(&job.account).await;
            }
            let later = || ids.get((i + 1) * batch..).unwrap_or_default().to_vec();
            match response.disposition {
                Disposition::Messages(results) if !purge => {
                    let mut retry: Option<RetryCause> = None;
                    for (id, result) in results {
                        match result {
                            MessageResult::Deleted(mode) => {
                                let mut record = base.record(Some(&id), Outcome::Deleted, status, None);
                                record.mode = Some(mode);
                                progress.records.push(record);
                            }
                            MessageResult::AlreadyDeleted => {
                                progress.records.push(base.record(Some(&id), Outcome::AlreadyDeleted, status, None))
                            }
                            MessageResult::Failed(e) => progress.fail(base, Some(&id), status, &e),
                            MessageResult::Retry { after, reason } => {
                                // Part of a bisected batch was not settled: only those ids are tried again.
                                progress.remaining.push(id);
                                let hint = retry.as_ref().and_then(|r| r.hint).max(after);
                                retry = Some(RetryCause { hint, reason, status });
                            }
                        }
                    }
                    if let Some(cause) = retry {
                        progress.remaining.extend(later());
                        progress.retry = Some(cause);
                        break;
                    }
                }
                Disposition::Purged { deleted_count, mode } if purge => {
                    let mut record = base.record(None, Outcome::Purged, status, None);
                    record.deleted_count = Some(deleted_count);
                    record.mode = Some(mode);
                    progress.records.push(record);
                }
                Disposition::Messages(_) | Disposition::Purged { .. } => {
                    let reason = "the provider's answer does not match the request";
                    if purge {
                        progress.fail(base, None, status, reason);
                    }
                    for id in chunk {
                        progress.fail(base, Some(id), status, reason);
                    }
                }
                Disposition::Failed { reason } => {
                    if purge {
                        progress.fail(base, None, status, &reason);
                    }
                    for id in chunk {
                        progress.fail(base, Some(id), status, &reason);
                    }
                }
                Disposition::Retry { after: hint, reason } => {
                    progress.remaining = ids.get(i * batch..).unwrap_or_default().to_vec();
                    progress.retry = Some(RetryCause { hint, reason, status });
                    break;
                }
                Disposition::ParkAccount { reason, .. } => {
                    progress.remaining = ids.get(i * batch..).unwrap_or_default().to_vec();
                    progress.park = Some(reason);
                    break;
                }
            }
        }
        progress
    }
}
