//! `pictor admin`: administrative tasks against the configured database.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::args::ConfigArgs;

#[derive(Debug, Args)]
pub struct AdminCmd {
    #[command(subcommand)]
    action: AdminAction,
}

#[derive(Debug, Subcommand)]
enum AdminAction {
    /// Issue an API key; it is printed once and only its hash is stored.
    CreateKey {
        /// Who the key acts as: the owner of what it uploads.
        #[arg(long)]
        owner: String,
        /// Comma- or space-separated: upload, read, admin.
        #[arg(long, default_value = "upload,read")]
        scopes: String,
        /// A note to recognise the key by.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

pub fn run(cmd: AdminCmd) -> anyhow::Result<ExitCode> {
    let AdminAction::CreateKey { owner, scopes, name, config } = cmd.action;
    let config = config.load()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let key = runtime.block_on(async {
        let (db, _store) = pictor_core::open_backends(&config).await?;
        let key = pictor_core::auth::create_api_key(&db, &owner, &scopes.replace(',', " "), name).await;
        db.close().await;
        key
    })?;
    eprintln!(
        "created key {} for {} with scopes {:?}; store it now, it is not shown again:",
        key.record.id, key.record.owner, key.record.scopes
    );
    println!("{}", key.secret);
    Ok(ExitCode::SUCCESS)
}
