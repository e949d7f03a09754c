//! Pictor's job runtime: typed background jobs on the durable queue.
//!
//! # Layout
//! - this file: the [`Job`] trait, the [`Runtime`] (the shared state plus
//!   the loaded workflows), the one registry of job types (`handle`, one
//!   arm per `JobKind`), the worker loop, and [`Runtime::drain`] for tests.
//! - `jobs/`: one file per job kind: `dispatch.rs` (an event starts the
//!   workflows configured for it and fans out to webhooks),
//!   `run_execution.rs` (runs one state machine durably),
//!   `deliver_webhook.rs` (one signed delivery attempt), `archive_blob.rs`
//!   (an original to the archive tier, and the lifecycle sweep that queues
//!   these), `restore_blob.rs` (an archived original back hot),
//!   `notify_bundle.rs` (a bundle's link to the address left for it),
//!   `import_run.rs` (an import, page by page from its cursor),
//!   `style_render.rs` (a shop order's picture: a kind of its own, so that
//!   `pictor worker --only style` processes can take these alone).
//! - `workflows.rs`: which named workflow each event kind starts, and the
//!   definitions, loaded and checked at start.
//! - `durable.rs`: the interpreter's side effects, journalled in the database.
//! - `tasks/`: one file per built-in `pictor:*` task.
//! - `local.rs`: `pictor workflow run`, one execution without a server.
//!
//! # How a job runs
//! `pictor serve` runs the worker loops beside the HTTP server; `pictor
//! worker` runs only them. Each loop claims one job under a lease, extends
//! the lease with heartbeats while the job runs, then completes, retries or
//! buries it. A process that dies mid-job stops heartbeating; the job is
//! claimed again when its lease lapses, so every job is idempotent.
//!
//! **Invariant:** this crate knows no HTTP. A new job kind is one file with
//! a `Job` impl, one `JobKind` variant and one arm in `handle`.

pub mod durable;
pub mod jobs;
pub mod local;
pub mod tasks;
pub mod workflows;

use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pictor_core::AppState;
use pictor_core::domain::JobKind;
use pictor_db::{Job as QueuedJob, NewJob};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tracing::Instrument as _;

pub use jobs::archive_blob::ArchiveBlob;
pub use jobs::deliver_webhook::DeliverWebhook;
pub use jobs::dispatch::Dispatch;
pub use jobs::import_run::ImportRun;
pub use jobs::notify_bundle::NotifyBundle;
pub use jobs::restore_blob::RestoreBlob;
pub use jobs::run_execution::RunExecution;
pub use jobs::style_render::StyleRender;
pub use workflows::Workflows;

/// How a job left its work.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Finished: the job is deleted.
    Done,
    /// Run it again after the delay (the error is kept on the job).
    RetryIn(Duration, String),
    /// Give up: the job is kept as `dead` for an operator.
    Failed(String),
}

/// A kind of background job: a name, a typed payload (the implementing
/// type itself, stored as JSON) and what running it does.
pub trait Job: Serialize + DeserializeOwned + Send + Sized + 'static {
    /// The kind stored with each queued job of this type.
    const KIND: JobKind;

    /// Does the work; `claims` counts how often the job was claimed
    /// (1 on the first run).
    fn run(self, rt: &Arc<Runtime>, claims: i64) -> impl Future<Output = Outcome> + Send;

    /// This job as a queue row, deduplicated on `dedupe` when given.
    fn queued(&self, dedupe: Option<String>) -> NewJob {
        let payload = serde_json::to_value(self).expect("job payloads serialise");
        NewJob { kind: Self::KIND.as_str().to_string(), payload, dedupe }
    }
}

/// Runs a queued job of whichever kind it is: the one registry of job
/// types, one arm per [`JobKind`].
async fn handle(rt: &Arc<Runtime>, job: &QueuedJob) -> Outcome {
    match JobKind::parse(&job.kind) {
        Ok(JobKind::Dispatch) => run_typed::<Dispatch>(rt, job).await,
        Ok(JobKind::RunExecution) => run_typed::<RunExecution>(rt, job).await,
        Ok(JobKind::DeliverWebhook) => run_typed::<DeliverWebhook>(rt, job).await,
        Ok(JobKind::ArchiveBlob) => run_typed::<ArchiveBlob>(rt, job).await,
        Ok(JobKind::RestoreBlob) => run_typed::<RestoreBlob>(rt, job).await,
        Ok(JobKind::NotifyBundle) => run_typed::<NotifyBundle>(rt, job).await,
        Ok(JobKind::ImportRun) => run_typed::<ImportRun>(rt, job).await,
        Ok(JobKind::StyleRender) => run_typed::<StyleRender>(rt, job).await,
        Err(e) => Outcome::Failed(e.detail),
    }
}

async fn run_typed<J: Job>(rt: &Arc<Runtime>, job: &QueuedJob) -> Outcome {
    match serde_json::from_value::<J>(job.payload.clone()) {
        Ok(typed) => typed.run(rt, job.attempts).await,
        Err(e) => Outcome::Failed(format!("{} payload {} is invalid: {e}", J::KIND.as_str(), job.payload)),
    }
}

/// The shared state plus what the jobs need beyond it: the workflows.
/// Dereferences to [`AppState`].
pub struct Runtime {
    pub state: Arc<AppState>,
    pub workflows: Workflows,
    /// The kinds of job this process's worker loops claim
    /// (`workflow.only`, `workflow.except`).
    pub kinds: pictor_db::KindFilter,
}

impl Deref for Runtime {
    type Target = AppState;
    fn deref(&self) -> &AppState {
        &self.state
    }
}

impl Runtime {
    /// Loads and checks the configured workflows and tells the database
    /// which events to hand to the dispatcher (the outbox).
    pub fn new(state: Arc<AppState>) -> anyhow::Result<Arc<Self>> {
        let workflows = Workflows::from_config(&state.config)?;
        let kinds = kind_filter(&state.config.workflow)?;
        state.db.set_outbox(pictor_db::Outbox::new(Dispatch::KIND.as_str(), workflows.dispatched_kinds()));
        Ok(Arc::new(Self { state, workflows, kinds }))
    }

    /// Opens the backends a config names, then [`Runtime::new`].
    pub async fn open(config: pictor_core::Config) -> anyhow::Result<Arc<Self>> {
        Self::new(AppState::open(config).await?)
    }

    /// Runs `workflow.concurrency` worker loops until `stop` turns true,
    /// then waits for the jobs in hand to finish.
    pub async fn run(self: Arc<Self>, stop: watch::Receiver<bool>) {
        let name = format!("{}-{}", hostname(), uuid::Uuid::new_v4().simple());
        let listener = tokio::spawn(listen_for_jobs(self.clone(), stop.clone()));
        let poller = Arc::new(AtomicBool::new(false));
        let loops = (0..self.config.workflow.concurrency.max(1))
            .map(|i| tokio::spawn(worker_loop(self.clone(), format!("{name}-{i}"), stop.clone(), poller.clone())));
        futures::future::join_all(loops).await;
        let _ = listener.await;
    }

    /// Runs every job that is due, and those they enqueue, until none is
    /// due; returns how many ran. Jobs retried for later are left. For
    /// tests: wait for the effects of an upload without sleeping.
    pub async fn drain(self: &Arc<Self>) -> usize {
        let worker = format!("drain-{}", uuid::Uuid::new_v4().simple());
        let mut ran = 0;
        loop {
            match self.db.claim(&worker, self.lease()).await {
                Ok(Some(job)) => {
                    run_job(self, &worker, job).await;
                    ran += 1;
                }
                Ok(None) => return ran,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming a job failed while draining");
                    return ran;
                }
            }
        }
    }

    /// Runs the queue until no job is left, bringing each job that waits
    /// for later forward (a retry, say) instead of sleeping until it is
    /// due; returns the waits it skipped, in order. For tests of schedules.
    /// Stops after `MAX_SETTLE_ROUNDS` rounds, for a job that keeps
    /// rescheduling itself.
    pub async fn settle(self: &Arc<Self>) -> pictor_db::Result<Vec<Duration>> {
        let mut skipped = Vec::new();
        for _ in 0..MAX_SETTLE_ROUNDS {
            self.drain().await;
            let Some(wait) = self.db.next_due_in().await? else { break };
            if !wait.is_zero() {
                self.db.bring_forward(wait).await?;
                skipped.push(wait);
            }
        }
        Ok(skipped)
    }

    /// The core's housekeeping plus what needs jobs: the lifecycle sweep
    /// (`lifecycle.archive_originals`) every minute, until `stop` turns true.
    pub async fn housekeeping(self: Arc<Self>, stop: watch::Receiver<bool>) {
        let core = tokio::spawn(self.state.clone().housekeeping(stop.clone()));
        self.lifecycle(stop).await;
        let _ = core.await;
    }

    async fn lifecycle(&self, mut stop: watch::Receiver<bool>) {
        if self.config.lifecycle.archive_originals == pictor_core::config::ArchiveRule::Never {
            return;
        }
        let mut tick = tokio::time::interval(LIFECYCLE_EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            match jobs::archive_blob::sweep(self).await {
                Ok(0) => {}
                Ok(added) => tracing::info!(added, "lifecycle: originals queued for the archive tier"),
                Err(e) => tracing::warn!(error = %e.detail, "lifecycle sweep failed"),
            }
        }
    }

    /// `pictor worker`: the worker loops and housekeeping until `shutdown`
    /// resolves, then the jobs in hand finish.
    pub async fn run_worker(self: Arc<Self>, shutdown: impl Future<Output = ()>) {
        let (stop_tx, stop_rx) = watch::channel(false);
        let background = tokio::spawn(self.clone().housekeeping(stop_rx.clone()));
        let workers = tokio::spawn(self.clone().run(stop_rx));
        shutdown.await;
        let _ = stop_tx.send(true);
        let _ = background.await;
        let _ = workers.await;
        self.close().await;
    }
}

/// The job kinds `workflow.only` and `workflow.except` name: kinds
/// (`style.render`) or families (`style`: every `style.*` kind).
pub fn kind_filter(config: &pictor_core::config::WorkflowConfig) -> anyhow::Result<pictor_db::KindFilter> {
    let expand = |names: &[String], setting: &str| -> anyhow::Result<Vec<String>> {
        let mut kinds = Vec::new();
        for name in names {
            let family = format!("{name}.");
            let matched: Vec<String> = JobKind::ALL
                .iter()
                .map(|k| k.as_str())
                .filter(|k| *k == name || k.starts_with(&family))
                .map(str::to_string)
                .collect();
            if matched.is_empty() {
                let known: Vec<&str> = JobKind::ALL.iter().map(|k| k.as_str()).collect();
                anyhow::bail!(
                    "workflow.{setting}: no job kind {name:?}: name a kind or its family ({})",
                    known.join(", ")
                );
            }
            kinds.extend(matched);
        }
        Ok(kinds)
    };
    match (config.only.is_empty(), config.except.is_empty()) {
        (true, true) => Ok(pictor_db::KindFilter::All),
        (false, true) => Ok(pictor_db::KindFilter::Only(expand(&config.only, "only")?)),
        (true, false) => Ok(pictor_db::KindFilter::Except(expand(&config.except, "except")?)),
        (false, false) => anyhow::bail!("workflow.only and workflow.except are both set: give one of them"),
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "worker".into())
}

/// How often the lifecycle rule looks for originals to archive.
const LIFECYCLE_EVERY: Duration = Duration::from_secs(60);

/// At most this many waits skipped by [`Runtime::settle`].
const MAX_SETTLE_ROUNDS: usize = 100;

/// One of the process's `workflow.concurrency` workers. While the queue
/// is idle only one of them, the poller (holding `poller`), polls it;
/// the others sleep until a job is announced: enqueued in this process,
/// or in any process on PostgreSQL ([`listen_for_jobs`]), or found by the
/// poller, which then hands polling on and wakes them.
async fn worker_loop(rt: Arc<Runtime>, worker: String, mut stop: watch::Receiver<bool>, poller: Arc<AtomicBool>) {
    // Quick polls right after work (a neighbour process on SQLite may be
    // enqueueing more), slowing to `workflow.idle_poll_ms`.
    let longest = Duration::from_millis(rt.config.workflow.idle_poll_ms);
    let mut idle = longest;
    let mut polling = false;
    while !*stop.borrow() {
        match rt.db.claim_of(&worker, rt.lease(), &rt.kinds).await {
            Ok(Some(job)) => {
                if std::mem::take(&mut polling) {
                    poller.store(false, Ordering::SeqCst);
                    rt.job_signal.notify_waiters();
                }
                idle = Duration::from_millis(20);
                run_job(&rt, &worker, job).await;
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "claiming a job failed"),
        }
        polling = polling || poller.compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst).is_ok();
        let next_poll = async {
            match polling {
                true => tokio::time::sleep(idle).await,
                false => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = rt.job_signal.notified() => {}
            _ = stop.changed() => {}
            _ = next_poll => {}
        }
        idle = (idle * 2).min(longest);
    }
    if polling {
        poller.store(false, Ordering::SeqCst);
    }
}

/// Wakes this process's idle workers whenever any process enqueues a due
/// job (PostgreSQL's `LISTEN`; on SQLite there is one process, which wakes
/// its own). Without it a job enqueued by an API process would wait for
/// the next poll.
async fn listen_for_jobs(rt: Arc<Runtime>, mut stop: watch::Receiver<bool>) {
    static FAILED: pictor_core::throttle::WarnThrottle = pictor_core::throttle::WarnThrottle::new();
    let failed = |e: &pictor_db::DbError| {
        if FAILED.due() {
            tracing::warn!(error = %e, "listening for new jobs failed; polling meanwhile");
        }
    };
    let pause = async |stop: &mut watch::Receiver<bool>| {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => false,
            _ = stop.changed() => true,
        }
    };
    let mut listener = loop {
        // Connecting waits on the network: a shutdown must not wait on it.
        let connected = tokio::select! {
            connected = rt.db.job_listener() => connected,
            _ = stop.changed() => return,
        };
        match connected {
            Ok(Some(listener)) => break listener,
            Ok(None) => return,
            Err(e) => failed(&e),
        }
        if pause(&mut stop).await {
            return;
        }
    };
    loop {
        tokio::select! {
            heard = listener.recv() => {
                if let Err(e) = heard {
                    failed(&e);
                    if pause(&mut stop).await {
                        return;
                    }
                }
                // After a lost connection, announcements may have been missed.
                rt.job_signal.notify_waiters();
            }
            _ = stop.changed() => return,
        }
    }
}

/// Runs one job with heartbeats, then settles it.
async fn run_job(rt: &Arc<Runtime>, worker: &str, job: QueuedJob) {
    let span = tracing::info_span!("job", kind = %job.kind, id = %job.id, attempt = job.attempts);
    run_job_in_span(rt, worker, job).instrument(span).await
}

async fn run_job_in_span(rt: &Arc<Runtime>, worker: &str, job: QueuedJob) {
    let handler = handle(rt, &job);
    let heartbeat = heartbeat(rt, &job.id, worker);
    tokio::pin!(handler);
    let outcome = tokio::select! {
        outcome = &mut handler => outcome,
        () = heartbeat => {
            // Another worker owns the job now; let it finish the work.
            tracing::warn!("lost the lease; abandoning the job");
            return;
        }
    };
    rt.metrics.jobs_finished(&job.kind, outcome_label(&outcome));
    let settled = match &outcome {
        Outcome::Done => rt.db.complete(&job.id, worker).await,
        Outcome::RetryIn(delay, error) => {
            tracing::info!(%error, ?delay, "job will be retried");
            rt.db.retry_job(&job.id, worker, *delay, error).await
        }
        Outcome::Failed(error) => {
            tracing::error!(%error, "job failed for good");
            rt.db.bury_job(&job.id, worker, error).await
        }
    };
    if let Err(e) = settled {
        // The lease lapses and the job runs again; jobs are idempotent.
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
async fn heartbeat(rt: &Runtime, job: &str, worker: &str) {
    let lease = rt.lease();
    loop {
        tokio::time::sleep(lease / 3).await;
        match rt.db.heartbeat(job, worker, lease).await {
            Ok(true) => {}
            Ok(false) => return,
            // A database blip: keep going, the lease still has two thirds left.
            Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
        }
    }
}

/// Back-off for a job that hit a transient error (database or store down):
/// 1 s, 2 s, 4 s … capped at 60 s.
pub fn backoff(attempts: i64) -> Duration {
    Duration::from_secs(1 << attempts.clamp(1, 7).saturating_sub(1)).min(Duration::from_secs(60))
}
