//! A credential that never prints: `Debug` and `Display` show `***`.

use serde::{Deserialize, Deserializer};

/// A string that must not reach logs, Redis or the audit stream. Read it with [`Secret::expose`] only where it is
/// sent to the provider.
///
/// A config loaded for a command that does not use a credential (a producer never calls a provider) may leave it
/// [unresolved](Secret::unresolved_var): its `${VAR}` was not set, and its value is empty.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret {
    value: String,
    unresolved: Option<String>,
}

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret { value: value.into(), unresolved: None }
    }

    /// A credential whose variable `var` was not set: empty, and saying which variable it waits for.
    pub fn unresolved(var: impl Into<String>) -> Self {
        Secret { value: String::new(), unresolved: Some(var.into()) }
    }

    /// The value itself, for the one place that sends it (empty if unresolved).
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// The unset variable, if this credential was left unresolved.
    pub fn unresolved_var(&self) -> Option<&str> {
        self.unresolved.as_deref()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.unresolved {
            Some(var) => write!(f, "\"unresolved ${{{var}}}\""),
            None => f.write_str("\"***\""),
        }
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.unresolved {
            Some(var) => write!(f, "unresolved ${{{var}}}"),
            None => f.write_str("***"),
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

/// `[redis] url`: one URL, or (with `cluster = true`) a list of seed nodes. Each may carry a password, so each is
/// a [`Secret`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RedisUrl(Vec<Secret>);

impl RedisUrl {
    /// One URL.
    pub fn new(url: impl Into<String>) -> Self {
        RedisUrl(vec![Secret::new(url)])
    }

    /// The first (or only) URL.
    pub fn expose(&self) -> &str {
        self.0.first().map(Secret::expose).unwrap_or_default()
    }

    /// Every URL given.
    pub fn all(&self) -> Vec<String> {
        self.0.iter().map(|s| s.expose().to_string()).collect()
    }

    /// How many URLs were given.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de> Deserialize<'de> for RedisUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(url) => RedisUrl(vec![Secret::new(url)]),
            OneOrMany::Many(urls) => RedisUrl(urls.into_iter().map(Secret::new).collect()),
        })
    }
}
