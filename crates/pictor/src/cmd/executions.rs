//! `pictor executions ls|show`: workflow executions, read from the
//! configured database.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use pictor_server::ExecutionView;

use super::args::ConfigArgs;

#[derive(Debug, Args)]
pub struct ExecutionsCmd {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// List the newest executions, one line each.
    Ls {
        /// Only this image's executions.
        #[arg(long)]
        image: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// Print JSON instead of lines.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Print one execution with its history, as JSON.
    Show {
        id: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

pub fn run(cmd: ExecutionsCmd) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cmd.action {
            Action::Ls { image, limit, json, config } => {
                let (db, _store) = pictor_core::open_backends(&config.load()?).await?;
                let rows = match image {
                    Some(image) => {
                        db.executions_for_image(&image).await?.into_iter().take(limit.max(0) as usize).collect()
                    }
                    None => db.list_executions(None, true, limit).await?,
                };
                let views: Vec<ExecutionView> = rows.into_iter().map(|e| ExecutionView::new(e, None)).collect();
                if json {
                    println!("{}", serde_json::to_string_pretty(&views)?);
                } else {
                    for v in &views {
                        let image = v.image_id.as_deref().unwrap_or("-");
                        let error = v.error.as_deref().unwrap_or("");
                        println!("{}  {:<9}  {}  image {image}  {}  {error}", v.id, v.status, v.start_date, v.workflow);
                    }
                }
                db.close().await;
                Ok(ExitCode::SUCCESS)
            }
            Action::Show { id, config } => {
                let (db, _store) = pictor_core::open_backends(&config.load()?).await?;
                let execution = db.get_execution(&id).await?.with_context(|| format!("no execution {id}"))?;
                let history = db.history(&id).await?;
                println!("{}", serde_json::to_string_pretty(&ExecutionView::new(execution, Some(history)))?);
                db.close().await;
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}
