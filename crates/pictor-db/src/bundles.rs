//! Download bundles: one row per bundle (its labels, state and counts) and
//! one per image it holds, in zip order. A bundle's request and its
//! `bundle.requested` event (which starts its workflow) and its
//! notification job are written in one transaction: an accepted bundle
//! cannot miss its workflow or its message.

use serde::Serialize;

use crate::columns::JsonText;
use crate::events::{record, record_once};
use crate::images::{Arg, ImageFilter, bind_all, owned};
use crate::jobs::enqueue_in;
use crate::{Db, NewJob, Result, now_ms};

/// A bundle as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct BundleRecord {
    pub id: String,
    pub owner: Option<String>,
    #[sqlx(try_from = "JsonText<Vec<String>>")]
    pub labels: Vec<String>,
    #[sqlx(try_from = "crate::columns::Flag")]
    #[serde(skip)]
    pub match_all: bool,
    /// How the link is sent: `email`, `sms` or `webhook`.
    pub channel: String,
    /// Where links to the bundle point (the server's public address).
    #[serde(skip)]
    pub link_base: String,
    /// `requested`, `restoring`, `zipping`, `ready` or `failed`.
    pub state: String,
    pub total: i64,
    pub restored: i64,
    pub zipped: i64,
    /// The zip's size once ready.
    pub bytes: i64,
    #[serde(skip)]
    pub object_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub created_at: i64,
    pub ready_at: i64,
    pub expires_at: i64,
}

/// One image in a bundle.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct BundleItem {
    pub position: i64,
    pub image_id: String,
    pub sha256: String,
    /// The zip entry's name: unique in the bundle and safe to extract.
    pub name: String,
    pub bytes: i64,
    /// When the photo was taken (else uploaded), Unix ms: the entry's date.
    pub taken_at: i64,
    /// Whether this bundle asked the archive for the original.
    #[sqlx(try_from = "crate::columns::Flag")]
    #[serde(skip)]
    pub restoring: bool,
}

/// An image a bundle's labels match, before it has a name in the zip.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct BundleCandidate {
    pub id: String,
    pub sha256: String,
    pub name: Option<String>,
    pub format: String,
    pub bytes: i64,
    pub taken_at: i64,
}

const COLUMNS: &str = "id, owner, labels, match_all, channel, link_base, state, total, restored, zipped, bytes, \
                       object_key, error, created_at, ready_at, expires_at";
const ITEM_COLUMNS: &str = "position, image_id, sha256, name, bytes, taken_at, restoring";

impl Db {
    /// Records a bundle, its `bundle.requested` event and, when given, the
    /// job that will send its link, in one transaction.
    pub async fn create_bundle(&self, bundle: &BundleRecord, notify: Option<&NewJob>, notify_at: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(&format!(
            "INSERT INTO bundles ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, 0, 0, $8, NULL, $9, 0, $10)"
        ))
        .bind(&bundle.id)
        .bind(&bundle.owner)
        .bind(serde_json::to_string(&bundle.labels).expect("strings serialise"))
        .bind(i64::from(bundle.match_all))
        .bind(&bundle.channel)
        .bind(&bundle.link_base)
        .bind(&bundle.state)
        .bind(&bundle.object_key)
        .bind(bundle.created_at)
        .bind(bundle.expires_at)
        .execute(&mut *tx)
        .await?;
        let payload =
            serde_json::json!({ "bundleId": bundle.id, "labels": bundle.labels, "matchAll": bundle.match_all });
        record(&mut tx, &self.outbox(), "bundle.requested", &bundle.id, bundle.owner.as_deref(), payload).await?;
        if let Some(job) = notify {
            enqueue_in(&mut tx, &job.kind, &job.payload, job.dedupe.as_deref(), notify_at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_bundle(&self, id: &str) -> Result<Option<BundleRecord>> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM bundles WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The owner's bundles, newest first.
    pub async fn list_bundles(&self, owner: Option<&str>, limit: i64) -> Result<Vec<BundleRecord>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM bundles WHERE {} ORDER BY created_at DESC, id DESC LIMIT $2",
            owned(owner)
        ))
        .bind(owner)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The owner's images that `filter`'s labels match, oldest first, at
    /// most `limit`.
    pub async fn bundle_candidates(
        &self,
        owner: Option<&str>,
        filter: &ImageFilter,
        limit: i64,
    ) -> Result<Vec<BundleCandidate>> {
        let (conditions, args): (String, Vec<Arg>) = filter.conditions(3);
        let sql = format!(
            "SELECT id, sha256, name, format, bytes, COALESCE(taken_at, created_at) AS taken_at FROM images
             WHERE {}{conditions} ORDER BY created_at, id LIMIT $2",
            owned(owner)
        );
        let query = sqlx::query_as(&sql).bind(owner).bind(limit);
        Ok(bind_all(query, &args).fetch_all(&self.pool).await?)
    }

    /// Stores the bundle's items (replacing any from an earlier run) and
    /// moves it to `restoring`, unless it has moved on already.
    pub async fn set_bundle_items(&self, id: &str, items: &[BundleItem]) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let moved = sqlx::query(
            "UPDATE bundles SET state = 'restoring', total = $2, restored = 0, zipped = 0
             WHERE id = $1 AND state IN ('requested', 'restoring')",
        )
        .bind(id)
        .bind(items.len() as i64)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM bundle_items WHERE bundle_id = $1").bind(id).execute(&mut *tx).await?;
        for item in items {
            sqlx::query(&format!(
                "INSERT INTO bundle_items (bundle_id, {ITEM_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .bind(id)
            .bind(item.position)
            .bind(&item.image_id)
            .bind(&item.sha256)
            .bind(&item.name)
            .bind(item.bytes)
            .bind(item.taken_at)
            .bind(i64::from(item.restoring))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The bundle's items in zip order.
    pub async fn bundle_items(&self, id: &str) -> Result<Vec<BundleItem>> {
        Ok(sqlx::query_as(&format!("SELECT {ITEM_COLUMNS} FROM bundle_items WHERE bundle_id = $1 ORDER BY position"))
            .bind(id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The positions of the bundle's items whose original cannot be read
    /// at `now`: archived, and not restored (or its copy's time is up).
    pub async fn unreadable_bundle_items(&self, id: &str, now: i64) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT i.position FROM bundle_items i JOIN blobs b ON b.sha256 = i.sha256
             WHERE i.bundle_id = $1 AND b.tier = 'archive'
               AND NOT (COALESCE(b.restore_state, '') = 'restored' AND b.restored_until > $2)
             ORDER BY i.position",
        )
        .bind(id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Marks the items whose originals this bundle asked the archive for.
    pub async fn mark_bundle_restoring(&self, id: &str, positions: &[i64]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for position in positions {
            sqlx::query("UPDATE bundle_items SET restoring = 1 WHERE bundle_id = $1 AND position = $2")
                .bind(id)
                .bind(position)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Updates the bundle's progress: its state and counts (only forward:
    /// a bundle that is ready or failed stays so).
    pub async fn set_bundle_progress(&self, id: &str, state: &str, restored: i64, zipped: i64) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE bundles SET state = $2, restored = $3, zipped = $4 WHERE id = $1 AND state NOT IN ('ready', 'failed')",
        )
        .bind(id)
        .bind(state)
        .bind(restored)
        .bind(zipped)
        .execute(&self.pool)
        .await?
        .rows_affected()
            > 0)
    }

    /// Settles a bundle as `ready` (its zip of `bytes`, linked until
    /// `expires_at`) or `failed` (`error`), recording `event` once with
    /// `payload`. Returns false when it was settled already.
    pub async fn settle_bundle(
        &self,
        id: &str,
        outcome: BundleOutcome<'_>,
        payload: serde_json::Value,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let (state, kind, bytes, error, expires) = match outcome {
            BundleOutcome::Ready { bytes, expires_at } => ("ready", "bundle.ready", bytes, None, Some(expires_at)),
            BundleOutcome::Failed { error } => ("failed", "bundle.failed", 0, Some(error), None),
        };
        let owner: Option<Option<String>> = sqlx::query_scalar(
            "UPDATE bundles SET state = $2, bytes = $3, error = $4, ready_at = $5, zipped = CASE WHEN $2 = 'ready' THEN total ELSE zipped END,
                    expires_at = COALESCE($6, expires_at)
             WHERE id = $1 AND state NOT IN ('ready', 'failed') RETURNING owner",
        )
        .bind(id)
        .bind(state)
        .bind(bytes)
        .bind(error)
        .bind(now_ms())
        .bind(expires)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(owner) = owner else { return Ok(false) };
        record_once(&mut tx, &self.outbox(), kind, id, owner.as_deref(), payload, Some(&format!("{kind}:{id}")))
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Bundles whose link has expired at `now`, at most `limit`.
    pub async fn expired_bundles(&self, now: i64, limit: i64) -> Result<Vec<BundleRecord>> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM bundles WHERE expires_at < $1 ORDER BY expires_at LIMIT $2"))
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Deletes a bundle and its items.
    pub async fn delete_bundle(&self, id: &str) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM bundle_items WHERE bundle_id = $1").bind(id).execute(&mut *tx).await?;
        let gone = sqlx::query("DELETE FROM bundles WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(gone > 0)
    }

    /// Makes the job with `dedupe` due now (e.g. a notification waiting
    /// for its bundle); returns whether one was waiting.
    pub async fn wake_job(&self, dedupe: &str) -> Result<bool> {
        Ok(sqlx::query("UPDATE jobs SET run_at = $2 WHERE dedupe = $1 AND status = 'ready' AND run_at > $2")
            .bind(dedupe)
            .bind(now_ms())
            .execute(&self.pool)
            .await?
            .rows_affected()
            > 0)
    }
}

/// How a bundle ended.
#[derive(Clone, Copy, Debug)]
pub enum BundleOutcome<'a> {
    Ready { bytes: i64, expires_at: i64 },
    Failed { error: &'a str },
}
