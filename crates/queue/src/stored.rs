//! The stored form of a job: what the jobs hash ([`crate::Keys::jobs`]) and the dead letters
//! ([`crate::Keys::dead_jobs`]) hold per job id.
//!
//! A stored value is `"<rev>|<account>|<campaign>|<lane>|<flow>|<envelope>"`: a header the Lua scripts parse
//! (`header` in `lua/shared.lua`, which must read what `stored` writes), then the envelope JSON. Older forms are
//! still read: `"<rev>|<account>|<campaign>|<envelope>"` (before lanes) and `"<rev>|<envelope>"` (before the
//! header).

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
