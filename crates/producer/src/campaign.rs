//! Submitting a campaign: a JSON-lines text checked whole first (nothing is stored if any line is invalid), then
//! stored in chunks, several script calls in flight at once on the multiplexed connection.

use crate::{new_campaign_job, Producer, ProducerError};
use deleteq_core::validate::validate;
use deleteq_core::{Job, JobError, JobId, Priority, Target, Traceparent};
use deleteq_queue::campaign::CampaignInfo;
use deleteq_queue::NewJob;
use futures_util::stream::{self, TryStreamExt};

/// The priority of a campaign's jobs that do not set their own, unless the submitter chooses another: campaigns
/// are bulk work and wait behind an app's unsend (DESIGN §2, §6 lanes).
pub const CAMPAIGN_PRIORITY: Priority = Priority::Low;

/// Jobs per enqueue script call.
const CHUNK: usize = 1000;
/// Script calls in flight at once.
const IN_FLIGHT: usize = 8;

/// One invalid line of a campaign file.
#[derive(Debug, Clone)]
pub struct LineError {
    /// Its 1-based line number.
    pub line: usize,
    /// What is wrong, naming the field.
    pub error: JobError,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.error)
    }
}

/// What a valid campaign text holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CampaignSize {
    /// Jobs (non-blank lines).
    pub jobs: u64,
    /// Messages they address (a purge counts as one).
    pub messages: u64,
}

/// The non-blank lines of a JSON-lines text, with their 1-based numbers.
fn numbered(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| !l.trim().is_empty())
}

/// Messages a job addresses, as terminal records: one per message, one for a purge.
fn messages(job: &Job) -> u64 {
    match job.target {
        Target::Purge => 1,
        _ => job.message_ids().len() as u64,
    }
}

impl Producer {
    /// Checks every line of a campaign; returns its size, or every invalid line (at most `max_errors`).
    pub fn check_campaign(&self, text: &str, max_errors: usize) -> Result<CampaignSize, Vec<LineError>> {
        let mut size = CampaignSize::default();
        let mut errors = Vec::new();
        for (line, json) in numbered(text) {
            match Job::from_json(json).and_then(|job| validate(&job, self.config()).map(|()| job)) {
                Ok(job) => {
                    size.jobs += 1;
                    size.messages += messages(&job);
                }
                Err(error) if errors.len() < max_errors => errors.push(LineError { line, error }),
                Err(_) => {}
            }
        }
        if errors.is_empty() {
            Ok(size)
        } else {
            Err(errors)
        }
    }

    /// Submits a checked campaign text (see [`Producer::check_campaign`]) under `name`: every job gets the
    /// campaign's id as its `campaign`. `progress` is told how many jobs are stored so far. A job whose
    /// `idempotency_key` was seen before is not stored and not counted in the total. A line without its own
    /// `priority` gets `priority` (usually [`CAMPAIGN_PRIORITY`]); a line that sets one, even `normal`, keeps it.
    pub async fn submit_campaign(
        &self,
        name: &str,
        text: &str,
        size: CampaignSize,
        priority: Priority,
        progress: impl Fn(u64),
    ) -> Result<CampaignInfo, ProducerError> {
        self.submit_campaign_traced(name, text, size, priority, None, progress).await
    }

    /// [`Producer::submit_campaign`] whose lines without their own `traceparent` get `traceparent` (the caller's
    /// trace, e.g. the HTTP request's), so the worker's spans for every job join it.
    pub async fn submit_campaign_traced(
        &self,
        name: &str,
        text: &str,
        size: CampaignSize,
        priority: Priority,
        traceparent: Option<Traceparent>,
        progress: impl Fn(u64),
    ) -> Result<CampaignInfo, ProducerError> {
        let id = JobId::new().0;
        let mut info = CampaignInfo {
            id: id.clone(),
            name: name.to_string(),
            total: size.messages,
            jobs: size.jobs,
            created_ms: deleteq_core::now_ms(),
            submitted: false,
            cancelled_ms: None,
            finished_ms: None,
        };
        self.queue().create_campaign(&info).await?;
        let mut lines = numbered(text);
        let chunks = std::iter::from_fn(|| {
            let (mut jobs, mut sizes): (Vec<NewJob>, Vec<u64>) = (Vec::with_capacity(CHUNK), Vec::with_capacity(CHUNK));
            for (line, json) in lines.by_ref() {
                let mut job = match Job::from_json_or_priority(json, priority) {
                    Ok(job) => job,
                    Err(error) => return Some(Err(ProducerError::Invalid { index: line - 1, error })),
                };
                job.campaign = Some(id.clone());
                if job.traceparent.is_none() {
                    job.traceparent = traceparent;
                }
                jobs.push(new_campaign_job(&job, &id));
                sizes.push(messages(&job));
                if jobs.len() == CHUNK {
                    break;
                }
            }
            (!jobs.is_empty()).then_some(Ok((jobs, sizes)))
        });
        let queue = self.queue().clone();
        let mut stored = stream::iter(chunks)
            .map_ok(|(jobs, sizes)| {
                let queue = queue.clone();
                async move {
                    let ids = crate::settle::enqueue_settled(&queue, &jobs).await?;
                    // A repeated idempotency key returns the first job's id: that job was not stored here.
                    let stored_as = jobs.iter().zip(&ids).zip(&sizes);
                    let skipped: u64 = stored_as.filter(|((job, id), _)| job.id != **id).map(|(_, n)| n).sum();
                    Ok::<_, ProducerError>((jobs.len() as u64, skipped))
                }
            })
            .try_buffered(IN_FLIGHT);
        let (mut done, mut skipped) = (0, 0);
        while let Some((jobs, skipped_messages)) = stored.try_next().await? {
            done += jobs;
            skipped += skipped_messages;
            progress(done);
        }
        info.total -= skipped.min(info.total);
        info.submitted = true;
        self.queue().finish_campaign_submission(&info).await?;
        Ok(info)
    }
}
