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
    /// Create an account for the web app; the password is read from the
    /// first line of standard input (`echo "$PW" | pictor admin create-user
    /// --name alice --admin`).
    CreateUser {
        /// The account's name: the owner of what it uploads.
        #[arg(long)]
        name: String,
        /// May see everything and moderate.
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

pub fn run(cmd: AdminCmd) -> anyhow::Result<ExitCode> {
    match cmd.action {
        AdminAction::CreateKey { owner, scopes, name, config } => create_key(owner, scopes, name, config),
        AdminAction::CreateUser { name, admin, config } => create_user(name, admin, config),
    }
}

/// Runs `work` against the configured database, closing it after.
fn with_db<T>(config: ConfigArgs, work: impl AsyncFnOnce(&pictor_db::Db) -> anyhow::Result<T>) -> anyhow::Result<T> {
    let config = config.load()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let (db, _store) = pictor_core::open_backends(&config).await?;
        let result = work(&db).await;
        db.close().await;
        result
    })
}

fn create_key(owner: String, scopes: String, name: Option<String>, config: ConfigArgs) -> anyhow::Result<ExitCode> {
    let key = with_db(config, async |db| {
        pictor_core::auth::create_api_key(db, &owner, &scopes.replace(',', " "), name).await
    })?;
    eprintln!(
        "created key {} for {} with scopes {:?}; store it now, it is not shown again:",
        key.record.id, key.record.owner, key.record.scopes
    );
    println!("{}", key.secret);
    Ok(ExitCode::SUCCESS)
}

fn create_user(name: String, admin: bool, config: ConfigArgs) -> anyhow::Result<ExitCode> {
    use pictor_core::accounts::{Password, Username, create_user};
    let name = Username::parse(&name).map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = Password::parse(line.trim_end_matches(['\r', '\n']))
        .map_err(|e| anyhow::anyhow!("{} (read from the first line of standard input)", e.detail))?;
    let user = with_db(config, async |db| {
        create_user(db, &name, Some(&password), admin).await.map_err(|e| anyhow::anyhow!("{}", e.detail))
    })?;
    let role = if user.admin { "an admin" } else { "a user" };
    eprintln!("created {role} account {:?}; it signs in at /login", user.name);
    Ok(ExitCode::SUCCESS)
}
