//! Parses the config's durations: an integer and a unit, `"500ms"`, `"30s"`, `"10m"`, `"60h"`, `"7d"`.

use std::time::Duration;

/// Parses `"<n><unit>"` with unit `ms`, `s`, `m`, `h` or `d`. A bare number is rejected: the unit is never guessed.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 =
        digits.parse().map_err(|_| format!("{text:?} is not a duration like \"500ms\", \"30s\", \"10m\" or \"2h\""))?;
    let ms = match unit.trim() {
        "ms" => n,
        "s" => n.saturating_mul(1_000),
        "m" | "min" => n.saturating_mul(60_000),
        "h" => n.saturating_mul(3_600_000),
        "d" => n.saturating_mul(86_400_000),
        "" => return Err(format!("{text:?} needs a unit (ms, s, m, h or d)")),
        other => return Err(format!("{text:?} has an unknown unit {other:?} (use ms, s, m, h or d)")),
    };
    Ok(Duration::from_millis(ms))
}

/// Serde adapter for a `Duration` written as a duration string.
pub mod serde_duration {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    /// Deserializes `"30s"` and friends.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

/// Serde adapter for an optional duration.
pub mod serde_opt_duration {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    /// Deserializes an optional `"30s"`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| super::parse_duration(&t).map_err(serde::de::Error::custom)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("60h"), Ok(Duration::from_secs(216_000)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
    }

    #[test]
    fn rejects_missing_or_unknown_units() {
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("30y").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("").is_err());
    }
}
