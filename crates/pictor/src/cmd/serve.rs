//! `pictor serve`: run the HTTP service (API, workers) until Ctrl-C/SIGTERM.
//!
//! `--role` splits one installation over many processes: `api` serves HTTP
//! and leaves the queue to others, `worker` runs only the workers (what
//! `pictor worker` does), `all` (the default) both.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Args;
use pictor_server::{Server, shutdown_signal};

use super::args::{ConfigArgs, init_logging};

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// What this process does: `all` (HTTP and workers), `api` (HTTP only:
    /// uploads, pages and on-the-fly transforms; the workflows are left to
    /// worker processes) or `worker` (workers only, no HTTP). Every process
    /// of a split installation points at the same PostgreSQL and store.
    #[arg(long, value_enum, env = "PICTOR_ROLE", default_value_t = Role::All)]
    role: Role,
}

/// What one `pictor serve` process does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Role {
    All,
    Api,
    Worker,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut config = args.config.load()?;
    match args.role {
        Role::Worker => return super::worker::run_with(config),
        Role::Api => config.workflow.run_workers = false,
        Role::All => {}
    }
    init_logging(&config);
    install_missing_models(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let server = Server::build(config).await?;
        // Signals are handled from here on, before the line says we are up.
        let shutdown = shutdown_signal();
        // Scripts wait for this exact line on stdout.
        println!("listening on http://{}", server.local_addr());
        std::io::stdout().flush()?;
        if server.runtime().db.count_users().await.unwrap_or(1) == 0 {
            eprintln!(
                "no accounts yet: create the first admin with\n  \
                 echo 'a long password' | pictor admin create-user --name admin --admin{}",
                args_hint(&server.runtime().config)
            );
        }
        server.run(shutdown).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The `--data-dir` that points `pictor admin` at this server's data.
fn args_hint(config: &pictor_core::config::Config) -> String {
    format!(" --data-dir {}", config.data_dir.display())
}

/// Fetches the vision models on first start, unless
/// `vision.install_models` is off. Failing is not fatal: the service runs,
/// and vision tasks answer `models_not_installed`.
pub(super) fn install_missing_models(config: &pictor_core::config::Config) {
    let data_dir = &config.data_dir;
    if !config.vision.install_models || pictor_vision::models::list(data_dir).iter().all(|m| m.installed) {
        return;
    }
    if let Err(e) = super::models::install(data_dir) {
        tracing::warn!(
            error = format!("{e:#}"),
            "vision models are not installed; labels, moderation, faces and text are skipped until \
             `pictor models install` succeeds (set vision.install_models = false to stop trying at start)"
        );
    }
}
