//! `${VAR}` expansion over every string of the parsed TOML, so secrets stay in the environment.

use super::ConfigError;

/// Expands `${VAR}` in every string of `table`; `path` is the dotted key prefix used in errors.
pub(super) fn expand_table(
    table: &mut toml::Table,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    for (key, value) in table.iter_mut() {
        let here = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
        expand_value(value, &here, lookup)?;
    }
    Ok(())
}

fn expand_value(
    value: &mut toml::Value,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    match value {
        toml::Value::String(s) => *s = expand_str(s, path, lookup)?,
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                expand_value(item, &format!("{path}[{i}]"), lookup)?;
            }
        }
        toml::Value::Table(t) => expand_table(t, path, lookup)?,
        _ => {}
    }
    Ok(())
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
