//! Recently read image records.
//!
//! Images never change, only disappear, so a record may be served from here
//! for up to [`RECORD_TTL`] after another process deleted it; this process's
//! own deletes take effect at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pictor_db::{Db, ImageRecord};

use crate::error::{Error, Result};

/// A bounded map of image records with a short time to live. Records are
/// shared, not copied: a cached hit allocates nothing for its record.
pub struct RecordCache(quick_cache::sync::Cache<String, (Arc<ImageRecord>, Instant)>);

/// How long a cached record is trusted.
pub const RECORD_TTL: Duration = Duration::from_secs(5);

impl RecordCache {
    pub fn new() -> Self {
        Self(quick_cache::sync::Cache::new(100_000))
    }

    /// The record `id`, or `NotFound`.
    pub async fn get(&self, db: &Db, id: &str) -> Result<Arc<ImageRecord>> {
        if let Some((record, at)) = self.0.get(id)
            && at.elapsed() < RECORD_TTL
        {
            return Ok(record);
        }
        let record = Arc::new(db.get_image(id).await?.ok_or_else(|| Error::not_found(format!("image {id}")))?);
        self.0.insert(id.to_string(), (record.clone(), Instant::now()));
        Ok(record)
    }

    pub fn forget(&self, id: &str) {
        self.0.remove(id);
    }
}

impl Default for RecordCache {
    fn default() -> Self {
        Self::new()
    }
}
