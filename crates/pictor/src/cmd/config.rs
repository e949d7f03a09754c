//! `pictor config`: print the configuration.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use pictor_core::config::Config;

use super::args::ConfigArgs;

#[derive(Debug, Args)]
pub struct ConfigCmd {
    #[command(subcommand)]
    action: ConfigAction,
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Print every setting with its default value, as TOML.
    Defaults,
    /// Print the settings in effect (file, then PICTOR_* variables, then flags).
    Show(ConfigArgs),
}

pub fn run(cmd: ConfigCmd) -> anyhow::Result<ExitCode> {
    let text = match cmd.action {
        ConfigAction::Defaults => Config::default().to_commented_toml(),
        ConfigAction::Show(args) => args.load()?.to_toml(),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}
