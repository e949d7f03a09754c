//! `pictor workflow validate|run`: try a state machine locally, as Step
//! Functions Local lets people do. `run` needs no server: built-in tasks
//! run against a throw-away database and store, with the models of the
//! configured data folder (`--config`, `--data-dir`, `PICTOR_*`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use pictor_jobs::local::{self, LocalInput};

use super::args::ConfigArgs;

#[derive(Debug, Args)]
pub struct WorkflowCmd {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Check a definition (JSON or YAML Amazon States Language); lists every problem.
    Validate {
        file: PathBuf,
        /// JSON object mapping Resource strings (ARNs, ${…} placeholders) to built-in tasks.
        #[arg(long)]
        resource_map: Option<PathBuf>,
    },
    /// Run a definition once and print the execution as JSON:
    /// {"status", "output", "error", "cause", "history"}.
    Run {
        file: PathBuf,
        /// Start from the input an upload of this image would get.
        #[arg(long, conflicts_with = "input", required_unless_present = "input")]
        image: Option<PathBuf>,
        /// Start from this JSON file's contents.
        #[arg(long)]
        input: Option<PathBuf>,
        /// Defaults to the configuration's `workflow.resource_map`.
        #[arg(long)]
        resource_map: Option<PathBuf>,
        /// Where the models come from (the data folder); the database and
        /// store of the run are always throw-away ones.
        #[command(flatten)]
        config: ConfigArgs,
    },
}

fn read_map(path: Option<&Path>) -> anyhow::Result<BTreeMap<String, String>> {
    let Some(path) = path else { return Ok(BTreeMap::new()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!("{}: a resource map is a JSON object of strings to built-in task names", path.display())
    })
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

pub fn run(cmd: WorkflowCmd) -> anyhow::Result<ExitCode> {
    match cmd.action {
        Action::Validate { file, resource_map } => {
            let map = read_map(resource_map.as_deref())?;
            match local::validate(&read(&file)?, &map) {
                Ok(_) => {
                    println!("{}: valid", file.display());
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("{}: invalid", file.display());
                    for line in e.to_string().lines() {
                        eprintln!("  {line}");
                    }
                    Ok(ExitCode::from(1))
                }
            }
        }
        Action::Run { file, image, input, resource_map, config } => {
            let config = config.load()?;
            let map = match resource_map {
                Some(path) => read_map(Some(&path))?,
                None => config.workflow.resource_map.clone(),
            };
            let text = read(&file)?;
            let input = match (image, input) {
                (Some(image), _) => LocalInput::Image(image),
                (None, Some(input)) => {
                    let text = read(&input)?;
                    LocalInput::Json(
                        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", input.display()))?,
                    )
                }
                (None, None) => unreachable!("clap requires --image or --input"),
            };
            let name = file.file_stem().map_or("local".into(), |s| s.to_string_lossy().into_owned());
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            let result = runtime.block_on(local::run(config, &text, &name, &map, input))?;
            println!("{}", serde_json::to_string_pretty(&result)?);
            Ok(if result["status"] == "SUCCEEDED" { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}
