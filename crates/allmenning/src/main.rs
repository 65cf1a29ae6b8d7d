//! The `allmenning` command. Everything happens in the library, so tests run the same code.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    allmenning::cli::main()
}
