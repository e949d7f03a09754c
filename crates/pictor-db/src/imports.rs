//! Imports: one row per import of a bucket prefix or a folder, with its
//! state, counters and cursor. The job that runs one advances the cursor
//! and the counters by a conditional update on the cursor it started the
//! page from, so a worker that lost its lease cannot count a page twice.
//! Each page records an `import.progress` event and the end an
//! `import.done` event (its state in the payload), in the same
//! transaction, for the owner's event feed.

use crate::events::record;
use crate::jobs::{NewJob, enqueue_in};
use crate::{Db, Result, now_ms};

/// An import, as stored.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct ImportRecord {
    pub id: String,
    pub owner: Option<String>,
    /// What is shown: `s3://bucket/prefix` or the folder, no credentials.
    pub source: String,
    /// `queued`, `running`, `done`, `failed` or `cancelled`.
    pub state: String,
    /// The last key fully processed ('' before the first page).
    pub cursor_key: String,
    pub seen: i64,
    pub imported: i64,
    pub duplicates: i64,
    pub skipped: i64,
    pub failed: i64,
    /// Bytes of the images imported.
    pub bytes: i64,
    /// JSON array of the latest `{"key", "reason"}` skipped or failed.
    pub problems: String,
    /// Why it failed, when it did.
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

impl ImportRecord {
    /// A new import of `source` (as shown) for `owner`, queued at `now`.
    pub fn queued(id: String, owner: Option<String>, source: String, now: i64) -> Self {
        Self {
            id,
            owner,
            source,
            state: "queued".into(),
            cursor_key: String::new(),
            seen: 0,
            imported: 0,
            duplicates: 0,
            skipped: 0,
            failed: 0,
            bytes: 0,
            problems: "[]".into(),
            error: None,
            created_at: now,
            updated_at: now,
            finished_at: None,
        }
    }
}

/// What one page added, and where it ended.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportPage {
    /// The last key of the page.
    pub cursor_key: String,
    pub seen: i64,
    pub imported: i64,
    pub duplicates: i64,
    pub skipped: i64,
    pub failed: i64,
    pub bytes: i64,
    /// The whole new `problems` column.
    pub problems: String,
}

const COLUMNS: &str = "id, owner, source, state, cursor_key, seen, imported, duplicates, skipped, failed, bytes, \
                       problems, error, created_at, updated_at, finished_at";

/// States an import still moves out of.
const ACTIVE: &str = "state IN ('queued', 'running')";

impl Db {
    /// Inserts a queued import and the job that runs it, in one transaction.
    pub async fn create_import(&self, import: &ImportRecord, run: &NewJob) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(&format!(
            "INSERT INTO imports ({COLUMNS}) VALUES ($1, $2, $3, 'queued', '', 0, 0, 0, 0, 0, 0, '[]', NULL, $4, $4, NULL)"
        ))
        .bind(&import.id)
        .bind(&import.owner)
        .bind(&import.source)
        .bind(import.created_at)
        .execute(&mut *tx)
        .await?;
        enqueue_in(&mut tx, &run.kind, &run.payload, run.dedupe.as_deref(), now_ms()).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_import(&self, id: &str) -> Result<Option<ImportRecord>> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM imports WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The owner's imports (NULL matches NULL), newest first.
    pub async fn list_imports(&self, owner: Option<&str>, limit: i64) -> Result<Vec<ImportRecord>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM imports WHERE ((owner IS NULL AND $1 IS NULL) OR owner = $1)
             ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(owner)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// How many of the owner's imports are queued or running.
    pub async fn active_imports(&self, owner: Option<&str>) -> Result<i64> {
        Ok(sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM imports WHERE ((owner IS NULL AND $1 IS NULL) OR owner = $1) AND {ACTIVE}"
        ))
        .bind(owner)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Marks a queued import running; false when it is not queued or running.
    pub async fn start_import(&self, id: &str) -> Result<bool> {
        let changed =
            sqlx::query(&format!("UPDATE imports SET state = 'running', updated_at = $1 WHERE id = $2 AND {ACTIVE}"))
                .bind(now_ms())
                .bind(id)
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(changed == 1)
    }

    /// Adds a page's counts and moves the cursor, if the import is still
    /// active and its cursor is still `from` (else another run did it).
    pub async fn advance_import(&self, id: &str, from: &str, page: &ImportPage) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(&format!(
            "UPDATE imports SET cursor_key = $1, seen = seen + $2, imported = imported + $3,
                 duplicates = duplicates + $4, skipped = skipped + $5, failed = failed + $6, bytes = bytes + $7,
                 problems = $8, updated_at = $9
             WHERE id = $10 AND cursor_key = $11 AND {ACTIVE}"
        ))
        .bind(&page.cursor_key)
        .bind(page.seen)
        .bind(page.imported)
        .bind(page.duplicates)
        .bind(page.skipped)
        .bind(page.failed)
        .bind(page.bytes)
        .bind(&page.problems)
        .bind(now_ms())
        .bind(id)
        .bind(from)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 1 {
            self.record_import_event(&mut tx, "import.progress", id).await?;
        }
        tx.commit().await?;
        Ok(changed == 1)
    }

    /// Ends an active import as `state` (`done`, `failed` or `cancelled`),
    /// with `error` for a failure; false when it had ended already.
    pub async fn finish_import(&self, id: &str, state: &str, error: Option<&str>) -> Result<bool> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(&format!(
            "UPDATE imports SET state = $1, error = $2, updated_at = $3, finished_at = $3 WHERE id = $4 AND {ACTIVE}"
        ))
        .bind(state)
        .bind(error)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 1 {
            self.record_import_event(&mut tx, "import.done", id).await?;
        }
        tx.commit().await?;
        Ok(changed == 1)
    }

    /// Records `kind` for the import as it now is (state and counters).
    async fn record_import_event(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        kind: &str,
        id: &str,
    ) -> Result<()> {
        let row: ImportRecord = sqlx::query_as(&format!("SELECT {COLUMNS} FROM imports WHERE id = $1"))
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
        let payload = serde_json::json!({
            "import": row.id, "source": row.source, "state": row.state, "seen": row.seen,
            "imported": row.imported, "duplicates": row.duplicates, "skipped": row.skipped,
            "failed": row.failed, "bytes": row.bytes, "error": row.error,
        });
        record(tx, &self.outbox(), kind, id, row.owner.as_deref(), payload).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn import(id: &str, owner: Option<&str>, at: i64) -> ImportRecord {
        ImportRecord::queued(id.into(), owner.map(Into::into), "s3://b/p".into(), at)
    }

    fn job(id: &str) -> NewJob {
        NewJob { kind: "import.run".into(), payload: serde_json::json!({ "import": id }), dedupe: Some(id.into()) }
    }

    #[tokio::test]
    async fn pages_advance_once_from_their_cursor() {
        let (_d, db) = testing::sqlite().await;
        db.create_import(&import("i", Some("alice"), 1), &job("i")).await.unwrap();
        db.create_import(&import("j", None, 2), &job("j")).await.unwrap();
        assert_eq!(db.list_imports(Some("alice"), 10).await.unwrap().len(), 1);
        assert_eq!(db.list_imports(None, 10).await.unwrap()[0].id, "j");
        assert_eq!(db.active_imports(Some("alice")).await.unwrap(), 1);
        assert!(db.start_import("i").await.unwrap());
        let page =
            ImportPage { cursor_key: "a/2.jpg".into(), seen: 2, imported: 1, duplicates: 1, ..Default::default() };
        let page = ImportPage { problems: "[]".into(), ..page };
        assert!(db.advance_import("i", "", &page).await.unwrap());
        // The same page again (a run that lost its lease) counts nothing.
        assert!(!db.advance_import("i", "", &page).await.unwrap());
        let row = db.get_import("i").await.unwrap().unwrap();
        assert_eq!((row.state.as_str(), row.cursor_key.as_str(), row.seen, row.imported), ("running", "a/2.jpg", 2, 1));
        assert!(db.finish_import("i", "done", None).await.unwrap());
        assert!(!db.finish_import("i", "cancelled", None).await.unwrap());
        assert!(!db.advance_import("i", "a/2.jpg", &page).await.unwrap());
        let row = db.get_import("i").await.unwrap().unwrap();
        assert_eq!(row.state, "done");
        let kinds: Vec<String> = db.events_for("i").await.unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["import.progress", "import.done"]);
        assert!(row.finished_at.is_some());
        assert_eq!(db.active_imports(Some("alice")).await.unwrap(), 0);
    }
}
