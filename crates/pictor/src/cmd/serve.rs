//! `pictor serve`: run the HTTP service (API, workers) until Ctrl-C/SIGTERM.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use pictor_core::config::{Config, Sources};
use pictor_server::{Server, shutdown_signal};
use tracing_subscriber::EnvFilter;

/// Where the configuration comes from; shared by every command that reads it.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// A TOML config file (see `pictor config defaults`).
    #[arg(long, short = 'c', env = "PICTOR_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:8080; port 0 picks a free one. [env: PICTOR_LISTEN]
    #[arg(long)]
    listen: Option<String>,
    /// Folder for the SQLite database and local blobs. [env: PICTOR_DATA_DIR]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Records database: sqlite://PATH or postgres://… [env: PICTOR_DATABASE]
    #[arg(long)]
    database: Option<String>,
    /// Blob store: a folder or s3://bucket?endpoint=… [env: PICTOR_STORE]
    #[arg(long)]
    store: Option<String>,
    /// Log as JSON lines. [env: PICTOR_LOG__FORMAT=json]
    #[arg(long)]
    log_json: bool,
}

impl ConfigArgs {
    /// Defaults, then the file, then `PICTOR_*`, then these flags.
    pub fn load(&self) -> anyhow::Result<Config> {
        let mut flags = serde_json::Map::new();
        let mut set = |key: &str, value: Option<serde_json::Value>| {
            if let Some(v) = value {
                flags.insert(key.to_string(), v);
            }
        };
        set("listen", self.listen.clone().map(Into::into));
        set("data_dir", self.data_dir.as_ref().map(|p| p.display().to_string().into()));
        set("database", self.database.clone().map(Into::into));
        set("store", self.store.clone().map(Into::into));
        if self.log_json {
            set("log", Some(serde_json::json!({ "format": "json" })));
        }
        Config::load(Sources { file: self.config.as_deref(), env: true, flags: Some(flags.into()) })
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    init_logging(&config);
    if config.vision.install_models {
        install_missing_models(&config.data_dir);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let server = Server::build(config).await?;
        // Signals are handled from here on, before the line says we are up.
        let shutdown = shutdown_signal();
        // Scripts wait for this exact line on stdout.
        println!("listening on http://{}", server.local_addr());
        std::io::stdout().flush()?;
        server.run(shutdown).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Fetches the vision models on first start. Failing is not fatal: the
/// service runs, and vision tasks answer `models_not_installed`.
fn install_missing_models(data_dir: &std::path::Path) {
    if pictor_vision::models::list(data_dir).iter().all(|m| m.installed) {
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

pub fn init_logging(config: &Config) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log.filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if config.log.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
