//! Pictor's records on SQLite (embedded default) or PostgreSQL (scale-out).
//!
//! Why one crate and one set of queries: both databases run the same SQL
//! through sqlx's `Any` driver, so a feature tested on SQLite behaves the same
//! on PostgreSQL. The schema uses only TEXT and BIGINT and `$N` parameters,
//! which both accept. Migrations (`migrations/`) run at connect.
//!
//! Every change that matters is written together with an [`Event`] row in the
//! same transaction, so the event feed never misses or invents a change.
//! Every record that belongs to someone carries an `owner`.

mod accounts;
mod albums;
mod blobs;
mod bundles;
mod columns;
mod derivatives;
mod direct;
mod events;
mod executions;
mod images;
mod imports;
mod jobs;
mod keys;
mod oidc;
mod places;
mod retention;
mod shares;
mod shop;
mod tiers;
mod uploads;
mod vision;
mod webhooks;

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

pub use accounts::{SessionRecord, UserRecord, UserSummary};
pub use albums::AlbumRecord;
pub use blobs::NewBlob;
pub use bundles::{BundleCandidate, BundleItem, BundleOutcome, BundleRecord};
pub use derivatives::DerivativeRef;
pub use direct::DirectUploadRecord;
pub use events::{Audience, Event};
pub use executions::{ExecutionRecord, HistoryRow, ImageOutcome};
pub use images::{Area, ImageFacts, ImageFilter, ImageRecord, ImageState, Page};
pub use imports::{ImportPage, ImportRecord};
pub use jobs::{Job, JobListener, KindFilter, NewJob, Outbox, QueueStats};
pub use keys::{ApiKeyRecord, ApiKeySummary};
pub use oidc::{NewIdentity, OidcLogin};
pub use places::WORLD_CELL;
pub use places::{Cell, Cluster};
pub use shares::{NewShare, ShareAccess, ShareRecord, ShareSummary};
pub use shop::{PaymentOutcome, Rendition, ShopOrder};
pub use tiers::{ArchiveCandidates, BlobTier};
pub use uploads::{UploadPart, UploadRecord};
pub use vision::{ImageLabel, LabelCount, Review};
pub use webhooks::{Attempt, Delivery, Webhook, rfc3339_ms, utc_fields};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database: {0}")]
    Sql(#[source] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("{0}")]
    Conflict(String),
    /// A JSON column holds something that does not parse: reported, never
    /// read as an empty value.
    #[error("database: column {column} holds invalid JSON: {error}")]
    BadJson { column: String, error: String },
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            // A derived `FromRow` names the column as `"name"`.
            sqlx::Error::ColumnDecode { index, source } if source.is::<columns::InvalidJson>() => {
                Self::BadJson { column: index.trim_matches('"').to_string(), error: source.to_string() }
            }
            e => Self::Sql(e),
        }
    }
}

impl DbError {
    /// Whether the database could not be reached, rather than refusing this
    /// request: a connection refused or lost, no connection free within the
    /// pool's acquire timeout, or the server shutting down or starting up.
    /// These pass by themselves once the database is back, so callers answer
    /// "retry later" instead of reporting a failure.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Sql(e) => sql_unavailable(e),
            Self::Migrate(sqlx::migrate::MigrateError::Execute(e)) => sql_unavailable(e),
            _ => false,
        }
    }

    /// Whether the database's disk (or quota) is full: SQLite's
    /// `SQLITE_FULL`, PostgreSQL's `53100 disk_full`, or ENOSPC/EDQUOT met
    /// on the connection. Nothing was written; writes work again once space
    /// is freed.
    pub fn is_disk_full(&self) -> bool {
        let Self::Sql(e) = self else { return false };
        match e {
            sqlx::Error::Database(db) => {
                let code = db.code().unwrap_or_default();
                if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                    // Extended result codes keep the primary one in the low byte.
                    code.parse::<i32>().is_ok_and(|c| c & 0xff == SQLITE_FULL)
                } else {
                    code == "53100"
                }
            }
            sqlx::Error::Io(io) => {
                matches!(io.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
            }
            _ => false,
        }
    }
}

/// SQLite's primary result code for "database or disk is full".
const SQLITE_FULL: i32 = 13;

fn sql_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception), 57P01-57P03 (admin or
        // crash shutdown, cannot connect now) and 53300 (too many
        // connections), as PostgreSQL reports them.
        sqlx::Error::Database(db) => {
            db.code().is_some_and(|code| code.starts_with("08") || code.starts_with("57P") || code == "53300")
        }
        _ => false,
    }
}

pub type Result<T, E = DbError> = std::result::Result<T, E>;

/// How long a query waits for a pooled connection by default: while the
/// database is down, callers get [`DbError::is_unavailable`] after this long
/// instead of hanging.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long [`Db::connect`] waits for a database that is not answering yet.
const STARTUP_WAIT: Duration = Duration::from_secs(10);

/// Parses the JSON `text` of `column`.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| DbError::BadJson { column: column.to_string(), error: e.to_string() })
}

/// Which engine a [`Db`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A pool of connections to the records database.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// Shared by every clone: set once by the dispatching layer.
    outbox: Arc<RwLock<Arc<Outbox>>>,
    /// Where `LISTEN` connects (PostgreSQL only).
    postgres_url: Option<Redacted>,
}

/// A database URL, which may hold a password: never in a `Debug` print.
#[derive(Clone)]
struct Redacted(String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[database URL]")
    }
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl Db {
    /// Connects to `url` (`sqlite://path` or `postgres://…`), creating a
    /// SQLite file if missing, and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with_timeout(url, DEFAULT_ACQUIRE_TIMEOUT).await
    }

    /// As [`Db::connect`]; a query waits at most `acquire_timeout` for a
    /// connection (opening one included), then fails with an error that
    /// [`DbError::is_unavailable`]. The pool reconnects by itself once the
    /// database answers again.
    pub async fn connect_with_timeout(url: &str, acquire_timeout: Duration) -> Result<Self> {
        install_default_drivers();
        let (backend, url) = normalise_url(url)?;
        let max = if backend == Backend::Sqlite { 8 } else { 16 };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(acquire_timeout)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // A writer waits for the lock rather than failing
                        // when fsyncs are slow and writers queue up.
                        conn.execute("PRAGMA busy_timeout = 30000").await?;
                    }
                    Ok(())
                })
            })
            .after_release(move |conn, _| {
                Box::pin(async move {
                    type Manager = <sqlx::Any as sqlx::Database>::TransactionManager;
                    let depth =
                        |conn: &sqlx::AnyConnection| <Manager as sqlx::TransactionManager>::get_transaction_depth(conn);
                    if backend != Backend::Sqlite || depth(conn) == 0 {
                        return Ok(true);
                    }
                    // A transaction dropped uncommitted left a ROLLBACK
                    // queued: run it. If it fails (a COMMIT that failed on a
                    // full disk had SQLite roll back already), sqlx goes on
                    // counting the transaction and the connection would
                    // refuse every later BEGIN: close it instead.
                    sqlx::Connection::ping(conn).await?;
                    Ok(depth(conn) == 0)
                })
            })
            .connect_lazy(&url)?;
        // The database may still be starting (as when both start together):
        // wait for it up to STARTUP_WAIT, not just one acquire timeout.
        let started = std::time::Instant::now();
        loop {
            match pool.acquire().await {
                Ok(_) => break,
                Err(sqlx::Error::PoolTimedOut) if started.elapsed() < STARTUP_WAIT => continue,
                Err(e) => return Err(e.into()),
            }
        }
        if backend == Backend::Sqlite {
            // Readers don't block the writer; persistent once set.
            pool.execute("PRAGMA journal_mode=WAL").await?;
        }
        MIGRATOR.run(&pool).await?;
        let postgres_url = (backend == Backend::Postgres).then_some(Redacted(url));
        Ok(Self { pool, backend, outbox: Arc::default(), postgres_url })
    }

    /// Starts a transaction that will write. On SQLite it takes the write
    /// lock at once (`BEGIN IMMEDIATE`): a deferred transaction that reads
    /// before it writes fails with `SQLITE_BUSY` instead of waiting when
    /// another writer commits in between.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Sets which recorded events enqueue a dispatch job (for every clone
    /// of this `Db`). Until it is set, none do.
    pub fn set_outbox(&self, outbox: Outbox) {
        *self.outbox.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(outbox);
    }

    pub(crate) fn outbox(&self) -> Arc<Outbox> {
        self.outbox.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn normalise_url(url: &str) -> Result<(Backend, String)> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_string()));
    }
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url =
            if path.contains("mode=") { format!("sqlite://{path}") } else { format!("sqlite://{path}{sep}mode=rwc") };
        return Ok((Backend::Sqlite, url));
    }
    Err(DbError::UnsupportedUrl(url.to_string()))
}

/// Unix time in milliseconds: how every timestamp is stored.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[cfg(test)]
pub(crate) mod testing {
    use super::Db;

    /// A fresh SQLite database, or the PostgreSQL named by
    /// `PICTOR_TEST_DATABASE_URL` when `pg` is asked for and it is set.
    pub async fn sqlite() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        (dir, Db::connect(&url).await.unwrap())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalised() {
        assert_eq!(normalise_url("sqlite://a/b.db").unwrap(), (Backend::Sqlite, "sqlite://a/b.db?mode=rwc".into()));
        assert_eq!(normalise_url("postgres://u@h/db").unwrap().0, Backend::Postgres);
        assert!(normalise_url("mysql://x").is_err());
    }

    #[tokio::test]
    async fn migrations_run_and_ping_answers() {
        let (_dir, db) = testing::sqlite().await;
        db.ping().await.unwrap();
        assert_eq!(db.backend(), Backend::Sqlite);
    }

    /// SQLite refuses a write past `max_page_count` with `SQLITE_FULL`, as it
    /// does when the disk is full.
    #[tokio::test]
    async fn a_full_database_is_told_from_a_failing_one() {
        let (_dir, db) = testing::sqlite().await;
        let mut conn = db.pool.acquire().await.unwrap();
        conn.execute("CREATE TABLE filler (x BLOB)").await.unwrap();
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(&mut *conn).await.unwrap();
        conn.execute(format!("PRAGMA max_page_count = {}", pages + 4).as_str()).await.unwrap();
        let full = loop {
            if let Err(e) = sqlx::query("INSERT INTO filler VALUES (zeroblob(8192))").execute(&mut *conn).await {
                break DbError::from(e);
            }
        };
        assert!(full.is_disk_full() && !full.is_unavailable(), "{full}");
        let other = DbError::from(conn.execute("INSERT INTO no_such_table VALUES (1)").await.unwrap_err());
        assert!(!other.is_disk_full(), "{other}");
    }

    #[tokio::test]
    async fn bad_json_is_an_error_not_an_empty_value() {
        let (_dir, db) = testing::sqlite().await;
        let id = db.record_event("image.created", "s", None, serde_json::json!({"a": 1}), None).await.unwrap().unwrap();
        assert_eq!(db.get_event(&id).await.unwrap().unwrap().payload["a"], 1);
        sqlx::query("UPDATE events SET payload = 'not json' WHERE id = $1").bind(&id).execute(&db.pool).await.unwrap();
        let err = db.get_event(&id).await.unwrap_err();
        assert!(matches!(&err, DbError::BadJson { column, .. } if column == "payload"), "{err}");
    }
}
