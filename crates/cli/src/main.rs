//! The `deleteq` binary: parses arguments and hands over to the command modules.

/// mimalloc instead of the system allocator: a worker allocates small, short-lived buffers for every call, and
/// glibc's malloc was 15% of a drain's CPU (perf, `make peers` http mode).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    deleteq_cli::main()
}
