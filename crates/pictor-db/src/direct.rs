//! Direct uploads: one row per presigned upload, from the URL's making to
//! the image it became. Completing one takes a lease by a conditional
//! update, so two racing `complete` calls land it once. Those marked
//! `on_arrival` land without a `complete` call; [`Db::open_arrival_uploads`]
//! lists them for the sweep that looks for their objects.

use crate::{Db, Result};

/// A presigned direct upload.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct DirectUploadRecord {
    pub id: String,
    pub owner: Option<String>,
    /// The file's name, as the client gave it.
    pub name: String,
    /// The declared media type, which the object must have.
    pub content_type: String,
    /// The declared size: the most bytes the object may hold.
    pub size: i64,
    /// The staging key the client may write.
    pub object_key: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// Until when a request holds the right to complete it (0: none).
    pub finishing_until: i64,
    /// The image it became, once complete.
    pub image_id: Option<String>,
    /// Lands as soon as its object arrives (no `complete` call).
    #[sqlx(try_from = "crate::columns::Flag")]
    pub on_arrival: bool,
}

const COLUMNS: &str =
    "id, owner, name, content_type, size, object_key, created_at, expires_at, finishing_until, image_id, on_arrival";

/// `owner` matches `$n`, NULL included.
fn same_owner(n: u8) -> String {
    format!("((owner IS NULL AND ${n} IS NULL) OR owner = ${n})")
}

impl Db {
    /// Inserts `uploads` (all of one owner) unless that would leave the
    /// owner more than `max_open` unfinished, unexpired ones at `now`;
    /// returns whether they were inserted (all or none).
    pub async fn create_direct_uploads(&self, uploads: &[DirectUploadRecord], max_open: i64, now: i64) -> Result<bool> {
        let Some(first) = uploads.first() else { return Ok(true) };
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "SELECT COUNT(*) FROM direct_uploads WHERE {} AND image_id IS NULL AND expires_at > $2",
            same_owner(1)
        );
        let open: i64 = sqlx::query_scalar(&sql).bind(&first.owner).bind(now).fetch_one(&mut *tx).await?;
        if open + uploads.len() as i64 > max_open {
            return Ok(false);
        }
        for upload in uploads {
            sqlx::query(&format!(
                "INSERT INTO direct_uploads ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, NULL, $9)"
            ))
            .bind(&upload.id)
            .bind(&upload.owner)
            .bind(&upload.name)
            .bind(&upload.content_type)
            .bind(upload.size)
            .bind(&upload.object_key)
            .bind(upload.created_at)
            .bind(upload.expires_at)
            .bind(i64::from(upload.on_arrival))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub async fn get_direct_upload(&self, id: &str) -> Result<Option<DirectUploadRecord>> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM direct_uploads WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Takes the right to complete the upload until `until`, if it is not
    /// complete and nobody else holds that right at `now`.
    pub async fn claim_direct_upload(&self, id: &str, until: i64, now: i64) -> Result<bool> {
        let claimed = sqlx::query(
            "UPDATE direct_uploads SET finishing_until = $1
             WHERE id = $2 AND finishing_until < $3 AND image_id IS NULL",
        )
        .bind(until)
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(claimed == 1)
    }

    /// Gives up the right taken with `until` (the upload may be completed
    /// again).
    pub async fn release_direct_upload(&self, id: &str, until: i64) -> Result<()> {
        sqlx::query("UPDATE direct_uploads SET finishing_until = 0 WHERE id = $1 AND finishing_until = $2")
            .bind(id)
            .bind(until)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks the upload complete as `image_id`, if the right taken with
    /// `until` still holds.
    pub async fn finish_direct_upload(&self, id: &str, until: i64, image_id: &str) -> Result<bool> {
        let finished = sqlx::query(
            "UPDATE direct_uploads SET image_id = $1, finishing_until = 0
             WHERE id = $2 AND finishing_until = $3 AND image_id IS NULL",
        )
        .bind(image_id)
        .bind(id)
        .bind(until)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(finished == 1)
    }

    /// Deletes the upload's row; returns whether it existed.
    pub async fn delete_direct_upload(&self, id: &str) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM direct_uploads WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(deleted.rows_affected() == 1)
    }

    /// Open `on_arrival` uploads at `now` (not landed, not expired, nobody
    /// completing them), oldest first: those whose object may have arrived.
    pub async fn open_arrival_uploads(&self, now: i64, limit: i64) -> Result<Vec<DirectUploadRecord>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM direct_uploads
             WHERE on_arrival = 1 AND image_id IS NULL AND expires_at > $1 AND finishing_until < $1
             ORDER BY created_at LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Uploads expired at `now` that nobody is completing, oldest first.
    pub async fn expired_direct_uploads(&self, now: i64, limit: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM direct_uploads WHERE expires_at < $1 AND finishing_until < $1
             ORDER BY expires_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn upload(id: &str, owner: Option<&str>, now: i64) -> DirectUploadRecord {
        DirectUploadRecord {
            id: id.into(),
            owner: owner.map(Into::into),
            name: "a.jpg".into(),
            content_type: "image/jpeg".into(),
            size: 10,
            object_key: format!("direct/{id}/a.jpg"),
            created_at: now,
            expires_at: now + 1000,
            finishing_until: 0,
            image_id: None,
            on_arrival: false,
        }
    }

    #[tokio::test]
    async fn open_uploads_are_capped_per_owner_all_or_none() {
        let (_d, db) = testing::sqlite().await;
        let two = [upload("a1", Some("alice"), 100), upload("a2", Some("alice"), 100)];
        assert!(db.create_direct_uploads(&two, 3, 100).await.unwrap());
        let two_more = [upload("a3", Some("alice"), 100), upload("a4", Some("alice"), 100)];
        assert!(!db.create_direct_uploads(&two_more, 3, 100).await.unwrap());
        assert!(db.get_direct_upload("a3").await.unwrap().is_none());
        assert!(db.create_direct_uploads(&[upload("b1", Some("bob"), 100)], 1, 100).await.unwrap());
        assert!(db.create_direct_uploads(&[upload("n1", None, 100)], 1, 100).await.unwrap());
        assert!(!db.create_direct_uploads(&[upload("n2", None, 100)], 1, 100).await.unwrap());
        // Expired ones no longer count, and are swept.
        let later = [upload("a3", Some("alice"), 1200), upload("a4", Some("alice"), 1200)];
        assert!(db.create_direct_uploads(&later, 3, 1200).await.unwrap());
        assert_eq!(db.expired_direct_uploads(1200, 10).await.unwrap().len(), 4);
        assert_eq!(db.get_direct_upload("a1").await.unwrap().unwrap().object_key, "direct/a1/a.jpg");
        assert!(db.delete_direct_upload("a1").await.unwrap());
        assert!(!db.delete_direct_upload("a1").await.unwrap());
    }

    #[tokio::test]
    async fn completing_is_exclusive_and_once() {
        let (_d, db) = testing::sqlite().await;
        db.create_direct_uploads(&[upload("u", None, 100)], 5, 100).await.unwrap();
        assert!(db.claim_direct_upload("u", 500, 100).await.unwrap());
        assert!(!db.claim_direct_upload("u", 600, 200).await.unwrap());
        db.release_direct_upload("u", 500).await.unwrap();
        assert!(db.claim_direct_upload("u", 700, 200).await.unwrap());
        assert!(!db.finish_direct_upload("u", 500, "img").await.unwrap());
        assert!(db.finish_direct_upload("u", 700, "img").await.unwrap());
        let row = db.get_direct_upload("u").await.unwrap().unwrap();
        assert_eq!((row.image_id.as_deref(), row.finishing_until), (Some("img"), 0));
        assert!(!db.claim_direct_upload("u", 900, 800).await.unwrap());
    }

    #[tokio::test]
    async fn open_arrival_uploads_are_only_the_marked_open_ones() {
        let (_d, db) = testing::sqlite().await;
        let marked = |id: &str| DirectUploadRecord { on_arrival: true, ..upload(id, Some("ann"), 100) };
        let rows = [marked("m1"), marked("m2"), marked("m3"), upload("plain", Some("ann"), 100)];
        db.create_direct_uploads(&rows, 10, 100).await.unwrap();
        assert!(db.get_direct_upload("m1").await.unwrap().unwrap().on_arrival);
        assert!(!db.get_direct_upload("plain").await.unwrap().unwrap().on_arrival);
        assert!(db.claim_direct_upload("m2", 500, 100).await.unwrap());
        assert!(db.claim_direct_upload("m3", 500, 100).await.unwrap());
        assert!(db.finish_direct_upload("m3", 500, "img").await.unwrap());
        let open: Vec<String> = db.open_arrival_uploads(200, 10).await.unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(open, ["m1"], "not one being completed, landed, or unmarked");
        assert!(db.open_arrival_uploads(1100, 10).await.unwrap().is_empty(), "nor an expired one");
    }
}
