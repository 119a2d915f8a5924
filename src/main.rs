//! The `pyslim` binary: parses arguments, runs the command, turns errors into one readable
//! message and an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = pyslim::cli::Cli::parse();
    match pyslim::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
