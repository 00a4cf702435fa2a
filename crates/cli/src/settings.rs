//! Finds and loads the config: `--config`, else `$DELETEQ_CONFIG`, else `./deleteq.toml` if present, else the
//! defaults (local Redis, no accounts). `REDIS_URL` overrides the Redis URL.

use crate::exit::Failure;
use deleteq_core::Config;
use std::path::{Path, PathBuf};

/// Loads the config the command should use.
pub(crate) fn load(explicit: Option<&Path>) -> Result<Config, Failure> {
    let path = explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("DELETEQ_CONFIG").map(PathBuf::from))
        .or_else(|| Some(PathBuf::from("deleteq.toml")).filter(|p| p.exists()));
    let mut config = match path {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Failure::Invalid(format!("config {}: {e}", path.display())))?;
            Config::from_toml(&text, |var| std::env::var(var).ok())
                .map_err(|e| Failure::Invalid(format!("config {}: {e}", path.display())))?
        }
        None => Config::default(),
    };
    if let Some(url) = std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()) {
        config.redis.url = deleteq_core::config::RedisUrl::new(url);
    }
    Ok(config)
}
