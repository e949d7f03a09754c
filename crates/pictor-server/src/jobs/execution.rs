//! `execution.run`: runs one state machine durably.
//!
//! The interpreter (`pictor-workflow`) is pure; [`DurableHost`] gives it its
//! side effects and makes them survive a crash:
//! - every task attempt's result is journalled under its replay key before
//!   the interpreter sees it, so a resumed execution answers finished tasks
//!   from the journal instead of running them again;
//! - history events are stored under their keys with `ON CONFLICT DO
//!   NOTHING`, so a replay adds only what is new;
//! - a sleep's deadline is journalled on first sight, so a resumed Wait
//!   waits only for what is left.
//!
//! Resuming is simply running the execution again: the job that runs it is
//! claimed again when a dead worker's lease lapses.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use pictor_db::{ExecutionRecord, ImageRecord, now_ms, rfc3339_ms};
use pictor_workflow::{Definition, ExecutionContext, HistoryEvent, Host, Resources, Status, TaskCall, TaskError};
use serde_json::{Value, json};

use super::tasks::{self, TaskEnv};
use super::{Outcome, backoff};
use crate::AppState;

/// The default workflow, shipped with Pictor.
pub const DEFAULT_DEFINITION: &str = include_str!("default_workflow.json");

/// The state machine run for every upload, validated at start.
pub struct Workflow {
    pub name: String,
    pub text: String,
    pub resources: Resources,
    pub definition: Definition,
}

impl Workflow {
    /// Loads `workflow.definition` (or the default) and checks it against the
    /// built-in tasks and the resource map.
    pub fn from_config(config: &crate::config::WorkflowConfig) -> anyhow::Result<Self> {
        let resources = resources(&config.resource_map)?;
        let (name, text) = if config.definition.is_empty() {
            ("default".to_string(), DEFAULT_DEFINITION.to_string())
        } else {
            let path = std::path::Path::new(&config.definition);
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading workflow.definition {}: check the path", path.display()))?;
            let name = path.file_stem().map_or("custom".into(), |s| s.to_string_lossy().into_owned());
            (name, text)
        };
        let definition = Definition::parse(&text, &resources)
            .map_err(|e| anyhow::anyhow!("the workflow definition {name:?} is invalid:\n{e}"))?;
        Ok(Self { name, text, resources, definition })
    }
}

/// The built-in tasks plus the configured aliases.
pub fn resources(map: &std::collections::BTreeMap<String, String>) -> anyhow::Result<Resources> {
    Resources::new(tasks::BUILTINS.iter().copied())
        .with_map(map.clone())
        .map_err(|e| anyhow::anyhow!("workflow.resource_map: {e}; built-in tasks are {}", tasks::BUILTINS.join(", ")))
}

/// The input an upload's execution starts with.
pub fn input_for(image: &ImageRecord) -> Value {
    json!({
        "imageId": image.id,
        "owner": image.owner,
        "sha256": image.sha256,
        "format": image.format,
        "width": image.width,
        "height": image.height,
        "bytes": image.bytes,
        "source": image.source,
        "uploadTime": image.created_at,
    })
}

/// Starts the configured workflow for an image; `cause` (an event id, or
/// `reprocess:…`) makes a repeated start a no-op. Returns the execution,
/// or `None` when the image is gone or the cause already started one.
pub async fn start_for_image(state: &AppState, image: &str, cause: &str) -> anyhow::Result<Option<ExecutionRecord>> {
    let Some(record) = state.db.get_image(image).await? else { return Ok(None) };
    let execution = ExecutionRecord {
        id: uuid::Uuid::now_v7().to_string(),
        image_id: Some(record.id.clone()),
        owner: record.owner.clone(),
        workflow: state.workflow.name.clone(),
        definition: state.workflow.text.clone(),
        cause_id: cause.to_string(),
        status: "RUNNING".into(),
        input: input_for(&record),
        output: None,
        error: None,
        cause: None,
        started_at: now_ms(),
        stopped_at: None,
    };
    let created = state.db.start_execution(&execution).await?;
    state.job_signal.notify_waiters();
    Ok(created.then_some(execution))
}

/// The `execution.run` job: runs or resumes the execution to its end.
pub async fn run(state: &Arc<AppState>, id: &str) -> Outcome {
    let execution = match state.db.get_execution(id).await {
        Ok(Some(e)) if e.status == "RUNNING" => e,
        Ok(_) => return Outcome::Done, // finished already, or gone
        Err(e) => return Outcome::RetryIn(backoff(1), e.to_string()),
    };
    // Nearly always the configured workflow, already parsed at start; an
    // execution started under an older config brings its own text.
    let parsed = if execution.definition == state.workflow.text {
        Ok(state.workflow.definition.clone())
    } else {
        Definition::parse(&execution.definition, &state.workflow.resources)
    };
    let definition = match parsed {
        Ok(d) => d,
        Err(e) => {
            // Only a resource map changed since it started can cause this.
            let cause = format!("the execution's definition no longer loads: {e}");
            return finish(state, &execution, "FAILED", None, Some("States.Runtime"), Some(&cause)).await;
        }
    };
    let host = DurableHost { state, execution: &execution };
    let outcome = pictor_workflow::execute(&definition, execution.input.clone(), context(&execution), &host).await;
    let status = match outcome.status {
        Status::Succeeded => "SUCCEEDED",
        Status::Failed => "FAILED",
        Status::TimedOut => "TIMED_OUT",
        Status::Aborted => "ABORTED",
    };
    finish(state, &execution, status, outcome.output.as_ref(), outcome.error.as_deref(), outcome.cause.as_deref()).await
}

async fn finish(
    state: &AppState,
    execution: &ExecutionRecord,
    status: &str,
    output: Option<&Value>,
    error: Option<&str>,
    cause: Option<&str>,
) -> Outcome {
    match state.db.finish_execution(&execution.id, status, output, error, cause).await {
        Ok(_) => {
            tracing::info!(execution = %execution.id, status, error, "execution finished");
            Outcome::Done
        }
        Err(e) => Outcome::RetryIn(backoff(1), format!("recording the end of the execution: {e}")),
    }
}

/// The context object (`$$`) for an execution, AWS-shaped.
pub fn context(execution: &ExecutionRecord) -> ExecutionContext {
    let machine = format!("arn:aws:states:local:000000000000:stateMachine:{}", execution.workflow);
    ExecutionContext {
        id: format!("arn:aws:states:local:000000000000:execution:{}:{}", execution.workflow, execution.id),
        name: execution.id.clone(),
        state_machine_id: machine,
        state_machine_name: execution.workflow.clone(),
        start_time: rfc3339_ms(execution.started_at),
        role_arn: "arn:aws:iam::000000000000:role/pictor".into(),
    }
}

/// Side effects for the interpreter, journalled in the database.
pub struct DurableHost<'a> {
    pub state: &'a AppState,
    pub execution: &'a ExecutionRecord,
}

impl Host for DurableHost<'_> {
    async fn run_task(&self, call: TaskCall) -> Result<Value, TaskError> {
        let key = format!("task:{}", call.key);
        let db = &self.state.db;
        match db.journal_entry(&self.execution.id, &key).await {
            Ok(Some((ok, value))) => return from_journal(ok, value),
            Ok(None) => {}
            Err(e) => return Err(TaskError { error: "pictor.Unavailable".into(), cause: e.to_string() }),
        }
        let env =
            TaskEnv { state: self.state, execution: &self.execution.id, image: self.execution.image_id.as_deref() };
        let result = tasks::run(&env, &call).await;
        let (ok, value) = match &result {
            Ok(v) => (true, v.clone()),
            Err(e) => (false, json!({ "error": e.error, "cause": e.cause })),
        };
        // The first journalled result counts: after a lost lease, two runs
        // may race, and both must go on from the same answer.
        match db.journal(&self.execution.id, &key, ok, &value).await {
            Ok((ok, value)) => from_journal(ok, value),
            Err(e) => {
                tracing::warn!(error = %e, "journalling a task result failed; it will run again on resume");
                result
            }
        }
    }

    async fn record(&self, event: HistoryEvent) {
        let result = self
            .state
            .db
            .append_history(self.execution, &event.key, &event.kind, event.state.as_deref(), &event.details)
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, kind = %event.kind, "recording a history event failed");
        }
    }

    async fn sleep(&self, key: &str, duration: Duration) {
        let wake_at = now_ms() + i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 2);
        let key = format!("sleep:{key}");
        let wake_at = match self.state.db.journal(&self.execution.id, &key, true, &json!(wake_at)).await {
            Ok((_, value)) => value.as_i64().unwrap_or(wake_at),
            Err(_) => wake_at,
        };
        let left = u64::try_from(wake_at - now_ms()).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(left)).await;
    }
}

fn from_journal(ok: bool, value: Value) -> Result<Value, TaskError> {
    if ok {
        return Ok(value);
    }
    let text = |k: &str| value.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    Err(TaskError { error: text("error"), cause: text("cause") })
}
