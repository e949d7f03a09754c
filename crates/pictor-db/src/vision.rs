//! What the vision models found: the label index, moderation decisions,
//! faces and text. Each write replaces what an earlier run of the same task
//! wrote, so retries and re-processing never count an image twice.

use serde::Serialize;
use sqlx::{FromRow, Row};

use crate::columns::{Flag, NullableJsonText};
use crate::events::record_once;
use crate::images::RECORD_COLUMNS;
use crate::{Audience, Db, ImageRecord, Result, now_ms};

/// One label of one image, as the labels task stores it.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct ImageLabel {
    #[sqlx(rename = "label")]
    pub name: String,
    pub confidence: f64,
    /// Given by the model (true) or a parent of such a label (false).
    #[sqlx(try_from = "Flag")]
    pub direct: bool,
    /// Nearest first; none when the label has no `labels` row.
    #[sqlx(try_from = "NullableJsonText<Vec<String>>")]
    pub parents: Vec<String>,
}

/// A row of the label index: how many of the caller's images carry it.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct LabelCount {
    #[sqlx(rename = "label")]
    pub name: String,
    pub count: i64,
    #[sqlx(try_from = "NullableJsonText<Vec<String>>")]
    pub parents: Vec<String>,
}

/// Where moderation left an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Review {
    Approved,
    Rejected,
}

impl Review {
    fn status(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }
}

fn parents_json(parents: &[String]) -> String {
    serde_json::Value::from(parents.to_vec()).to_string()
}

impl Db {
    /// Replaces the image's labels (parents included). A label given twice
    /// keeps its best confidence and counts once. False when the image is
    /// gone.
    pub async fn set_image_labels(&self, image_id: &str, labels: &[ImageLabel]) -> Result<bool> {
        self.set_image_labels_keeping(image_id, labels, &[]).await
    }

    /// [`Db::set_image_labels`], keeping those of the image's labels named
    /// in `kept` (another task's: `person`, from the faces model).
    pub async fn set_image_labels_keeping(&self, image_id: &str, labels: &[ImageLabel], kept: &[&str]) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let Some(owner) = image_owner(&mut tx, image_id).await? else { return Ok(false) };
        let kept_list: Vec<String> = (0..kept.len()).map(|i| format!("${}", i + 2)).collect();
        let except =
            if kept.is_empty() { String::new() } else { format!(" AND label NOT IN ({})", kept_list.join(", ")) };
        let sql = format!("DELETE FROM image_labels WHERE image_id = $1{except}");
        let mut delete = sqlx::query(&sql).bind(image_id);
        for label in kept {
            delete = delete.bind(*label);
        }
        delete.execute(&mut *tx).await?;
        for label in labels {
            insert_label(&mut tx, image_id, owner.as_deref(), label).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Sets one label of the image on (with `confidence`) or off, leaving
    /// the others: a task's own tag (`person`, from the faces model) beside
    /// the label model's. False when the image is gone.
    pub async fn set_image_label(&self, image_id: &str, name: &str, confidence: Option<f64>) -> Result<bool> {
        let Some(confidence) = confidence else {
            sqlx::query("DELETE FROM image_labels WHERE image_id = $1 AND label = $2")
                .bind(image_id)
                .bind(name)
                .execute(&self.pool)
                .await?;
            return Ok(true);
        };
        let label = ImageLabel { name: name.to_string(), confidence, direct: true, parents: Vec::new() };
        let mut tx = self.begin_write().await?;
        let Some(owner) = image_owner(&mut tx, image_id).await? else { return Ok(false) };
        insert_label(&mut tx, image_id, owner.as_deref(), &label).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The image's labels, best first (the model's own before parents).
    pub async fn image_labels(&self, image_id: &str) -> Result<Vec<ImageLabel>> {
        Ok(sqlx::query_as(
            "SELECT l.label, l.confidence, l.direct, n.parents FROM image_labels l
             LEFT JOIN labels n ON n.name = l.label
             WHERE l.image_id = $1 ORDER BY l.direct DESC, l.confidence DESC, l.label",
        )
        .bind(image_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The model's own labels of each of `image_ids`, best first, at most
    /// `per_image` each: alt text for a page of tiles, in one query.
    pub async fn top_labels(
        &self,
        image_ids: &[&str],
        per_image: usize,
    ) -> Result<std::collections::HashMap<String, Vec<String>>> {
        let mut top: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
        if image_ids.is_empty() {
            return Ok(top);
        }
        let placeholders: Vec<String> = (1..=image_ids.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT image_id, label FROM image_labels WHERE direct = 1 AND image_id IN ({})
             ORDER BY image_id, confidence DESC, label",
            placeholders.join(", ")
        );
        let mut query = sqlx::query_as::<_, (String, String)>(&sql);
        for id in image_ids {
            query = query.bind(*id);
        }
        for (image, label) in query.fetch_all(&self.pool).await? {
            let labels = top.entry(image).or_default();
            if labels.len() < per_image {
                labels.push(label);
            }
        }
        Ok(top)
    }

    /// The label index over the audience's images: each label with how
    /// many images carry it, most common first.
    pub async fn label_counts(&self, audience: Audience<'_>) -> Result<Vec<LabelCount>> {
        // Counted from the (owner, label) index alone, then named: no `OR`
        // on the owner's clause, which would keep SQLite off the index.
        let (owned, owner) = match audience {
            Audience::All => ("(owner = $1 OR 1 = 1)", None),
            Audience::Owner(Some(owner)) => ("owner = $1", Some(owner)),
            Audience::Owner(None) => ("(owner IS NULL OR owner = $1)", None),
        };
        Ok(sqlx::query_as(&format!(
            "SELECT c.label, c.count, n.parents FROM
               (SELECT label, COUNT(*) AS count FROM image_labels WHERE {owned} GROUP BY label) c
             LEFT JOIN labels n ON n.name = c.label
             ORDER BY c.count DESC, c.label"
        ))
        .bind(owner)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Stores the NSFW score; at or over `threshold` the image is flagged
    /// and `image.flagged` recorded with it, once per `dedupe` key. An image
    /// an admin already decided on keeps that decision. Returns whether the
    /// image is now held back, or `None` when it is gone.
    pub async fn set_moderation(
        &self,
        image: &ImageRecord,
        score: f64,
        threshold: f64,
        payload: serde_json::Value,
        dedupe: &str,
    ) -> Result<Option<bool>> {
        let mut tx = self.begin_write().await?;
        let flag = score >= threshold;
        let moderation: Option<Option<String>> = sqlx::query_scalar(
            "UPDATE images SET nsfw_score = $1,
               moderation = CASE WHEN moderation IN ('approved', 'rejected') THEN moderation
                                 WHEN $2 = 1 THEN 'flagged' ELSE NULL END
             WHERE id = $3 RETURNING moderation",
        )
        .bind(score)
        .bind(i64::from(flag))
        .bind(&image.id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(moderation) = moderation else { return Ok(None) };
        let held = matches!(moderation.as_deref(), Some("flagged" | "rejected"));
        if moderation.as_deref() == Some("flagged") {
            record_once(
                &mut tx,
                &self.outbox(),
                "image.flagged",
                &image.id,
                image.owner.as_deref(),
                payload,
                Some(dedupe),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Some(held))
    }

    /// An admin's decision on a flagged image, with its event
    /// (`moderation.approved` or `moderation.rejected`). Returns the updated record,
    /// or `None` when no such image was flagged.
    pub async fn review_image(&self, id: &str, review: Review, by: Option<&str>) -> Result<Option<ImageRecord>> {
        let mut tx = self.begin_write().await?;
        let reviewed: Option<ImageRecord> = sqlx::query_as(&format!(
            "UPDATE images SET moderation = $1 WHERE id = $2 AND moderation IN ('flagged', 'approved', 'rejected')
             RETURNING {RECORD_COLUMNS}"
        ))
        .bind(review.status())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(image) = reviewed else { return Ok(None) };
        let kind = format!("moderation.{}", review.status());
        let payload = serde_json::json!({ "id": image.id, "owner": image.owner, "by": by, "at": now_ms() });
        record_once(&mut tx, &self.outbox(), &kind, &image.id, image.owner.as_deref(), payload, None).await?;
        tx.commit().await?;
        Ok(Some(image))
    }

    /// Images waiting for an admin, oldest first, with their scores.
    pub async fn flagged_images(&self, limit: i64) -> Result<Vec<(ImageRecord, Option<f64>)>> {
        let rows = sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS}, nsfw_score FROM images WHERE moderation = 'flagged'
             ORDER BY created_at, id LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok((ImageRecord::from_row(row)?, row.try_get("nsfw_score")?))).collect()
    }

    /// Stores the faces found (JSON); false when the image is gone.
    pub async fn set_image_faces(&self, id: &str, faces: &serde_json::Value) -> Result<bool> {
        self.set_image_json("faces", id, faces).await
    }

    /// Stores the text lines (JSON) and their joined, lower-cased text for
    /// search; false when the image is gone.
    pub async fn set_image_text(&self, id: &str, lines: &serde_json::Value, text: &str) -> Result<bool> {
        let updated = sqlx::query("UPDATE images SET text_lines = $1, text = $2 WHERE id = $3")
            .bind(lines.to_string())
            .bind(text.to_lowercase())
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(updated > 0)
    }
}

/// The owner of an image (`Some(None)`: an image without one); `None` when
/// the image is gone.
async fn image_owner(tx: &mut sqlx::Transaction<'static, sqlx::Any>, image_id: &str) -> Result<Option<Option<String>>> {
    Ok(sqlx::query_scalar("SELECT owner FROM images WHERE id = $1").bind(image_id).fetch_optional(&mut **tx).await?)
}

/// Adds (or raises) one label of an image, and its entry in the names table.
async fn insert_label(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    image_id: &str,
    owner: Option<&str>,
    label: &ImageLabel,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO image_labels (image_id, label, confidence, direct, owner) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (image_id, label) DO UPDATE SET
               confidence = CASE WHEN excluded.confidence > image_labels.confidence
                                 THEN excluded.confidence ELSE image_labels.confidence END,
               direct = CASE WHEN excluded.direct > image_labels.direct
                             THEN excluded.direct ELSE image_labels.direct END",
    )
    .bind(image_id)
    .bind(&label.name)
    .bind(label.confidence)
    .bind(i64::from(label.direct))
    .bind(owner)
    .execute(&mut **tx)
    .await?;
    sqlx::query("INSERT INTO labels (name, parents) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(&label.name)
        .bind(parents_json(&label.parents))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ImageFilter;
    use crate::images::tests::{image, with_blob};

    fn label(name: &str, confidence: f64, direct: bool, parents: &[&str]) -> ImageLabel {
        ImageLabel { name: name.into(), confidence, direct, parents: parents.iter().map(|p| p.to_string()).collect() }
    }

    fn cat() -> Vec<ImageLabel> {
        vec![
            label("tabby", 0.4, true, &["cat", "animal"]),
            label("cat", 0.4, false, &["animal"]),
            label("animal", 0.4, false, &[]),
        ]
    }

    fn counts(list: &[LabelCount]) -> Vec<(&str, i64)> {
        list.iter().map(|l| (l.name.as_str(), l.count)).collect()
    }

    #[tokio::test]
    async fn each_image_counts_once_per_label_through_retries_and_deletes() {
        let (_d, db) = with_blob().await;
        for id in ["a", "b"] {
            db.insert_image(&image(id, Some("al"), 1)).await.unwrap();
        }
        // Processed twice, with the parent given twice in one run.
        for _ in 0..2 {
            let mut labels = cat();
            labels.push(label("cat", 0.1, false, &["animal"]));
            assert!(db.set_image_labels("a", &labels).await.unwrap());
        }
        db.set_image_labels("b", &[label("espresso", 0.9, true, &["beverage"]), label("beverage", 0.9, false, &[])])
            .await
            .unwrap();
        let index = db.label_counts(Audience::Owner(Some("al"))).await.unwrap();
        assert_eq!(counts(&index), [("animal", 1), ("beverage", 1), ("cat", 1), ("espresso", 1), ("tabby", 1)]);
        assert_eq!(index[4].parents, ["cat", "animal"]);
        assert!(db.label_counts(Audience::Owner(Some("bo"))).await.unwrap().is_empty(), "per owner");
        let of_a = db.image_labels("a").await.unwrap();
        assert_eq!(of_a[0].name, "tabby", "the model's own label first");
        assert_eq!(of_a.iter().find(|l| l.name == "cat").unwrap().confidence, 0.4, "best confidence kept");

        db.delete_image("a").await.unwrap();
        assert!(db.image_labels("a").await.unwrap().is_empty(), "its rows go with it (ON DELETE CASCADE)");
        assert_eq!(counts(&db.label_counts(Audience::All).await.unwrap()), [("beverage", 1), ("espresso", 1)]);
        assert!(!db.set_image_labels("a", &cat()).await.unwrap(), "a deleted image gets no labels");
    }

    #[tokio::test]
    async fn listings_filter_by_all_or_any_label_and_by_text() {
        let (_d, db) = with_blob().await;
        for (id, at) in [("a", 1), ("b", 2), ("c", 3)] {
            db.insert_image(&image(id, None, at)).await.unwrap();
        }
        db.set_image_labels("a", &cat()).await.unwrap();
        db.set_image_labels("b", &[label("animal", 0.5, true, &[])]).await.unwrap();
        db.set_image_text("c", &json!([]), "Hello 100% World_").await.unwrap();
        let ids = |page: crate::Page| page.images.into_iter().map(|i| i.id).collect::<Vec<_>>();
        let filter = |labels: &[&str], match_all: bool, text: Option<&str>| ImageFilter {
            labels: labels.iter().map(|l| l.to_string()).collect(),
            match_all,
            text: text.map(Into::into),
            ..Default::default()
        };
        let list = |f: ImageFilter| {
            let db = db.clone();
            async move { ids(db.list_images(None, &f, None, 10).await.unwrap()) }
        };
        assert_eq!(list(filter(&["animal"], true, None)).await, ["b", "a"]);
        assert_eq!(list(filter(&["tabby", "animal"], true, None)).await, ["a"]);
        assert_eq!(list(filter(&["tabby", "animal"], false, None)).await, ["b", "a"]);
        assert_eq!(list(filter(&["dog"], false, None)).await, Vec::<String>::new());
        assert_eq!(list(filter(&[], false, Some("hello"))).await, ["c"]);
        assert_eq!(list(filter(&[], false, Some("100% world_"))).await, ["c"]);
        assert_eq!(list(filter(&[], false, Some("1000"))).await, Vec::<String>::new(), "% is literal");
        assert_eq!(list(filter(&[], false, Some("o_w"))).await, Vec::<String>::new(), "_ is literal");
    }

    #[tokio::test]
    async fn flagging_holds_the_image_until_an_admin_decides() {
        let (_d, db) = with_blob().await;
        let img = image("a", Some("al"), 1);
        db.insert_image(&img).await.unwrap();
        assert_eq!(db.set_moderation(&img, 0.1, 0.8, json!({}), "x/1").await.unwrap(), Some(false));
        assert_eq!(db.get_image("a").await.unwrap().unwrap().moderation, None);
        assert_eq!(db.set_moderation(&img, 0.9, 0.8, json!({}), "x/2").await.unwrap(), Some(true));
        assert_eq!(db.set_moderation(&img, 0.9, 0.8, json!({}), "x/2").await.unwrap(), Some(true), "a retry");
        assert_eq!(db.get_image("a").await.unwrap().unwrap().moderation.as_deref(), Some("flagged"));
        assert_eq!(db.flagged_images(10).await.unwrap()[0].1, Some(0.9));

        let approved = db.review_image("a", Review::Approved, Some("admin")).await.unwrap().unwrap();
        assert_eq!(approved.moderation.as_deref(), Some("approved"));
        assert!(db.flagged_images(10).await.unwrap().is_empty());
        // Re-processing does not undo an admin's decision.
        assert_eq!(db.set_moderation(&img, 0.95, 0.8, json!({}), "y/2").await.unwrap(), Some(false));
        assert_eq!(
            db.review_image("a", Review::Rejected, None).await.unwrap().unwrap().moderation.as_deref(),
            Some("rejected")
        );
        assert_eq!(db.review_image("nope", Review::Approved, None).await.unwrap(), None);

        let kinds: Vec<_> = db.events_for("a").await.unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["image.created", "image.flagged", "moderation.approved", "moderation.rejected"]);
    }

    #[tokio::test]
    async fn a_tasks_own_label_survives_the_label_models_replacement() {
        let (_d, db) = with_blob().await;
        db.insert_image(&image("a", Some("al"), 1)).await.unwrap();
        assert!(db.set_image_label("a", "person", Some(0.8)).await.unwrap());
        db.set_image_labels_keeping("a", &[label("lakeside", 0.9, true, &["lake"])], &["person"]).await.unwrap();
        let names = |labels: Vec<ImageLabel>| labels.into_iter().map(|l| l.name).collect::<Vec<_>>();
        assert_eq!(names(db.image_labels("a").await.unwrap()), ["lakeside", "person"]);
        db.set_image_labels("a", &[label("alp", 0.9, true, &[])]).await.unwrap();
        assert_eq!(names(db.image_labels("a").await.unwrap()), ["alp"], "a plain replacement takes all");
        db.set_image_label("a", "person", Some(0.7)).await.unwrap();
        db.set_image_label("a", "person", None).await.unwrap();
        assert_eq!(names(db.image_labels("a").await.unwrap()), ["alp"], "no faces: no person");
        assert!(!db.set_image_label("gone", "person", Some(0.9)).await.unwrap());
    }
}
