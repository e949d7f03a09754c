//! Photos on the map, grouped on the database: a grid of square cells
//! (`cell` microdegrees a side, aligned at 90° S, 180° W), one row per cell
//! that holds photos, by integer division on the position columns, so a
//! view costs one indexed scan of the owner's placed photos whatever
//! their number. Also the owner's cameras, for the search form.

use crate::images::{OWNED, bind_all};
use crate::{Db, ImageFilter, Result};

/// One cell's photos: how many, their mean position (degrees), and one of
/// them to show.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Cluster {
    pub row: i64,
    pub col: i64,
    pub count: i64,
    pub latitude: f64,
    pub longitude: f64,
    pub sample: String,
}

/// A cell of the grid: its row (from the south) and column (from the west).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell {
    pub row: i64,
    pub col: i64,
}

impl Db {
    /// The owner's placed photos that `filter` keeps, grouped in cells of
    /// `cell` microdegrees (at least 1).
    pub async fn clusters(&self, owner: Option<&str>, filter: &ImageFilter, cell: i64) -> Result<Vec<Cluster>> {
        let (conditions, args) = filter.conditions(3);
        let sql = format!(
            "SELECT (latitude_e6 + 90000000) / $2 AS row, (longitude_e6 + 180000000) / $2 AS col, COUNT(*) AS count,
                    CAST(AVG(latitude_e6) AS DOUBLE PRECISION) / 1000000.0 AS latitude,
                    CAST(AVG(longitude_e6) AS DOUBLE PRECISION) / 1000000.0 AS longitude, MAX(id) AS sample
             FROM images WHERE {OWNED} AND latitude_e6 IS NOT NULL AND longitude_e6 IS NOT NULL{conditions}
             GROUP BY (latitude_e6 + 90000000) / $2, (longitude_e6 + 180000000) / $2"
        );
        let query = sqlx::query_as(&sql).bind(owner).bind(cell.max(1));
        Ok(bind_all(query, &args).fetch_all(&self.pool).await?)
    }

    /// The owner's cameras, the most used first (at most `limit`).
    pub async fn cameras(&self, owner: Option<&str>, limit: i64) -> Result<Vec<String>> {
        let sql = format!(
            "SELECT camera FROM images WHERE {OWNED} AND camera IS NOT NULL
             GROUP BY camera ORDER BY COUNT(*) DESC, camera LIMIT $2"
        );
        let rows: Vec<(String,)> = sqlx::query_as(&sql).bind(owner).bind(limit).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|(camera,)| camera).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::tests::{image, with_blob};
    use crate::{Area, ImageFacts};

    async fn placed(db: &Db, id: &str, owner: &str, at: (f64, f64), camera: &str) {
        db.insert_image(&image(id, Some(owner), 1)).await.unwrap();
        let position = Some(((at.0 * 1e6) as i64, (at.1 * 1e6) as i64));
        let facts = ImageFacts { camera: Some(camera.into()), taken_at: Some(5), position };
        db.set_image_metadata(id, &serde_json::json!({}), &facts).await.unwrap();
    }

    #[tokio::test]
    async fn cells_count_the_owners_photos_and_areas_narrow_them() {
        let (_d, db) = with_blob().await;
        placed(&db, "p1", "ann", (48.85, 2.35), "Canon EOS 5D").await;
        placed(&db, "p2", "ann", (48.86, 2.29), "Canon EOS 5D").await;
        placed(&db, "r1", "ann", (41.9, 12.5), "Apple iPhone 4").await;
        placed(&db, "s1", "ann", (-33.9, 151.2), "Apple iPhone 4").await;
        placed(&db, "b1", "bob", (48.85, 2.35), "Nikon").await;
        db.insert_image(&image("unplaced", Some("ann"), 2)).await.unwrap();
        let mut cells = db.clusters(Some("ann"), &ImageFilter::default(), 10_000_000).await.unwrap();
        cells.sort_by_key(|c| (c.row, c.col));
        let counts: Vec<_> = cells.iter().map(|c| (c.row, c.col, c.count)).collect();
        assert_eq!(counts, [(5, 33, 1), (13, 18, 2), (13, 19, 1)]);
        let paris = cells.iter().find(|c| c.count == 2).unwrap();
        assert!((paris.latitude - 48.855).abs() < 1e-6 && (paris.longitude - 2.32).abs() < 1e-6, "{paris:?}");
        assert_eq!(paris.sample, "p2");
        let europe = Area { south: 35_000_000, west: -10_000_000, north: 60_000_000, east: 20_000_000 };
        let filter = ImageFilter { area: Some(europe), ..Default::default() };
        let near: i64 = db.clusters(Some("ann"), &filter, 1_000).await.unwrap().iter().map(|c| c.count).sum();
        assert_eq!(near, 3);
        let listed = db.list_images(Some("ann"), &filter, None, 10).await.unwrap().images.len();
        assert_eq!(listed, 3);
        let anywhere = ImageFilter { area: Some(Area::WORLD), ..Default::default() };
        assert_eq!(db.list_images(Some("ann"), &anywhere, None, 10).await.unwrap().images.len(), 4);
        assert_eq!(db.cameras(Some("ann"), 10).await.unwrap(), ["Apple iPhone 4", "Canon EOS 5D"]);
        let canon = ImageFilter { camera: Some("eos".into()), ..Default::default() };
        assert_eq!(db.list_images(Some("ann"), &canon, None, 10).await.unwrap().images.len(), 2);
    }

    #[tokio::test]
    async fn taken_at_falls_back_to_the_upload_and_old_rows_are_backfilled() {
        let (_d, db) = with_blob().await;
        db.insert_image(&image("new", Some("ann"), 7_000)).await.unwrap();
        db.insert_image(&image("old", Some("ann"), 8_000)).await.unwrap();
        // As a row stored before the search columns: metadata, no facts.
        sqlx::query("UPDATE images SET metadata = '{}', taken_at = NULL WHERE id = 'old'")
            .execute(&db.pool)
            .await
            .unwrap();
        let taken =
            |after, before| ImageFilter { taken_after: Some(after), taken_before: Some(before), ..Default::default() };
        let ids = |f: ImageFilter| {
            let db = db.clone();
            async move {
                db.list_images(Some("ann"), &f, None, 10)
                    .await
                    .unwrap()
                    .images
                    .into_iter()
                    .map(|i| i.id)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(ids(taken(7_000, 7_001)).await, ["new"], "the upload's time stands in");
        assert_eq!(db.images_without_facts(10).await.unwrap(), [("old".to_string(), "{}".to_string())]);
        db.backfill_facts("old", &ImageFacts { taken_at: Some(100), ..Default::default() }).await.unwrap();
        assert!(db.images_without_facts(10).await.unwrap().is_empty());
        assert_eq!(ids(taken(0, 1_000)).await, ["old"]);
        // Only once: newer facts are not overwritten.
        db.backfill_facts("old", &ImageFacts { taken_at: Some(9_999), ..Default::default() }).await.unwrap();
        assert_eq!(ids(taken(0, 1_000)).await, ["old"]);
    }
}
