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
//!   waits only for what is left;
//! - a sleep of [`SUSPEND_AT`] or more while no task is running suspends
//!   the execution instead of holding its worker: the host reports the
//!   wake-up time through [`Suspend`], the job ends with a retry at that
//!   time, and the execution resumes from the journal then. A bundle
//!   waiting hours for an archive restore holds no worker meanwhile.

use std::sync::atomic::{AtomicUsize, Ordering};
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

/// Sleeps at least this long suspend the execution (when no task runs).
pub const SUSPEND_AT: Duration = Duration::from_secs(1);

/// Side effects for the interpreter, journalled in the database.
pub struct DurableHost<'a> {
    pub state: &'a AppState,
    pub execution: &'a ExecutionRecord,
    pub suspend: Suspend,
}

/// How a host asks its job to suspend the execution until a time.
#[derive(Default)]
pub struct Suspend {
    /// Tasks running now (in any Parallel or Map branch).
    running: AtomicUsize,
    /// The earliest wake-up asked for, Unix ms.
    until: tokio::sync::watch::Sender<Option<i64>>,
}

impl Suspend {
    /// Resolves with the wake-up time (Unix ms) once a sleep asks to
    /// suspend; the execution's future is then dropped (everything it did
    /// is journalled) and run again from the journal at that time.
    pub async fn requested(&self) -> i64 {
        let mut until = self.until.subscribe();
        let asked = until.wait_for(Option::is_some).await.map(|v| v.unwrap_or_default());
        asked.unwrap_or_default()
    }

    fn request(&self, wake_at: i64) {
        self.until.send_if_modified(|until| {
            let earlier = until.is_none_or(|u| wake_at < u);
            if earlier {
                *until = Some(wake_at);
            }
            earlier
        });
    }
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
        self.suspend.running.fetch_add(1, Ordering::SeqCst);
        let result = tasks::run(&env, &call).await;
        self.suspend.running.fetch_sub(1, Ordering::SeqCst);
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
        let left = Duration::from_millis(u64::try_from(wake_at - now_ms()).unwrap_or(0));
        // Suspended here before: the queue held the job until the wake-up
        // (or a test brought it forward on purpose), so the sleep is over.
        let suspended = format!("suspended:{key}");
        if let Ok(Some(_)) = self.state.db.journal_entry(&self.execution.id, &suspended).await {
            return;
        }
        if left >= SUSPEND_AT
            && self.suspend.running.load(Ordering::SeqCst) == 0
            && self.state.db.journal(&self.execution.id, &suspended, true, &json!(wake_at)).await.is_ok()
        {
            self.suspend.request(wake_at);
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(left).await;
    }
}

fn from_journal(ok: bool, value: Value) -> Result<Value, TaskError> {
    if ok {
        return Ok(value);
    }
    let text = |k: &str| value.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    Err(TaskError { error: text("error"), cause: text("cause") })
}
