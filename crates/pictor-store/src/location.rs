//! Where the blobs live, parsed from the `store` setting.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::prefix::PrefixStore;

use crate::StoreError;
use crate::s3raw::RawS3;

/// A store location: a local folder, or an S3-compatible bucket written as
/// `s3://BUCKET?endpoint=http://host:9000&region=…&access_key_id=…&secret_access_key=…&allow_http=true&prefix=…`.
/// Query keys are `object_store`'s S3 option names; anything not given is
/// taken from the usual `AWS_*` environment variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreLocation {
    Local(PathBuf),
    S3 { bucket: String, options: BTreeMap<String, String>, prefix: Option<String> },
}

impl StoreLocation {
    /// Parses `s3://…`, `file:///dir` or a plain folder path.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        let invalid = |why: &str| StoreError::InvalidLocation { location: text.into(), why: why.into() };
        if let Some(path) = text.strip_prefix("file://") {
            return Ok(Self::Local(PathBuf::from(path)));
        }
        if !text.starts_with("s3://") {
            if text.contains("://") {
                return Err(invalid("use s3://bucket?endpoint=… or a folder path"));
            }
            return Ok(Self::Local(PathBuf::from(text)));
        }
        let url = url::Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
        let bucket = url.host_str().filter(|b| !b.is_empty()).ok_or_else(|| invalid("no bucket name after s3://"))?;
        let mut options = BTreeMap::new();
        let mut prefix = None;
        for (key, value) in url.query_pairs() {
            if key == "prefix" {
                prefix = Some(value.trim_matches('/').to_string()).filter(|p| !p.is_empty());
                continue;
            }
            key.parse::<AmazonS3ConfigKey>().map_err(|_| invalid(&format!("unknown S3 option {key:?}")))?;
            options.insert(key.into_owned(), value.into_owned());
        }
        Ok(Self::S3 { bucket: bucket.to_string(), options, prefix })
    }

    /// The bucket as an `object_store` (under the prefix, if any), its
    /// description, and the raw client for what `object_store` cannot ask.
    pub(crate) fn build_s3(&self) -> Result<(Arc<dyn ObjectStore>, String, RawS3), StoreError> {
        let Self::S3 { bucket, options, prefix } = self else { unreachable!("build_s3 on a local location") };
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        for (key, value) in options {
            // Keys were validated in `parse`.
            builder = builder.with_config(key.parse().expect("validated S3 option"), value);
        }
        let s3 = Arc::new(builder.clone().build()?);
        let raw = RawS3::new(&builder, s3.clone(), bucket, prefix.clone());
        let store: Arc<dyn ObjectStore> = s3;
        let describe = format!("S3 bucket {bucket}");
        Ok(match prefix {
            Some(p) => (Arc::new(PrefixStore::new(store, Path::from(p.as_str()))), format!("{describe}/{p}"), raw),
            None => (store, describe, raw),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_folders_and_s3_urls() {
        assert_eq!(StoreLocation::parse("./data/blobs").unwrap(), StoreLocation::Local("./data/blobs".into()));
        assert_eq!(StoreLocation::parse("file:///srv/x").unwrap(), StoreLocation::Local("/srv/x".into()));
        let s3 = StoreLocation::parse("s3://pics?endpoint=http://127.0.0.1:9000&allow_http=true&prefix=/t1/").unwrap();
        let StoreLocation::S3 { bucket, options, prefix } = s3 else { panic!("not s3") };
        assert_eq!(bucket, "pics");
        assert_eq!(options["endpoint"], "http://127.0.0.1:9000");
        assert_eq!(prefix.as_deref(), Some("t1"));
    }

    #[test]
    fn rejects_unknown_schemes_and_options() {
        assert!(StoreLocation::parse("gs://b").is_err());
        assert!(StoreLocation::parse("s3://b?colour=red").unwrap_err().to_string().contains("colour"));
        assert!(StoreLocation::parse("s3://?endpoint=x").is_err());
    }
}
