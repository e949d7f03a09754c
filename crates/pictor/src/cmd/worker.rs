//! `pictor worker`: run only the workers (no HTTP), for scale-out. Point
//! every process at the same PostgreSQL and S3-compatible store; each claims
//! jobs from the shared queue.

use std::process::ExitCode;

use clap::Args;

use super::args::{ConfigArgs, init_logging};

#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Take only these job kinds or families, e.g. `--only style` for a
    /// style-render worker on a bigger machine. [config: workflow.only]
    #[arg(long, value_delimiter = ',', conflicts_with = "except")]
    only: Vec<String>,
    /// Leave these job kinds or families to other workers. [config: workflow.except]
    #[arg(long, value_delimiter = ',')]
    except: Vec<String>,
}

pub fn run(args: WorkerArgs) -> anyhow::Result<ExitCode> {
    let mut config = args.config.load()?;
    if !args.only.is_empty() {
        (config.workflow.only, config.workflow.except) = (args.only, Vec::new());
    }
    if !args.except.is_empty() {
        (config.workflow.only, config.workflow.except) = (Vec::new(), args.except);
    }
    run_with(config)
}

/// Runs the workers of `config` until Ctrl-C/SIGTERM. They run the vision
/// steps, so they fetch missing models at start as `serve` does.
pub(super) fn run_with(config: pictor_core::config::Config) -> anyhow::Result<ExitCode> {
    init_logging(&config);
    super::serve::install_missing_models(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let jobs = pictor_jobs::Runtime::open(config).await?;
        tracing::info!(concurrency = jobs.config.workflow.concurrency, kinds = ?jobs.kinds, "worker running");
        jobs.run_worker(pictor_server::shutdown_signal()).await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
