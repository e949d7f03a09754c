//! `execution.run`: runs one state machine durably, to its end.
//!
//! Resuming is simply running the execution again: the job is claimed again
//! when a dead worker's lease lapses, and [`crate::durable::DurableHost`]
//! answers the finished steps from the journal. A long sleep (a Wait, a
//! Retry's interval) suspends the same way on purpose: the job retries at
//! the wake-up time instead of holding its worker.
//!
//! Whatever the definition, the image follows its execution: if no task
//! settled it (`pictor:webhook`, `pictor:reject`), the end of the execution
//! makes it `processed` (with `image.processed`) or `failed` (with
//! `image.failed`, carrying the error), in the transaction that ends it.

use std::sync::Arc;
use std::time::Duration;

use pictor_core::domain::JobKind;
use pictor_core::domain::{EventKind, ImageStatus};
use pictor_db::{ExecutionRecord, ImageOutcome};
use pictor_workflow::{Definition, Status};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::durable::{DurableHost, context};
use crate::tasks::notify::image_payload;
use crate::{Job, Outcome, Runtime, backoff};

/// Runs (or resumes) the execution `execution`.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunExecution {
    pub execution: String,
}

impl Job for RunExecution {
    const KIND: JobKind = JobKind::RunExecution;

    async fn run(self, rt: &Arc<Runtime>, _claims: i64) -> Outcome {
        let execution = match rt.db.get_execution(&self.execution).await {
            Ok(Some(e)) if e.status == "RUNNING" => e,
            Ok(_) => return Outcome::Done, // finished already, or gone
            Err(e) => return Outcome::RetryIn(backoff(1), e.to_string()),
        };
        let definition = match definition(rt, &execution) {
            Ok(d) => d,
            Err(e) => {
                // Only a resource map changed since it started can cause this.
                let cause = format!("the execution's definition no longer loads: {e}");
                return finish(rt, &execution, End::failed("States.Runtime", &cause)).await;
            }
        };
        let host = DurableHost { state: &rt.state, execution: &execution, suspend: Default::default() };
        let run = pictor_workflow::execute(&definition, execution.input.clone(), context(&execution), &host);
        let outcome = tokio::select! {
            outcome = run => outcome,
            wake_at = host.suspend.requested() => {
                let wait = Duration::from_millis(u64::try_from(wake_at - pictor_db::now_ms()).unwrap_or(0));
                return Outcome::RetryIn(wait, format!("suspended: sleeping until {}", pictor_db::rfc3339_ms(wake_at)));
            }
        };
        let status = match outcome.status {
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        };
        let end = End { status, output: outcome.output, error: outcome.error, cause: outcome.cause };
        finish(rt, &execution, end).await
    }
}

/// The execution's definition, parsed with its workflow's resource map.
fn definition(rt: &Runtime, execution: &ExecutionRecord) -> Result<Definition, String> {
    match rt.workflows.of_execution(execution) {
        Some(workflow) => workflow.definition_for(&execution.definition),
        None => {
            let resources = crate::workflows::resources(&Default::default()).map_err(|e| e.to_string())?;
            Definition::parse(&execution.definition, &resources).map_err(|e| e.to_string())
        }
    }
}

/// How an execution ended.
struct End {
    status: &'static str,
    output: Option<Value>,
    error: Option<String>,
    cause: Option<String>,
}

impl End {
    fn failed(error: &str, cause: &str) -> Self {
        Self { status: "FAILED", output: None, error: Some(error.into()), cause: Some(cause.into()) }
    }
}

async fn finish(rt: &Runtime, execution: &ExecutionRecord, end: End) -> Outcome {
    let image = match image_outcome(rt, execution, &end).await {
        Ok(image) => image,
        Err(e) => return Outcome::RetryIn(backoff(1), format!("reading the image's state: {e}")),
    };
    let (error, cause) = (end.error.as_deref(), end.cause.as_deref());
    match rt.db.finish_execution(&execution.id, end.status, end.output.as_ref(), error, cause, image.as_ref()).await {
        Ok(_) => {
            tracing::info!(execution = %execution.id, status = end.status, error, "execution finished");
            rt.job_signal.notify_waiters();
            Outcome::Done
        }
        Err(e) => Outcome::RetryIn(backoff(1), format!("recording the end of the execution: {e}")),
    }
}

/// What the end does to the execution's image if no task settled it
/// (nothing, and no further read, when one did, as the default workflow's
/// Notify does).
async fn image_outcome(rt: &Runtime, execution: &ExecutionRecord, end: &End) -> anyhow::Result<Option<ImageOutcome>> {
    let Some(id) = &execution.image_id else { return Ok(None) };
    let Some(current) = rt.db.image_state(id).await? else { return Ok(None) };
    if current.status != ImageStatus::Processing.as_str() {
        return Ok(None);
    }
    let Some(record) = rt.db.get_image(id).await? else { return Ok(None) };
    let (status, kind) = if end.status == "SUCCEEDED" {
        (ImageStatus::Processed, EventKind::ImageProcessed)
    } else {
        (ImageStatus::Failed, EventKind::ImageFailed)
    };
    let mut payload = image_payload(&record, &current, &execution.id, status);
    if status == ImageStatus::Failed {
        payload["error"] = end.error.clone().into();
        payload["cause"] = end.cause.clone().into();
        payload["executionStatus"] = end.status.into();
    }
    Ok(Some(ImageOutcome { status: status.to_string(), kind: kind.to_string(), payload }))
}
