//! `deleteq completions SHELL` and `deleteq man [--dir DIR]`: the shell completions and man pages, generated from
//! the same clap grammar that parses the command line, so they can never describe another version of it.
//! `make install` puts both in place.

use crate::args::Cli;
use crate::exit::Failure;
use clap::CommandFactory;
use std::path::Path;

/// Writes the completion script for `shell` to stdout.
pub(crate) fn completions(shell: clap_complete::Shell) -> Result<(), Failure> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "deleteq", &mut std::io::stdout());
    Ok(())
}

/// Writes `deleteq.1` to stdout, or with `dir` one page per command (and subcommand) into that directory.
pub(crate) fn man(dir: Option<&Path>) -> Result<(), Failure> {
    let command = Cli::command();
    match dir {
        Some(dir) => {
            let cannot =
                |e: std::io::Error| Failure::Runtime(format!("cannot write man pages into {}: {e}", dir.display()));
            std::fs::create_dir_all(dir).map_err(cannot)?;
            clap_mangen::generate_to(command, dir).map_err(cannot)?;
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .map_err(|e| Failure::Runtime(format!("cannot render the man page: {e}")))?;
            use std::io::Write;
            std::io::stdout().write_all(&page).map_err(|e| Failure::Runtime(format!("cannot write: {e}")))?;
        }
    }
    Ok(())
}
