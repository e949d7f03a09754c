//! A bucket to import from: someone else's S3 prefix, read page by page in
//! key order (`ListObjectsV2` with `start-after`), one object at a time.
//!
//! Why not [`StoreLocation`](crate::StoreLocation)'s builder: that one reads
//! the server's own `AWS_*` environment, and an import must never reach a
//! bucket with the server's credentials (they would open the server's own
//! store to whoever names it). Here only the credentials given in the
//! source are used; without any, requests are anonymous (a public bucket).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, RetryConfig};

use crate::{Result, StoreError};

/// The options an import source may set: the endpoint, the region and
/// credentials. Nothing else (no metadata endpoints, no role chains).
pub const SOURCE_OPTIONS: &[&str] =
    &["endpoint", "region", "access_key_id", "secret_access_key", "session_token", "virtual_hosted_style_request"];

/// One object of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceObject {
    /// Its key, relative to the prefix.
    pub key: String,
    pub size: u64,
}

/// A bucket prefix to read from.
pub struct BucketSource {
    store: Arc<dyn ObjectStore>,
    prefix: Option<Path>,
}

impl BucketSource {
    /// The bucket `bucket` under `prefix` (may be empty), with `options`
    /// (each one of [`SOURCE_OPTIONS`]).
    pub fn open(bucket: &str, prefix: &str, options: &BTreeMap<String, String>) -> Result<Self> {
        let invalid = |why: String| StoreError::InvalidLocation { location: format!("s3://{bucket}"), why };
        // Bounded: a source that does not answer fails the page in well
        // under a minute (the job retries it later) instead of holding a
        // worker through the default three minutes of retries.
        let retry = RetryConfig { max_retries: 2, retry_timeout: Duration::from_secs(20), ..RetryConfig::default() };
        let client =
            ClientOptions::new().with_connect_timeout(Duration::from_secs(5)).with_timeout(Duration::from_secs(60));
        let mut builder = AmazonS3Builder::new().with_bucket_name(bucket).with_retry(retry).with_client_options(client);
        for (key, value) in options {
            if !SOURCE_OPTIONS.contains(&key.as_str()) {
                return Err(invalid(format!("unknown option {key:?}; use {}", SOURCE_OPTIONS.join(", "))));
            }
            let key: AmazonS3ConfigKey = key.parse().map_err(|_| invalid(format!("unknown option {key:?}")))?;
            builder = builder.with_config(key, value);
        }
        if options.get("endpoint").is_some_and(|e| e.starts_with("http://")) {
            builder = builder.with_allow_http(true);
        }
        if !options.contains_key("access_key_id") {
            // Anonymous: never the instance's or the environment's credentials.
            builder = builder.with_skip_signature(true);
        }
        let prefix = prefix.trim_matches('/');
        let prefix = (!prefix.is_empty()).then(|| Path::from(prefix));
        Ok(Self { store: Arc::new(builder.build()?), prefix })
    }

    /// Up to `limit` objects whose keys (relative to the prefix) come after
    /// `after` ('' for the first page), in key order.
    pub async fn list_after(&self, after: &str, limit: usize) -> Result<Vec<SourceObject>> {
        let mut listing = if after.is_empty() {
            self.store.list(self.prefix.as_ref())
        } else {
            self.store.list_with_offset(self.prefix.as_ref(), &self.path(after))
        };
        let mut page = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            let key = self.relative(&meta.location);
            // A store that ignores start-after still moves forward.
            if key.as_str() > after && !key.is_empty() {
                page.push(SourceObject { key, size: meta.size });
            }
            if page.len() >= limit {
                break;
            }
        }
        page.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(page)
    }

    /// The bytes of the object `key` (relative to the prefix).
    pub async fn get(&self, key: &str) -> Result<Bytes> {
        match self.store.get(&self.path(key)).await {
            Ok(result) => Ok(result.bytes().await?),
            Err(object_store::Error::NotFound { .. }) => Err(StoreError::NotFound(key.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// The store path of a key as listed (its parts already encoded).
    fn path(&self, key: &str) -> Path {
        let text = match &self.prefix {
            Some(p) => format!("{p}/{key}"),
            None => key.to_string(),
        };
        Path::parse(&text).unwrap_or_else(|_| Path::from(text.as_str()))
    }

    fn relative(&self, location: &Path) -> String {
        let text = location.to_string();
        match &self.prefix {
            Some(p) => text.strip_prefix(&format!("{p}/")).unwrap_or(&text).to_string(),
            None => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_endpoint_region_and_credentials_are_taken() {
        let mut options = BTreeMap::new();
        options.insert("endpoint".to_string(), "http://127.0.0.1:9".to_string());
        assert!(BucketSource::open("b", "p/", &options).is_ok());
        options.insert("imdsv1_fallback".to_string(), "true".to_string());
        let err = BucketSource::open("b", "", &options).err().unwrap().to_string();
        assert!(err.contains("imdsv1_fallback"), "{err}");
    }
}
