//! Parses an account's `rate_limit`: `"N/s"`, `"N/min"` or `"N/h"`, optionally followed by `burst B`.

use std::time::Duration;

/// A rate limit: `count` calls per `per`, with up to `burst` calls at once (1 = evenly spaced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Calls allowed per period.
    pub count: u64,
    /// The period.
    pub per: Duration,
    /// Calls that may go out back to back before spacing applies.
    pub burst: u64,
}

impl RateLimit {
    /// The even spacing between calls at this rate.
    pub fn interval(&self) -> Duration {
        self.per / u32::try_from(self.count.max(1)).unwrap_or(u32::MAX)
    }

    /// Calls per second, for display.
    pub fn per_second(&self) -> f64 {
        self.count as f64 / self.per.as_secs_f64()
    }
}

/// As written in a config: `50/s`, `600/min`, `60/min burst 90`.
impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.per.as_millis() {
            1_000 => write!(f, "{}/s", self.count)?,
            60_000 => write!(f, "{}/min", self.count)?,
            3_600_000 => write!(f, "{}/h", self.count)?,
            ms => write!(f, "{} per {ms} ms", self.count)?,
        }
        if self.burst > 1 {
            write!(f, " burst {}", self.burst)?;
        }
        Ok(())
    }
}

impl std::str::FromStr for RateLimit {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?} is not a rate like \"50/s\", \"600/min\" or \"60/min burst 90\"");
        let mut words = text.split_whitespace();
        let rate = words.next().ok_or_else(bad)?;
        let (count, unit) = rate.split_once('/').ok_or_else(bad)?;
        let count: u64 = count.parse().map_err(|_| bad())?;
        if count == 0 {
            return Err(format!("{text:?}: the count must be at least 1"));
        }
        let per = match unit {
            "s" => Duration::from_secs(1),
            "min" | "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        let burst = match (words.next(), words.next(), words.next()) {
            (None, _, _) => 1,
            (Some("burst"), Some(b), None) => b.parse().ok().filter(|b| *b >= 1).ok_or_else(bad)?,
            _ => return Err(bad()),
        };
        Ok(RateLimit { count, per, burst })
    }
}

impl<'de> serde::Deserialize<'de> for RateLimit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rates_and_bursts() {
        let r: RateLimit = "60/min burst 90".parse().expect("valid");
        assert_eq!((r.count, r.per, r.burst), (60, Duration::from_secs(60), 90));
        let r: RateLimit = "20/s".parse().expect("valid");
        assert_eq!((r.count, r.burst, r.interval()), (20, 1, Duration::from_millis(50)));
        assert!("1000/h".parse::<RateLimit>().is_ok());
    }

    #[test]
    fn displays_as_written() {
        for text in ["50/s", "600/min", "60/min burst 90", "1000/h"] {
            assert_eq!(text.parse::<RateLimit>().expect(text).to_string(), text);
        }
    }

    #[test]
    fn rejects_malformed_rates() {
        for bad in ["", "50", "0/s", "5/week", "5/s burst", "5/s burst 0", "5/s spike 3"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
    }
}
