//! The durable job queue, kept in the records database.
//!
//! Why in the database: a job is enqueued in the same transaction as the
//! change that calls for it, so work is never lost between "stored" and
//! "queued". Claiming takes a lease (`lease_until`); a worker extends it with
//! heartbeats while it works and deletes the row when done. If the worker
//! dies, the lease lapses and another worker claims the job again, so every
//! job handler must be idempotent. On PostgreSQL concurrent workers claim
//! with `FOR UPDATE SKIP LOCKED`; SQLite has a single writer anyway.

use std::time::Duration;

use serde::Serialize;
use sqlx::AnyConnection;

use crate::columns::JsonText;
use crate::{Backend, Db, Result, now_ms};

/// A claimed job. `attempts` counts claims, this one included.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct Job {
    pub id: String,
    pub kind: String,
    #[sqlx(try_from = "JsonText<serde_json::Value>")]
    pub payload: serde_json::Value,
    pub attempts: i64,
}

/// Which kinds of job a worker claims.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum KindFilter {
    #[default]
    All,
    Only(Vec<String>),
    Except(Vec<String>),
}

/// How many jobs are waiting, leased, and given up on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, sqlx::FromRow)]
pub struct QueueStats {
    pub ready: i64,
    pub leased: i64,
    pub dead: i64,
}

/// A job to enqueue: its kind, its payload, and an optional dedupe key (a
/// second job with the same key is not added).
#[derive(Clone, Debug, PartialEq)]
pub struct NewJob {
    pub kind: String,
    pub payload: serde_json::Value,
    pub dedupe: Option<String>,
}

/// Which events are handed to a dispatcher job, set by the layer that
/// dispatches them ([`Db::set_outbox`]). The job's payload is
/// `{"event": <event id>}`, deduplicated on `event:<id>`.
#[derive(Clone, Debug, Default)]
pub struct Outbox {
    job: String,
    kinds: std::collections::HashSet<String>,
}

impl Outbox {
    pub fn new(job: impl Into<String>, kinds: impl IntoIterator<Item = String>) -> Self {
        Self { job: job.into(), kinds: kinds.into_iter().collect() }
    }

    /// Whether an event of `kind` is dispatched.
    pub fn dispatches(&self, kind: &str) -> bool {
        !self.job.is_empty() && self.kinds.contains(kind)
    }

    pub(crate) fn job_for(&self, event: &str) -> NewJob {
        NewJob {
            kind: self.job.clone(),
            payload: serde_json::json!({ "event": event }),
            dedupe: Some(format!("event:{event}")),
        }
    }
}

/// Enqueues inside the caller's transaction; a repeated `dedupe` key is a
/// no-op. Returns whether a job was added.
pub(crate) async fn enqueue_in(
    conn: &mut AnyConnection,
    kind: &str,
    payload: &serde_json::Value,
    dedupe: Option<&str>,
    run_at: i64,
) -> Result<bool> {
    let added = sqlx::query(
        "INSERT INTO jobs (id, kind, payload, dedupe, run_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT DO NOTHING",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(kind)
    .bind(payload.to_string())
    .bind(dedupe)
    .bind(run_at)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    // Wakes idle workers in every process at commit (PostgreSQL); a job
    // due later is found by their polls.
    if added > 0 && run_at <= now_ms() && conn.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT pg_notify($1, '')").bind(JOBS_CHANNEL).execute(&mut *conn).await?;
    }
    Ok(added > 0)
}

/// The PostgreSQL channel on which a new due job is announced.
const JOBS_CHANNEL: &str = "pictor_jobs";

/// Announcements of new due jobs from every process (PostgreSQL's
/// `LISTEN`), so that idle workers start at once instead of at their next
/// poll. The announcements carry nothing: a worker that wakes claims as
/// usual.
pub struct JobListener(sqlx::postgres::PgListener);

impl JobListener {
    /// Waits for the next announcement. After a lost connection it
    /// reconnects and returns at once (announcements may have been missed).
    pub async fn recv(&mut self) -> Result<()> {
        self.0.recv().await?;
        Ok(())
    }
}

impl Db {
    /// A listener for new due jobs; `None` on SQLite (one process, which
    /// wakes its own workers).
    pub async fn job_listener(&self) -> Result<Option<JobListener>> {
        let Some(url) = &self.postgres_url else { return Ok(None) };
        let mut listener = sqlx::postgres::PgListener::connect(&url.0).await?;
        listener.listen(JOBS_CHANNEL).await?;
        Ok(Some(JobListener(listener)))
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Db {
    /// Enqueues `job` after `delay`; false when its dedupe key was taken.
    pub async fn enqueue_job(&self, job: &NewJob, delay: Duration) -> Result<bool> {
        let mut conn = self.pool.acquire().await?;
        enqueue_in(&mut conn, &job.kind, &job.payload, job.dedupe.as_deref(), now_ms() + millis(delay)).await
    }

    /// Enqueues a job to run after `delay`.
    pub async fn enqueue(
        &self,
        kind: &str,
        payload: &serde_json::Value,
        dedupe: Option<&str>,
        delay: Duration,
    ) -> Result<bool> {
        let mut conn = self.pool.acquire().await?;
        enqueue_in(&mut conn, kind, payload, dedupe, now_ms() + millis(delay)).await
    }

    /// How long until the next waiting job is due (zero if one is due
    /// now); none when no job waits.
    pub async fn next_due_in(&self) -> Result<Option<Duration>> {
        let next: Option<i64> =
            sqlx::query_scalar("SELECT MIN(run_at) FROM jobs WHERE status = 'ready'").fetch_one(&self.pool).await?;
        Ok(next.map(|at| Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0))))
    }

    /// Moves every waiting job `by` earlier, as if that much time had
    /// passed: how a test runs a retry schedule without waiting it out.
    pub async fn bring_forward(&self, by: Duration) -> Result<u64> {
        let moved = sqlx::query("UPDATE jobs SET run_at = run_at - $1 WHERE status = 'ready'")
            .bind(millis(by))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(moved)
    }

    /// Claims the oldest due job for `worker`, leased for `lease`.
    pub async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Job>> {
        self.claim_of(worker, lease, &KindFilter::All).await
    }

    /// [`Db::claim`] limited to some kinds of job (a worker dedicated to
    /// style renders, say, or one that leaves them to such workers).
    pub async fn claim_of(&self, worker: &str, lease: Duration, kinds: &KindFilter) -> Result<Option<Job>> {
        let lock = if self.backend == Backend::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
        let now = now_ms();
        let (names, negate) = match kinds {
            KindFilter::All => (&[][..], true),
            KindFilter::Only(names) => (&names[..], false),
            KindFilter::Except(names) => (&names[..], true),
        };
        let list: Vec<String> = (0..names.len()).map(|i| format!("${}", i + 4)).collect();
        let filter = match (names.is_empty(), negate) {
            (true, true) => String::new(),
            (true, false) => " AND 1 = 0".to_string(),
            (false, negate) => format!(" AND kind {}IN ({})", if negate { "NOT " } else { "" }, list.join(", ")),
        };
        let sql = format!(
            "UPDATE jobs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
             WHERE id = (SELECT id FROM jobs WHERE status = 'ready' AND run_at <= $3 AND lease_until < $3{filter}
                         ORDER BY run_at, id LIMIT 1 {lock})
             RETURNING id, kind, payload, attempts"
        );
        let mut query = sqlx::query_as(&sql).bind(worker).bind(now + millis(lease)).bind(now);
        for name in names {
            query = query.bind(name);
        }
        Ok(query.fetch_optional(&self.pool).await?)
    }

    /// Jobs due now and not leased, by kind.
    pub async fn ready_by_kind(&self) -> Result<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT kind, COUNT(*) FROM jobs WHERE status = 'ready' AND run_at <= $1 AND lease_until < $1 GROUP BY kind",
        )
        .bind(now_ms())
        .fetch_all(&self.pool)
        .await?)
    }

    /// Extends `worker`'s lease on a job; false when the lease was lost (it
    /// lapsed and someone else claimed the job, or the job is gone).
    pub async fn heartbeat(&self, job: &str, worker: &str, lease: Duration) -> Result<bool> {
        let updated = sqlx::query("UPDATE jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3")
            .bind(now_ms() + millis(lease))
            .bind(job)
            .bind(worker)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(updated > 0)
    }

    /// Finishes a job: it is deleted.
    pub async fn complete(&self, job: &str, worker: &str) -> Result<()> {
        sqlx::query("DELETE FROM jobs WHERE id = $1 AND lease_owner = $2")
            .bind(job)
            .bind(worker)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Gives a job back, to run again after `delay`.
    pub async fn retry_job(&self, job: &str, worker: &str, delay: Duration, error: &str) -> Result<()> {
        self.release_job(job, worker, "ready", Some(now_ms() + millis(delay)), error).await
    }

    /// Gives up on a job; it stays, `dead`, for an operator to look at.
    pub async fn bury_job(&self, job: &str, worker: &str, error: &str) -> Result<()> {
        self.release_job(job, worker, "dead", None, error).await
    }

    /// Drops `worker`'s lease, setting the status (and the next run time).
    async fn release_job(&self, job: &str, worker: &str, status: &str, run_at: Option<i64>, error: &str) -> Result<()> {
        sqlx::query(
            "UPDATE jobs SET status = $1, run_at = COALESCE($2, run_at), lease_owner = NULL, lease_until = 0,
             last_error = $3 WHERE id = $4 AND lease_owner = $5",
        )
        .bind(status)
        .bind(run_at)
        .bind(error)
        .bind(job)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn queue_stats(&self) -> Result<QueueStats> {
        Ok(sqlx::query_as(
            "SELECT
               COALESCE(SUM(CASE WHEN status = 'ready' AND lease_until < $1 THEN 1 ELSE 0 END), 0) AS ready,
               COALESCE(SUM(CASE WHEN status = 'ready' AND lease_until >= $1 THEN 1 ELSE 0 END), 0) AS leased,
               COALESCE(SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END), 0) AS dead
             FROM jobs",
        )
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing;

    const LEASE: Duration = Duration::from_secs(30);

    #[tokio::test]
    async fn claim_lease_complete() {
        let (_d, db) = testing::sqlite().await;
        assert!(db.enqueue("k", &json!({"n": 1}), Some("once"), Duration::ZERO).await.unwrap());
        assert!(!db.enqueue("k", &json!({"n": 2}), Some("once"), Duration::ZERO).await.unwrap(), "dedupe");
        let job = db.claim("w1", LEASE).await.unwrap().unwrap();
        assert_eq!((job.kind.as_str(), job.payload.clone(), job.attempts), ("k", json!({"n": 1}), 1));
        assert!(db.claim("w2", LEASE).await.unwrap().is_none(), "leased jobs are not claimed twice");
        assert_eq!(db.queue_stats().await.unwrap(), QueueStats { ready: 0, leased: 1, dead: 0 });
        assert!(db.heartbeat(&job.id, "w1", LEASE).await.unwrap());
        assert!(!db.heartbeat(&job.id, "w2", LEASE).await.unwrap(), "only the holder extends");
        db.complete(&job.id, "w1").await.unwrap();
        assert_eq!(db.queue_stats().await.unwrap(), QueueStats::default());
    }

    #[tokio::test]
    async fn a_lapsed_lease_is_claimed_again() {
        let (_d, db) = testing::sqlite().await;
        db.enqueue("k", &json!(null), None, Duration::ZERO).await.unwrap();
        let first = db.claim("dead-worker", Duration::from_millis(1)).await.unwrap().unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let again = db.claim("w2", LEASE).await.unwrap().expect("reclaimed after the lease lapsed");
        assert_eq!((again.id.as_str(), again.attempts), (first.id.as_str(), 2));
        assert!(!db.heartbeat(&first.id, "dead-worker", LEASE).await.unwrap(), "the old holder lost it");
        db.complete(&first.id, "dead-worker").await.unwrap();
        assert_eq!(db.queue_stats().await.unwrap().leased, 1, "a stale holder cannot complete it");
    }

    #[tokio::test]
    async fn retry_delays_and_bury_keeps() {
        let (_d, db) = testing::sqlite().await;
        db.enqueue("k", &json!(null), None, Duration::from_secs(60)).await.unwrap();
        assert!(db.claim("w", LEASE).await.unwrap().is_none(), "not due yet");
        db.enqueue("j", &json!(null), None, Duration::ZERO).await.unwrap();
        let job = db.claim("w", LEASE).await.unwrap().unwrap();
        db.retry_job(&job.id, "w", Duration::ZERO, "flaky").await.unwrap();
        let job = db.claim("w", LEASE).await.unwrap().unwrap();
        assert_eq!(job.attempts, 2);
        db.bury_job(&job.id, "w", "gave up").await.unwrap();
        assert!(db.claim("w", LEASE).await.unwrap().is_none());
        assert_eq!(db.queue_stats().await.unwrap(), QueueStats { ready: 1, leased: 0, dead: 1 });
    }

    #[tokio::test]
    async fn a_worker_may_claim_only_some_kinds() {
        let (_d, db) = testing::sqlite().await;
        db.enqueue("style.render", &json!({}), None, Duration::ZERO).await.unwrap();
        db.enqueue("webhook.deliver", &json!({}), None, Duration::ZERO).await.unwrap();
        let ready = db.ready_by_kind().await.unwrap();
        assert_eq!(ready.len(), 2, "{ready:?}");
        let except = KindFilter::Except(vec!["style.render".into()]);
        let only = KindFilter::Only(vec!["style.render".into()]);
        let first = db.claim_of("w", LEASE, &except).await.unwrap().unwrap();
        assert_eq!(first.kind, "webhook.deliver");
        assert!(db.claim_of("w", LEASE, &except).await.unwrap().is_none(), "the style job is left");
        assert_eq!(db.claim_of("s", LEASE, &only).await.unwrap().unwrap().kind, "style.render");
        assert!(db.claim_of("s", LEASE, &KindFilter::Only(vec![])).await.unwrap().is_none());
    }
}
