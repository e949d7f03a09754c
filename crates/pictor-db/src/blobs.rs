//! Blob rows and the protocol that keeps rows and objects in step.
//!
//! An upload *pins* its blob row before writing the object and unpins it once
//! its image row has committed. Deleting the last image of a blob *releases*
//! it: inside one transaction the row is deleted only if no image refers to it
//! and no live pin holds it, and the object is deleted before that transaction
//! commits. The row lock (PostgreSQL) or write lock (SQLite) makes a concurrent
//! pin wait, so an upload can never end up pointing at a deleted object.

use std::future::Future;
use std::time::Duration;

use crate::{Db, Result, now_ms};

/// A blob about to be written.
#[derive(Clone, Debug)]
pub struct NewBlob<'a> {
    pub sha256: &'a str,
    pub md5: &'a str,
    pub bytes: i64,
}

impl Db {
    /// Creates or pins the blob row for an upload. The pin lapses after
    /// `lease` in case the uploader dies before [`Db::unpin_blob`]. An
    /// archived blob turns hot again: the upload writes its hot copy (the
    /// archived one stays, for the next time the lifecycle archives it).
    pub async fn pin_blob(&self, blob: &NewBlob<'_>, lease: Duration) -> Result<()> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO blobs (sha256, md5, bytes, pins, pinned_until, created_at) VALUES ($1, $2, $3, 1, $4, $5)
             ON CONFLICT (sha256) DO UPDATE SET pins = blobs.pins + 1, pinned_until = $4,
               tier = 'hot', restore_state = NULL, restored_until = 0",
        )
        .bind(blob.sha256)
        .bind(blob.md5)
        .bind(blob.bytes)
        .bind(now + lease.as_millis() as i64)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn unpin_blob(&self, sha256: &str) -> Result<()> {
        sqlx::query("UPDATE blobs SET pins = CASE WHEN pins > 0 THEN pins - 1 ELSE 0 END WHERE sha256 = $1")
            .bind(sha256)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes the blob if nothing refers to it or pins it; `delete_object`
    /// runs inside the transaction, which rolls back if it fails. Returns
    /// whether the blob was deleted.
    pub async fn release_blob<F, E>(&self, sha256: &str, delete_object: impl FnOnce() -> F) -> Result<bool>
    where
        F: Future<Output = std::result::Result<(), E>>,
        E: std::fmt::Display,
    {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query(
            "DELETE FROM blobs WHERE sha256 = $1 AND (pins = 0 OR pinned_until < $2)
               AND NOT EXISTS (SELECT 1 FROM images WHERE images.sha256 = $1)",
        )
        .bind(sha256)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !deleted {
            return Ok(false);
        }
        sqlx::query("DELETE FROM derivatives WHERE sha256 = $1").bind(sha256).execute(&mut *tx).await?;
        if let Err(e) = delete_object().await {
            tx.rollback().await?;
            return Err(crate::DbError::Conflict(format!("blob {sha256} kept: deleting its object failed: {e}")));
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Blobs no image refers to whose pins have lapsed: left by uploads that
    /// died midway. The sweeper releases them.
    pub async fn orphaned_blobs(&self, limit: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT sha256 FROM blobs WHERE (pins = 0 OR pinned_until < $1)
               AND NOT EXISTS (SELECT 1 FROM images WHERE images.sha256 = blobs.sha256) LIMIT $2",
        )
        .bind(now_ms())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Whether a blob row exists.
    pub async fn blob_exists(&self, sha256: &str) -> Result<bool> {
        Ok(sqlx::query("SELECT 1 FROM blobs WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    const SHA: &str = "aa00000000000000000000000000000000000000000000000000000000000000";

    async fn ok() -> std::result::Result<(), String> {
        Ok(())
    }

    #[tokio::test]
    async fn pinned_blob_is_not_released_until_unpinned() {
        let (_d, db) = testing::sqlite().await;
        db.pin_blob(&NewBlob { sha256: SHA, md5: "m", bytes: 3 }, Duration::from_secs(60)).await.unwrap();
        assert!(!db.release_blob(SHA, ok).await.unwrap());
        db.unpin_blob(SHA).await.unwrap();
        assert_eq!(db.orphaned_blobs(10).await.unwrap(), vec![SHA.to_string()]);
        assert!(db.release_blob(SHA, ok).await.unwrap());
        assert!(!db.blob_exists(SHA).await.unwrap());
    }

    #[tokio::test]
    async fn lapsed_pin_does_not_hold_a_blob() {
        let (_d, db) = testing::sqlite().await;
        db.pin_blob(&NewBlob { sha256: SHA, md5: "m", bytes: 3 }, Duration::ZERO).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(db.release_blob(SHA, ok).await.unwrap());
    }

    #[tokio::test]
    async fn failed_object_delete_keeps_the_row() {
        let (_d, db) = testing::sqlite().await;
        db.pin_blob(&NewBlob { sha256: SHA, md5: "m", bytes: 3 }, Duration::ZERO).await.unwrap();
        db.unpin_blob(SHA).await.unwrap();
        let err = db.release_blob(SHA, || async { Err::<(), _>("disk on fire") }).await.unwrap_err();
        assert!(err.to_string().contains("disk on fire"));
        assert!(db.blob_exists(SHA).await.unwrap());
    }
}
