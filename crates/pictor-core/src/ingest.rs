//! Landing an upload, whichever form it came in.
//!
//! The path of one upload:
//! 1. decode it on a worker (shrunk on load where the codec allows): this
//!    checks the pixel limit from the header and refuses corrupt or
//!    unsupported bytes before anything is stored;
//! 2. hash it (sha256 for the address, md5 for Pinster-style clients), and
//!    summarise it as a ThumbHash placeholder from the decoded pixels;
//! 3. pin the blob row, write the object durably, insert the image row and its
//!    `image.created` event in one transaction, unpin.
//!
//! If a step after the pin fails, the blob is released again, so a failed
//! upload leaves nothing behind; a crash mid-way leaves a lapsing pin that
//! the sweeper cleans up.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use pictor_db::{ImageRecord, NewBlob, now_ms};
use pictor_store::Digests;

use crate::AppState;
use crate::error::Result;

/// How long a pin protects a blob whose upload is still landing.
const PIN_LEASE: Duration = Duration::from_secs(300);

/// An upload's bytes and what the client said about them.
pub struct Upload {
    pub bytes: Bytes,
    pub source: &'static str,
    pub owner: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
}

/// The most characters an image's name keeps.
const MAX_NAME_CHARS: usize = 255;

/// A client's file name as the image's name: its last path segment (old
/// browsers and some clients send `C:\…\IMG_1.jpg` or `../x.jpg`), without
/// control characters (no CR/LF to carry into a header or a log line),
/// trimmed and cut to [`MAX_NAME_CHARS`]; none when nothing is left.
fn file_name(given: &str) -> Option<String> {
    let last = given.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !c.is_control()).take(MAX_NAME_CHARS).collect();
    let trimmed = cleaned.trim();
    (!trimmed.is_empty() && trimmed != "." && trimmed != "..").then(|| trimmed.to_string())
}

/// What decoding learnt about the bytes.
struct Checked {
    format: &'static str,
    width: u32,
    height: u32,
    digests: Digests,
    /// The ThumbHash placeholder, base64; none if it could not be made.
    thumbhash: Option<String>,
}

/// Validates and stores an upload; returns its new record.
pub async fn ingest(state: &AppState, upload: Upload) -> Result<ImageRecord> {
    let checked = check(state, upload.bytes.clone()).await?;
    let record = ImageRecord {
        id: uuid::Uuid::new_v4().to_string(),
        owner: upload.owner,
        sha256: checked.digests.sha256.clone(),
        md5: checked.digests.md5.clone(),
        format: checked.format.to_string(),
        width: checked.width.into(),
        height: checked.height.into(),
        bytes: upload.bytes.len() as i64,
        name: upload.name.as_deref().and_then(file_name),
        description: upload.description,
        source: upload.source.to_string(),
        created_at: now_ms(),
        moderation: None,
        thumbhash: checked.thumbhash,
    };
    let blob = NewBlob { sha256: &record.sha256, md5: &record.md5, bytes: record.bytes };
    state.db.pin_blob(&blob, PIN_LEASE).await?;
    let stored = store_and_record(state, &record, upload.bytes).await;
    let unpinned = state.db.unpin_blob(&record.sha256).await;
    if let Err(e) = stored {
        release(state, &record.sha256).await;
        return Err(e);
    }
    unpinned?;
    Ok(record)
}

async fn check(state: &AppState, bytes: Bytes) -> Result<Checked> {
    let limits = state.limits();
    state
        .workers
        .run(move || {
            // Shrinking on load keeps validation cheap; it still reads every
            // byte of entropy-coded data, so truncation is caught.
            let decoded = pictor_imaging::decode::decode_with(&bytes, &limits, &|_| 8.0)?;
            let (width, height) = decoded.header.upright_size();
            let format = decoded.header.format.name();
            let thumbhash = pictor_imaging::placeholder::thumbhash(decoded.image).ok().map(|h| BASE64.encode(h));
            Ok(Checked { format, width, height, digests: Digests::of(&bytes), thumbhash })
        })
        .await?
}

async fn store_and_record(state: &AppState, record: &ImageRecord, bytes: Bytes) -> Result<()> {
    if !state.store.has_blob(&record.sha256).await? {
        state.store.put_blob(&record.sha256, bytes).await?;
    }
    state.db.insert_image(record).await?;
    Ok(())
}

/// Makes a new image over the blob of an existing one (`{"type":"uuid"}`).
pub async fn copy(state: &AppState, source: &ImageRecord, owner: Option<String>) -> Result<ImageRecord> {
    let record = ImageRecord {
        id: uuid::Uuid::new_v4().to_string(),
        owner,
        source: "uuid".into(),
        created_at: now_ms(),
        // Its own workflow moderates it again.
        moderation: None,
        ..source.clone()
    };
    let blob = NewBlob { sha256: &record.sha256, md5: &record.md5, bytes: record.bytes };
    state.db.pin_blob(&blob, PIN_LEASE).await?;
    let inserted = state.db.insert_image(&record).await;
    state.db.unpin_blob(&record.sha256).await?;
    inserted?;
    Ok(record)
}

/// Deletes a blob if no image refers to it any more. Failures are logged:
/// the sweeper retries them.
pub async fn release(state: &AppState, sha256: &str) {
    let store = state.store.clone();
    let owned = sha256.to_string();
    let released = state.db.release_blob(sha256, || async move { store.delete_blob(&owned).await }).await;
    if let Err(e) = released {
        tracing::warn!(sha256, error = %e, "releasing a blob failed; the sweeper will retry");
    }
}

/// Releases blobs whose uploads died before their image row committed.
pub async fn sweep_orphans(state: &Arc<AppState>) {
    match state.db.orphaned_blobs(100).await {
        Ok(orphans) => {
            for sha256 in orphans {
                release(state, &sha256).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "listing orphaned blobs failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(file_name("../../etc/passwd.jpg").as_deref(), Some("passwd.jpg"));
        assert_eq!(file_name("C:\\Users\\ann\\IMG 1.HEIC").as_deref(), Some("IMG 1.HEIC"));
        assert_eq!(file_name("a\r\nX-Injected: yes.jpg").as_deref(), Some("aX-Injected: yes.jpg"));
        assert_eq!(file_name(" lake.jpg ").as_deref(), Some("lake.jpg"));
        assert_eq!(file_name("photos/.."), None);
        assert_eq!(file_name("\u{7}"), None);
        assert_eq!(file_name(&"é".repeat(300)).unwrap().chars().count(), MAX_NAME_CHARS);
    }
}
