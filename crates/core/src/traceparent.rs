//! The W3C Trace Context `traceparent` a caller may hand in with a job, so the worker's spans continue the
//! caller's trace (<https://www.w3.org/TR/trace-context/#traceparent-header>).
//!
//! Parsed strictly: version `00` only, exactly `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>` in
//! lowercase, neither id all zeros. Anything else is refused with the reason, never half-read: a job's
//! `traceparent` field is then an error naming the field, and the HTTP API ignores a malformed header with a
//! warning (it must not refuse a deletion because a tracing header is off).

use std::fmt;
use std::str::FromStr;

/// A valid version-`00` `traceparent`: the caller's trace, the caller's span (the parent of ours) and its flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Traceparent {
    /// The trace id, 16 bytes, not all zero.
    pub trace_id: [u8; 16],
    /// The caller's span id, 8 bytes, not all zero.
    pub parent_id: [u8; 8],
    /// The trace flags; bit 0 is `sampled`.
    pub flags: u8,
}

/// Why a `traceparent` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a W3C traceparent ({0}); expected 00-<32 lowercase hex>-<16 lowercase hex>-<2 lowercase hex>")]
pub struct TraceparentError(&'static str);

/// The length of a version-`00` `traceparent`.
const LEN: usize = 55;

impl Traceparent {
    /// Parses a `traceparent` value strictly (see the module docs).
    pub fn parse(text: &str) -> Result<Traceparent, TraceparentError> {
        let bytes = text.as_bytes();
        if bytes.len() != LEN {
            return Err(TraceparentError("it must be exactly 55 characters"));
        }
        if bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
            return Err(TraceparentError("its four parts must be separated by '-'"));
        }
        let mut version = [0u8; 1];
        hex_into(&bytes[0..2], &mut version).ok_or(TraceparentError("the version is not 2 lowercase hex digits"))?;
        if version[0] != 0 {
            return Err(TraceparentError("only version 00 is accepted"));
        }
        let mut trace_id = [0u8; 16];
        hex_into(&bytes[3..35], &mut trace_id)
            .ok_or(TraceparentError("the trace id is not 32 lowercase hex digits"))?;
        if trace_id == [0; 16] {
            return Err(TraceparentError("the trace id is all zeros"));
        }
        let mut parent_id = [0u8; 8];
        hex_into(&bytes[36..52], &mut parent_id)
            .ok_or(TraceparentError("the parent id is not 16 lowercase hex digits"))?;
        if parent_id == [0; 8] {
            return Err(TraceparentError("the parent id is all zeros"));
        }
        let mut flags = [0u8; 1];
        hex_into(&bytes[53..55], &mut flags).ok_or(TraceparentError("the flags are not 2 lowercase hex digits"))?;
        Ok(Traceparent { trace_id, parent_id, flags: flags[0] })
    }

    /// Whether the caller recorded its span (flag bit 0): a trace the caller did not sample is not sampled here
    /// either.
    pub fn sampled(&self) -> bool {
        self.flags & 1 == 1
    }
}

/// Decodes lowercase hex `digits` into `out` (twice as many digits as bytes); `None` for any other character.
fn hex_into(digits: &[u8], out: &mut [u8]) -> Option<()> {
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(())
}

impl FromStr for Traceparent {
    type Err = TraceparentError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Traceparent::parse(text)
    }
}

impl fmt::Display for Traceparent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("00-")?;
        self.trace_id.iter().try_for_each(|b| write!(f, "{b:02x}"))?;
        f.write_str("-")?;
        self.parent_id.iter().try_for_each(|b| write!(f, "{b:02x}"))?;
        write!(f, "-{:02x}", self.flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn reads_and_writes_the_spec_example() {
        let tp = Traceparent::parse(SPEC_EXAMPLE).expect("valid");
        assert_eq!(tp.trace_id[0], 0x4b);
        assert_eq!(tp.parent_id[7], 0xb7);
        assert!(tp.sampled());
        assert_eq!(tp.to_string(), SPEC_EXAMPLE);
        let unsampled = Traceparent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").expect("valid");
        assert!(!unsampled.sampled());
    }

    #[test]
    fn refuses_anything_but_a_strict_version_00() {
        let bad = [
            ("", "exactly 55"),
            ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "version 00"),
            ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "version 00"),
            ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", "trace id is all zeros"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "parent id is all zeros"),
            ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "trace id is not"),
            ("00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", "trace id is not"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01", "parent id is not"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x", "flags"),
            ("00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01", "separated"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", "exactly 55"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-é", "flags"),
        ];
        for (text, why) in bad {
            let error = Traceparent::parse(text).expect_err(text).to_string();
            assert!(error.contains(why), "{text:?}: {error}");
        }
    }
}
