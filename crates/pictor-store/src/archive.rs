//! The archive tier: where originals go when a lifecycle rule says so.
//!
//! Why two tiers: originals are big and rarely read once their thumbnails
//! and labels exist, and cold storage costs a fraction of hot. Derivatives
//! stay hot (they are what pages show); only originals (`blobs/…`) move.
//!
//! - Local store: the archive is a second folder (another disk), laid out
//!   like the hot one. A restore copies the file back; the delay a real
//!   archive has is the caller's to apply (a configured wait before the
//!   first poll), so the asynchronous path runs on every backend.
//! - S3: the archive is `archive/ab/<sha256>` in the same bucket, written
//!   with a cold storage class (`x-amz-storage-class`: GLACIER,
//!   DEEP_ARCHIVE…). A restore is `RestoreObject`, then `HeadObject` polls
//!   until `x-amz-restore` says `ongoing-request="false"`; the restored
//!   copy is then read and written back as a hot blob.
//!
//! Either way a restore ends with a *temporary hot copy* at the blob's usual
//! place, which every reader uses unchanged; the layer above records how
//! long it may stay and removes it ([`BlobStore::delete_hot_blob`]).
//!
//! Crash safety is the caller's order: [`BlobStore::archive_blob`] (durable
//! copy) → record the tier → [`BlobStore::delete_hot_blob`]. Each step is
//! idempotent, and a blob whose hot copy is gone while its archived copy is
//! there reads as [`StoreError::Archived`], never as missing.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{Attribute, Attributes, ObjectStore, PutOptions, PutPayload};

use crate::s3raw::{RawS3, RestoreHeader};
use crate::{BlobStore, Result, StoreError, ignore_missing, not_found_or, put_fsynced};

/// Where the archive tier is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveSettings {
    /// The archive folder, for a local store.
    pub local_dir: PathBuf,
    /// The storage class of archived objects, for an S3 store.
    pub storage_class: String,
}

/// The archive tier of one store.
#[derive(Clone)]
pub(crate) enum Archive {
    /// A second folder; `blobs/ab/<sha256>` inside it.
    Local(Arc<LocalArchive>),
    /// `archive/ab/<sha256>` in the same bucket, in a cold class.
    S3 { raw: Arc<RawS3>, storage_class: String },
}

impl Archive {
    pub(crate) fn local(dir: &std::path::Path) -> Result<Self> {
        Ok(Self::Local(Arc::new(LocalArchive { dir: dir.to_path_buf(), fs: std::sync::OnceLock::new() })))
    }
}

/// The archive folder of a local store, made on first use: a process that
/// never archives (`pictor workflow run`, say) leaves no folder behind.
pub(crate) struct LocalArchive {
    dir: std::path::PathBuf,
    fs: std::sync::OnceLock<LocalFileSystem>,
}

impl LocalArchive {
    fn store(&self) -> Result<&LocalFileSystem> {
        if let Some(fs) = self.fs.get() {
            return Ok(fs);
        }
        std::fs::create_dir_all(&self.dir)?;
        let fs = LocalFileSystem::new_with_prefix(&self.dir)?.with_automatic_cleanup(true);
        Ok(self.fs.get_or_init(|| fs))
    }
}

/// Whether an archived original can be read now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestoreStatus {
    /// No restore asked for yet (S3).
    NotStarted,
    /// The archive is making a readable copy (S3).
    InProgress,
    /// It can be copied back to the hot tier.
    Readable,
}

/// Classes whose objects must be restored before they can be read.
const NEEDS_RESTORE: &[&str] = &["GLACIER", "DEEP_ARCHIVE"];

impl BlobStore {
    fn archive_path(&self, sha256: &str) -> Path {
        match &self.archive {
            Archive::Local(_) => Self::blob_path(sha256),
            Archive::S3 { .. } => Path::from(format!("archive/{}/{sha256}", &sha256[..2])),
        }
    }

    /// Copies the blob's hot original into the archive tier; durable when
    /// this returns. Idempotent: an original already archived (its hot copy
    /// possibly gone after a crash) is left as it is.
    pub async fn archive_blob(&self, sha256: &str) -> Result<()> {
        if self.has_archived_blob(sha256).await? {
            return Ok(());
        }
        let bytes = self.get(&Self::blob_path(sha256)).await?;
        let path = self.archive_path(sha256);
        match &self.archive {
            Archive::Local(local) => put_fsynced(local.store()?, &path, bytes).await,
            Archive::S3 { storage_class, .. } => {
                let attributes = Attributes::from_iter([(Attribute::StorageClass, storage_class.clone())]);
                let options = PutOptions { attributes, ..Default::default() };
                self.inner.put_opts(&path, PutPayload::from_bytes(bytes), options).await?;
                Ok(())
            }
        }
    }

    /// Whether the archive tier holds the blob.
    pub async fn has_archived_blob(&self, sha256: &str) -> Result<bool> {
        let path = self.archive_path(sha256);
        let found = match &self.archive {
            Archive::Local(local) => local.store()?.head(&path).await,
            // A HEAD works on archived objects, whatever their class.
            Archive::S3 { .. } => self.inner.head(&path).await,
        };
        match found {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes only the hot original (not its derivatives, which stay hot):
    /// after archiving, or when a restored copy expires.
    pub async fn delete_hot_blob(&self, sha256: &str) -> Result<()> {
        ignore_missing(self.inner.delete(&Self::blob_path(sha256)).await)
    }

    /// Deletes the archived copy; a missing one is not an error.
    pub(crate) async fn delete_archived_blob(&self, sha256: &str) -> Result<()> {
        let path = self.archive_path(sha256);
        match &self.archive {
            Archive::Local(local) => ignore_missing(local.store()?.delete(&path).await),
            Archive::S3 { .. } => ignore_missing(self.inner.delete(&path).await),
        }
    }

    /// Whether the archived original can be read now.
    pub async fn restore_status(&self, sha256: &str) -> Result<RestoreStatus> {
        match &self.archive {
            Archive::Local(_) => Ok(RestoreStatus::Readable),
            Archive::S3 { raw, .. } => {
                let key = self.archive_path(sha256);
                let tier = raw.head(key.as_ref()).await?.ok_or_else(|| StoreError::NotFound(key.to_string()))?;
                let cold = tier.storage_class.as_deref().is_some_and(|class| NEEDS_RESTORE.contains(&class));
                Ok(match tier.restore {
                    _ if !cold => RestoreStatus::Readable,
                    RestoreHeader::Done => RestoreStatus::Readable,
                    RestoreHeader::Ongoing => RestoreStatus::InProgress,
                    RestoreHeader::None => RestoreStatus::NotStarted,
                })
            }
        }
    }

    /// Asks the archive for a readable copy kept `days` days (S3's
    /// `RestoreObject`; nothing to ask on a local store).
    pub async fn start_restore(&self, sha256: &str, days: u32) -> Result<()> {
        match &self.archive {
            Archive::Local(_) => Ok(()),
            Archive::S3 { raw, .. } => raw.restore(self.archive_path(sha256).as_ref(), days.max(1)).await,
        }
    }

    /// Copies a readable archived original back to the hot tier (the
    /// temporary hot copy); durable when this returns.
    pub async fn copy_archived_to_hot(&self, sha256: &str) -> Result<()> {
        let path = self.archive_path(sha256);
        let bytes: Bytes = match &self.archive {
            Archive::Local(local) => {
                local.store()?.get(&path).await.map_err(|e| not_found_or(e, &path))?.bytes().await?
            }
            Archive::S3 { .. } => self.get(&path).await?,
        };
        self.put_blob(sha256, bytes).await
    }

    /// Whether the blob is archived with no hot copy: what a read of a
    /// missing hot original reports.
    pub(crate) async fn missing_or_archived(&self, sha256: &str, missing: StoreError) -> StoreError {
        match self.has_archived_blob(sha256).await {
            Ok(true) => StoreError::Archived(sha256.to_string()),
            Ok(false) => missing,
            Err(e) => e,
        }
    }
}
