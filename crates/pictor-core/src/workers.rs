//! Bounded CPU work. Image jobs run on blocking threads behind a semaphore
//! sized to the cores; at most `queue` more may wait. Past that a request is
//! answered 503 with `Retry-After` at once, so load can never grow memory
//! without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;

use crate::error::{Error, Result};
use crate::metrics::Metrics;

pub struct Workers {
    permits: Arc<Semaphore>,
    workers: usize,
    queue: usize,
    admitted: AtomicUsize,
    metrics: Arc<Metrics>,
}

/// Releases an admission slot however the job ends (even if cancelled).
struct Admitted<'a>(&'a Workers);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Workers {
    pub fn new(workers: usize, queue: usize, metrics: Arc<Metrics>) -> Self {
        let workers = workers.max(1);
        Self { permits: Arc::new(Semaphore::new(workers)), workers, queue, admitted: AtomicUsize::new(0), metrics }
    }

    /// Runs `job` on a worker thread, or refuses with 503 if too many wait.
    pub async fn run<T, F>(&self, job: F) -> Result<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.workers + self.queue {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            self.metrics.jobs_rejected.inc();
            return Err(Error::overloaded());
        }
        let _slot = Admitted(self);
        self.execute(job).await
    }

    /// Runs `job` on a worker thread, waiting for a free one however many
    /// wait: for background work, which is already bounded by the number of
    /// worker loops.
    pub async fn run_waiting<T, F>(&self, job: F) -> Result<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.execute(job).await
    }

    async fn execute<T, F>(&self, job: F) -> Result<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.metrics.jobs_waiting.inc();
        let permit = self.permits.clone().acquire_owned().await;
        self.metrics.jobs_waiting.dec();
        let permit = permit.map_err(Error::internal)?;
        let metrics = self.metrics.clone();
        metrics.jobs_running.inc();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job()
        })
        .await;
        metrics.jobs_running.dec();
        result.map_err(|e| Error::internal(format!("image job failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn overflow_is_refused_not_queued() {
        let workers = Arc::new(Workers::new(1, 1, Metrics::new()));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        let blocker =
            |rx: Arc<std::sync::Mutex<std::sync::mpsc::Receiver<()>>>| move || rx.lock().unwrap().recv().unwrap();
        let w1 = workers.clone();
        let r1 = rx.clone();
        let first = tokio::spawn(async move { w1.run(blocker(r1)).await });
        let w2 = workers.clone();
        let r2 = rx.clone();
        let second = tokio::spawn(async move { w2.run(blocker(r2)).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let third = workers.run(|| ()).await.unwrap_err();
        assert_eq!(third.kind, crate::error::ErrorKind::Overloaded);
        assert_eq!(third.retry_after, Some(1));
        tx.send(()).unwrap();
        tx.send(()).unwrap();
        first.await.unwrap().unwrap();
        second.await.unwrap().unwrap();
        workers.run(|| ()).await.unwrap();
    }
}
