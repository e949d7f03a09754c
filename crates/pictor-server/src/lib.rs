//! Pictor's HTTP service: `pictor serve`.
//!
//! This crate wires the lower layers (imaging, store, db) into an axum app:
//! the upload and transform API, auth, the derivative cache, limits, metrics
//! and the OpenAPI document. [`Server::build`] opens everything a config
//! names; [`Server::run`] serves until the shutdown future resolves, then
//! drains in-flight requests. Tests start it in-process on port 0.

pub mod auth;
pub mod cache;
pub mod config;
pub mod error;
pub mod fetch;
mod ingest;
pub mod jobs;
pub mod metrics;
mod openapi;
mod ratelimit;
pub(crate) mod routes;
pub mod signing;
pub mod vision;
pub mod webhooks;
mod workers;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use pictor_db::Db;
use pictor_store::{BlobStore, StoreLocation};
use tokio::net::TcpListener;

pub use config::Config;
pub use routes::executions::ExecutionView;

/// Everything a request handler can reach.
pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub store: BlobStore,
    pub auth: Arc<auth::Auth>,
    pub cache: cache::DerivativeCache,
    pub fetcher: fetch::Fetcher,
    pub metrics: Arc<metrics::Metrics>,
    pub(crate) workers: workers::Workers,
    records: routes::RecordCache,
    uploads: ratelimit::RateLimiter,
    upload_slots: Arc<tokio::sync::Semaphore>,
    /// Wakes idle worker loops when this process enqueues a job.
    pub job_signal: tokio::sync::Notify,
    /// The state machine run for every upload.
    pub workflow: jobs::execution::Workflow,
    /// Turns true when the server starts shutting down: long-lived
    /// responses (event streams) end so that the drain can finish.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// The vision models, loaded on first use.
    pub vision: Arc<vision::Vision>,
}

impl AppState {
    /// Opens the database and store (running migrations) and loads the
    /// workflow: everything but the listener.
    pub async fn open(config: Config) -> anyhow::Result<Arc<Self>> {
        pictor_imaging::quiet_guarded_panics();
        let workflow = jobs::execution::Workflow::from_config(&config.workflow)?;
        let (db, store) = open_backends(&config).await?;
        let metrics = metrics::Metrics::new();
        let auth = auth::Auth::new(&config.auth, db.clone()).await?;
        let cache = cache::DerivativeCache::new(
            store.clone(),
            db.clone(),
            config.cache.max_bytes,
            config.cache.memory_bytes,
            metrics.clone(),
        )
        .await?;
        let fetcher = fetch::Fetcher::new(fetch::FetchPolicy {
            allow: config.fetch.allow.clone(),
            max_bytes: config.limits.max_upload_bytes,
            timeout: Duration::from_secs(config.fetch.timeout_secs.max(1)),
            max_redirects: config.fetch.max_redirects,
        })
        .map_err(|e| anyhow::anyhow!("fetch.allow: {e}"))?;
        let workers = workers::Workers::new(&config, metrics.clone());
        let uploads = ratelimit::RateLimiter::new(config.limits.uploads_per_minute);
        let upload_slots = Arc::new(tokio::sync::Semaphore::new(config.limits.concurrent_uploads.max(1)));
        let config_data_dir = config.data_dir.clone();
        Ok(Arc::new(AppState {
            config,
            db,
            store,
            auth,
            cache,
            fetcher,
            metrics,
            workers,
            records: routes::RecordCache::new(),
            uploads,
            upload_slots,
            job_signal: tokio::sync::Notify::new(),
            workflow,
            stopping: tokio::sync::watch::Sender::new(false),
            vision: Arc::new(vision::Vision::new(config_data_dir)),
        }))
    }

    /// The decoder limits from the configuration.
    pub fn limits(&self) -> pictor_imaging::Limits {
        pictor_imaging::Limits { max_pixels: self.config.limits.max_pixels, max_frames: self.config.limits.max_frames }
    }

    /// Drops this process's cached copy of an image record after a change
    /// (other processes see it within the cache's few seconds).
    pub fn forget_record(&self, id: &str) {
        self.records.forget(id);
    }

    /// How long a claimed job is leased.
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.config.workflow.lease_secs.max(2))
    }
}

/// Opens the database and store a config names (running migrations).
pub async fn open_backends(config: &Config) -> anyhow::Result<(Db, BlobStore)> {
    let db_url = config.database_url();
    if db_url.starts_with("sqlite://") {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data folder {}: check --data-dir", config.data_dir.display()))?;
    }
    let db = Db::connect(&db_url).await.with_context(|| format!("opening database {}", redact(&db_url)))?;
    let location = StoreLocation::parse(&config.store_location())?;
    let store =
        BlobStore::open(&location).with_context(|| format!("opening store {}", redact(&config.store_location())))?;
    Ok((db, store))
}

/// Hides passwords and secret keys in URLs shown in logs and errors.
pub fn redact(url: &str) -> String {
    let mut out = url.to_string();
    if let Ok(mut parsed) = url::Url::parse(url) {
        if parsed.password().is_some() {
            let _ = parsed.set_password(Some("***"));
        }
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| (k.to_string(), if k.contains("secret") { "***".into() } else { v.to_string() }))
            .collect();
        if !pairs.is_empty() {
            parsed.query_pairs_mut().clear().extend_pairs(pairs);
        }
        out = parsed.to_string();
    }
    out
}

/// A bound, ready-to-serve Pictor.
pub struct Server {
    listener: TcpListener,
    state: Arc<AppState>,
}

impl Server {
    /// Opens the database and store, runs migrations and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listen = config.listen.clone();
        let state = AppState::open(config).await?;
        let listener = TcpListener::bind(&listen)
            .await
            .with_context(|| format!("cannot listen on {listen}: pick another --listen address"))?;
        if state.auth.is_open().await {
            tracing::warn!(
                "no API key or JWT issuer is configured: anyone who can reach this server may upload and delete (create a key with `pictor admin create-key`)"
            );
        }
        Ok(Self { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let app = routes::router(self.state.clone());
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let background = tokio::spawn(housekeeping(self.state.clone(), stop_rx.clone()));
        let workers =
            self.state.config.workflow.run_workers.then(|| tokio::spawn(jobs::run(self.state.clone(), stop_rx)));
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        let state = self.state.clone();
        let shutdown = async move {
            shutdown.await;
            state.stopping.send_replace(true);
        };
        let served = axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await;
        let _ = stop_tx.send(true);
        let _ = background.await;
        if let Some(workers) = workers {
            let _ = workers.await;
        }
        if let Err(e) = self.state.cache.flush_touches().await {
            tracing::warn!(error = %e.detail, "saving cache hits at shutdown failed");
        }
        self.state.db.close().await;
        served.context("serving HTTP")
    }
}

/// `pictor worker`: runs only the worker loops (and housekeeping) until
/// `shutdown` resolves, then lets the jobs in hand finish.
pub async fn run_worker(state: Arc<AppState>, shutdown: impl Future<Output = ()>) {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let background = tokio::spawn(housekeeping(state.clone(), stop_rx.clone()));
    let workers = tokio::spawn(jobs::run(state.clone(), stop_rx));
    shutdown.await;
    let _ = stop_tx.send(true);
    let _ = background.await;
    let _ = workers.await;
    if let Err(e) = state.cache.flush_touches().await {
        tracing::warn!(error = %e.detail, "saving cache hits at shutdown failed");
    }
    state.db.close().await;
}

/// Periodic chores: the LRU clock and sweeping blobs left by dead uploads.
async fn housekeeping(state: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    let mut ticks = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        ticks += 1;
        if let Err(e) = state.cache.flush_touches().await {
            tracing::warn!(error = %e.detail, "saving cache hits failed");
        }
        if ticks.is_multiple_of(12) {
            ingest::sweep_orphans(&state).await;
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled: a caller that announces it
/// is ready after calling it cannot be killed by an early SIGTERM.
/// Call it inside the runtime.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let (mut interrupt, mut terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::interrupt()).ok(), signal(SignalKind::terminate()).ok())
    };
    async move {
        #[cfg(unix)]
        {
            tokio::select! { _ = next(interrupt.as_mut()) => {}, _ = next(terminate.as_mut()) => {} }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing requests in flight");
    }
}

/// The next delivery of `signal`; never, if its handler could not be installed.
#[cfg(unix)]
async fn next(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(signal) => drop(signal.recv().await),
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_redacted() {
        let r = super::redact("s3://b?endpoint=http://h&secret_access_key=abc&region=x");
        assert!(r.contains("secret_access_key=***") && r.contains("region=x"), "{r}");
        let r = super::redact("postgres://u:pw@h/db");
        assert!(!r.contains("pw"), "{r}");
    }
}
