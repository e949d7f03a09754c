//! The `pictor` command: a thin shell over the library crates.
//! Each subcommand lives in `cmd/`, parses its flags with clap, and maps
//! failures to exit codes: 0 success, 1 some input failed, 2 bad usage.

mod cmd;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cmd::Cli::parse();
    pictor_imaging::quiet_guarded_panics();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
