//! The interpreter's side effects, made durable.
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

use std::time::Duration;

use pictor_core::AppState;
use pictor_db::{ExecutionRecord, now_ms, rfc3339_ms};
use pictor_workflow::{ExecutionContext, HistoryEvent, Host, TaskCall, TaskError};
use serde_json::{Value, json};

use crate::tasks::{self, TaskEnv};

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
