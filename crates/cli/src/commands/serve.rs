//! `deleteq serve [--addr ADDR] [--insecure-no-auth]`: the HTTP API until SIGINT or SIGTERM, then a graceful stop.

use crate::args::ServeArgs;
use crate::exit::Failure;
use deleteq_core::Config;
use deleteq_server::{ServeError, ServeOptions};

pub(crate) async fn run(config: Config, args: ServeArgs) -> Result<(), Failure> {
    let addr = match &args.addr {
        Some(text) => text.parse().map_err(|_| {
            Failure::Invalid(format!("--addr {text:?} is not a socket address (host:port, e.g. 127.0.0.1:8080)"))
        })?,
        None => config.api.addr,
    };
    let options = ServeOptions { addr, insecure_no_auth: args.insecure_no_auth };
    deleteq_server::run(config, options, super::worker::signal()).await.map_err(|e| match e {
        ServeError::Connect(c) => Failure::from(c),
        ServeError::NoTokens => Failure::Invalid(e.to_string()),
        ServeError::Bind { .. } | ServeError::Serve(_) => Failure::Runtime(e.to_string()),
    })
}
