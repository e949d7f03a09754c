//! What search and the map read from an image's stored metadata: its
//! camera, when it was taken, and where ([`facts`]), kept as columns by
//! `pictor:store-metadata`; and the backfill of images whose metadata was
//! stored before those columns existed (housekeeping runs it a batch at a
//! time until none is left).

use pictor_db::ImageFacts;
use pictor_meta::{Exif, Gps};
use serde::Deserialize;

use crate::AppState;

/// The parts of stored metadata that facts come from; anything else in it
/// (or a shape a custom workflow stored) is ignored.
#[derive(Deserialize)]
struct Stored {
    #[serde(default)]
    exif: Exif,
    gps: Option<Gps>,
}

/// The facts of an image's metadata JSON (none when it has another shape).
pub fn facts(metadata: &serde_json::Value) -> ImageFacts {
    let Ok(stored) = Stored::deserialize(metadata) else { return ImageFacts::default() };
    ImageFacts {
        camera: stored.exif.camera(),
        taken_at: stored.exif.taken_at_ms(),
        position: stored.gps.and_then(position),
    }
}

/// A position in microdegrees; none for impossible values and for 0° 0°,
/// which cameras write when they had no fix.
fn position(gps: Gps) -> Option<(i64, i64)> {
    let valid = gps.latitude.abs() <= 90.0 && gps.longitude.abs() <= 180.0;
    let nowhere = gps.latitude == 0.0 && gps.longitude == 0.0;
    (valid && !nowhere).then(|| ((gps.latitude * 1e6).round() as i64, (gps.longitude * 1e6).round() as i64))
}

/// Images backfilled per batch.
const BATCH: i64 = 500;

/// Fills in the facts of one batch of images stored before search had
/// columns; false once none is left (true after a failure: try again).
pub async fn backfill(state: &AppState) -> bool {
    let rows = match state.db.images_without_facts(BATCH).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "reading images to backfill for search failed");
            return true;
        }
    };
    for (id, metadata) in &rows {
        let facts = serde_json::from_str(metadata).map(|m| facts(&m)).unwrap_or_default();
        if let Err(e) = state.db.backfill_facts(id, &facts).await {
            tracing::warn!(id, error = %e, "backfilling an image for search failed");
            return true;
        }
    }
    !rows.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn facts_come_from_exif_and_gps() {
        let metadata = json!({
            "format": "JPEG",
            "exif": {"make": "Apple", "model": "iPhone 4", "date_time_original": "2011:01:13 14:33:39",
                     "offset_time_original": "+01:00"},
            "gps": {"latitude": 41.853, "longitude": 12.4888333, "altitude": null}
        });
        let found = facts(&metadata);
        assert_eq!(found.camera.as_deref(), Some("Apple iPhone 4"));
        assert_eq!(found.taken_at, Some(1_294_925_619_000));
        assert_eq!(found.position, Some((41_853_000, 12_488_833)));
        let nowhere = json!({"exif": {}, "gps": {"latitude": 0.0, "longitude": 0.0}});
        assert_eq!(facts(&nowhere), ImageFacts::default());
        assert_eq!(facts(&json!({"exif": "odd"})), ImageFacts::default());
        assert_eq!(facts(&json!([])), ImageFacts::default());
    }
}
