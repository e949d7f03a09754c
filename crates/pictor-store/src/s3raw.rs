//! The two S3 requests `object_store` does not make: `HeadObject` with the
//! headers it drops (`x-amz-storage-class`, `x-amz-restore`) and
//! `RestoreObject` (`POST ?restore`).
//!
//! Why raw requests: `object_store` can *set* a storage class on a put
//! (`Attribute::StorageClass`) but cannot read it back or ask for a
//! restore. Rather than a second S3 client with its own credential chain,
//! these requests are signed by `object_store`'s public SigV4 signer
//! ([`AwsAuthorizer`]) with the credentials of the store already built, and
//! sent with reqwest. Only these two requests go this way; every read and
//! write of bytes stays on `object_store`.

use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::{AmazonS3, AwsAuthorizer};
use object_store::client::HttpRequestBody;
use reqwest::Method;

use crate::StoreError;
use crate::location::S3Target;

/// What `HeadObject` says about an object's tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectTier {
    /// `x-amz-storage-class`; absent means STANDARD.
    pub storage_class: Option<String>,
    pub restore: RestoreHeader,
}

/// The `x-amz-restore` header, read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestoreHeader {
    /// No restore asked for (or the restored copy expired).
    None,
    /// `ongoing-request="true"`: the copy is being made.
    Ongoing,
    /// `ongoing-request="false"`: a restored copy is readable.
    Done,
}

impl RestoreHeader {
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            None => Self::None,
            Some(v) if v.replace(' ', "").contains("ongoing-request=\"true\"") => Self::Ongoing,
            Some(_) => Self::Done,
        }
    }
}

/// Signed raw requests to one bucket (and prefix).
pub(crate) struct RawS3 {
    http: reqwest::Client,
    s3: Arc<AmazonS3>,
    /// The bucket's URL, no trailing slash: path style
    /// (`http://host:9000/bucket`) or virtual-hosted.
    bucket_url: String,
    prefix: Option<String>,
    region: String,
}

impl std::fmt::Debug for RawS3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.bucket_url)
    }
}

impl RawS3 {
    /// The raw client for the bucket `target` names.
    pub(crate) fn new(target: &S3Target) -> Self {
        Self {
            http: reqwest::Client::new(),
            s3: Arc::new(target.s3.clone()),
            bucket_url: target.bucket_url.trim_end_matches('/').to_string(),
            prefix: target.prefix.clone(),
            region: target.region.clone(),
        }
    }

    fn url(&self, key: &str) -> String {
        match &self.prefix {
            Some(prefix) => format!("{}/{prefix}/{key}", self.bucket_url),
            None => format!("{}/{key}", self.bucket_url),
        }
    }

    /// Sends one request, signed with the store's current credentials.
    async fn send(&self, method: Method, url: String, body: Bytes) -> Result<reqwest::Response, StoreError> {
        let credential = self.s3.credentials().get_credential().await?;
        let mut request = http::Request::builder()
            .method(method.clone())
            .uri(url.as_str())
            .body(HttpRequestBody::from(body.clone()))
            .map_err(|e| raw_error("building a request", e))?;
        AwsAuthorizer::new(&credential, "s3", &self.region).authorize(&mut request, None);
        let headers = request.headers().clone();
        self.http.request(method, url).headers(headers).body(body).send().await.map_err(|e| raw_error("sending", e))
    }

    /// `HeadObject`: the object's class and restore state; `None` if missing.
    pub(crate) async fn head(&self, key: &str) -> Result<Option<ObjectTier>, StoreError> {
        let response = self.send(Method::HEAD, self.url(key), Bytes::new()).await?;
        match response.status().as_u16() {
            404 => Ok(None),
            200 => Ok(Some(ObjectTier {
                storage_class: header(&response, "x-amz-storage-class").map(str::to_string),
                restore: RestoreHeader::parse(header(&response, "x-amz-restore")),
            })),
            status => Err(StoreError::S3(format!("HeadObject {key} answered HTTP {status}"))),
        }
    }

    /// `RestoreObject` for `days` days. A restore already under way, or a
    /// copy already restored, is not an error.
    pub(crate) async fn restore(&self, key: &str, days: u32) -> Result<(), StoreError> {
        let body = format!(
            "<RestoreRequest xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Days>{days}</Days>\
             <GlacierJobParameters><Tier>Standard</Tier></GlacierJobParameters></RestoreRequest>"
        );
        let url = format!("{}?restore", self.url(key));
        let response = self.send(Method::POST, url, Bytes::from(body)).await?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        match status {
            200 | 202 => Ok(()),
            409 if text.contains("RestoreAlreadyInProgress") => Ok(()),
            _ => Err(StoreError::S3(format!("RestoreObject {key} answered HTTP {status}: {}", first_line(&text)))),
        }
    }
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

fn raw_error(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::S3(format!("{what}: {e}"))
}

fn first_line(text: &str) -> &str {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    &line[..line.len().min(300)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_header_states() {
        assert_eq!(RestoreHeader::parse(None), RestoreHeader::None);
        assert_eq!(RestoreHeader::parse(Some("ongoing-request=\"true\"")), RestoreHeader::Ongoing);
        let done = "ongoing-request=\"false\", expiry-date=\"Fri, 21 Dec 2012 00:00:00 GMT\"";
        assert_eq!(RestoreHeader::parse(Some(done)), RestoreHeader::Done);
    }

    #[test]
    fn urls_are_path_style_with_an_endpoint_and_virtual_hosted_on_aws() {
        let build = |query: &str| {
            let location =
                crate::StoreLocation::parse(&format!("s3://pics?access_key_id=a&secret_access_key=s&prefix=t1{query}"));
            RawS3::new(&location.unwrap().build_s3().unwrap().2)
        };
        let local = build("&endpoint=http://127.0.0.1:9000/&region=x");
        assert_eq!(local.url("archive/ab/abc"), "http://127.0.0.1:9000/pics/t1/archive/ab/abc");
        let aws = build("&region=eu-west-1");
        assert_eq!(aws.url("k"), "https://s3.eu-west-1.amazonaws.com/pics/t1/k");
        let hosted = build("&region=eu-west-1&virtual_hosted_style_request=true");
        assert_eq!(hosted.url("k"), "https://pics.s3.eu-west-1.amazonaws.com/t1/k");
    }
}
