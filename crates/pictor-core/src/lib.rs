//! Pictor's application core: what every product does, without HTTP.
//!
//! The HTTP layer (`pictor-server`), the job runtime (`pictor-jobs`) and the
//! CLI all stand on this crate. It owns the shared state ([`AppState`]), the
//! typed configuration, the domain types that validate when built, the core
//! error (a stable [`ErrorKind`] and a detail; the HTTP layer maps it to
//! problem+json), and the use cases that several front ends share.
//!
//! # Layout
//! - `config`: the `Config` struct and its layers (defaults → TOML →
//!   `PICTOR_*` → flags).
//! - `domain`: ids, owners, content hashes, image statuses, event and job
//!   kinds: newtypes and enums that validate when built.
//! - `error`: [`Error`], [`ErrorKind`], [`Result`].
//! - `access`: who may see and manage what (the one ownership check).
//! - `auth`: API keys and JWTs → a [`auth::Principal`]; knows no headers.
//! - `admin`: what an admin does (moderation decisions, admin roles,
//!   the server's counts).
//! - `accounts`: accounts, passwords, sessions; `oidc`: sign-in through an
//!   OpenID Connect provider (authorization code with PKCE).
//! - `ingest`: the path of an upload, from bytes to a record.
//! - `resumable`: resumable (tus) uploads, chunk by chunk, into `ingest`.
//! - `direct`: presigned direct uploads (PUT URLs, S3 POST forms) straight
//!   to the store, completed into `ingest`.
//! - `import`: imports of an S3 prefix or a server folder, page by page
//!   into `ingest` (sources, their checks, sealed credentials, one page).
//! - `shares`: links that show an album or a photo to guests (password,
//!   expiry, revocation, access log) and what a guest may see.
//! - `search`: the camera, date and place search and the map read from
//!   metadata, and their backfill.
//! - `notify`: notifications to a person (email over SMTP, SMS through a
//!   signed gateway), and sealing the address or number kept meanwhile.
//! - `server_key`: the server's own key (`direct.secret`, else one kept in
//!   the data folder) and the keys derived from it.
//! - `tiers`: originals between the hot and archive tiers (archive,
//!   restore, the janitor of restored copies).
//! - `cache`: the derivative cache (memory and store tiers, single-flight).
//! - `records`: recently read image records.
//! - `transform`: rendering a derivative (original → operations → format).
//! - `workers`: the bounded CPU pool every image job runs on.
//! - `fetch` (SSRF-guarded URL fetcher), `signing` (HMAC URLs), `ratelimit`,
//!   `metrics`, `vision` (the data folder's models, loaded lazily).
//!
//! **Invariant:** nothing here knows HTTP (no axum, no status codes, no
//! headers), nor which workflow or job reacts to an event.

pub mod access;
pub mod accounts;
pub mod admin;
pub mod albums;
pub mod auth;
pub mod bundles;
pub mod cache;
pub mod config;
pub mod direct;
pub mod domain;
pub mod error;
pub mod feed;
pub mod fetch;
pub mod import;
pub mod ingest;
pub mod metrics;
pub mod notify;
pub mod oidc;
pub mod ratelimit;
pub mod records;
pub mod resumable;
pub mod search;
pub mod server_key;
pub mod shares;
pub mod shop;
pub mod signing;
pub mod throttle;
pub mod tiers;
pub mod transform;
pub mod vision;
pub mod webhook_signing;
pub mod workers;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use pictor_db::Db;
use pictor_store::{ArchiveSettings, BlobStore, StoreLocation};

pub use config::Config;
pub use error::{Error, ErrorKind, Result};

/// Everything a use case can reach: the backends, the caches, the pools.
pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub store: BlobStore,
    pub auth: Arc<auth::Auth>,
    pub cache: cache::DerivativeCache,
    pub fetcher: fetch::Fetcher,
    pub metrics: Arc<metrics::Metrics>,
    pub workers: workers::Workers,
    pub records: records::RecordCache,
    /// Web sessions as API callers, briefly cached.
    pub sessions: accounts::Sessions,
    /// The OIDC provider the web app signs in through, if configured.
    pub oidc: Option<oidc::Oidc>,
    pub uploads: ratelimit::RateLimiter,
    /// Requests per credential (`limits.requests_per_minute`).
    pub requests: ratelimit::RateLimiter,
    pub upload_slots: Arc<tokio::sync::Semaphore>,
    /// Wakes idle worker loops when this process enqueues a job.
    pub job_signal: tokio::sync::Notify,
    /// Turns true when the process starts shutting down: long-lived work
    /// (event streams) ends so that the drain can finish.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// The vision models, loaded on first use.
    pub vision: Arc<vision::Vision>,
    /// The key of the direct-upload URLs this server serves itself.
    pub direct_key: direct::DirectKey,
    /// The server's own key (`direct.secret`, else kept in the data folder).
    pub server_key: server_key::ServerKey,
    /// Email and SMS, as configured, and the key recipients are sealed under.
    pub notifier: notify::Notifier,
    /// The shop's catalogue, prices, country database and payment client.
    pub shop: Arc<shop::Shop>,
}

impl AppState {
    /// Opens the database and store (running migrations): everything but
    /// the listener and the workflows.
    pub async fn open(config: Config) -> anyhow::Result<Arc<Self>> {
        pictor_imaging::quiet_guarded_panics();
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
        let uploads =
            ratelimit::RateLimiter::new(config.limits.uploads_per_minute, "uploads", "limits.uploads_per_minute");
        let requests = ratelimit::RateLimiter::new(
            config.limits.requests_per_minute,
            "requests with this credential",
            "limits.requests_per_minute",
        );
        let upload_slots = Arc::new(tokio::sync::Semaphore::new(config.limits.concurrent_uploads.max(1)));
        let vision = Arc::new(vision::Vision::new(config.data_dir.clone()));
        let oidc = oidc::Oidc::new(&config.auth.oidc).context("auth.oidc")?;
        let server_key = server_key::ServerKey::new(&config.direct.secret, &config.data_dir);
        let direct_key = direct::direct_key(&server_key, !config.direct.secret.is_empty(), !store.is_remote());
        let notifier = notify::Notifier::new(&config, server_key.clone())?;
        let shop = shop::Shop::new(&config)?;
        Ok(Arc::new(AppState {
            config,
            db,
            store,
            auth,
            cache,
            fetcher,
            metrics,
            workers,
            records: records::RecordCache::new(),
            sessions: accounts::Sessions::default(),
            oidc,
            uploads,
            requests,
            upload_slots,
            job_signal: tokio::sync::Notify::new(),
            stopping: tokio::sync::watch::Sender::new(false),
            vision,
            direct_key,
            server_key,
            notifier,
            shop,
        }))
    }

    /// The decoder limits from the configuration.
    pub fn limits(&self) -> pictor_imaging::Limits {
        pictor_imaging::Limits { max_pixels: self.config.limits.max_pixels, max_frames: self.config.limits.max_frames }
    }

    /// The image record `id`, from the record cache, or `NotFound`.
    pub async fn image(&self, id: &str) -> Result<Arc<pictor_db::ImageRecord>> {
        self.records.get(&self.db, id).await
    }

    /// The image record `id` as `caller` may see it: `NotFound` when it
    /// does not exist or is someone else's ([`access::ensure_visible`]).
    pub async fn image_for(&self, caller: &auth::Principal, id: &str) -> Result<Arc<pictor_db::ImageRecord>> {
        let record = self.image(id).await?;
        access::ensure_visible(caller, record.owner.as_deref(), format_args!("image {id}"))?;
        Ok(record)
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

    /// Periodic chores until `stop` turns true: the LRU clock, sweeping
    /// blobs left by dead uploads, expired resumable uploads, restored
    /// originals whose time is up, (a batch a tick until done) search's
    /// columns for images stored before them, and (every tick) direct
    /// uploads that land when their object arrives.
    pub async fn housekeeping(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        let mut ticks = 0u64;
        let mut backfilling = true;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            ticks += 1;
            self.flush_cache_touches("saving cache hits failed").await;
            if backfilling {
                backfilling = search::backfill(&self).await;
            }
            // S3 tells nobody of an arrival: look (uploads landing on arrival).
            direct::land_arrivals(&self).await;
            shop::upload::sweep(&self).await;
            if ticks.is_multiple_of(12) {
                ingest::sweep_orphans(&self).await;
                resumable::sweep_expired(&self).await;
                tiers::expire_restored(&self).await;
                direct::sweep_expired(&self, pictor_db::now_ms()).await;
                bundles::expire(&self, pictor_db::now_ms()).await;
                self.expire_history(pictor_db::now_ms()).await;
                if let Err(e) = shop::orders::expire(&self, pictor_db::now_ms()).await {
                    tracing::warn!(error = %e.detail, "deleting expired shop orders failed");
                }
            }
        }
    }

    /// Deletes events, finished webhook deliveries and finished executions
    /// past `retention.*_days`, a bounded batch of each per call; logs a
    /// failure.
    pub async fn expire_history(&self, now_ms: i64) {
        const BATCH: i64 = 5000;
        const DAY_MS: i64 = 86_400_000;
        let retention = &self.config.retention;
        if retention.events_days > 0 {
            let before = now_ms - retention.events_days as i64 * DAY_MS;
            if let Err(e) = self.db.delete_events_before(before, BATCH).await {
                tracing::warn!(error = %e, "deleting old events failed");
            }
        }
        if retention.deliveries_days > 0 {
            let before = now_ms - retention.deliveries_days as i64 * DAY_MS;
            if let Err(e) = self.db.delete_deliveries_before(before, BATCH).await {
                tracing::warn!(error = %e, "deleting old webhook deliveries failed");
            }
        }
        if retention.executions_days > 0 {
            let before = now_ms - retention.executions_days as i64 * DAY_MS;
            // Each execution takes its few dozen history rows along.
            if let Err(e) = self.db.delete_executions_before(before, BATCH / 10).await {
                tracing::warn!(error = %e, "deleting old executions failed");
            }
        }
    }

    /// Saves the cache's hit times (the LRU clock); logs a failure.
    pub async fn flush_cache_touches(&self, what: &str) {
        if let Err(e) = self.cache.flush_touches().await {
            tracing::warn!(error = %e.detail, "{what}");
        }
    }

    /// Ends the process's use of the backends: saves cache hits, closes the pool.
    pub async fn close(&self) {
        self.flush_cache_touches("saving cache hits at shutdown failed").await;
        self.db.close().await;
    }
}

/// How long a query waits for a pooled SQLite connection.
const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens the database and store a config names (running migrations).
pub async fn open_backends(config: &Config) -> anyhow::Result<(Db, BlobStore)> {
    let db_url = config.database_url();
    if config.database.is_empty() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data folder {}: check --data-dir", config.data_dir.display()))?;
    }
    // An embedded SQLite file has no outage to report quickly: a wait for a
    // connection there is only load, so it waits as long as for the lock.
    let acquire =
        if db_url.starts_with("sqlite:") { SQLITE_ACQUIRE_TIMEOUT } else { config.database_acquire_timeout() };
    let db = Db::connect_with_timeout(&db_url, acquire)
        .await
        .with_context(|| format!("opening database {}", redact(&db_url)))?;
    let location = StoreLocation::parse(&config.store_location())?;
    let archive =
        ArchiveSettings { local_dir: config.archive_dir(), storage_class: config.tiers.storage_class.clone() };
    let store = BlobStore::open(&location, &archive)
        .with_context(|| format!("opening store {}", redact(&config.store_location())))?;
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
