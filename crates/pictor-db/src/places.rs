//! Photos on the map, grouped on the database: a grid of square cells
//! (`cell` microdegrees a side, aligned at 90° S, 180° W), one row per cell
//! that holds photos, by integer division on the position columns, so a
//! view costs one indexed scan of the owner's placed photos whatever
//! their number. Also the owner's cameras, for the search form.

use crate::images::{bind_all, owned};
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

/// The side of the whole-world map's cells in microdegrees (15 degrees):
/// migration 0013 indexes the photos by these cells.
pub const WORLD_CELL: i64 = 15_000_000;

impl Db {
    /// The owner's placed photos that `filter` keeps, grouped in cells of
    /// `cell` microdegrees (at least 1).
    pub async fn clusters(&self, owner: Option<&str>, filter: &ImageFilter, cell: i64) -> Result<Vec<Cluster>> {
        let (conditions, args) = filter.conditions(2);
        let owned = owned(owner);
        // The cell size is written out (a number, not a parameter) so that
        // the world's cells match the index on them (migration 0013).
        let cell = cell.max(1);
        let (row, col) = (format!("(latitude_e6 + 90000000) / {cell}"), format!("(longitude_e6 + 180000000) / {cell}"));
        let sql = format!(
            "SELECT {row} AS row, {col} AS col, COUNT(*) AS count,
                    CAST(AVG(latitude_e6) AS DOUBLE PRECISION) / 1000000.0 AS latitude,
                    CAST(AVG(longitude_e6) AS DOUBLE PRECISION) / 1000000.0 AS longitude, MAX(id) AS sample
             FROM images WHERE {owned} AND latitude_e6 IS NOT NULL AND longitude_e6 IS NOT NULL{conditions}
             GROUP BY {row}, {col}"
        );
        let query = sqlx::query_as(&sql).bind(owner);
        Ok(bind_all(query, &args).fetch_all(&self.pool).await?)
    }

    /// The owner's cameras, the most used first (at most `limit`).
    pub async fn cameras(&self, owner: Option<&str>, limit: i64) -> Result<Vec<String>> {
        let owned = owned(owner);
        let sql = format!(
            "SELECT camera FROM images WHERE {owned} AND camera IS NOT NULL
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

    /// The map's cost at scale: 100,000 placed photos of one owner (and
    /// 20,000 of another) over one blob, on SQLite. Run by `bench/map.sh`:
    /// `cargo test -p pictor-db --lib places::tests::map_at_100000_photos -- --ignored --nocapture`.
    #[tokio::test]
    #[ignore = "a benchmark: bench/map.sh"]
    async fn map_at_100000_photos() {
        let (_d, db) = with_blob().await;
        generate(&db, "ann", 100_000).await;
        generate(&db, "bob", 20_000).await;
        let views = [
            ("world, 15° cells", None, 15_000_000),
            (
                "Europe, 1.5° cells",
                Some(Area { south: 35_000_000, west: -10_000_000, north: 71_000_000, east: 26_000_000 }),
                1_500_000,
            ),
            (
                "a city, 0.01° cells",
                Some(Area { south: 48_700_000, west: 2_200_000, north: 49_000_000, east: 2_500_000 }),
                10_000,
            ),
        ];
        for (name, area, cell) in views {
            let filter = ImageFilter { area: area.or(Some(Area::WORLD)), ..Default::default() };
            let started = std::time::Instant::now();
            let cells = db.clusters(Some("ann"), &filter, cell).await.unwrap();
            let clustered = started.elapsed();
            let started = std::time::Instant::now();
            let page = db.list_images(Some("ann"), &filter, None, 120).await.unwrap();
            let listed = started.elapsed();
            let counted: i64 = cells.iter().map(|c| c.count).sum();
            println!(
                "{name}: {} cells of {counted} photos in {clustered:?}; first 120 listed in {listed:?}",
                cells.len()
            );
            assert!(clustered < std::time::Duration::from_millis(200), "{name}: {clustered:?}");
            assert!(page.images.len() <= 120);
        }
    }

    /// `count` photos of `owner` spread over the land's latitudes, with a
    /// camera, inserted 500 rows a statement in one transaction.
    async fn generate(db: &Db, owner: &str, count: u64) {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64 ^ count;
        let mut next = move |range: i64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % range as u64) as i64
        };
        let mut tx = db.pool.begin().await.unwrap();
        for chunk in 0..count.div_ceil(500) {
            let rows: Vec<String> = (0..500)
                .map(|n| {
                    let (lat, lon, at) = (next(120_000_000) - 55_000_000, next(360_000_000) - 180_000_000, next(1 << 40));
                    format!(
                        "('{owner}-{chunk}-{n}', '{owner}', '{sha}', 'm', 'jpeg', 1, 1, 1, 'raw', {at}, {at}, {lat}, {lon}, 'Camera {}')",
                        next(20),
                        sha = "bb".repeat(32)
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO images (id, owner, sha256, md5, format, width, height, bytes, source, created_at, taken_at, latitude_e6, longitude_e6, camera) VALUES {}",
                rows.join(", ")
            );
            sqlx::query(&sql).execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
}
