//! The ways a job leaves without a call or a conclusion (parked, handed back, deferred, unreadable), and the small
//! helpers every step uses to narrow a job to the messages still to do.

use super::{Finish, HandBack};
use crate::records::RecordBase;
use deleteq_core::{AuditRecord, Envelope, Job, Outcome, Target};
use deleteq_queue::parking::ParkJob;
use deleteq_queue::{Ack, Leased, Reschedule};
use std::time::Duration;

/// Sets the job (narrowed to `job`, the messages still to delete) aside until its account is resumed.
pub(super) fn park(leased: Leased, envelope: &Envelope, job: &Job, records: Vec<AuditRecord>) -> Finish {
    let mut envelope = envelope.clone();
    envelope.job = job.to_value();
    let account = job.account.clone();
    Finish::Park(ParkJob {
        shard: leased.shard,
        holder: leased.holder,
        account,
        id: leased.id,
        rev: leased.rev,
        envelope: envelope.encode(),
        records,
    })
}

/// Hands the job back to the front of its lane, unchanged, because its account's next rate-limit slot is `wait`
/// away: no attempt is spent, nothing is recorded, and no slot is held meanwhile.
pub(super) fn hand_back(leased: Leased, wait: Duration) -> Finish {
    Finish::HandBack(HandBack { shard: leased.shard, lease: leased.lease(), account: leased.account, wait })
}

/// Hands the job back unchanged (no attempt spent, nothing recorded), due `delay` from Redis's now.
pub(super) fn defer_until(leased: Leased, envelope: Envelope, delay: Duration) -> Finish {
    Finish::Reschedule(Reschedule {
        shard: leased.shard,
        id: leased.id,
        rev: leased.rev,
        holder: leased.holder,
        delay,
        attempted: false,
        envelope: envelope.encode(),
        records: Vec::new(),
    })
}

/// Calls `f` once per message of the job, or once with `None` for a purge.
pub(super) fn each_message(job: &Job, mut f: impl FnMut(Option<&str>)) {
    match &job.target {
        Target::Purge => f(None),
        _ => job.message_ids().iter().for_each(|id| f(Some(id))),
    }
}

/// The job narrowed to `ids` (a purge stays a purge).
pub(super) fn with_ids(job: &Job, mut ids: Vec<String>) -> Job {
    let mut rest = job.clone();
    rest.target = match (&job.target, ids.len()) {
        (Target::Purge, _) => Target::Purge,
        (Target::Message(_), 1) => Target::Message(ids.remove(0)),
        _ => Target::Messages(ids),
    };
    rest
}

/// A job whose stored form cannot be read: one `failed` record, and the raw text kept as its dead letter.
pub(super) fn undecodable(leased: Leased, error: &str) -> Finish {
    let base = RecordBase::undecodable(&leased.id);
    let record = base.record(None, Outcome::Failed, None, Some(error));
    // The account is unknown too: its pending count keeps this job (a corrupted record is a bug to investigate).
    let dead_letter = Some(leased.envelope);
    let shard = leased.shard;
    Finish::Ack(Ack {
        shard,
        id: leased.id,
        rev: leased.rev,
        records: vec![record],
        dead_letter,
        account: String::new(),
    })
}
