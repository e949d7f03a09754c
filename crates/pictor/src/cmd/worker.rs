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
}

pub fn run(args: WorkerArgs) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    init_logging(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let jobs = pictor_jobs::Runtime::open(config).await?;
        tracing::info!(concurrency = jobs.config.workflow.concurrency, "worker running");
        jobs.run_worker(pictor_server::shutdown_signal()).await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
