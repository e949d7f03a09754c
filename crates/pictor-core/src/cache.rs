//! The derivative cache: memory in front of the object store.
//!
//! A lookup tries, in order: the in-process memory tier (weighted LRU), the
//! object store (`derived/…`, shared by every process), and finally computes.
//! Concurrent identical misses in one process compute once: the memory tier's
//! `get_or_insert_async` lets one caller load while the others wait for it.
//! Across processes (PostgreSQL), a lease row per derivative in flight
//! (`derivative_leases`) lets one compute while the others wait for its
//! result in the store; a lease lapses after 30 s if its holder dies.
//!
//! The store tier is held under `cache.max_bytes` by LRU eviction. Its clock
//! lives in the database (`derivatives.last_access`); hits are batched in
//! memory and written every few seconds so a hit costs no database write.

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use pictor_db::{Db, DerivativeRef};
use pictor_store::BlobStore;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::metrics::Metrics;

/// The cache key of `pipeline`'s output in `format` for the blob `sha256`:
/// one definition for on-the-fly transforms and the workflow's thumbnails.
pub fn derivative_key(
    sha256: &str,
    pipeline: &pictor_imaging::Pipeline,
    format: pictor_imaging::OutputFormat,
) -> DerivativeRef {
    DerivativeRef {
        name: pictor_store::derivative_name(&pipeline.to_string(), format.extension()),
        sha256: sha256.to_string(),
    }
}

/// A computed derivative, ready to serve.
#[derive(Clone, Debug)]
pub struct Derivative {
    pub bytes: Bytes,
    pub content_type: &'static str,
    /// Strong ETag: a hash of the bytes, quoted.
    pub etag: Arc<str>,
}

impl Derivative {
    pub fn new(bytes: Bytes) -> Self {
        let content_type = pictor_imaging::ImageFormat::sniff(&bytes).map_or("application/octet-stream", |f| f.mime());
        let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..16])).into();
        Self { bytes, content_type, etag }
    }
}

/// How long a process may take to compute a derivative before another
/// process takes over (it died, or hangs).
const LEASE: std::time::Duration = std::time::Duration::from_secs(30);
const LEASE_POLL_FIRST: std::time::Duration = std::time::Duration::from_millis(20);
const LEASE_POLL_MAX: std::time::Duration = std::time::Duration::from_millis(400);

/// What a cold lookup does next.
enum Turn {
    /// Compute it (holding the lease when `leased`).
    Compute { leased: bool },
    /// Another process stored it meanwhile.
    Found(Bytes),
}

#[derive(Clone)]
struct ByteWeight;

impl quick_cache::Weighter<DerivativeRef, Derivative> for ByteWeight {
    fn weight(&self, key: &DerivativeRef, value: &Derivative) -> u64 {
        (key.sha256.len() + key.name.len() + value.bytes.len() + 64) as u64
    }
}

pub struct DerivativeCache {
    memory: quick_cache::sync::Cache<DerivativeRef, Derivative, ByteWeight>,
    store: BlobStore,
    db: Db,
    max_bytes: i64,
    /// This process's estimate of the store tier's size; reconciled with the
    /// database whenever it crosses the cap.
    approx_bytes: AtomicI64,
    /// Hits not yet written to the LRU clock.
    touched: Mutex<HashSet<DerivativeRef>>,
    evicting: tokio::sync::Mutex<()>,
    metrics: Arc<Metrics>,
    /// This process's name on the derivative leases it takes.
    holder: String,
}

impl DerivativeCache {
    pub async fn new(
        store: BlobStore,
        db: Db,
        max_bytes: u64,
        memory_bytes: u64,
        metrics: Arc<Metrics>,
    ) -> pictor_db::Result<Self> {
        let memory_bytes = memory_bytes.min(max_bytes).max(1);
        let approx = db.derivative_bytes().await?;
        Ok(Self {
            memory: quick_cache::sync::Cache::with_weighter(1024, memory_bytes, ByteWeight),
            store,
            db,
            max_bytes: max_bytes.min(i64::MAX as u64) as i64,
            approx_bytes: AtomicI64::new(approx),
            touched: Mutex::new(HashSet::new()),
            evicting: tokio::sync::Mutex::new(()),
            metrics,
            holder: uuid::Uuid::new_v4().to_string(),
        })
    }

    pub fn enabled(&self) -> bool {
        self.max_bytes > 0
    }

    /// The derivative `key`, from a cache tier or from `compute`.
    pub async fn get_or_compute<F, Fut>(&self, key: DerivativeRef, compute: F) -> Result<Derivative>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Derivative>>,
    {
        if !self.enabled() {
            return compute().await;
        }
        if let Some(hit) = self.memory.get(&key) {
            self.metrics.cache("memory", "hit");
            self.touched.lock().expect("touched lock").insert(key);
            return Ok(hit);
        }
        self.metrics.cache("memory", "miss");
        self.memory.get_or_insert_async(&key, self.load(&key, compute)).await
    }

    async fn load<F, Fut>(&self, key: &DerivativeRef, compute: F) -> Result<Derivative>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Derivative>>,
    {
        match self.store.get_derivative(&key.sha256, &key.name).await {
            Ok(Some(bytes)) => {
                self.metrics.cache("store", "hit");
                self.touched.lock().expect("touched lock").insert(key.clone());
                return Ok(Derivative::new(bytes));
            }
            Ok(None) => self.metrics.cache("store", "miss"),
            // A broken cache must not break serving: compute instead.
            Err(e) => tracing::warn!(error = %e, "reading a cached derivative failed"),
        }
        let leased = match self.wait_for_turn(key).await {
            Turn::Found(bytes) => return Ok(Derivative::new(bytes)),
            Turn::Compute { leased } => leased,
        };
        let derivative = compute().await;
        self.metrics.derivatives_computed.inc();
        if let Ok(derivative) = &derivative
            && let Err(e) = self.save(key, derivative).await
        {
            tracing::warn!(error = %e, "caching a derivative failed");
        }
        if leased && let Err(e) = self.db.release_derivative_lease(key, &self.holder).await {
            tracing::warn!(error = %e, "releasing a derivative lease failed (it lapses by itself)");
        }
        derivative
    }

    /// Across processes (PostgreSQL), one computes a cold derivative and the
    /// others wait for it in the store: this takes the lease, or waits until
    /// the derivative appears or the holder's lease lapses. On SQLite the
    /// one process's single-flight (above) is enough.
    async fn wait_for_turn(&self, key: &DerivativeRef) -> Turn {
        if self.db.backend() != pictor_db::Backend::Postgres {
            return Turn::Compute { leased: false };
        }
        let mut pause = LEASE_POLL_FIRST;
        loop {
            let expires = pictor_db::now_ms() + LEASE.as_millis() as i64;
            match self.db.take_derivative_lease(key, &self.holder, expires).await {
                // The last holder may have stored it just before letting go.
                Ok(true) => {
                    let Some(bytes) = self.stored_meanwhile(key).await else { return Turn::Compute { leased: true } };
                    let _ = self.db.release_derivative_lease(key, &self.holder).await;
                    return Turn::Found(bytes);
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "taking a derivative lease failed; computing without one");
                    return Turn::Compute { leased: false };
                }
            }
            // Another process computes it: look for its result, less often
            // as the wait goes on. An expired lease is taken over above.
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(LEASE_POLL_MAX);
            if let Some(bytes) = self.stored_meanwhile(key).await {
                return Turn::Found(bytes);
            }
        }
    }

    /// The derivative, if another process has stored it since our miss.
    async fn stored_meanwhile(&self, key: &DerivativeRef) -> Option<Bytes> {
        let bytes = self.store.get_derivative(&key.sha256, &key.name).await.ok()??;
        self.metrics.cache("store", "waited");
        Some(bytes)
    }

    /// Stores a derivative made elsewhere (the workflow's thumbnails) in
    /// both tiers; a no-op when caching is off.
    pub async fn put(&self, key: DerivativeRef, derivative: Derivative) -> Result<()> {
        if !self.enabled() {
            return Ok(());
        }
        self.save(&key, &derivative).await?;
        self.memory.insert(key, derivative);
        Ok(())
    }

    async fn save(&self, key: &DerivativeRef, derivative: &Derivative) -> Result<()> {
        let size = derivative.bytes.len() as i64;
        self.store.put_derivative(&key.sha256, &key.name, derivative.bytes.clone()).await?;
        self.db.record_derivative(key, size).await?;
        if self.approx_bytes.fetch_add(size, Ordering::AcqRel) + size > self.max_bytes {
            self.evict().await?;
        }
        Ok(())
    }

    /// Deletes least-recently-served derivatives until the store tier fits.
    pub async fn evict(&self) -> Result<()> {
        let _one_at_a_time = self.evicting.lock().await;
        self.flush_touches().await?;
        let mut total = self.db.derivative_bytes().await?;
        while total > self.max_bytes {
            let oldest = self.db.oldest_derivatives(64).await?;
            if oldest.is_empty() {
                break;
            }
            for (key, size) in oldest {
                if total <= self.max_bytes {
                    break;
                }
                self.store.delete_derivative(&key.sha256, &key.name).await?;
                self.db.forget_derivative(&key).await?;
                self.memory.remove(&key);
                total -= size;
            }
        }
        self.approx_bytes.store(total, Ordering::Release);
        Ok(())
    }

    /// Writes batched hits to the LRU clock.
    pub async fn flush_touches(&self) -> Result<()> {
        let touched: Vec<DerivativeRef> = self.touched.lock().expect("touched lock").drain().collect();
        if touched.is_empty() {
            return Ok(());
        }
        self.db.touch_derivatives(&touched).await.map_err(Error::from)
    }
}
