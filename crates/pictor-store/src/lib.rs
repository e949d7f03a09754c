//! Blob storage for Pictor: originals and cached derivatives.
//!
//! Why a crate of its own: every other layer speaks in terms of *what* is
//! stored (a blob with this sha256, a derivative with this key), never *where*.
//! The same code runs over a local folder (the single-binary default) and any
//! S3-compatible store (scale-out), through `object_store`.
//!
//! Layout inside the store:
//! - `blobs/ab/abcdef…` — an original, keyed by the sha256 of its bytes, so
//!   identical uploads are stored once.
//! - `derived/ab/abcdef…/<name>` — a computed derivative of that blob; see
//!   [`derivative_name`].
//! - anything else — staging objects named by their callers through the
//!   generic `*_object` helpers, e.g. `uploads/<id>/<offset>-<n>`: the parts
//!   of a resumable upload, one per accepted chunk (object stores cannot
//!   append), and `direct/<id>/<name>`: a presigned direct upload, sent
//!   by the client straight to the store ([`BlobStore::presign_put`],
//!   [`BlobStore::presign_post`]; see [`presign`]).
//! - the archive tier (`archive.rs`): originals moved to a second folder or
//!   a cold S3 storage class, and their restores.
//!
//! Durability: on the local backend a put is fsynced (file and folder) before
//! it returns, so a blob is on disk before its database row commits. S3
//! stores acknowledge a PUT only once it is durable.

mod archive;
mod failure;
mod location;
pub mod presign;
mod s3raw;
mod source;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::signer::Signer as _;
use object_store::{Attribute, ObjectStore, PutPayload};
use sha2::Digest as _;

pub use archive::{ArchiveSettings, RestoreStatus};
pub use location::StoreLocation;
pub use s3raw::RestoreHeader;
pub use source::{BucketSource, SOURCE_OPTIONS, SourceObject};

use archive::Archive;

/// Errors from the store. `NotFound` is split out because callers treat a
/// missing object as a normal outcome (a cache miss, a deleted image).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("object not found: {0}")]
    NotFound(String),
    #[error("invalid store location {location:?}: {why}")]
    InvalidLocation { location: String, why: String },
    #[error("object store: {0}")]
    Backend(#[from] object_store::Error),
    #[error("local store I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The original is in the archive tier and has no hot copy: it must be
    /// restored before it can be read.
    #[error("blob {0} is archived; restore it to read it")]
    Archived(String),
    /// A raw S3 request (storage class, restore) failed.
    #[error("S3: {0}")]
    S3(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The content digests Pictor records for every blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digests {
    /// Lower-case hex sha256: the blob's address.
    pub sha256: String,
    /// Lower-case hex md5: recorded because Pinster-style clients key by it.
    pub md5: String,
}

impl Digests {
    pub fn of(bytes: &[u8]) -> Self {
        Self { sha256: hex::encode(sha2::Sha256::digest(bytes)), md5: hex::encode(md5::Md5::digest(bytes)) }
    }
}

/// The name of a derivative under its blob: a hash of the canonical
/// operation string, so any operation string makes a safe, bounded key.
pub fn derivative_name(canonical_ops: &str, extension: &str) -> String {
    let ops = hex::encode(&sha2::Sha256::digest(canonical_ops.as_bytes())[..16]);
    format!("{ops}.{extension}")
}

/// Originals and derivatives over one object store.
#[derive(Clone)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
    /// Set for the local backend, whose writes we fsync ourselves.
    local: Option<Arc<LocalFileSystem>>,
    /// Where archived originals go.
    archive: Archive,
    /// Set for S3: what presigning needs.
    s3: Option<Arc<location::S3Target>>,
    describe: String,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe)
    }
}

impl BlobStore {
    /// Opens (and for a local folder, creates) the store at `location`,
    /// with its archive tier as `archive` says.
    pub fn open(location: &StoreLocation, archive: &ArchiveSettings) -> Result<Self> {
        match location {
            StoreLocation::Local(dir) => Self::open_local(dir.clone(), archive),
            StoreLocation::S3 { .. } => {
                let (store, describe, target) = location.build_s3()?;
                let raw = Arc::new(s3raw::RawS3::new(&target));
                let archive = Archive::S3 { raw, storage_class: archive.storage_class.clone() };
                Ok(Self { inner: store, local: None, archive, s3: Some(Arc::new(target)), describe })
            }
        }
    }

    fn open_local(dir: PathBuf, archive: &ArchiveSettings) -> Result<Self> {
        std::fs::create_dir_all(&dir)?;
        let fs = Arc::new(LocalFileSystem::new_with_prefix(&dir)?.with_automatic_cleanup(true));
        let archive = Archive::local(&archive.local_dir)?;
        let describe = format!("local folder {}", dir.display());
        Ok(Self { inner: fs.clone(), local: Some(fs), archive, s3: None, describe })
    }

    /// Whether this is a local folder (whose archive is another folder).
    pub fn is_local(&self) -> bool {
        self.local.is_some()
    }

    fn blob_path(sha256: &str) -> Path {
        Path::from(format!("blobs/{}/{sha256}", &sha256[..2]))
    }

    fn derived_prefix(sha256: &str) -> Path {
        Path::from(format!("derived/{}/{sha256}", &sha256[..2]))
    }

    fn derived_path(sha256: &str, name: &str) -> Path {
        Self::derived_prefix(sha256).child(name)
    }

    /// Stores `bytes` as the blob `sha256`; durable when this returns.
    pub async fn put_blob(&self, sha256: &str, bytes: Bytes) -> Result<()> {
        self.put_durable(&Self::blob_path(sha256), bytes).await
    }

    /// Whether the blob's object exists.
    pub async fn has_blob(&self, sha256: &str) -> Result<bool> {
        match self.inner.head(&Self::blob_path(sha256)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The blob's bytes; [`StoreError::Archived`] when only the archive
    /// tier holds it.
    pub async fn get_blob(&self, sha256: &str) -> Result<Bytes> {
        match self.get(&Self::blob_path(sha256)).await {
            Err(missing @ StoreError::NotFound(_)) => Err(self.missing_or_archived(sha256, missing).await),
            other => other,
        }
    }

    /// Reads `range` of a blob (for HTTP `Range` requests).
    pub async fn get_blob_range(&self, sha256: &str, range: Range<u64>) -> Result<Bytes> {
        let path = Self::blob_path(sha256);
        match self.inner.get_range(&path, range).await.map_err(|e| not_found_or(e, &path)) {
            Err(missing @ StoreError::NotFound(_)) => Err(self.missing_or_archived(sha256, missing).await),
            other => other,
        }
    }

    /// Deletes a blob (both tiers) and every derivative made from it.
    /// Missing objects are not an error: deletion is idempotent so it can
    /// be retried after a crash.
    pub async fn delete_blob(&self, sha256: &str) -> Result<()> {
        ignore_missing(self.inner.delete(&Self::blob_path(sha256)).await)?;
        self.delete_archived_blob(sha256).await?;
        self.delete_derivatives(sha256).await
    }

    async fn delete_derivatives(&self, sha256: &str) -> Result<()> {
        let prefix = Self::derived_prefix(sha256);
        let paths: Vec<Path> = self.inner.list(Some(&prefix)).map_ok(|meta| meta.location).try_collect().await?;
        for path in paths {
            ignore_missing(self.inner.delete(&path).await)?;
        }
        Ok(())
    }

    /// The address of every blob in the hot tier (for consistency checks:
    /// each should be named by a blob row).
    pub async fn blob_hashes(&self) -> Result<Vec<String>> {
        let prefix = Path::from("blobs");
        let paths: Vec<Path> = self.inner.list(Some(&prefix)).map_ok(|meta| meta.location).try_collect().await?;
        Ok(paths.iter().filter_map(|path| path.filename().map(str::to_string)).collect())
    }

    /// Stores a derivative. Derivatives are a cache, so no fsync: a lost one
    /// is recomputed.
    pub async fn put_derivative(&self, sha256: &str, name: &str, bytes: Bytes) -> Result<()> {
        self.inner.put(&Self::derived_path(sha256, name), PutPayload::from_bytes(bytes)).await?;
        Ok(())
    }

    /// A derivative, or `None` if it is not cached.
    pub async fn get_derivative(&self, sha256: &str, name: &str) -> Result<Option<Bytes>> {
        match self.get(&Self::derived_path(sha256, name)).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn delete_derivative(&self, sha256: &str, name: &str) -> Result<()> {
        ignore_missing(self.inner.delete(&Self::derived_path(sha256, name)).await)
    }

    /// Stores `bytes` under `key` (a staging object, outside `blobs/` and
    /// `derived/`); durable when this returns.
    pub async fn put_object(&self, key: &str, bytes: Bytes) -> Result<()> {
        self.put_durable(&staging_path(key)?, bytes).await
    }

    pub async fn get_object(&self, key: &str) -> Result<Bytes> {
        self.get(&staging_path(key)?).await
    }

    /// Deletes the object `key`; a missing one is not an error.
    pub async fn delete_object(&self, key: &str) -> Result<()> {
        ignore_missing(self.inner.delete(&staging_path(key)?).await)
    }

    /// The keys of every object under `prefix` (a folder: `uploads/<id>`).
    pub async fn list_objects(&self, prefix: &str) -> Result<Vec<String>> {
        let prefix = staging_path(prefix)?;
        Ok(self.inner.list(Some(&prefix)).map_ok(|meta| meta.location.to_string()).try_collect().await?)
    }

    /// Deletes every object under `prefix`; returns how many there were.
    pub async fn delete_objects(&self, prefix: &str) -> Result<usize> {
        let keys = self.list_objects(prefix).await?;
        for key in &keys {
            self.delete_object(key).await?;
        }
        Ok(keys.len())
    }

    /// A writer for the object `key` that sends it to the store in parts
    /// of `part_bytes` (a multipart upload on S3), never holding more than
    /// a few parts in memory. Call [`ObjectWriter::finish`] to commit it.
    pub fn object_writer(&self, key: &str, part_bytes: usize) -> Result<ObjectWriter> {
        let path = staging_path(key)?;
        let inner = object_store::buffered::BufWriter::with_capacity(self.inner.clone(), path.clone(), part_bytes)
            .with_max_concurrency(2);
        Ok(ObjectWriter { inner, path, local: self.local.clone() })
    }

    /// The object `key`'s size in bytes.
    pub async fn object_size(&self, key: &str) -> Result<u64> {
        let path = staging_path(key)?;
        Ok(self.inner.head(&path).await.map_err(|e| not_found_or(e, &path))?.size)
    }

    /// The object `key`'s size and its bytes as a stream (of `range`, when
    /// given), for serving large objects without reading them whole.
    pub async fn object_stream(&self, key: &str, range: Option<Range<u64>>) -> Result<(u64, ByteStream)> {
        let path = staging_path(key)?;
        self.stream(&path, range).await
    }

    /// A blob's size and its bytes as a stream; [`StoreError::Archived`]
    /// when only the archive tier holds it.
    pub async fn blob_stream(&self, sha256: &str) -> Result<(u64, ByteStream)> {
        match self.stream(&Self::blob_path(sha256), None).await {
            Err(missing @ StoreError::NotFound(_)) => Err(self.missing_or_archived(sha256, missing).await),
            other => other,
        }
    }

    async fn stream(&self, path: &Path, range: Option<Range<u64>>) -> Result<(u64, ByteStream)> {
        let options = object_store::GetOptions { range: range.map(Into::into), ..Default::default() };
        let result = self.inner.get_opts(path, options).await.map_err(|e| not_found_or(e, path))?;
        let size = result.meta.size;
        Ok((size, result.into_stream().map_err(StoreError::from).boxed()))
    }

    /// The size of every object under `prefix`, by key.
    pub async fn object_sizes(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        let prefix = staging_path(prefix)?;
        let listing = self.inner.list(Some(&prefix)).map_ok(|meta| (meta.location.to_string(), meta.size));
        Ok(listing.try_collect().await?)
    }

    /// When each object under `prefix` was last written (Unix ms), by key.
    pub async fn object_times(&self, prefix: &str) -> Result<Vec<(String, i64)>> {
        let prefix = staging_path(prefix)?;
        let listing = self
            .inner
            .list(Some(&prefix))
            .map_ok(|meta| (meta.location.to_string(), meta.last_modified.timestamp_millis()));
        Ok(listing.try_collect().await?)
    }

    /// A staging object and the `Content-Type` it was stored with, if the
    /// store keeps one (S3 does; a local folder does not).
    pub async fn get_object_typed(&self, key: &str) -> Result<(Bytes, Option<String>)> {
        let path = staging_path(key)?;
        let result = self.inner.get(&path).await.map_err(|e| not_found_or(e, &path))?;
        let content_type = result.attributes.get(&Attribute::ContentType).map(|v| v.as_ref().to_string());
        Ok((result.bytes().await?, content_type))
    }

    /// A staging object's user metadata (`x-amz-meta-*` on S3, by name
    /// without the prefix); empty on a local folder, which keeps none.
    pub async fn object_metadata(&self, key: &str) -> Result<BTreeMap<String, String>> {
        let path = staging_path(key)?;
        let options = object_store::GetOptions { head: true, ..Default::default() };
        let result = self.inner.get_opts(&path, options).await.map_err(|e| not_found_or(e, &path))?;
        Ok(result
            .attributes
            .iter()
            .filter_map(|(k, v)| match k {
                Attribute::Metadata(name) => Some((name.to_string(), v.as_ref().to_string())),
                _ => None,
            })
            .collect())
    }

    /// Whether clients send bytes to the store itself (S3) rather than to
    /// the server (a local folder, which the server serves).
    pub fn is_remote(&self) -> bool {
        self.s3.is_some()
    }

    /// On S3, a URL that lets its holder `PUT` the staging object `key`
    /// for `expires_in` (object_store's SigV4 query signer); `None` on a
    /// local folder.
    pub async fn presign_put(&self, key: &str, expires_in: Duration) -> Result<Option<String>> {
        let Some(s3) = &self.s3 else { return Ok(None) };
        let path = Path::from(s3_key(s3, staging_path(key)?.as_ref()));
        let url = s3.s3.signed_url(reqwest::Method::PUT, &path, expires_in).await?;
        Ok(Some(url.to_string()))
    }

    /// On S3, a browser-upload form for keys under the staging prefix
    /// `rules.key_prefix` (the keys in `rules` are the store's, and get
    /// the bucket's prefix here); `None` on a local folder.
    pub async fn presign_post(&self, rules: &presign::PostRules<'_>) -> Result<Option<presign::PostForm>> {
        let Some(s3) = &self.s3 else { return Ok(None) };
        let credential = s3.s3.credentials().get_credential().await?;
        let credentials = presign::Credentials {
            key_id: &credential.key_id,
            secret: &credential.secret_key,
            token: credential.token.as_deref(),
            region: &s3.region,
        };
        let (key, key_prefix) = (s3_key(s3, rules.key), s3_key(s3, rules.key_prefix));
        let rules =
            presign::PostRules { bucket: Some(&s3.bucket), key: &key, key_prefix: &key_prefix, ..rules.clone() };
        Ok(Some(presign::post_form(&s3.bucket_url, &credentials, &rules)))
    }

    /// Checks the store answers (for `/readyz`): a listing of one page.
    pub async fn ping(&self) -> Result<()> {
        let mut listing = self.inner.list(Some(&Path::from("blobs")));
        listing.try_next().await?;
        Ok(())
    }

    async fn get(&self, path: &Path) -> Result<Bytes> {
        let result = self.inner.get(path).await.map_err(|e| not_found_or(e, path))?;
        Ok(result.bytes().await?)
    }

    async fn put_durable(&self, path: &Path, bytes: Bytes) -> Result<()> {
        match &self.local {
            Some(local) => put_fsynced(local, path, bytes).await,
            None => {
                self.inner.put(path, PutPayload::from_bytes(bytes)).await?;
                Ok(())
            }
        }
    }
}

/// A stream of an object's bytes.
pub type ByteStream = futures::stream::BoxStream<'static, Result<Bytes>>;

/// An object being written in parts ([`BlobStore::object_writer`]): a
/// `tokio::io::AsyncWrite`. Nothing is visible under its key until
/// [`finish`](Self::finish); dropping it unfinished leaves nothing behind
/// on a local folder (S3 expires abandoned multipart uploads by its own
/// lifecycle rules; [`abort`](Self::abort) cleans up at once).
pub struct ObjectWriter {
    inner: object_store::buffered::BufWriter,
    path: Path,
    local: Option<Arc<LocalFileSystem>>,
}

impl ObjectWriter {
    /// Commits the object; durable when this returns.
    pub async fn finish(mut self) -> Result<()> {
        use tokio::io::AsyncWriteExt as _;
        self.inner.shutdown().await?;
        if let Some(local) = &self.local {
            let file = local.path_to_filesystem(&self.path)?;
            tokio::task::spawn_blocking(move || fsync_file_and_dir(&file)).await.map_err(std::io::Error::other)??;
        }
        Ok(())
    }

    /// Gives the object up: the parts written so far are discarded.
    pub async fn abort(&mut self) -> Result<()> {
        Ok(self.inner.abort().await?)
    }
}

impl tokio::io::AsyncWrite for ObjectWriter {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Writes `bytes` at `path` in a local folder and fsyncs file and folder.
pub(crate) async fn put_fsynced(fs: &LocalFileSystem, path: &Path, bytes: Bytes) -> Result<()> {
    fs.put(path, PutPayload::from_bytes(bytes)).await?;
    let file = fs.path_to_filesystem(path)?;
    tokio::task::spawn_blocking(move || fsync_file_and_dir(&file)).await.map_err(std::io::Error::other)??;
    Ok(())
}

/// A store key as the bucket names it: under the configured prefix.
fn s3_key(s3: &location::S3Target, key: &str) -> String {
    match &s3.prefix {
        Some(prefix) => format!("{prefix}/{key}"),
        None => key.to_string(),
    }
}

/// The path of a staging object: never inside the originals or the
/// derivatives, whose rows the database keeps in step.
fn staging_path(key: &str) -> Result<Path> {
    let path =
        Path::parse(key).map_err(|e| StoreError::InvalidLocation { location: key.into(), why: e.to_string() })?;
    let first = path.parts().next().map(|part| part.as_ref().to_string());
    match first.as_deref() {
        Some("blobs" | "derived") | None => {
            Err(StoreError::InvalidLocation { location: key.into(), why: "not a staging key".into() })
        }
        Some(_) => Ok(path),
    }
}

fn fsync_file_and_dir(file: &std::path::Path) -> std::io::Result<()> {
    std::fs::File::open(file)?.sync_all()?;
    if let Some(dir) = file.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

pub(crate) fn not_found_or(e: object_store::Error, path: &Path) -> StoreError {
    match e {
        object_store::Error::NotFound { .. } => StoreError::NotFound(path.to_string()),
        other => StoreError::Backend(other),
    }
}

pub(crate) fn ignore_missing(result: object_store::Result<()>) -> Result<()> {
    match result {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> (tempfile::TempDir, BlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let archive = ArchiveSettings { local_dir: dir.path().join("archive"), storage_class: "GLACIER".into() };
        let store = BlobStore::open(&StoreLocation::Local(dir.path().join("store")), &archive).unwrap();
        (dir, store)
    }

    #[test]
    fn digests_match_known_values() {
        let d = Digests::of(b"abc");
        assert_eq!(d.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(d.md5, "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn derivative_name_is_bounded_and_depends_on_ops() {
        let a = derivative_name("thumbnail=200", "webp");
        let b = derivative_name("thumbnail=201", "webp");
        assert_ne!(a, b);
        assert!(a.ends_with(".webp") && a.len() == 32 + 5);
    }

    #[tokio::test]
    async fn blob_round_trip_range_and_delete_with_derivatives() {
        let (dir, store) = local();
        let d = Digests::of(b"hello world");
        store.put_blob(&d.sha256, Bytes::from_static(b"hello world")).await.unwrap();
        assert!(store.has_blob(&d.sha256).await.unwrap());
        assert_eq!(store.get_blob(&d.sha256).await.unwrap(), "hello world");
        assert_eq!(store.get_blob_range(&d.sha256, 6..11).await.unwrap(), "world");
        let on_disk = dir.path().join("store").join("blobs").join(&d.sha256[..2]).join(&d.sha256);
        assert_eq!(std::fs::read(on_disk).unwrap(), b"hello world");

        store.put_derivative(&d.sha256, "x.webp", Bytes::from_static(b"d")).await.unwrap();
        assert_eq!(store.blob_hashes().await.unwrap(), vec![d.sha256.clone()], "blobs only, not derivatives");
        assert_eq!(store.get_derivative(&d.sha256, "x.webp").await.unwrap().unwrap(), "d");
        store.delete_blob(&d.sha256).await.unwrap();
        assert!(!store.has_blob(&d.sha256).await.unwrap());
        assert!(store.get_derivative(&d.sha256, "x.webp").await.unwrap().is_none());
        assert!(store.blob_hashes().await.unwrap().is_empty());
        assert!(matches!(store.get_blob(&d.sha256).await, Err(StoreError::NotFound(_))));
        // Idempotent.
        store.delete_blob(&d.sha256).await.unwrap();
        store.ping().await.unwrap();
    }

    #[tokio::test]
    async fn staging_objects_round_trip_list_and_delete() {
        let (_dir, store) = local();
        store.put_object("uploads/u1/00-a", Bytes::from_static(b"ab")).await.unwrap();
        store.put_object("uploads/u1/02-b", Bytes::from_static(b"cd")).await.unwrap();
        store.put_object("uploads/u2/00-c", Bytes::from_static(b"x")).await.unwrap();
        assert_eq!(store.get_object("uploads/u1/02-b").await.unwrap(), "cd");
        let mut keys = store.list_objects("uploads/u1").await.unwrap();
        keys.sort();
        assert_eq!(keys, ["uploads/u1/00-a", "uploads/u1/02-b"]);
        assert_eq!(store.delete_objects("uploads/u1").await.unwrap(), 2);
        assert!(store.list_objects("uploads/u1").await.unwrap().is_empty());
        assert_eq!(store.list_objects("uploads/u2").await.unwrap().len(), 1);
        store.delete_object("uploads/u1/00-a").await.unwrap();
        assert!(matches!(store.get_object("uploads/u1/00-a").await, Err(StoreError::NotFound(_))));
        assert!(store.put_object("blobs/ab/x", Bytes::new()).await.is_err());
    }

    #[tokio::test]
    async fn archived_blob_reads_as_archived_until_copied_back() {
        let (dir, store) = local();
        let d = Digests::of(b"cold bytes");
        store.put_blob(&d.sha256, Bytes::from_static(b"cold bytes")).await.unwrap();
        store.put_derivative(&d.sha256, "t.webp", Bytes::from_static(b"thumb")).await.unwrap();
        store.archive_blob(&d.sha256).await.unwrap();
        let archived = dir.path().join("archive/blobs").join(&d.sha256[..2]).join(&d.sha256);
        assert_eq!(std::fs::read(&archived).unwrap(), b"cold bytes");
        store.delete_hot_blob(&d.sha256).await.unwrap();
        // Idempotent after the hot copy is gone (a crash between the steps).
        store.archive_blob(&d.sha256).await.unwrap();
        assert!(matches!(store.get_blob(&d.sha256).await, Err(StoreError::Archived(_))));
        assert!(matches!(store.get_blob_range(&d.sha256, 0..4).await, Err(StoreError::Archived(_))));
        assert_eq!(store.get_derivative(&d.sha256, "t.webp").await.unwrap().unwrap(), "thumb");
        assert_eq!(store.restore_status(&d.sha256).await.unwrap(), RestoreStatus::Readable);
        store.copy_archived_to_hot(&d.sha256).await.unwrap();
        assert_eq!(store.get_blob(&d.sha256).await.unwrap(), "cold bytes");
        store.delete_blob(&d.sha256).await.unwrap();
        assert!(!archived.exists());
        assert!(matches!(store.get_blob(&d.sha256).await, Err(StoreError::NotFound(_))));
    }
}
