//! Where the blobs live, parsed from the `store` setting.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ClientOptions, ObjectStore, RetryConfig};

use crate::StoreError;

/// What presigning needs of an S3 store: the client (its signer and
/// credentials), the bucket's URL as object_store addresses it, its region,
/// and the key prefix every object sits under.
#[derive(Debug)]
pub(crate) struct S3Target {
    pub s3: AmazonS3,
    pub bucket: String,
    pub bucket_url: String,
    pub region: String,
    pub prefix: Option<String>,
}

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

    pub(crate) fn build_s3(&self) -> Result<(Arc<dyn ObjectStore>, String, S3Target), StoreError> {
        let Self::S3 { bucket, options, prefix } = self else { unreachable!("build_s3 on a local location") };
        // Bounded waits, so a store that stops answering fails a request in
        // seconds instead of holding it: the URL's own `timeout`,
        // `connect_timeout` (client options) override these.
        let client =
            ClientOptions::new().with_connect_timeout(Duration::from_secs(5)).with_timeout(Duration::from_secs(30));
        let retry = RetryConfig { max_retries: 3, retry_timeout: Duration::from_secs(10), ..RetryConfig::default() };
        let mut builder =
            AmazonS3Builder::from_env().with_bucket_name(bucket).with_client_options(client).with_retry(retry);
        for (key, value) in options {
            // Keys were validated in `parse`.
            builder = builder.with_config(key.parse().expect("validated S3 option"), value);
        }
        let config = |key: AmazonS3ConfigKey| builder.get_config_value(&key).filter(|v| !v.is_empty());
        let region = config(AmazonS3ConfigKey::Region).unwrap_or_else(|| "us-east-1".into());
        let virtual_hosted = config(AmazonS3ConfigKey::VirtualHostedStyleRequest).is_some_and(|v| v == "true");
        // As object_store addresses the bucket (its `bucket_endpoint`).
        let bucket_url = match (config(AmazonS3ConfigKey::Endpoint), virtual_hosted) {
            (Some(endpoint), true) => endpoint,
            (Some(endpoint), false) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
            (None, true) => format!("https://{bucket}.s3.{region}.amazonaws.com"),
            (None, false) => format!("https://s3.{region}.amazonaws.com/{bucket}"),
        };
        let s3 = builder.build()?;
        let target = S3Target { s3: s3.clone(), bucket: bucket.clone(), bucket_url, region, prefix: prefix.clone() };
        let store: Arc<dyn ObjectStore> = Arc::new(s3);
        let describe = format!("S3 bucket {bucket}");
        Ok(match prefix {
            Some(p) => (Arc::new(PrefixStore::new(store, Path::from(p.as_str()))), format!("{describe}/{p}"), target),
            None => (store, describe, target),
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
