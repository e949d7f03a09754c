//! The flags every command that reads the configuration shares
//! ([`ConfigArgs`]), and logging set up from that configuration.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use clap::Args;
use pictor_core::config::{Config, Sources};
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
    /// Lay the config file's `[profiles.NAME]` table over it, e.g. staging
    /// or production: its own database, store, Stripe keys and sender.
    #[arg(long, env = "PICTOR_PROFILE")]
    profile: Option<String>,
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
        Config::load(Sources {
            file: self.config.as_deref(),
            env: true,
            flags: Some(flags.into()),
            profile: self.profile.as_deref(),
        })
    }
}

/// Logs to stderr with `log.filter` (or `RUST_LOG`), as text or JSON lines.
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
