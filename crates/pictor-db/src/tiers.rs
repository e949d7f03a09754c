//! Each blob's storage tier and restore state (migration `0011_tiers`).
//!
//! The moves that delete a hot copy (archiving, a restored copy expiring)
//! delete it *inside* the transaction that records them, as
//! [`Db::release_blob`] does: the row lock (PostgreSQL) or write lock
//! (SQLite) makes a concurrent upload's pin wait, and a pin turns the blob
//! hot again (`pin_blob`), so an upload never ends up over a hot copy that
//! is being deleted.

use std::future::Future;

use crate::{Db, Result, now_ms};

/// A blob's tier and restore state.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct BlobTier {
    pub sha256: String,
    /// `hot` or `archive`.
    pub tier: String,
    /// Unix ms; 0 while hot.
    pub archived_at: i64,
    /// None, `requested`, `restoring` or `restored`.
    pub restore_state: Option<String>,
    pub restore_requested_at: i64,
    /// Unix ms until which a restored hot copy is kept; 0 if none.
    pub restored_until: i64,
}

impl BlobTier {
    pub fn is_archived(&self) -> bool {
        self.tier == "archive"
    }

    /// Whether a restored hot copy is there to read, at `now`.
    pub fn is_restored(&self, now: i64) -> bool {
        self.restore_state.as_deref() == Some("restored") && self.restored_until > now
    }
}

/// Which hot blobs a lifecycle rule archives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArchiveCandidates {
    /// Only blobs stored at or before this Unix ms.
    pub stored_before: i64,
    /// Only blobs with a processed image (its labels counted).
    pub processed: bool,
}

/// The tier condition shared by the candidate query and the move: hot,
/// unpinned (no upload in flight), and no image over it still in its
/// workflow (which reads the original).
const ARCHIVABLE: &str = "b.tier = 'hot' AND (b.pins = 0 OR b.pinned_until < $1)
    AND NOT EXISTS (SELECT 1 FROM images i WHERE i.sha256 = b.sha256 AND i.status IN ('pending', 'processing'))";

impl Db {
    /// The blob's tier and restore state; `None` if there is no such blob.
    pub async fn blob_tier(&self, sha256: &str) -> Result<Option<BlobTier>> {
        Ok(sqlx::query_as(
            "SELECT sha256, tier, archived_at, restore_state, restore_requested_at, restored_until
               FROM blobs WHERE sha256 = $1",
        )
        .bind(sha256)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Hot blobs that `rule` archives, at most `limit`.
    pub async fn archive_candidates(&self, rule: ArchiveCandidates, limit: i64) -> Result<Vec<String>> {
        let images = if rule.processed { "AND i.status = 'processed'" } else { "" };
        let sql = format!(
            "SELECT b.sha256 FROM blobs b WHERE {ARCHIVABLE} AND b.created_at <= $2
               AND EXISTS (SELECT 1 FROM images i WHERE i.sha256 = b.sha256 {images})
             ORDER BY b.created_at LIMIT $3"
        );
        Ok(sqlx::query_scalar(&sql).bind(now_ms()).bind(rule.stored_before).bind(limit).fetch_all(&self.pool).await?)
    }

    /// Records the blob as archived and runs `delete_hot` (the hot copy's
    /// deletion) inside the same transaction, which rolls back if it fails.
    /// Returns false, deleting nothing, when the blob is no longer
    /// archivable (pinned by an upload, in a workflow, already archived).
    pub async fn mark_archived<F, E>(&self, sha256: &str, delete_hot: impl FnOnce() -> F) -> Result<bool>
    where
        F: Future<Output = std::result::Result<(), E>>,
        E: std::fmt::Display,
    {
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "UPDATE blobs SET tier = 'archive', archived_at = $2, restore_state = NULL, restored_until = 0
               WHERE sha256 = $3 AND sha256 IN (SELECT b.sha256 FROM blobs b WHERE {ARCHIVABLE} AND b.sha256 = $3)"
        );
        let now = now_ms();
        let moved = sqlx::query(&sql).bind(now).bind(now).bind(sha256).execute(&mut *tx).await?.rows_affected() == 1;
        if !moved {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Err(e) = delete_hot().await {
            tx.rollback().await?;
            return Err(crate::DbError::Conflict(format!("blob {sha256} kept hot: deleting its hot copy failed: {e}")));
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Asks for a restore of an archived blob: `requested` now, unless one
    /// is already asked for, under way, or readable. Returns the blob's
    /// state afterwards (`None` if there is no such blob).
    pub async fn request_restore(&self, sha256: &str) -> Result<Option<BlobTier>> {
        let now = now_ms();
        sqlx::query(
            "UPDATE blobs SET restore_state = 'requested', restore_requested_at = $1, restored_until = 0
               WHERE sha256 = $2 AND tier = 'archive'
                 AND (restore_state IS NULL OR (restore_state = 'restored' AND restored_until <= $1))",
        )
        .bind(now)
        .bind(sha256)
        .execute(&self.pool)
        .await?;
        self.blob_tier(sha256).await
    }

    /// The archive is making a readable copy.
    pub async fn mark_restoring(&self, sha256: &str) -> Result<()> {
        sqlx::query(
            "UPDATE blobs SET restore_state = 'restoring' WHERE sha256 = $1 AND tier = 'archive'
               AND restore_state = 'requested'",
        )
        .bind(sha256)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The hot copy is written: readable until `until` (Unix ms). False when
    /// the blob is no longer waiting for a restore.
    pub async fn mark_restored(&self, sha256: &str, until: i64) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE blobs SET restore_state = 'restored', restored_until = $1 WHERE sha256 = $2
               AND tier = 'archive' AND restore_state IN ('requested', 'restoring')",
        )
        .bind(until)
        .bind(sha256)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }

    /// Archived blobs whose restored hot copy expired before `now`.
    pub async fn expired_restores(&self, now: i64, limit: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT sha256 FROM blobs WHERE tier = 'archive' AND restore_state = 'restored'
               AND restored_until <= $1 LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Ends a restore: the state goes back to archived and `delete_hot`
    /// runs inside the transaction. With `expired_by`, only a copy restored
    /// until then or earlier. Returns whether a restored copy was released.
    pub async fn release_restore<F, E>(
        &self,
        sha256: &str,
        expired_by: Option<i64>,
        delete_hot: impl FnOnce() -> F,
    ) -> Result<bool>
    where
        F: Future<Output = std::result::Result<(), E>>,
        E: std::fmt::Display,
    {
        let mut tx = self.begin_write().await?;
        let released = sqlx::query(
            "UPDATE blobs SET restore_state = NULL, restored_until = 0 WHERE sha256 = $1 AND tier = 'archive'
               AND restore_state = 'restored' AND restored_until <= $2",
        )
        .bind(sha256)
        .bind(expired_by.unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !released {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Err(e) = delete_hot().await {
            tx.rollback().await?;
            return Err(crate::DbError::Conflict(format!("restored copy of {sha256} kept: deleting it failed: {e}")));
        }
        tx.commit().await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::NewBlob;
    use crate::testing;

    const SHA: &str = "bb00000000000000000000000000000000000000000000000000000000000000";

    async fn ok() -> std::result::Result<(), String> {
        Ok(())
    }

    #[tokio::test]
    async fn a_blob_goes_archive_restored_released_and_a_pin_makes_it_hot() {
        let (_d, db) = testing::sqlite().await;
        db.pin_blob(&NewBlob { sha256: SHA, md5: "m", bytes: 3 }, Duration::from_secs(60)).await.unwrap();
        assert_eq!(db.blob_tier(SHA).await.unwrap().unwrap().tier, "hot");
        // Pinned by an upload in flight: not archivable.
        assert!(!db.mark_archived(SHA, ok).await.unwrap());
        db.unpin_blob(SHA).await.unwrap();
        let failed = db.mark_archived(SHA, || async { Err::<(), _>("disk gone") }).await.unwrap_err();
        assert!(failed.to_string().contains("disk gone"));
        assert_eq!(db.blob_tier(SHA).await.unwrap().unwrap().tier, "hot");
        assert!(db.mark_archived(SHA, ok).await.unwrap());
        assert!(!db.mark_archived(SHA, ok).await.unwrap());

        let asked = db.request_restore(SHA).await.unwrap().unwrap();
        assert_eq!((asked.tier.as_str(), asked.restore_state.as_deref()), ("archive", Some("requested")));
        db.mark_restoring(SHA).await.unwrap();
        let until = now_ms() + 60_000;
        assert!(db.mark_restored(SHA, until).await.unwrap());
        assert!(db.blob_tier(SHA).await.unwrap().unwrap().is_restored(now_ms()));
        // Asking again while readable changes nothing.
        assert_eq!(db.request_restore(SHA).await.unwrap().unwrap().restored_until, until);
        assert!(db.expired_restores(now_ms(), 10).await.unwrap().is_empty());
        assert_eq!(db.expired_restores(until, 10).await.unwrap(), [SHA]);
        assert!(!db.release_restore(SHA, Some(now_ms()), ok).await.unwrap());
        assert!(db.release_restore(SHA, Some(until), ok).await.unwrap());
        let after = db.blob_tier(SHA).await.unwrap().unwrap();
        assert_eq!((after.tier.as_str(), after.restore_state), ("archive", None));

        db.pin_blob(&NewBlob { sha256: SHA, md5: "m", bytes: 3 }, Duration::from_secs(60)).await.unwrap();
        assert_eq!(db.blob_tier(SHA).await.unwrap().unwrap().tier, "hot");
    }

    #[tokio::test]
    async fn candidates_wait_for_uploads_and_workflows_and_follow_the_rule() {
        let (_d, db) = crate::images::tests::with_blob().await;
        let sha = "bb".repeat(32);
        let image = crate::images::tests::image("i1", Some("ann"), 10);
        db.insert_image(&image).await.unwrap();
        let labelled = ArchiveCandidates { stored_before: now_ms(), processed: true };
        let any = ArchiveCandidates { stored_before: now_ms(), processed: false };
        // Pinned by its upload, then pending in its workflow: not yet.
        assert!(db.archive_candidates(any, 10).await.unwrap().is_empty());
        db.unpin_blob(&sha).await.unwrap();
        assert!(db.archive_candidates(any, 10).await.unwrap().is_empty());
        db.settle_image(&image, "processed", "image.processed", serde_json::json!({}), "p1").await.unwrap();
        assert_eq!(db.archive_candidates(labelled, 10).await.unwrap(), [sha.as_str()]);
        assert_eq!(db.archive_candidates(any, 10).await.unwrap(), [sha.as_str()]);
        // Too young for an age rule.
        let old_only = ArchiveCandidates { stored_before: now_ms() - 86_400_000, processed: false };
        assert!(db.archive_candidates(old_only, 10).await.unwrap().is_empty());
        assert!(db.mark_archived(&sha, ok).await.unwrap());
        assert!(db.archive_candidates(any, 10).await.unwrap().is_empty(), "archived already");
    }
}
