//! Image records: one per upload, each with its own id and owner.

use serde::Serialize;

use crate::columns::NullableJsonText;
use crate::events::{record, record_once};
use crate::{Db, Result};

/// An uploaded image. `owner` is `None` on an open server.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct ImageRecord {
    pub id: String,
    pub owner: Option<String>,
    pub sha256: String,
    pub md5: String,
    pub format: String,
    pub width: i64,
    pub height: i64,
    pub bytes: i64,
    pub name: Option<String>,
    pub description: Option<String>,
    /// How it arrived: `base64`, `url`, `uuid`, `multipart`, `raw`, `pinster`, `tus`.
    pub source: String,
    pub created_at: i64,
    /// `flagged`, `approved` or `rejected` once moderation looked at it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderation: Option<String>,
    /// A tiny placeholder (ThumbHash, base64) pages show until the thumbnail loads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbhash: Option<String>,
}

/// One page of a listing, with the cursor for the next.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Page {
    pub images: Vec<ImageRecord>,
    pub next: Option<String>,
}

/// The columns an upload writes.
const COLUMNS: &str =
    "id, owner, sha256, md5, format, width, height, bytes, name, description, source, created_at, thumbhash";
/// The columns a record is read from: those plus what moderation decided.
pub(crate) const RECORD_COLUMNS: &str = "id, owner, sha256, md5, format, width, height, bytes, name, description, source, created_at, moderation, thumbhash";

fn event_payload(image: &ImageRecord) -> serde_json::Value {
    serde_json::json!({
        "sha256": image.sha256, "md5": image.md5, "format": image.format,
        "width": image.width, "height": image.height, "bytes": image.bytes, "source": image.source,
    })
}

impl Db {
    /// Inserts an image (its blob row must exist) and its `image.created` event.
    pub async fn insert_image(&self, image: &ImageRecord) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(&format!(
            "INSERT INTO images ({COLUMNS}, taken_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $12)"
        ))
        .bind(&image.id)
        .bind(&image.owner)
        .bind(&image.sha256)
        .bind(&image.md5)
        .bind(&image.format)
        .bind(image.width)
        .bind(image.height)
        .bind(image.bytes)
        .bind(&image.name)
        .bind(&image.description)
        .bind(&image.source)
        .bind(image.created_at)
        .bind(&image.thumbhash)
        .execute(&mut *tx)
        .await?;
        record(&mut tx, &self.outbox(), "image.created", &image.id, image.owner.as_deref(), event_payload(image))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_image(&self, id: &str) -> Result<Option<ImageRecord>> {
        Ok(sqlx::query_as(&format!("SELECT {RECORD_COLUMNS} FROM images WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Deletes an image and records `image.deleted`; returns the deleted
    /// record. The caller then releases its blob.
    pub async fn delete_image(&self, id: &str) -> Result<Option<ImageRecord>> {
        let mut tx = self.begin_write().await?;
        // Writing first takes the write lock up front on SQLite.
        let deleted: Option<ImageRecord> =
            sqlx::query_as(&format!("DELETE FROM images WHERE id = $1 RETURNING {RECORD_COLUMNS}"))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(image) = deleted else { return Ok(None) };
        record(&mut tx, &self.outbox(), "image.deleted", &image.id, image.owner.as_deref(), event_payload(&image))
            .await?;
        tx.commit().await?;
        Ok(Some(image))
    }

    /// The owner's images, newest first, `limit` at a time; `cursor` is the
    /// `next` of the previous page. `filter` narrows them.
    pub async fn list_images(
        &self,
        owner: Option<&str>,
        filter: &ImageFilter,
        cursor: Option<&str>,
        limit: i64,
    ) -> Result<Page> {
        let (before_at, before_id) = parse_cursor(cursor);
        let probe = !filter.labels.is_empty() && self.labels_are_common(owner, &filter.labels).await?;
        let (conditions, args) = filter.conditions_with(5, probe);
        let owned = owned(owner);
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM images
             WHERE {owned} AND (created_at < $2 OR (created_at = $2 AND id < $3)){conditions}
             ORDER BY {order} DESC, id DESC LIMIT $4",
            order = if filter.area.is_some_and(|a| a.is_small()) { "created_at + 0" } else { "created_at" }
        );
        let query = sqlx::query_as(&sql).bind(owner).bind(before_at).bind(before_id).bind(limit + 1);
        let mut images: Vec<ImageRecord> = bind_all(query, &args).fetch_all(&self.pool).await?;
        let next = if images.len() as i64 > limit {
            images.truncate(limit as usize);
            images.last().map(|last| format!("{}_{}", last.created_at, last.id))
        } else {
            None
        };
        Ok(Page { images, next })
    }

    /// Whether the owner's photos carry `labels` more than [`COMMON_LABEL`]
    /// times: then a listing walks photos newest first and probes each for
    /// its labels, and finds a page early; for a rarer label it reads the
    /// label's few photos and sorts them. (Either way alone costs 70 ms or
    /// more at 100,000 photos for the other kind of label.)
    async fn labels_are_common(&self, owner: Option<&str>, labels: &[String]) -> Result<bool> {
        let list: Vec<String> = (0..labels.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM image_labels WHERE {owned} AND label IN ({list}) LIMIT {limit}) AS found",
            owned = owned(owner),
            list = list.join(", "),
            limit = COMMON_LABEL + 1,
        );
        let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(owner);
        for label in labels {
            query = query.bind(label.as_str());
        }
        Ok(query.fetch_one(&self.pool).await? > COMMON_LABEL)
    }
}

/// Label rows past which a label counts as common (see `labels_are_common`).
const COMMON_LABEL: i64 = 2000;

/// The condition for the owner's rows (`$1`; NULL on an open server),
/// written so that the planner can use the indexes that start with `owner`
/// (an `OR` of both cases makes SQLite scan every row).
pub(crate) fn owned(owner: Option<&str>) -> &'static str {
    if owner.is_some() { "owner = $1" } else { "(owner IS NULL AND $1 IS NULL)" }
}

/// A value bound to a filter's parameter.
pub(crate) enum Arg {
    Text(String),
    Int(i64),
}

/// Binds `args` in order after what `query` already has.
pub(crate) fn bind_all<'q, O>(
    mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    args: &'q [Arg],
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    for arg in args {
        query = match arg {
            Arg::Text(text) => query.bind(text.as_str()),
            Arg::Int(n) => query.bind(*n),
        };
    }
    query
}

/// What a listing keeps: images with the labels (all of them, or any), in
/// `album`, whose recognised text contains `text` and whose camera contains
/// `camera` (both case-insensitive), taken in `[taken_after, taken_before)`
/// (Unix ms), and placed inside `area`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImageFilter {
    pub labels: Vec<String>,
    pub match_all: bool,
    pub album: Option<String>,
    pub text: Option<String>,
    pub camera: Option<String>,
    pub taken_after: Option<i64>,
    pub taken_before: Option<i64>,
    pub area: Option<Area>,
}

/// A box on the map in microdegrees, edges included; it does not wrap
/// around the antimeridian (`west <= east`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Area {
    pub south: i64,
    pub west: i64,
    pub north: i64,
    pub east: i64,
}

impl Area {
    /// Whether it covers under 1% of the world: then a listing finds its
    /// photos through the position index and sorts them (`created_at + 0`
    /// keeps the planner off the date index, which would scan all the
    /// owner's photos for the few inside).
    pub fn is_small(&self) -> bool {
        let square_degrees = (self.north - self.south) as f64 / 1e6 * ((self.east - self.west) as f64 / 1e6);
        square_degrees < 648.0
    }

    /// The whole world: as a filter, "has a position".
    pub const WORLD: Area = Area { south: -90_000_000, west: -180_000_000, north: 90_000_000, east: 180_000_000 };
}

impl ImageFilter {
    /// The filter as ` AND …` conditions whose parameters start at `$first`,
    /// with their values in order.
    pub(crate) fn conditions(&self, first: usize) -> (String, Vec<Arg>) {
        self.conditions_with(first, false)
    }

    /// As [`conditions`](Self::conditions); with `probe`, the labels are
    /// checked photo by photo (`EXISTS`) rather than gathered first (`IN`).
    pub(crate) fn conditions_with(&self, first: usize, probe: bool) -> (String, Vec<Arg>) {
        let mut sql = String::new();
        let mut args = Vec::new();
        let mut param = |arg: Arg| {
            args.push(arg);
            format!("${}", first + args.len() - 1)
        };
        if !self.labels.is_empty() {
            let list: Vec<String> = self.labels.iter().map(|l| param(Arg::Text(l.clone()))).collect();
            let (list, n) = (list.join(", "), self.labels.len());
            sql += &match (probe, self.match_all) {
                (false, false) => format!(" AND id IN (SELECT image_id FROM image_labels WHERE label IN ({list}))"),
                (false, true) => format!(
                    " AND id IN (SELECT image_id FROM image_labels WHERE label IN ({list}) GROUP BY image_id HAVING COUNT(*) = {n})"
                ),
                (true, false) => format!(
                    " AND EXISTS (SELECT 1 FROM image_labels l WHERE l.image_id = images.id AND l.label IN ({list}))"
                ),
                (true, true) => format!(
                    " AND (SELECT COUNT(*) FROM image_labels l WHERE l.image_id = images.id AND l.label IN ({list})) = {n}"
                ),
            };
        }
        if let Some(album) = &self.album {
            sql += &format!(
                " AND id IN (SELECT image_id FROM album_images WHERE album_id = {})",
                param(Arg::Text(album.clone()))
            );
        }
        if let Some(text) = &self.text {
            sql += &format!(" AND text LIKE {} ESCAPE '!'", param(Arg::Text(like_pattern(text))));
        }
        if let Some(camera) = &self.camera {
            sql += &format!(" AND LOWER(camera) LIKE {} ESCAPE '!'", param(Arg::Text(like_pattern(camera))));
        }
        if let Some(after) = self.taken_after {
            sql += &format!(" AND taken_at >= {}", param(Arg::Int(after)));
        }
        if let Some(before) = self.taken_before {
            sql += &format!(" AND taken_at < {}", param(Arg::Int(before)));
        }
        if let Some(area) = self.area {
            let (south, north) = (param(Arg::Int(area.south)), param(Arg::Int(area.north)));
            let (west, east) = (param(Arg::Int(area.west)), param(Arg::Int(area.east)));
            // A large area holds most photos: a unary plus keeps the planner
            // off the place index, so a listing walks the date index newest
            // first instead of sorting every placed photo (169 ms to 1 ms
            // for the world at 100,000 photos); a small one uses it.
            let plus = if area.is_small() { "" } else { "+" };
            sql += &format!(
                " AND {plus}latitude_e6 BETWEEN {south} AND {north} AND {plus}longitude_e6 BETWEEN {west} AND {east}"
            );
        }
        (sql, args)
    }
}

/// What search and the map read from an image's metadata, as columns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImageFacts {
    /// The camera as shown ("Canon EOS 5D").
    pub camera: Option<String>,
    /// When it was taken (Unix ms); the upload's time stands in without one.
    pub taken_at: Option<i64>,
    /// Where: latitude and longitude in microdegrees.
    pub position: Option<(i64, i64)>,
}

/// The facts' columns, from `$2` (`$1` is the image's id).
const FACTS: &str = "camera = $2, taken_at = COALESCE($3, created_at), latitude_e6 = $4, longitude_e6 = $5";

impl ImageFacts {
    fn bind<'q>(
        &'q self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let (latitude, longitude) = self.position.unzip();
        query.bind(self.camera.as_deref()).bind(self.taken_at).bind(latitude).bind(longitude)
    }
}

/// `%text%` for LIKE, lower-cased as the stored text is, with LIKE's own
/// characters escaped by `!`.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '!') {
            pattern.push('!');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// What the workflow made of an image so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize, sqlx::FromRow)]
pub struct ImageState {
    /// `pending`, `processing`, `processed`, `rejected` or `failed`.
    pub status: String,
    #[sqlx(try_from = "NullableJsonText<serde_json::Value>")]
    pub metadata: Option<serde_json::Value>,
    #[sqlx(try_from = "NullableJsonText<serde_json::Value>")]
    pub thumbnails: Option<serde_json::Value>,
    /// What the vision tasks found, once they ran.
    pub nsfw_score: Option<f64>,
    #[sqlx(try_from = "NullableJsonText<serde_json::Value>")]
    pub faces: Option<serde_json::Value>,
    #[sqlx(try_from = "NullableJsonText<serde_json::Value>")]
    pub text_lines: Option<serde_json::Value>,
}

impl Db {
    /// The workflow status of each of `ids` that exists (a page of tiles, in one query).
    /// How many of `owner`'s photos were added on each day (UTC days since
    /// 1970), newest first: one pass over the `(owner, created_at)` index;
    /// the gallery folds the days into its month index.
    pub async fn day_counts(&self, owner: &str) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT created_at / 86400000 AS day, COUNT(*) FROM images WHERE owner = $1
             GROUP BY created_at / 86400000 ORDER BY day DESC",
        )
        .bind(owner)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn image_statuses(&self, ids: &[&str]) -> Result<std::collections::HashMap<String, String>> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
        let sql = format!("SELECT id, status FROM images WHERE id IN ({})", placeholders.join(", "));
        let mut query = sqlx::query_as::<_, (String, String)>(&sql);
        for id in ids {
            query = query.bind(*id);
        }
        Ok(query.fetch_all(&self.pool).await?.into_iter().collect())
    }

    pub async fn image_state(&self, id: &str) -> Result<Option<ImageState>> {
        Ok(sqlx::query_as(
            "SELECT status, metadata, thumbnails, nsfw_score, faces, text_lines FROM images WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Stores extracted metadata with the facts search reads from it;
    /// false when the image is gone.
    pub async fn set_image_metadata(&self, id: &str, metadata: &serde_json::Value, facts: &ImageFacts) -> Result<bool> {
        let sql = format!("UPDATE images SET {FACTS}, metadata = $6 WHERE id = $1");
        let query = facts.bind(sqlx::query(&sql).bind(id)).bind(metadata.to_string());
        Ok(query.execute(&self.pool).await?.rows_affected() > 0)
    }

    /// Up to `limit` images whose metadata was stored before search had
    /// columns for it: (id, the metadata JSON).
    pub async fn images_without_facts(&self, limit: i64) -> Result<Vec<(String, String)>> {
        Ok(sqlx::query_as("SELECT id, metadata FROM images WHERE taken_at IS NULL AND metadata IS NOT NULL LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Fills in the facts of an image [`Db::images_without_facts`] listed,
    /// unless the workflow stored newer ones meanwhile.
    pub async fn backfill_facts(&self, id: &str, facts: &ImageFacts) -> Result<()> {
        let sql = format!("UPDATE images SET {FACTS} WHERE id = $1 AND taken_at IS NULL");
        facts.bind(sqlx::query(&sql).bind(id)).execute(&self.pool).await?;
        Ok(())
    }

    /// Stores the list of preset thumbnails; false when the image is gone.
    pub async fn set_image_thumbnails(&self, id: &str, thumbnails: &serde_json::Value) -> Result<bool> {
        self.set_image_json("thumbnails", id, thumbnails).await
    }

    pub(crate) async fn set_image_json(
        &self,
        column: &'static str,
        id: &str,
        value: &serde_json::Value,
    ) -> Result<bool> {
        let updated = sqlx::query(&format!("UPDATE images SET {column} = $1 WHERE id = $2"))
            .bind(value.to_string())
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(updated > 0)
    }

    /// Settles an image's status and records the event that says so (e.g.
    /// `rejected` with `image.rejected`) in one transaction. `dedupe` makes a
    /// repeat a no-op; returns the event id when one was written.
    pub async fn settle_image(
        &self,
        image: &ImageRecord,
        status: &str,
        kind: &str,
        payload: serde_json::Value,
        dedupe: &str,
    ) -> Result<Option<String>> {
        let mut tx = self.begin_write().await?;
        let event =
            record_once(&mut tx, &self.outbox(), kind, &image.id, image.owner.as_deref(), payload, Some(dedupe))
                .await?;
        if event.is_some() {
            sqlx::query("UPDATE images SET status = $1 WHERE id = $2")
                .bind(status)
                .bind(&image.id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(event)
    }
}

/// A cursor is `created_at_id` of the last row seen; none means "from the top".
fn parse_cursor(cursor: Option<&str>) -> (i64, String) {
    cursor
        .and_then(|c| c.split_once('_'))
        .and_then(|(at, id)| Some((at.parse().ok()?, id.to_string())))
        .unwrap_or((i64::MAX, String::new()))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{NewBlob, testing};

    pub fn image(id: &str, owner: Option<&str>, at: i64) -> ImageRecord {
        ImageRecord {
            id: id.into(),
            owner: owner.map(Into::into),
            sha256: "bb".repeat(32),
            md5: "m".into(),
            format: "png".into(),
            width: 1,
            height: 2,
            bytes: 3,
            name: None,
            description: None,
            source: "raw".into(),
            created_at: at,
            moderation: None,
            thumbhash: None,
        }
    }

    pub(crate) async fn with_blob() -> (tempfile::TempDir, Db) {
        let (dir, db) = testing::sqlite().await;
        let sha = "bb".repeat(32);
        db.pin_blob(&NewBlob { sha256: &sha, md5: "m", bytes: 3 }, Duration::from_secs(60)).await.unwrap();
        (dir, db)
    }

    /// `n` photos of ann's (`a0000`… newest last), every one labelled `sky`,
    /// each 700th also `lake`; one of bob's labelled both.
    async fn labelled_library(db: &Db, n: usize) {
        let mut tx = db.pool.begin().await.unwrap();
        let sha = "bb".repeat(32);
        for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
            let rows: Vec<String> =
                chunk.iter().map(|i| format!("('a{i:04}', 'ann', '{sha}', 'm', 'png', 1, 1, 1, 'raw', {i})")).collect();
            let labels: Vec<String> = chunk
                .iter()
                .flat_map(|i| {
                    let sky = format!("('a{i:04}', 'sky', 0.9, 1, 'ann')");
                    let lake = (i % 700 == 0).then(|| format!("('a{i:04}', 'lake', 0.9, 1, 'ann')"));
                    std::iter::once(sky).chain(lake)
                })
                .collect();
            for (table, values) in [
                ("images (id, owner, sha256, md5, format, width, height, bytes, source, created_at)", rows),
                ("image_labels (image_id, label, confidence, direct, owner)", labels),
            ] {
                sqlx::query(&format!("INSERT INTO {table} VALUES {}", values.join(", ")))
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
        }
        tx.commit().await.unwrap();
        db.insert_image(&image("b1", Some("bob"), 1)).await.unwrap();
        for label in ["sky", "lake"] {
            sqlx::query("INSERT INTO image_labels (image_id, label, confidence, direct, owner) VALUES ('b1', $1, 0.9, 1, 'bob')")
                .bind(label)
                .execute(&db.pool)
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn common_and_rare_labels_list_the_same_way() {
        let (_d, db) = with_blob().await;
        labelled_library(&db, 2100).await;
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(db.labels_are_common(Some("ann"), &strings(&["sky"])).await.unwrap());
        assert!(!db.labels_are_common(Some("ann"), &strings(&["lake"])).await.unwrap());
        let ids = |labels: &[&str], all: bool, cursor: Option<String>| {
            let (db, filter) =
                (db.clone(), ImageFilter { labels: strings(labels), match_all: all, ..Default::default() });
            async move {
                let page = db.list_images(Some("ann"), &filter, cursor.as_deref(), 3).await.unwrap();
                (page.images.into_iter().map(|i| i.id).collect::<Vec<_>>(), page.next)
            }
        };
        // Common: probed newest first, paged by the cursor.
        let (first, next) = ids(&["sky"], false, None).await;
        assert_eq!(first, ["a2099", "a2098", "a2097"]);
        assert_eq!(ids(&["sky"], false, next).await.0, ["a2096", "a2095", "a2094"]);
        // Rare: gathered, then sorted; bob's never.
        let (lakes, next) = ids(&["lake"], false, None).await;
        assert_eq!(lakes, ["a1400", "a0700", "a0000"]);
        assert_eq!(next, None);
        // Both, with either strategy (sky is common, so the list is probed).
        assert_eq!(ids(&["sky", "lake"], true, None).await.0, ["a1400", "a0700", "a0000"]);
        assert_eq!(ids(&["lake", "cloud"], false, None).await.0, ["a1400", "a0700", "a0000"]);
        assert_eq!(ids(&["cloud"], false, None).await.0, Vec::<String>::new());
    }

    #[tokio::test]
    async fn insert_get_delete_with_events() {
        let (_d, db) = with_blob().await;
        let img = image("i1", Some("alice"), 10);
        db.insert_image(&img).await.unwrap();
        assert_eq!(db.get_image("i1").await.unwrap(), Some(img.clone()));
        assert_eq!(db.delete_image("i1").await.unwrap(), Some(img));
        assert_eq!(db.delete_image("i1").await.unwrap(), None);
        let kinds: Vec<_> = db.events_for("i1").await.unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["image.created", "image.deleted"]);
    }

    #[tokio::test]
    async fn state_reads_json_and_fails_on_bad_json() {
        let (_d, db) = with_blob().await;
        db.insert_image(&image("i1", None, 1)).await.unwrap();
        assert_eq!(db.image_state("i1").await.unwrap().unwrap().metadata, None);
        db.set_image_metadata("i1", &serde_json::json!({"w": 1}), &ImageFacts::default()).await.unwrap();
        assert_eq!(db.image_state("i1").await.unwrap().unwrap().metadata, Some(serde_json::json!({"w": 1})));
        sqlx::query("UPDATE images SET faces = '{' WHERE id = 'i1'").execute(&db.pool).await.unwrap();
        let err = db.image_state("i1").await.unwrap_err();
        assert!(matches!(&err, crate::DbError::BadJson { column, .. } if column == "faces"), "{err}");
    }

    #[tokio::test]
    async fn listing_is_per_owner_and_paginates() {
        let (_d, db) = with_blob().await;
        for i in 0..5 {
            db.insert_image(&image(&format!("a{i}"), Some("alice"), i)).await.unwrap();
        }
        db.insert_image(&image("b0", Some("bob"), 3)).await.unwrap();
        db.insert_image(&image("n0", None, 3)).await.unwrap();
        let first = db.list_images(Some("alice"), &ImageFilter::default(), None, 2).await.unwrap();
        assert_eq!(first.images.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["a4", "a3"]);
        let second = db.list_images(Some("alice"), &ImageFilter::default(), first.next.as_deref(), 2).await.unwrap();
        assert_eq!(second.images.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["a2", "a1"]);
        let third = db.list_images(Some("alice"), &ImageFilter::default(), second.next.as_deref(), 2).await.unwrap();
        assert_eq!(third.images.len(), 1);
        assert!(third.next.is_none());
        let anon = db.list_images(None, &ImageFilter::default(), None, 10).await.unwrap();
        assert_eq!(anon.images.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["n0"]);
    }
}
