//! The `deleteq` binary: parses arguments and hands over to the command modules.

fn main() -> std::process::ExitCode {
    deleteq_cli::main()
}
