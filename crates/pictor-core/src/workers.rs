//! Bounded CPU work. Image jobs run on blocking threads behind a semaphore
//! sized to the cores. A request that finds every worker busy waits in a
//! first-come queue for at most `limits.queue_wait_ms`; at most
//! `limits.queue` requests wait at once. Past the wait, or past the queue,
//! the answer is 503 with `Retry-After`, so load can never grow memory
//! without bound.
//!
//! Waiting is cheap by design: a transform waits in line for a place at
//! its front ([`Workers::line_up`]) *before* it reads anything large, so a
//! waiting request holds no image bytes, and a refused one has read none.
//! The front holds two requests per worker: each reads its original while
//! the jobs before it run, then takes the next free worker
//! ([`Ready::admit`]), so a worker never idles through a read, even from a
//! slow store.
//!
//! Requests come before background work (workflow tasks): background jobs
//! line up for a worker one at a time ([`Workers::run_waiting`]), so a
//! request that arrives while a batch is being processed waits behind at
//! most one of them, not behind the whole batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::metrics::{Metrics, Refusal};

/// Places at the front of the line per worker. One would do if reading an
/// original took no longer than a job; from an S3 server a 2.4 MB original
/// took about twice as long as its thumbnail (bench/cluster.sh (e): 39.8
/// thumbnails/s with one place per worker, CPU-bound with two).
const READ_AHEAD: usize = 2;

pub struct Workers {
    permits: Arc<Semaphore>,
    /// The front of the transforms' line: `READ_AHEAD` places per worker.
    front: Arc<Semaphore>,
    /// One permit: the background job whose turn it is to wait for a worker.
    background: Semaphore,
    queue: usize,
    wait: Duration,
    waiting: AtomicUsize,
    metrics: Arc<Metrics>,
}

/// A worker held for one job; the worker is free again when the job ends,
/// or when the slot is dropped unused.
pub struct Slot {
    permit: OwnedSemaphorePermit,
    metrics: Arc<Metrics>,
}

/// A place at the front of the line: its holder reads its input, then
/// takes a worker; the place frees when it has one.
pub struct Ready<'a> {
    _front: OwnedSemaphorePermit,
    workers: &'a Workers,
}

impl Ready<'_> {
    /// The next free worker: soon, as at most `READ_AHEAD` requests per
    /// worker stand at the front (and one background job beside them).
    pub async fn admit(self) -> Result<Slot> {
        let permit = self.workers.permits.clone().acquire_owned().await.map_err(Error::internal)?;
        Ok(self.workers.slot(permit))
    }
}

/// Counts one waiting request, however its wait ends (even if cancelled
/// because the client went away).
struct Waiting<'a>(&'a Workers);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::AcqRel);
        self.0.metrics.jobs_waiting.dec();
    }
}

impl Workers {
    /// The pool `config.limits` describes.
    pub fn new(config: &Config, metrics: Arc<Metrics>) -> Self {
        Self::with_limits(config.workers(), config.limits.queue, config.queue_wait(), metrics)
    }

    /// `workers` jobs at once; at most `queue` more wait, each for at most
    /// `wait`.
    pub fn with_limits(workers: usize, queue: usize, wait: Duration, metrics: Arc<Metrics>) -> Self {
        let workers = workers.max(1);
        Self {
            permits: Arc::new(Semaphore::new(workers)),
            front: Arc::new(Semaphore::new(workers * READ_AHEAD)),
            background: Semaphore::new(1),
            queue,
            wait,
            waiting: AtomicUsize::new(0),
            metrics,
        }
    }

    /// A place at the front of the line (`READ_AHEAD` per worker): at once if one is
    /// free; else after waiting in line for at most `limits.queue_wait_ms`,
    /// refused as [`Workers::admit`] refuses. Its holder reads its input,
    /// then takes a worker with [`Ready::admit`].
    pub async fn line_up(&self) -> Result<Ready<'_>> {
        let front = self.wait_for(&self.front, Some(self.wait)).await?;
        Ok(Ready { _front: front, workers: self })
    }

    /// A worker for a request: at once if one is free; else after waiting
    /// in line for at most `limits.queue_wait_ms`. Refuses with 503 (and
    /// counts it) when `limits.queue` requests already wait, or when the
    /// wait runs out. Costs no allocation beyond the semaphore's wait node.
    pub async fn admit(&self) -> Result<Slot> {
        self.enter(Some(self.wait)).await
    }

    /// A worker, waiting in line for at most `wait` (`None`: as long as it
    /// takes); refused at once when `limits.queue` already wait.
    async fn enter(&self, wait: Option<Duration>) -> Result<Slot> {
        Ok(self.slot(self.wait_for(&self.permits, wait).await?))
    }

    /// A permit of `line`, waiting for at most `wait` (`None`: as long as it
    /// takes); refused at once when `limits.queue` already wait.
    async fn wait_for(&self, line: &Arc<Semaphore>, wait: Option<Duration>) -> Result<OwnedSemaphorePermit> {
        if let Ok(permit) = line.clone().try_acquire_owned() {
            self.metrics.job_waited(Duration::ZERO);
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            self.metrics.job_refused(Refusal::QueueFull);
            return Err(Error::overloaded());
        }
        self.metrics.jobs_waiting.inc();
        let waiting = Waiting(self);
        let started = tokio::time::Instant::now();
        let acquire = line.clone().acquire_owned();
        let acquired = match wait {
            Some(wait) => tokio::time::timeout(wait, acquire).await,
            None => Ok(acquire.await),
        };
        drop(waiting);
        match acquired {
            Ok(permit) => {
                self.metrics.job_waited(started.elapsed());
                permit.map_err(Error::internal)
            }
            Err(_) => {
                self.metrics.job_refused(Refusal::WaitedTooLong);
                Err(Error::overloaded())
            }
        }
    }

    /// A worker for background work, waiting however long it takes: that
    /// work is already bounded by the number of worker loops. Only one
    /// background job at a time stands in the workers' line, so requests
    /// that join it later pass every other background job.
    async fn admit_waiting(&self) -> Result<Slot> {
        self.metrics.jobs_waiting.inc();
        let turn = self.background.acquire().await;
        let permit = self.permits.clone().acquire_owned().await;
        drop(turn);
        self.metrics.jobs_waiting.dec();
        Ok(self.slot(permit.map_err(Error::internal)?))
    }

    fn slot(&self, permit: OwnedSemaphorePermit) -> Slot {
        Slot { permit, metrics: self.metrics.clone() }
    }

    /// Runs `job` on a worker thread, or refuses with 503 at once when
    /// `limits.queue` requests already wait. Once in line it waits as long
    /// as it takes (the request timeout still applies): for uploads, whose
    /// bytes are already in memory and bounded by `limits.concurrent_uploads`;
    /// refusing one after a wait would only make the client send it again.
    /// Transforms use [`Workers::admit`], which waits a bounded time.
    pub async fn run<T, F>(&self, job: F) -> Result<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.enter(None).await?.run(job).await
    }

    /// Runs `job` on a worker thread, waiting for a free one however many
    /// wait: for background work, which is already bounded by the number of
    /// worker loops.
    pub async fn run_waiting<T, F>(&self, job: F) -> Result<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.admit_waiting().await?.run(job).await
    }
}

impl Slot {
    /// Runs `job` on a blocking thread; the worker is held until it returns,
    /// even if the caller stops waiting for it.
    pub async fn run<T, F>(self, job: F) -> Result<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let Slot { permit, metrics } = self;
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            metrics.jobs_running.inc();
            let _running = Running(&metrics);
            job()
        })
        .await;
        result.map_err(|e| Error::internal(format!("image job failed: {e}")))
    }
}

/// Keeps the running gauge right even if a job panics.
struct Running<'a>(&'a Metrics);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.jobs_running.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt as _;

    /// A wait that never runs out during a test: nothing here depends on
    /// the clock except the one test about running out.
    const FOREVER: Duration = Duration::from_secs(3600);

    fn pool(workers: usize, queue: usize, wait: Duration) -> (Arc<Workers>, Arc<Metrics>) {
        let metrics = Metrics::new();
        (Arc::new(Workers::with_limits(workers, queue, wait, metrics.clone())), metrics)
    }

    /// Lets the spawned tasks run until `n` requests wait in line.
    async fn until_waiting(metrics: &Metrics, n: i64) {
        for _ in 0..10_000 {
            if metrics.jobs_waiting.get() == n {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("{} wait in line, not {n}", metrics.jobs_waiting.get());
    }

    fn spawn_admit(workers: &Arc<Workers>) -> tokio::task::JoinHandle<Result<()>> {
        let workers = workers.clone();
        tokio::spawn(async move { workers.admit().await.map(drop) })
    }

    #[tokio::test]
    async fn the_front_of_the_line_holds_read_ahead_requests_per_worker() {
        let (workers, metrics) = pool(1, 8, FOREVER);
        let busy = workers.admit().await.unwrap();
        // The worker is busy, yet READ_AHEAD requests may come forward and read.
        let mut places: Vec<_> = (0..READ_AHEAD)
            .map(|_| workers.line_up().now_or_never().expect("a free place at the front").unwrap())
            .collect();
        let ready = places.pop().unwrap();
        let w = workers.clone();
        let behind = tokio::spawn(async move { w.line_up().await.map(drop) });
        until_waiting(&metrics, 1).await;
        assert!(!behind.is_finished(), "READ_AHEAD places per worker");
        let mut admit = Box::pin(ready.admit());
        assert!((&mut admit).now_or_never().is_none(), "no worker is free yet");
        tokio::task::yield_now().await;
        assert!(!behind.is_finished(), "the front place is held until a worker is");
        drop(busy);
        let _slot = admit.await.expect("the freed worker");
        // The front request got the worker and left its place to the next.
        behind.await.unwrap().expect("came forward");
        assert_eq!(metrics.jobs_rejected.get(), 0);
    }

    #[tokio::test]
    async fn a_waiting_request_gets_the_worker_that_frees() {
        let (workers, metrics) = pool(1, 4, FOREVER);
        let held = workers.admit().await.unwrap();
        let waiter = spawn_admit(&workers);
        until_waiting(&metrics, 1).await;
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "it waits while the only worker is held");
        drop(held);
        waiter.await.unwrap().expect("admitted once the worker freed");
        assert_eq!(metrics.jobs_waiting.get(), 0);
        assert_eq!(metrics.jobs_rejected.get(), 0);
        assert_eq!(workers.waiting.load(Ordering::Acquire), 0);
    }

    #[tokio::test]
    async fn a_request_past_its_wait_is_refused_and_counted() {
        // The worker is never freed, so the outcome does not depend on how
        // long the 20 ms really take.
        let (workers, metrics) = pool(1, 4, Duration::from_millis(20));
        let _held = workers.admit().await.unwrap();
        let refused = workers.admit().await.err().expect("no worker freed up in time");
        assert_eq!(refused.kind, crate::error::ErrorKind::Overloaded);
        assert_eq!(refused.retry_after, Some(1));
        assert_eq!(metrics.jobs_rejected.get(), 1);
        assert_eq!(metrics.jobs_wait_timeouts.get(), 1);
        assert_eq!(metrics.jobs_waiting.get(), 0, "it left the line");
        assert_eq!(workers.waiting.load(Ordering::Acquire), 0);
        let text = metrics.render();
        assert!(text.contains("pictor_image_jobs_rejected_total 1"), "{text}");
        assert!(text.contains("pictor_image_jobs_wait_timeouts_total 1"), "{text}");
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        let (workers, metrics) = pool(1, 2, FOREVER);
        let _held = workers.admit().await.unwrap();
        let waiters = [spawn_admit(&workers), spawn_admit(&workers)];
        until_waiting(&metrics, 2).await;
        // The third would-be waiter is answered on its first poll, without
        // waiting for anything.
        let refused = workers.admit().now_or_never().expect("answered at once").err().expect("the queue is full");
        assert_eq!(refused.kind, crate::error::ErrorKind::Overloaded);
        assert_eq!(refused.retry_after, Some(1));
        assert_eq!(metrics.jobs_rejected.get(), 1);
        assert_eq!(metrics.jobs_wait_timeouts.get(), 0);
        assert_eq!(metrics.jobs_waiting.get(), 2, "those in line keep waiting");
        for waiter in &waiters {
            assert!(!waiter.is_finished());
            waiter.abort();
        }
    }

    #[tokio::test]
    async fn a_cancelled_waiter_leaves_the_line() {
        let (workers, metrics) = pool(1, 1, FOREVER);
        let held = workers.admit().await.unwrap();
        let gone = spawn_admit(&workers);
        until_waiting(&metrics, 1).await;
        gone.abort();
        assert!(gone.await.unwrap_err().is_cancelled());
        assert_eq!(metrics.jobs_waiting.get(), 0);
        // Its place in the line is free again.
        let next = spawn_admit(&workers);
        until_waiting(&metrics, 1).await;
        drop(held);
        next.await.unwrap().unwrap();
        assert_eq!(metrics.jobs_rejected.get(), 0);
    }

    #[tokio::test]
    async fn an_upload_job_waits_past_the_transform_wait() {
        // A zero wait refuses a transform that finds no free worker on its
        // first poll; `run` (uploads) keeps its place in line instead.
        let (workers, metrics) = pool(1, 4, Duration::ZERO);
        let held = workers.admit().await.unwrap();
        assert!(workers.admit().await.is_err(), "a transform is refused");
        assert_eq!(metrics.jobs_wait_timeouts.get(), 1);
        let w = workers.clone();
        let upload = tokio::spawn(async move { w.run(|| "checked").await });
        until_waiting(&metrics, 1).await;
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(!upload.is_finished(), "still in line");
        assert_eq!(metrics.jobs_waiting.get(), 1);
        drop(held);
        assert_eq!(upload.await.unwrap().unwrap(), "checked");
        assert_eq!(metrics.jobs_rejected.get(), 1, "only the transform was refused");
    }

    #[tokio::test]
    async fn jobs_run_and_free_their_worker() {
        let (workers, metrics) = pool(1, 0, FOREVER);
        assert_eq!(workers.run(|| 6 * 7).await.unwrap(), 42);
        assert_eq!(workers.run_waiting(|| "again").await.unwrap(), "again");
        let slot = workers.admit().await.unwrap();
        assert_eq!(slot.run(|| 1).await.unwrap(), 1);
        assert_eq!(metrics.jobs_running.get(), 0);
        assert_eq!(metrics.jobs_rejected.get(), 0);
    }

    #[tokio::test]
    async fn overflow_is_refused_not_queued() {
        let (workers, metrics) = pool(1, 0, FOREVER);
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (started, is_running) = tokio::sync::oneshot::channel::<()>();
        let w = workers.clone();
        let first = tokio::spawn(async move {
            w.run(move || {
                started.send(()).unwrap();
                released.recv().unwrap()
            })
            .await
        });
        is_running.await.unwrap();
        assert_eq!(metrics.jobs_running.get(), 1);
        let refused = workers.run(|| ()).await.unwrap_err();
        assert_eq!(refused.kind, crate::error::ErrorKind::Overloaded);
        assert_eq!(refused.retry_after, Some(1));
        assert_eq!(metrics.jobs_rejected.get(), 1);
        release.send(()).unwrap();
        first.await.unwrap().unwrap();
        workers.run(|| ()).await.unwrap();
    }

    #[tokio::test]
    async fn a_request_passes_background_jobs_waiting_in_line() {
        let (workers, metrics) = pool(1, 8, FOREVER);
        let held = workers.admit().await.unwrap();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let admitted = |name: &'static str, background: bool| {
            let (workers, order) = (workers.clone(), order.clone());
            tokio::spawn(async move {
                let slot = if background { workers.admit_waiting().await } else { workers.admit().await };
                order.lock().unwrap().push(name);
                drop(slot.unwrap());
            })
        };
        let mut jobs = vec![admitted("job 1", true), admitted("job 2", true), admitted("job 3", true)];
        until_waiting(&metrics, 3).await;
        jobs.push(admitted("request", false));
        until_waiting(&metrics, 4).await;
        drop(held);
        for job in jobs {
            job.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["job 1", "request", "job 2", "job 3"]);
    }
}
