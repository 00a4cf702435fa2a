//! `[lanes]`: how an account's calls are shared between its lanes (DESIGN §6) while several of them wait.

use serde::Deserialize;

/// `[lanes]`: per account, a ready `high` job goes before any `normal` one and a `normal` before any `low` one,
/// except that a lower lane is owed this share of the account's calls while a lane above it keeps the account
/// busy, so no lane starves. The highest lane waiting gets the rest.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LanesConfig {
    /// The share of an account's calls `normal` jobs get while `high` ones wait (0 = strict priority).
    pub normal_share: f64,
    /// The share `low` jobs get while `high` or `normal` ones wait.
    pub low_share: f64,
}

impl Default for LanesConfig {
    /// An eighth each: a campaign in `low` still gets at least a tenth of its account's calls under a stream of
    /// unsends, which still get three quarters.
    fn default() -> Self {
        LanesConfig { normal_share: 0.125, low_share: 0.125 }
    }
}

impl LanesConfig {
    /// Why these shares cannot be used, naming the field.
    pub(crate) fn check(&self) -> Result<(), String> {
        for (name, share) in [("normal_share", self.normal_share), ("low_share", self.low_share)] {
            if !(0.0..=0.5).contains(&share) {
                return Err(format!("lanes.{name} = {share}: must be between 0 and 0.5"));
            }
        }
        Ok(())
    }
}
