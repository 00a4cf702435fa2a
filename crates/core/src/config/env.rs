//! `${VAR}` expansion over every string of the parsed TOML, so secrets stay in the environment.
//!
//! A command resolves only the variables of the fields it uses ([`super::Needs`]): a variable of a field it does
//! not need may be unset, and the field is then recorded as [`Unresolved`] instead of failing the load.

use super::{ConfigError, Needs};

/// A field whose `${VAR}` was not set, left unresolved because the loading command does not use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// The dotted key, e.g. `accounts.cc.api_key` or `api.tokens[0]`.
    pub key: String,
    /// The unset variable.
    pub var: String,
}

/// Expands `${VAR}` through a lookup, collecting the fields it may leave unresolved.
pub(super) struct Expander<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    needs: Needs,
    /// The fields left unresolved so far.
    pub(super) unresolved: Vec<Unresolved>,
}

impl<'a> Expander<'a> {
    pub(super) fn new(lookup: &'a dyn Fn(&str) -> Option<String>, needs: Needs) -> Self {
        Expander { lookup, needs, unresolved: Vec::new() }
    }

    /// Expands `${VAR}` in every string of `table`; `path` is the dotted key prefix used in errors.
    pub(super) fn expand_table(&mut self, table: &mut toml::Table, path: &str) -> Result<(), ConfigError> {
        for (key, value) in table.iter_mut() {
            let here = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            self.expand_value(value, &here)?;
        }
        Ok(())
    }

    fn expand_value(&mut self, value: &mut toml::Value, path: &str) -> Result<(), ConfigError> {
        match value {
            toml::Value::String(s) => match expand_str(s, path, self.lookup) {
                Ok(expanded) => *s = expanded,
                Err(ConfigError::MissingVar { var, key }) if self.may_skip(&key) => {
                    // Left as written: the field is marked unresolved once the config is built.
                    self.unresolved.push(Unresolved { key, var });
                }
                Err(e) => return Err(e),
            },
            toml::Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    self.expand_value(item, &format!("{path}[{i}]"))?;
                }
            }
            toml::Value::Table(t) => self.expand_table(t, path)?,
            _ => {}
        }
        Ok(())
    }

    /// Whether `key` is a field the loading command does not use: an account's credential (only the worker calls
    /// providers) or an `[api]` token (only `serve` checks them).
    fn may_skip(&self, key: &str) -> bool {
        if !self.needs.provider_secrets {
            if let Some(rest) = key.strip_prefix("accounts.") {
                let field = rest.rsplit('.').next().unwrap_or_default();
                if rest.contains('.') && super::account::SECRET_FIELDS.contains(&field) {
                    return true;
                }
            }
        }
        !self.needs.api_tokens && key.starts_with("api.tokens[")
    }
}

/// Replaces each `${NAME}` with the variable's value. `$` not followed by `{` is kept as is.
pub(super) fn expand_str(
    text: &str,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end =
            after.find('}').ok_or_else(|| ConfigError::Invalid(format!("{path}: unterminated \"${{\" in value")))?;
        let var = &after[..end];
        let value =
            lookup(var).ok_or_else(|| ConfigError::MissingVar { var: var.to_string(), key: path.to_string() })?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
