//! Workers: the loop that claims jobs from the durable queue and runs them.
//!
//! `pictor serve` runs these loops beside the HTTP server; `pictor worker`
//! runs only them, for scale-out. Each loop claims one job at a time under
//! a lease, extends the lease with heartbeats while the handler runs, and
//! then completes, retries or buries the job. A process that dies mid-job
//! simply stops heartbeating; the job is claimed again when its lease lapses,
//! so every handler is idempotent.
//!
//! Job kinds:
//! - `event.dispatch` ([`dispatch`]): starts the workflow for `image.created`
//!   and fans events out to webhook subscriptions;
//! - `execution.run` ([`execution`]): runs (or resumes) one state machine;
//! - `webhook.deliver` ([`crate::webhooks`]): one signed delivery attempt.

mod dispatch;
pub mod execution;
pub mod local;
pub mod tasks;
mod vision_tasks;

use std::sync::Arc;
use std::time::Duration;

use pictor_db::Job;
use tokio::sync::watch;
use tracing::Instrument as _;

use crate::AppState;

/// How a handler left its job.
#[derive(Debug)]
pub enum Outcome {
    /// Finished: the job is deleted.
    Done,
    /// Run it again after the delay (the error is kept on the job).
    RetryIn(Duration, String),
    /// Give up: the job is kept as `dead` for an operator.
    Failed(String),
}

/// Longest pause between polls of an idle queue.
const IDLE_POLL: Duration = Duration::from_millis(500);

/// Runs `concurrency` worker loops until `stop` turns true, then waits for
/// the jobs in hand to finish.
pub async fn run(state: Arc<AppState>, stop: watch::Receiver<bool>) {
    let name = format!("{}-{}", hostname(), uuid::Uuid::new_v4().simple());
    let loops = (0..state.config.workflow.concurrency.max(1))
        .map(|i| tokio::spawn(worker_loop(state.clone(), format!("{name}-{i}"), stop.clone())));
    futures::future::join_all(loops).await;
}

fn hostname() -> String {
    std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "worker".into())
}

async fn worker_loop(state: Arc<AppState>, worker: String, mut stop: watch::Receiver<bool>) {
    let mut idle = Duration::from_millis(20);
    while !*stop.borrow() {
        match state.db.claim(&worker, state.lease()).await {
            Ok(Some(job)) => {
                idle = Duration::from_millis(20);
                run_job(&state, &worker, job).await;
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "claiming a job failed"),
        }
        // Sleep until a local enqueue, the stop signal, or the next poll.
        tokio::select! {
            _ = state.job_signal.notified() => {}
            _ = stop.changed() => {}
            _ = tokio::time::sleep(idle) => {}
        }
        idle = (idle * 2).min(IDLE_POLL);
    }
}

/// Runs one job with heartbeats, then settles it.
async fn run_job(state: &Arc<AppState>, worker: &str, job: Job) {
    let span = tracing::info_span!("job", kind = %job.kind, id = %job.id, attempt = job.attempts);
    run_job_in_span(state, worker, job).instrument(span).await
}

async fn run_job_in_span(state: &Arc<AppState>, worker: &str, job: Job) {
    let handler = handle(state, &job);
    let heartbeat = heartbeat(state, &job.id, worker);
    tokio::pin!(handler);
    let outcome = tokio::select! {
        outcome = &mut handler => outcome,
        () = heartbeat => {
            // Another worker owns the job now; let it finish the work.
            tracing::warn!("lost the lease; abandoning the job");
            return;
        }
    };
    state.metrics.jobs_finished(&job.kind, outcome_label(&outcome));
    let settled = match &outcome {
        Outcome::Done => state.db.complete(&job.id, worker).await,
        Outcome::RetryIn(delay, error) => {
            tracing::info!(%error, ?delay, "job will be retried");
            state.db.retry_job(&job.id, worker, *delay, error).await
        }
        Outcome::Failed(error) => {
            tracing::error!(%error, "job failed for good");
            state.db.bury_job(&job.id, worker, error).await
        }
    };
    if let Err(e) = settled {
        // The lease lapses and the job runs again; handlers are idempotent.
        tracing::warn!(error = %e, "settling a job failed");
    }
}

fn outcome_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Done => "done",
        Outcome::RetryIn(..) => "retry",
        Outcome::Failed(_) => "failed",
    }
}

/// Extends the lease every third of its length; returns when it is lost.
async fn heartbeat(state: &AppState, job: &str, worker: &str) {
    let lease = state.lease();
    loop {
        tokio::time::sleep(lease / 3).await;
        match state.db.heartbeat(job, worker, lease).await {
            Ok(true) => {}
            Ok(false) => return,
            // A database blip: keep going, the lease still has two thirds left.
            Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
        }
    }
}

async fn handle(state: &Arc<AppState>, job: &Job) -> Outcome {
    let field = |name: &str| job.payload[name].as_str().unwrap_or_default().to_string();
    match job.kind.as_str() {
        pictor_db::DISPATCH_JOB => dispatch::dispatch(state, &field("event")).await,
        pictor_db::RUN_JOB => execution::run(state, &field("execution")).await,
        pictor_db::DELIVER_JOB => crate::webhooks::deliver(state, &field("delivery"), job.attempts).await,
        other => Outcome::Failed(format!("unknown job kind {other:?}")),
    }
}

/// Back-off for a handler that hit a transient error (database or store
/// down): 1 s, 2 s, 4 s … capped at 60 s.
pub fn backoff(attempts: i64) -> Duration {
    Duration::from_secs(1 << attempts.clamp(1, 7).saturating_sub(1)).min(Duration::from_secs(60))
}
