//! Running a definition once, without a server, as Step Functions Local
//! lets people do: `pictor workflow validate` and `pictor workflow run`.
//!
//! The built-in tasks need a database and a store, so a run gets throw-away
//! ones (SQLite and files in a temporary folder). The models come from the
//! given configuration's data folder, so a run after `pictor models install`
//! uses them. `--image` uploads the file to the throw-away store first and
//! starts from the input an upload would get.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use pictor_workflow::{Definition, ExecutionContext, History, HistoryEvent, Host, TaskCall, TaskError};
use serde_json::{Value, json};

use pictor_core::config::Config;
use pictor_core::{AppState, ingest};

use crate::tasks::{self, TaskEnv};
use crate::workflows::{input_for, resources};

/// Where a local run's input comes from.
pub enum LocalInput {
    /// An image file: it is stored, and the input is what an upload's would be.
    Image(PathBuf),
    /// Any JSON.
    Json(Value),
}

/// Parses and checks a definition against the built-in tasks and `map`.
pub fn validate(text: &str, map: &BTreeMap<String, String>) -> anyhow::Result<Definition> {
    let resources = resources(map)?;
    Definition::parse(text, &resources).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Runs `text` once under `config` (its data folder's models; a throw-away
/// database and store) and returns `{"status", "output", "error", "cause",
/// "history"}`.
pub async fn run(
    mut config: Config,
    text: &str,
    name: &str,
    map: &BTreeMap<String, String>,
    input: LocalInput,
) -> anyhow::Result<Value> {
    let definition = validate(text, map)?;
    let dir = tempfile::tempdir().context("creating a temporary folder for the run")?;
    config.database = format!("sqlite://{}", dir.path().join("pictor.db").display());
    config.store = dir.path().join("store").display().to_string();
    config.workflow.run_workers = false;
    config.workflow.resource_map = map.clone();
    let state = AppState::open(config).await?;
    let (input, image) = match input {
        LocalInput::Json(value) => (value, None),
        LocalInput::Image(path) => {
            let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let upload = ingest::Upload {
                bytes: bytes.into(),
                source: "cli",
                owner: None,
                name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
                description: None,
            };
            let record = ingest::ingest(&state, upload)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {} ({})", path.display(), e.detail, e.kind.as_str()))?;
            (input_for(&record), Some(record.id))
        }
    };
    let id = uuid::Uuid::now_v7().to_string();
    let host = LocalHost { state: &state, execution: id.clone(), image, history: History::new() };
    let context = ExecutionContext {
        id: format!("arn:aws:states:local:000000000000:execution:{name}:{id}"),
        name: id,
        state_machine_id: format!("arn:aws:states:local:000000000000:stateMachine:{name}"),
        state_machine_name: name.to_string(),
        start_time: pictor_db::rfc3339_ms(pictor_db::now_ms()),
        role_arn: "arn:aws:iam::000000000000:role/pictor".into(),
    };
    let outcome = pictor_workflow::execute(&definition, input, context, &host).await;
    let history = host.history.to_json();
    state.db.close().await;
    Ok(json!({
        "status": outcome.status,
        "output": outcome.output,
        "error": outcome.error,
        "cause": outcome.cause,
        "history": history.get("events").cloned().unwrap_or(history),
    }))
}

/// Runs tasks for real, keeps the history in memory.
struct LocalHost<'a> {
    state: &'a AppState,
    execution: String,
    image: Option<String>,
    history: History,
}

impl Host for LocalHost<'_> {
    async fn run_task(&self, call: TaskCall) -> Result<Value, TaskError> {
        let env = TaskEnv { state: self.state, execution: &self.execution, image: self.image.as_deref() };
        tasks::run(&env, &call).await
    }

    async fn record(&self, event: HistoryEvent) {
        self.history.push(event);
    }
}
