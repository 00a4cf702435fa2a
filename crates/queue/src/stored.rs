//! The stored form of a job: what the jobs hash ([`crate::Keys::jobs`]) and the dead letters
//! ([`crate::Keys::dead_jobs`]) hold per job id.
//!
//! A stored value is `"<rev>|<account>|<campaign>|<lane>|<flow>|<envelope>"`: a header the Lua scripts parse
//! (`header` in `lua/shared.lua`, which must read what `stored` writes), then the envelope JSON. A fresh job's
//! envelope is in its compact form ([`encode_compact`]), which leaves out what the key and the header carry;
//! [`decode_stored`] reads either form back whole. Older forms are still read:
//! `"<rev>|<account>|<campaign>|<envelope>"` (before lanes) and `"<rev>|<envelope>"` (before the header).

use deleteq_core::envelope::{Envelope, JobId};
use serde_json::Value;

/// The revision of a leased value that cannot be read (corrupted, or written by something else): its ack matches
/// whatever is stored, so the worker can record it `failed` and move it to the dead letters.
pub const UNREADABLE: u64 = u64::MAX;

/// A stored job value: `"<rev>|<account>|<campaign>|<lane>|<flow>|<envelope>"`. The header lets the scripts keep
/// per-account and per-campaign counts and place a ready job in its lane and flow without decoding JSON (account
/// names, campaign and job ids never contain `|` or `{`). A new job's flow is its campaign (`""` for none).
pub(crate) fn stored(rev: u64, account: &str, campaign: &str, lane: deleteq_core::Priority, envelope: &str) -> String {
    format!("{rev}|{account}|{campaign}|{lane}|{campaign}|{envelope}")
}

/// Splits a stored value into its revision and envelope.
pub(crate) fn split_stored(value: &str) -> Option<(u64, &str)> {
    split_header(value).map(|(rev, _, _, envelope)| (rev, envelope))
}

/// Splits a stored value into its revision, account, campaign (`""` for none) and envelope. Older forms read too:
/// `"<rev>|<account>|<campaign>|<envelope>"`, and `"<rev>|<envelope>"` (its envelope starts with `{`, which no
/// header part contains), which reads with an empty account and campaign: its envelope is whole.
pub(crate) fn split_header(value: &str) -> Option<(u64, &str, &str, &str)> {
    let (rev, rest) = value.split_once('|')?;
    let rev = rev.parse().ok()?;
    if rest.starts_with('{') {
        return Some((rev, "", "", rest));
    }
    let mut parts = rest.splitn(3, '|');
    let (account, campaign, rest) = (parts.next()?, parts.next()?, parts.next()?);
    if rest.starts_with('{') {
        return Some((rev, account, campaign, rest));
    }
    // The lane and flow, then the envelope.
    let mut parts = rest.splitn(3, '|');
    let (_lane, _flow, envelope) = (parts.next()?, parts.next()?, parts.next()?);
    Some((rev, account, campaign, envelope))
}

/// The compact stored form of a fresh job's envelope: without its id and the job's `account`, which the queue
/// keeps beside it (the key and the stored value's header), and without its `campaign` when that is the submitted
/// campaign `in_campaign` the header carries too. About a third smaller, which is most of the memory a queued job
/// costs. [`decode_stored`] puts them back.
pub fn encode_compact(envelope: &Envelope, in_campaign: Option<&str>) -> String {
    let mut compact = envelope.clone();
    compact.id = JobId(String::new());
    if let Some(job) = compact.job.as_object_mut() {
        job.remove("account");
        if in_campaign.is_some() && job.get("campaign").and_then(Value::as_str) == in_campaign {
            job.remove("campaign");
        }
    }
    compact.encode()
}

/// Reads a stored envelope in either form (compact, [`encode_compact`], or whole: rewritten envelopes and dead
/// letters), filling in what the compact form leaves out from the queue's key (`id`) and header (`account`,
/// `campaign`: [`crate::Leased`] carries them). The error is recorded as the job's failure, never a worker crash.
pub fn decode_stored(id: &str, account: &str, campaign: Option<&str>, text: &[u8]) -> Result<Envelope, String> {
    let mut envelope = Envelope::decode(text)?;
    if envelope.id.as_str().is_empty() {
        envelope.id = JobId(id.to_string());
    }
    if let Some(job) = envelope.job.as_object_mut() {
        if !job.contains_key("account") {
            job.insert("account".into(), Value::String(account.to_string()));
        }
        if let (Some(campaign), false) = (campaign, job.contains_key("campaign")) {
            job.insert("campaign".into(), Value::String(campaign.to_string()));
        }
    }
    Ok(envelope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use deleteq_core::Job;

    #[test]
    fn stored_values_split_in_both_forms() {
        let value = stored(3, "cc", "C1", deleteq_core::Priority::Low, r#"{"v":1,"job":{"reason":"a|b"}}"#);
        assert!(value.starts_with("3|cc|C1|low|C1|{"), "{value}");
        assert_eq!(split_header(&value), Some((3, "cc", "C1", r#"{"v":1,"job":{"reason":"a|b"}}"#)));
        assert_eq!(
            split_header(r#"4|cc|C1|{"v":1,"job":{"reason":"a|b"}}"#),
            Some((4, "cc", "C1", r#"{"v":1,"job":{"reason":"a|b"}}"#)),
            "the form before lanes"
        );
        assert_eq!(
            split_header(r#"2|{"v":1,"job":{"reason":"a|b|c"}}"#),
            Some((2, "", "", r#"{"v":1,"job":{"reason":"a|b|c"}}"#))
        );
        assert_eq!(split_header("junk"), None);
    }

    #[test]
    fn the_header_is_what_shared_lua_parses() {
        // `header` in lua/shared.lua matches this pattern; the lane is one of the three lanes' names.
        let shared = include_str!("../lua/shared.lua");
        assert!(shared.contains(r"'^%d+|([^|{]*)|([^|{]*)|(%l+)|([^|{]*)|'"), "shared.lua's header pattern changed");
        use deleteq_core::Priority::{High, Low, Normal};
        for (lane, name) in [(High, "high"), (Normal, "normal"), (Low, "low")] {
            assert_eq!(stored(0, "cc", "", lane, "{}"), format!("0|cc||{name}||{{}}"));
        }
    }

    #[test]
    fn the_compact_form_leaves_out_what_the_queue_keeps_and_reads_back_whole() {
        let job = Job::from_json(r#"{"account":"cc","message":"1","campaign":"C1","reason":"spam"}"#).expect("job");
        let env = Envelope::new(JobId("J1".into()), &job);
        let compact = encode_compact(&env, Some("C1"));
        assert_eq!(compact, r#"{"v":1,"job":{"message":"1","reason":"spam"}}"#);
        // A campaign label that is not the submitted campaign stays in the job.
        let labelled = encode_compact(&env, None);
        assert_eq!(labelled, r#"{"v":1,"job":{"campaign":"C1","message":"1","reason":"spam"}}"#);
        let back = decode_stored("J1", "cc", None, labelled.as_bytes()).expect("decode");
        assert_eq!(back.job().expect("job"), job);
        let back = decode_stored("J1", "cc", Some("C1"), compact.as_bytes()).expect("decode");
        assert_eq!(back.id.as_str(), "J1");
        assert_eq!(back.job().expect("job"), job);
        // The full form (rewritten envelopes, dead letters) reads back unchanged.
        let full = decode_stored("other", "x", None, env.encode().as_bytes()).expect("decode");
        assert_eq!((full.id.as_str(), full.job().expect("job")), ("J1", job));
    }
}
