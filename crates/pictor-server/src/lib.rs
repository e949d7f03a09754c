//! Pictor's HTTP layer: `pictor serve`.
//!
//! A thin axum app over the application core (`pictor-core`) and the job
//! runtime (`pictor-jobs`): routes, extractors for the caller and for path
//! ids (`extract`), problem+json (`error`), request metrics and the OpenAPI
//! document. [`Server::build`] opens everything a config names;
//! [`Server::run`] serves (and runs the workers, unless told not to) until
//! the shutdown future resolves, then drains in-flight requests. Tests
//! start it in-process on port 0.
//!
//! **Invariant:** this is the only crate that knows HTTP. Handlers parse,
//! call the core or the runtime, and answer; rules live below.

pub mod error;
pub mod extract;
mod listen;
pub(crate) mod routes;
mod slow_body;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use pictor_jobs::Runtime;
use tokio::net::TcpListener;

pub use pictor_core::{AppState, Config, config};
pub use routes::executions::ExecutionView;

/// A bound, ready-to-serve Pictor.
pub struct Server {
    listener: TcpListener,
    runtime: Arc<Runtime>,
}

impl Server {
    /// Opens the database and store, runs migrations and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listen = config.listen.clone();
        let runtime = Runtime::open(config).await?;
        let listener = TcpListener::bind(&listen)
            .await
            .with_context(|| format!("cannot listen on {listen}: pick another --listen address"))?;
        if runtime.auth.is_open().await {
            tracing::warn!(
                "no API key or JWT issuer is configured: anyone who can reach this server may upload and delete (create a key with `pictor admin create-key`)"
            );
        }
        Ok(Self { listener, runtime })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    /// The shared state and job runtime (tests drain the queue with it).
    pub fn runtime(&self) -> Arc<Runtime> {
        self.runtime.clone()
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let rt = self.runtime;
        let app = routes::router(rt.clone());
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let background = tokio::spawn(rt.clone().housekeeping(stop_rx.clone()));
        let workers = rt.config.workflow.run_workers.then(|| tokio::spawn(rt.clone().run(stop_rx)));
        if rt.config.shop.enabled {
            pictor_core::shop::paint_samples(rt.state.clone());
        }
        let stopping = rt.clone();
        let shutdown = async move {
            shutdown.await;
            stopping.stopping.send_replace(true);
        };
        let limits = listen::ConnectionLimits {
            header_read_timeout: std::time::Duration::from_secs(rt.config.limits.header_read_timeout_secs.max(1)),
            per_client: rt.config.limits.connections_per_client,
        };
        listen::serve(self.listener, app, limits, rt.state.metrics.clone(), shutdown).await;
        let _ = stop_tx.send(true);
        let _ = background.await;
        if let Some(workers) = workers {
            let _ = workers.await;
        }
        rt.close().await;
        Ok(())
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
