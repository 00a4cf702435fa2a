//! Finds and loads the config: `--config`, else `$DELETEQ_CONFIG`, else `./deleteq.toml` if present; with none of
//! them a command refuses to run (exit 2) rather than fall back to a Redis at 127.0.0.1:6379 it was never told
//! about. `REDIS_URL` overrides the Redis URL.
//!
//! Each command resolves only the `${VAR}`s of the fields it uses ([`Needs`]): a worker needs the providers'
//! credentials, `serve` its API tokens, a producer neither.

use crate::exit::Failure;
use deleteq_core::config::Needs;
use deleteq_core::Config;
use std::path::{Path, PathBuf};

/// Where the config was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// `--config FILE`.
    Flag,
    /// `$DELETEQ_CONFIG`.
    Env,
    /// `./deleteq.toml`.
    WorkingDir,
}

impl Source {
    /// How the source is written in messages and `config check --json`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Source::Flag => "--config",
            Source::Env => "$DELETEQ_CONFIG",
            Source::WorkingDir => "./deleteq.toml",
        }
    }
}

/// A loaded config and where it came from.
pub(crate) struct Loaded {
    pub(crate) config: Config,
    pub(crate) path: PathBuf,
    pub(crate) source: Source,
    /// Whether `REDIS_URL` replaced `[redis] url`.
    pub(crate) redis_url_from_env: bool,
}

/// The config file the command should use, or the refusal that says where it looked and how to get one.
pub(crate) fn locate(explicit: Option<&Path>) -> Result<(PathBuf, Source), Failure> {
    if let Some(path) = explicit {
        return Ok((path.to_path_buf(), Source::Flag));
    }
    if let Some(path) = std::env::var_os("DELETEQ_CONFIG").filter(|p| !p.is_empty()) {
        return Ok((PathBuf::from(path), Source::Env));
    }
    let local = PathBuf::from("deleteq.toml");
    if local.exists() {
        return Ok((local, Source::WorkingDir));
    }
    let here = std::env::current_dir().map(|d| d.join("deleteq.toml").display().to_string());
    let here = here.unwrap_or_else(|_| "./deleteq.toml".into());
    Err(Failure::Invalid(format!(
        "no config: looked for --config FILE (not given), $DELETEQ_CONFIG (not set) and {here} (no such file).\n\
         Write one with `deleteq config example > deleteq.toml` (the annotated deploy/deleteq.example.toml), edit \
         it, and check it with `deleteq config check`; or pass --config FILE."
    )))
}

/// Loads the config the command should use, resolving the variables of the fields in `needs`.
pub(crate) fn load(explicit: Option<&Path>, needs: Needs) -> Result<Config, Failure> {
    load_from(explicit, needs).map(|loaded| loaded.config)
}

/// [`load`], saying where the config came from (for `config check`).
pub(crate) fn load_from(explicit: Option<&Path>, needs: Needs) -> Result<Loaded, Failure> {
    let (path, source) = locate(explicit)?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Failure::Invalid(format!("config {} ({}): {e}", path.display(), source.as_str())))?;
    let mut config = Config::from_toml_for(&text, |var| std::env::var(var).ok(), needs)
        .map_err(|e| Failure::Invalid(format!("config {}: {e}", path.display())))?;
    let override_url = std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty());
    let redis_url_from_env = override_url.is_some();
    if let Some(url) = override_url {
        config.redis.url = deleteq_core::config::RedisUrl::new(url);
    }
    Ok(Loaded { config, path, source, redis_url_from_env })
}
