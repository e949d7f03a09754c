//! Albums: named sets of one owner's photos. A photo can be in many albums;
//! deleting either side removes the link, and a deleted cover is forgotten.
//! Ownership is checked a layer up; this is the SQL.

use serde::Serialize;

use crate::events::record;
use crate::{Db, Result, now_ms};

/// An album with what a listing shows: its photo count and cover (the
/// chosen one, else the photo added last).
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct AlbumRecord {
    pub id: String,
    pub owner: Option<String>,
    pub name: String,
    pub description: String,
    /// The cover the owner chose, if any.
    pub cover_image_id: Option<String>,
    /// The photo shown for the album: the chosen cover, else the latest added.
    pub cover: Option<String>,
    pub photos: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const SELECT: &str = "SELECT a.id, a.owner, a.name, a.description, a.cover_image_id,
        COALESCE(a.cover_image_id,
                 (SELECT ai.image_id FROM album_images ai WHERE ai.album_id = a.id
                  ORDER BY ai.added_at DESC, ai.image_id DESC LIMIT 1)) AS cover,
        (SELECT COUNT(*) FROM album_images ai WHERE ai.album_id = a.id) AS photos,
        a.created_at, a.updated_at
    FROM albums a";

fn payload(album: &AlbumRecord) -> serde_json::Value {
    serde_json::json!({ "name": album.name })
}

impl Db {
    /// Creates an empty album and its `album.created` event.
    pub async fn insert_album(
        &self,
        id: &str,
        owner: Option<&str>,
        name: &str,
        description: &str,
    ) -> Result<AlbumRecord> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO albums (id, owner, name, description, cover_image_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, NULL, $5, $5)",
        )
        .bind(id)
        .bind(owner)
        .bind(name)
        .bind(description)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let album = AlbumRecord {
            id: id.to_string(),
            owner: owner.map(str::to_string),
            name: name.to_string(),
            description: description.to_string(),
            cover_image_id: None,
            cover: None,
            photos: 0,
            created_at: now,
            updated_at: now,
        };
        record(&mut tx, &self.outbox(), "album.created", id, owner, payload(&album)).await?;
        tx.commit().await?;
        Ok(album)
    }

    pub async fn get_album(&self, id: &str) -> Result<Option<AlbumRecord>> {
        Ok(sqlx::query_as(&format!("{SELECT} WHERE a.id = $1")).bind(id).fetch_optional(&self.pool).await?)
    }

    /// The owner's albums, most recently changed first.
    pub async fn list_albums(&self, owner: Option<&str>) -> Result<Vec<AlbumRecord>> {
        Ok(sqlx::query_as(&format!(
            "{SELECT} WHERE (a.owner IS NULL AND $1 IS NULL) OR a.owner = $1 ORDER BY a.updated_at DESC, a.id DESC"
        ))
        .bind(owner)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The albums `image_id` is in, by name.
    pub async fn albums_of_image(&self, image_id: &str) -> Result<Vec<AlbumRecord>> {
        Ok(sqlx::query_as(&format!(
            "{SELECT} WHERE a.id IN (SELECT album_id FROM album_images WHERE image_id = $1) ORDER BY a.name, a.id"
        ))
        .bind(image_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Renames and describes an album (`album.updated`); false when gone.
    pub async fn update_album(&self, id: &str, name: &str, description: &str) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let owner: Option<Option<String>> = sqlx::query_scalar(
            "UPDATE albums SET name = $2, description = $3, updated_at = $4 WHERE id = $1 RETURNING owner",
        )
        .bind(id)
        .bind(name)
        .bind(description)
        .bind(now_ms())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(owner) = owner else { return Ok(false) };
        let event = serde_json::json!({ "name": name });
        record(&mut tx, &self.outbox(), "album.updated", id, owner.as_deref(), event).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Makes one of the album's photos its cover (`None`: back to the
    /// latest added). False when the album is gone or the photo not in it.
    pub async fn set_album_cover(&self, id: &str, image_id: Option<&str>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE albums SET cover_image_id = $2, updated_at = $3 WHERE id = $1
             AND ($2 IS NULL OR EXISTS (SELECT 1 FROM album_images WHERE album_id = $1 AND image_id = $2))",
        )
        .bind(id)
        .bind(image_id)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes an album (its photos stay); `album.deleted`. False when gone.
    pub async fn delete_album(&self, id: &str) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let owner: Option<Option<String>> = sqlx::query_scalar("DELETE FROM albums WHERE id = $1 RETURNING owner")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(owner) = owner else { return Ok(false) };
        record(&mut tx, &self.outbox(), "album.deleted", id, owner.as_deref(), serde_json::json!({})).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Adds photos to an album (those already in it stay as they were);
    /// returns how many were new.
    pub async fn add_to_album(&self, id: &str, image_ids: &[&str]) -> Result<u64> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let mut added = 0;
        for image in image_ids {
            added += sqlx::query(
                "INSERT INTO album_images (album_id, image_id, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(*image)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        sqlx::query("UPDATE albums SET updated_at = $2 WHERE id = $1").bind(id).bind(now).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(added)
    }

    /// Takes a photo out of an album (and off its cover); false if it was not in it.
    pub async fn remove_from_album(&self, id: &str, image_id: &str) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let removed = sqlx::query("DELETE FROM album_images WHERE album_id = $1 AND image_id = $2")
            .bind(id)
            .bind(image_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(
            "UPDATE albums SET updated_at = $3,
                cover_image_id = CASE WHEN cover_image_id = $2 THEN NULL ELSE cover_image_id END
             WHERE id = $1",
        )
        .bind(id)
        .bind(image_id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(removed == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use crate::{ImageFilter, ImageRecord, NewBlob};

    async fn image(db: &Db, id: &str, at: i64) {
        let blob = NewBlob { sha256: "s", md5: "m", bytes: 1 };
        db.pin_blob(&blob, std::time::Duration::from_secs(60)).await.unwrap();
        let record = ImageRecord {
            id: id.into(),
            owner: Some("ann".into()),
            sha256: "s".into(),
            md5: "m".into(),
            format: "JPEG".into(),
            width: 1,
            height: 1,
            bytes: 1,
            name: None,
            description: None,
            source: "raw".into(),
            created_at: at,
            moderation: None,
            thumbhash: None,
        };
        db.insert_image(&record).await.unwrap();
    }

    #[tokio::test]
    async fn albums_hold_photos_once_and_forget_deleted_ones() {
        let (_d, db) = testing::sqlite().await;
        image(&db, "i1", 1).await;
        image(&db, "i2", 2).await;
        db.insert_album("a1", Some("ann"), "Trip", "").await.unwrap();
        assert_eq!(db.add_to_album("a1", &["i1", "i2"]).await.unwrap(), 2);
        assert_eq!(db.add_to_album("a1", &["i1"]).await.unwrap(), 0);
        let album = db.get_album("a1").await.unwrap().unwrap();
        assert_eq!((album.photos, album.cover.as_deref()), (2, Some("i2")));

        assert!(!db.set_album_cover("a1", Some("elsewhere")).await.unwrap());
        assert!(db.set_album_cover("a1", Some("i1")).await.unwrap());
        assert_eq!(db.get_album("a1").await.unwrap().unwrap().cover.as_deref(), Some("i1"));
        let filter = ImageFilter { album: Some("a1".into()), ..Default::default() };
        let listed = db.list_images(Some("ann"), &filter, None, 10).await.unwrap();
        assert_eq!(listed.images.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["i2", "i1"]);

        db.delete_image("i1").await.unwrap();
        let album = db.get_album("a1").await.unwrap().unwrap();
        assert_eq!((album.photos, album.cover_image_id, album.cover.as_deref()), (1, None, Some("i2")));
        assert_eq!(db.albums_of_image("i2").await.unwrap()[0].name, "Trip");
        assert!(db.delete_album("a1").await.unwrap());
        assert!(db.albums_of_image("i2").await.unwrap().is_empty());
        let kinds: Vec<_> = db.events_for("a1").await.unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["album.created", "album.deleted"]);
    }
}
