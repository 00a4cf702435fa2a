//! A job's lane (DESIGN §2 `priority`, §6 lanes): per account, a ready `high` job is called before any `normal`
//! one and a `normal` before any `low` one, weighted so that no lane starves.

use std::fmt;
use std::str::FromStr;

/// A job's priority: the lane it waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Priority {
    /// An app's unsend or erasure request: called before anything else of its account.
    High,
    /// The default.
    #[default]
    Normal,
    /// Bulk work (campaigns by default): called when nothing above waits, and still given its share.
    Low,
}

impl Priority {
    /// Every lane, highest first.
    pub const ALL: [Priority; 3] = [Priority::High, Priority::Normal, Priority::Low];

    /// The JSON and key spelling: `"high"`, `"normal"` or `"low"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Not one of `high`, `normal`, `low`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a priority: use \"high\", \"normal\" or \"low\"")]
pub struct UnknownPriority(pub String);

impl FromStr for Priority {
    type Err = UnknownPriority;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Priority::ALL.into_iter().find(|p| p.as_str() == text).ok_or_else(|| UnknownPriority(text.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_read_back_as_written() {
        for p in Priority::ALL {
            assert_eq!(p.as_str().parse::<Priority>(), Ok(p));
        }
        assert!("High".parse::<Priority>().is_err(), "spelled exactly");
        assert!("urgent".parse::<Priority>().is_err());
        assert_eq!(Priority::default(), Priority::Normal);
    }
}
