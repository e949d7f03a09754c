//! Resumable uploads: one row per upload and one per accepted part.
//!
//! Every change of an upload's offset is conditional on the offset the
//! writer read (`WHERE upload_offset = $old`) and on no request finishing
//! it (`finishing_until` lapsed), so that of two racing requests at the same
//! offset exactly one lands; the other learns it and removes its part.

use crate::columns::JsonText;
use crate::{Db, Result};

/// A resumable upload's state.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct UploadRecord {
    pub id: String,
    pub owner: Option<String>,
    /// Its size in bytes, declared when it was created.
    #[sqlx(rename = "upload_length")]
    pub length: i64,
    /// The bytes received so far.
    #[sqlx(rename = "upload_offset")]
    pub offset: i64,
    /// The client's metadata, a JSON object.
    #[sqlx(try_from = "JsonText<serde_json::Value>")]
    pub metadata: serde_json::Value,
    pub created_at: i64,
    pub expires_at: i64,
    /// Until when a request holds the right to finish it (0: none).
    pub finishing_until: i64,
    /// The image it became, once complete.
    pub image_id: Option<String>,
}

/// Bytes `[start, start + bytes)` of an upload, in the store as `object`.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct UploadPart {
    pub start: i64,
    pub bytes: i64,
    pub object: String,
}

const COLUMNS: &str =
    "id, owner, upload_length, upload_offset, metadata, created_at, expires_at, finishing_until, image_id";

/// `owner` matches `$n`, NULL included.
fn same_owner(n: u8) -> String {
    format!("((owner IS NULL AND ${n} IS NULL) OR owner = ${n})")
}

impl Db {
    /// Inserts a new upload unless its owner already has `max_open`
    /// unfinished, unexpired ones; returns whether it was inserted.
    pub async fn create_upload(&self, upload: &UploadRecord, max_open: i64) -> Result<bool> {
        let sql = format!(
            "INSERT INTO uploads ({COLUMNS})
             SELECT $1, $2, $3, $4, $5, $6, $7, 0, NULL
             WHERE (SELECT COUNT(*) FROM uploads WHERE {} AND image_id IS NULL AND expires_at > $6) < $8",
            same_owner(2)
        );
        let inserted = sqlx::query(&sql)
            .bind(&upload.id)
            .bind(&upload.owner)
            .bind(upload.length)
            .bind(upload.offset)
            .bind(upload.metadata.to_string())
            .bind(upload.created_at)
            .bind(upload.expires_at)
            .bind(max_open)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(inserted == 1)
    }

    pub async fn get_upload(&self, id: &str) -> Result<Option<UploadRecord>> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM uploads WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Accepts `part` at the upload's offset `old` (its `start`), moves the
    /// offset past it and pushes the expiry to `expires_at`, if the offset
    /// is still `old` and nobody is finishing the upload at `now`. Returns
    /// whether the part landed.
    pub async fn append_upload_part(&self, id: &str, part: &UploadPart, expires_at: i64, now: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let moved = sqlx::query(
            "UPDATE uploads SET upload_offset = $1, expires_at = $2
             WHERE id = $3 AND upload_offset = $4 AND finishing_until < $5 AND image_id IS NULL",
        )
        .bind(part.start + part.bytes)
        .bind(expires_at)
        .bind(id)
        .bind(part.start)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved != 1 {
            return Ok(false);
        }
        sqlx::query("INSERT INTO upload_parts (upload_id, start, bytes, object) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(part.start)
            .bind(part.bytes)
            .bind(&part.object)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Takes the right to finish the upload until `until`, if its offset is
    /// still `offset` and nobody else holds that right at `now`.
    pub async fn claim_upload_finish(&self, id: &str, offset: i64, until: i64, now: i64) -> Result<bool> {
        let claimed = sqlx::query(
            "UPDATE uploads SET finishing_until = $1
             WHERE id = $2 AND upload_offset = $3 AND finishing_until < $4 AND image_id IS NULL",
        )
        .bind(until)
        .bind(id)
        .bind(offset)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(claimed == 1)
    }

    /// Gives up the right to finish taken with `until` (the upload stays
    /// where it was, to be resumed).
    pub async fn release_upload_finish(&self, id: &str, until: i64) -> Result<()> {
        sqlx::query("UPDATE uploads SET finishing_until = 0 WHERE id = $1 AND finishing_until = $2")
            .bind(id)
            .bind(until)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks the upload complete as `image_id` (its offset at its length)
    /// and forgets its parts, if the right taken with `until` still holds.
    pub async fn finish_upload(&self, id: &str, until: i64, image_id: &str, expires_at: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let finished = sqlx::query(
            "UPDATE uploads SET upload_offset = upload_length, image_id = $1, finishing_until = 0, expires_at = $2
             WHERE id = $3 AND finishing_until = $4 AND image_id IS NULL",
        )
        .bind(image_id)
        .bind(expires_at)
        .bind(id)
        .bind(until)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if finished != 1 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM upload_parts WHERE upload_id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The upload's accepted parts, in order.
    pub async fn upload_parts(&self, id: &str) -> Result<Vec<UploadPart>> {
        Ok(sqlx::query_as("SELECT start, bytes, object FROM upload_parts WHERE upload_id = $1 ORDER BY start")
            .bind(id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Deletes the upload and its part rows; returns whether it existed.
    pub async fn delete_upload(&self, id: &str) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM upload_parts WHERE upload_id = $1").bind(id).execute(&mut *tx).await?;
        let deleted = sqlx::query("DELETE FROM uploads WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(deleted.rows_affected() == 1)
    }

    /// Uploads expired at `now` that nobody is finishing, oldest first.
    pub async fn expired_uploads(&self, now: i64, limit: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM uploads WHERE expires_at < $1 AND finishing_until < $1 ORDER BY expires_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The oldest other image of `owner` with this content, created no later
    /// than `image_id`: what a new upload duplicates (served by the index
    /// of images by blob).
    /// The owner's first image with these bytes, if any.
    pub async fn image_with_sha256(&self, owner: Option<&str>, sha256: &str) -> Result<Option<String>> {
        let sql =
            format!("SELECT id FROM images WHERE sha256 = $1 AND {} ORDER BY created_at, id LIMIT 1", same_owner(2));
        Ok(sqlx::query_scalar(&sql).bind(sha256).bind(owner).fetch_optional(&self.pool).await?)
    }

    pub async fn earlier_duplicate(&self, owner: Option<&str>, sha256: &str, image_id: &str) -> Result<Option<String>> {
        let sql = format!(
            "SELECT id FROM images WHERE sha256 = $1 AND {} AND id <> $3
               AND created_at <= (SELECT created_at FROM images WHERE id = $3)
             ORDER BY created_at, id LIMIT 1",
            same_owner(2)
        );
        Ok(sqlx::query_scalar(&sql).bind(sha256).bind(owner).bind(image_id).fetch_optional(&self.pool).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::tests::{image, with_blob};
    use crate::testing;

    fn upload(id: &str, owner: Option<&str>, now: i64) -> UploadRecord {
        UploadRecord {
            id: id.into(),
            owner: owner.map(Into::into),
            length: 10,
            offset: 0,
            metadata: serde_json::json!({"filename": "a.jpg"}),
            created_at: now,
            expires_at: now + 1000,
            finishing_until: 0,
            image_id: None,
        }
    }

    fn part(start: i64, bytes: i64) -> UploadPart {
        UploadPart { start, bytes, object: format!("uploads/u/{start}") }
    }

    #[tokio::test]
    async fn parts_land_once_at_the_offset_they_were_sent_for() {
        let (_d, db) = testing::sqlite().await;
        assert!(db.create_upload(&upload("u", Some("alice"), 100), 5).await.unwrap());
        assert_eq!(db.get_upload("u").await.unwrap().unwrap().metadata["filename"], "a.jpg");
        assert!(db.append_upload_part("u", &part(0, 4), 2000, 100).await.unwrap());
        // A racing request that also read offset 0 loses.
        assert!(!db.append_upload_part("u", &part(0, 3), 2000, 100).await.unwrap());
        assert!(db.append_upload_part("u", &part(4, 2), 2000, 100).await.unwrap());
        let row = db.get_upload("u").await.unwrap().unwrap();
        assert_eq!((row.offset, row.expires_at), (6, 2000));
        assert_eq!(db.upload_parts("u").await.unwrap(), [part(0, 4), part(4, 2)]);
    }

    #[tokio::test]
    async fn finishing_is_exclusive_and_clears_the_parts() {
        let (_d, db) = testing::sqlite().await;
        db.create_upload(&upload("u", None, 100), 5).await.unwrap();
        db.append_upload_part("u", &part(0, 6), 2000, 100).await.unwrap();
        assert!(db.claim_upload_finish("u", 6, 500, 100).await.unwrap());
        assert!(!db.claim_upload_finish("u", 6, 600, 200).await.unwrap());
        assert!(!db.append_upload_part("u", &part(6, 4), 2000, 200).await.unwrap());
        db.release_upload_finish("u", 500).await.unwrap();
        assert!(db.claim_upload_finish("u", 6, 700, 200).await.unwrap());
        assert!(!db.finish_upload("u", 500, "img", 3000).await.unwrap());
        assert!(db.finish_upload("u", 700, "img", 3000).await.unwrap());
        let row = db.get_upload("u").await.unwrap().unwrap();
        assert_eq!((row.offset, row.image_id.as_deref(), row.finishing_until), (10, Some("img"), 0));
        assert!(db.upload_parts("u").await.unwrap().is_empty());
        // A lapsed claim no longer blocks, but a finished upload takes nothing.
        assert!(!db.claim_upload_finish("u", 10, 900, 800).await.unwrap());
    }

    #[tokio::test]
    async fn open_uploads_are_capped_per_owner_and_expire() {
        let (_d, db) = testing::sqlite().await;
        assert!(db.create_upload(&upload("a1", Some("alice"), 100), 2).await.unwrap());
        assert!(db.create_upload(&upload("a2", Some("alice"), 100), 2).await.unwrap());
        assert!(!db.create_upload(&upload("a3", Some("alice"), 100), 2).await.unwrap());
        assert!(db.create_upload(&upload("b1", Some("bob"), 100), 2).await.unwrap());
        assert!(db.create_upload(&upload("n1", None, 100), 1).await.unwrap());
        assert!(!db.create_upload(&upload("n2", None, 100), 1).await.unwrap());
        // Once the first two expired, they no longer count.
        assert!(db.create_upload(&upload("a4", Some("alice"), 1200), 2).await.unwrap());
        assert_eq!(db.expired_uploads(1200, 10).await.unwrap().len(), 4);
        db.append_upload_part("a1", &part(0, 1), 1100, 100).await.unwrap();
        assert!(db.delete_upload("a1").await.unwrap());
        assert!(!db.delete_upload("a1").await.unwrap());
        assert!(db.upload_parts("a1").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn duplicates_are_earlier_images_of_the_same_owner() {
        let (_d, db) = with_blob().await;
        db.insert_image(&image("first", Some("alice"), 1)).await.unwrap();
        db.insert_image(&image("bobs", Some("bob"), 2)).await.unwrap();
        db.insert_image(&image("second", Some("alice"), 3)).await.unwrap();
        let sha = "bb".repeat(32);
        assert_eq!(db.earlier_duplicate(Some("alice"), &sha, "second").await.unwrap().as_deref(), Some("first"));
        assert_eq!(db.earlier_duplicate(Some("alice"), &sha, "first").await.unwrap(), None);
        assert_eq!(db.earlier_duplicate(Some("bob"), &sha, "bobs").await.unwrap(), None);
        assert_eq!(db.earlier_duplicate(None, &sha, "bobs").await.unwrap(), None);
    }
}
