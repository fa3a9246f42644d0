//! The `clanhall` binary; the command line lives in the library (`clanhall::cli`).

fn main() -> std::process::ExitCode {
    clanhall::cli::main()
}
