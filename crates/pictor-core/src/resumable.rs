//! Resumable uploads: the rules of the tus 1.0.0 protocol (core, creation,
//! termination, expiration), without HTTP.
//!
//! An upload is a database row (its length, offset, metadata, expiry) and,
//! until it is complete, one staging object per accepted chunk in the blob
//! store (`uploads/<id>/<start>-<random>`), since object stores cannot
//! append. Every process behind a load balancer sees the same state.
//!
//! - A chunk lands only at the offset it was sent for: the offset moves by a
//!   conditional update, so of two racing requests one lands and the other
//!   gets `Conflict`, its part deleted.
//! - A chunk cut short (the connection dropped, or stalled for
//!   `limits.request_timeout_secs`) keeps what arrived: the client asks for
//!   the offset and resumes from there.
//! - The chunk that completes an upload first takes the right to finish it
//!   (a lease), assembles the parts and goes through [`ingest::ingest`]; the
//!   offset reaches the length only once the image has landed, so a failure
//!   on the way leaves the upload resumable, and it lands exactly once. If
//!   ingest refuses the bytes (not an image, too many pixels), the upload
//!   and its parts are deleted: nothing is left behind.
//! - Expired uploads are deleted with their parts by [`sweep_expired`].

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use pictor_db::{ImageRecord, UploadPart, UploadRecord, now_ms};
use sha2::Digest as _;

use crate::AppState;
use crate::auth::Principal;
use crate::error::{Error, ErrorKind, Result};
use crate::ingest;

/// The upload's metadata: each key with its decoded value, if it has one.
pub type Metadata = BTreeMap<String, Option<String>>;

/// How `source` reads on images that arrived this way.
pub const SOURCE: &str = "tus";

/// How long the request finishing an upload holds the right to: longer
/// than an ingest takes; a crashed finisher's upload is resumable after it.
const FINISH_LEASE: Duration = Duration::from_secs(300);

/// The largest `Upload-Metadata`, encoded.
const MAX_METADATA_BYTES: usize = 16 * 1024;

/// Where an upload stands, as a client may be told.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub id: String,
    pub offset: u64,
    pub length: u64,
    /// Unix milliseconds.
    pub expires_at: i64,
    pub metadata: Metadata,
    /// The image it became, once complete.
    pub image_id: Option<String>,
    /// An earlier image of the same owner with the same content, if any.
    pub duplicate_of: Option<String>,
}

impl Progress {
    fn of(row: &UploadRecord) -> Self {
        Self {
            id: row.id.clone(),
            offset: row.offset as u64,
            length: row.length as u64,
            expires_at: row.expires_at,
            metadata: metadata_of(&row.metadata),
            image_id: row.image_id.clone(),
            duplicate_of: None,
        }
    }
}

/// Parses an `Upload-Metadata` value: comma-separated `key base64value`
/// pairs (the value may be absent); keys are unique, without spaces.
pub fn parse_metadata(text: &str) -> Result<Metadata> {
    if text.len() > MAX_METADATA_BYTES {
        return Err(Error::bad_request(format!("the upload metadata is over {MAX_METADATA_BYTES} bytes")));
    }
    let mut metadata = Metadata::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = match pair.split_once(' ') {
            Some((key, value)) => (key, Some(decode_value(key, value.trim())?)),
            None => (pair, None),
        };
        if metadata.insert(key.to_string(), value).is_some() {
            return Err(Error::bad_request(format!("the upload metadata has the key {key:?} twice")));
        }
    }
    Ok(metadata)
}

fn decode_value(key: &str, value: &str) -> Result<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_err(|e| Error::bad_request(format!("the upload metadata's {key:?} is not base64: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Metadata in the `Upload-Metadata` form.
pub fn format_metadata(metadata: &Metadata) -> String {
    let pairs = metadata.iter().map(|(key, value)| match value {
        Some(value) => format!("{key} {}", base64::engine::general_purpose::STANDARD.encode(value)),
        None => key.clone(),
    });
    pairs.collect::<Vec<_>>().join(",")
}

fn metadata_json(metadata: &Metadata) -> serde_json::Value {
    serde_json::to_value(metadata).unwrap_or_default()
}

fn metadata_of(json: &serde_json::Value) -> Metadata {
    serde_json::from_value(json.clone()).unwrap_or_default()
}

/// The one place where an upload's metadata becomes what ingest records
/// (`album` and `dedupe` are read by `land`).
fn to_ingest(metadata: &Metadata, owner: Option<String>, bytes: Bytes) -> ingest::Upload {
    let text = |key: &str| metadata.get(key).cloned().flatten().filter(|v| !v.trim().is_empty());
    ingest::Upload {
        bytes,
        source: SOURCE,
        owner,
        name: text("filename").or_else(|| text("name")),
        description: text("description"),
    }
}

fn expiry(state: &AppState, now: i64) -> i64 {
    now + (state.config.limits.upload_expiry_secs as i64).saturating_mul(1000)
}

/// Starts an upload of `length` bytes for `caller`.
pub async fn create(state: &AppState, caller: &Principal, length: u64, metadata: Metadata) -> Result<Progress> {
    let limit = state.config.limits.max_upload_bytes;
    if length == 0 {
        return Err(Error::bad_request("an empty file is not an image: send Upload-Length above 0"));
    }
    if length > limit {
        return Err(Error::new(
            ErrorKind::PayloadTooLarge,
            format!("the upload's length, {length} bytes, is over the {limit}-byte limit (limits.max_upload_bytes)"),
        ));
    }
    if let Some(album) = metadata.get("album").cloned().flatten() {
        crate::albums::ensure_adds(&state.db, caller, &album).await?;
    }
    let now = now_ms();
    let row = UploadRecord {
        id: hex::encode(rand::random::<[u8; 16]>()),
        owner: caller.owner.clone(),
        length: length as i64,
        offset: 0,
        metadata: metadata_json(&metadata),
        created_at: now,
        expires_at: expiry(state, now),
        finishing_until: 0,
        image_id: None,
    };
    let max_open = state.config.limits.open_uploads_per_owner;
    if !state.db.create_upload(&row, max_open.min(i64::MAX as u64) as i64).await? {
        return Err(Error::new(
            ErrorKind::RateLimited,
            format!("{max_open} unfinished uploads are open (limits.open_uploads_per_owner): finish or delete one"),
        )
        .with_retry_after(60));
    }
    Ok(Progress::of(&row))
}

/// The upload `id` as `caller` may see it: only its owner does (anyone
/// else gets `NotFound`); `Gone` once expired.
async fn visible(state: &AppState, caller: &Principal, id: &str) -> Result<UploadRecord> {
    let row = state.db.get_upload(id).await?.filter(|row| row.owner == caller.owner);
    let Some(row) = row else { return Err(Error::not_found(format_args!("upload {id}"))) };
    if row.expires_at < now_ms() {
        return Err(Error::new(ErrorKind::Gone, format!("upload {id} expired: start it again")));
    }
    Ok(row)
}

/// Where the upload stands.
pub async fn progress(state: &AppState, caller: &Principal, id: &str) -> Result<Progress> {
    let row = visible(state, caller, id).await?;
    let mut progress = Progress::of(&row);
    if let Some(image_id) = &row.image_id {
        progress.duplicate_of = duplicate_of(state, image_id).await?;
    }
    Ok(progress)
}

async fn duplicate_of(state: &AppState, image_id: &str) -> Result<Option<String>> {
    let Some(image) = state.db.get_image(image_id).await? else { return Ok(None) };
    Ok(state.db.earlier_duplicate(image.owner.as_deref(), &image.sha256, image_id).await?)
}

/// Deletes an upload and its parts (finished or not: its image, if any,
/// stays).
pub async fn terminate(state: &AppState, caller: &Principal, id: &str) -> Result<()> {
    visible(state, caller, id).await?;
    remove(state, id).await
}

async fn remove(state: &AppState, id: &str) -> Result<()> {
    state.store.delete_objects(&staging_prefix(id)).await?;
    state.db.delete_upload(id).await?;
    Ok(())
}

fn staging_prefix(id: &str) -> String {
    format!("uploads/{id}")
}

/// A chunk as the client sent it: where it starts, its body, and how
/// long the client said it is.
pub struct Chunk<S> {
    pub offset: u64,
    pub declared: Option<u64>,
    pub body: S,
}

/// Receives a chunk of the upload at its offset; finishes the upload when
/// the chunk completes it. Returns the new progress.
pub async fn append<S, E>(state: &AppState, caller: &Principal, id: &str, chunk: Chunk<S>) -> Result<Progress>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let row = visible(state, caller, id).await?;
    let at = row.offset as u64;
    if chunk.offset != at {
        return Err(Error::new(
            ErrorKind::Conflict,
            format!("the chunk starts at byte {} but the upload is at byte {at}: resume from there", chunk.offset),
        ));
    }
    if row.image_id.is_some() || chunk.declared == Some(0) {
        return progress(state, caller, id).await;
    }
    if row.finishing_until >= now_ms() {
        return Err(finishing(id));
    }
    // Held while the chunk is in memory: bounds what bodies hold.
    let _slot = state.upload_slots.clone().try_acquire_owned().map_err(|_| {
        Error::new(
            ErrorKind::Overloaded,
            "too many uploads are being received (limits.concurrent_uploads); retry shortly",
        )
        .with_retry_after(1)
    })?;
    let room = state.config.limits.upload_chunk_bytes.min(row.length as u64 - at);
    if let Some(declared) = chunk.declared.filter(|&n| n > room) {
        return Err(too_long(declared, room, state));
    }
    let idle = state.config.request_timeout();
    let bytes = receive(chunk.body, room, idle).await.map_err(|n| too_long(n, room, state))?;
    if bytes.is_empty() {
        return progress(state, caller, id).await;
    }
    if at + bytes.len() as u64 == row.length as u64 {
        finish(state, &row, bytes).await
    } else {
        store_part(state, &row, bytes).await
    }
}

fn finishing(id: &str) -> Error {
    Error::new(ErrorKind::Conflict, format!("upload {id} is being finished by another request: ask for its offset"))
        .with_retry_after(1)
}

fn too_long(sent: u64, room: u64, state: &AppState) -> Error {
    Error::new(
        ErrorKind::PayloadTooLarge,
        format!(
            "the chunk is over {room} bytes ({sent} or more sent): one request carries at most \
             limits.upload_chunk_bytes ({}) and no more than the upload has left",
            state.config.limits.upload_chunk_bytes
        ),
    )
}

/// Reads a chunk's body up to `room` bytes. A body that ends early (the
/// connection dropped) or stalls for `idle` keeps what arrived; one that
/// runs past `room` is refused with the bytes seen so far.
async fn receive<S, E>(mut body: S, room: u64, idle: Duration) -> std::result::Result<Bytes, u64>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut buffer = BytesMut::new();
    loop {
        match tokio::time::timeout(idle, body.next()).await {
            Ok(Some(Ok(data))) => {
                let seen = (buffer.len() + data.len()) as u64;
                if seen > room {
                    return Err(seen);
                }
                buffer.extend_from_slice(&data);
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                tracing::debug!(error = %e, kept = buffer.len(), "an upload chunk was cut short");
                break;
            }
            Err(_) => {
                tracing::debug!(kept = buffer.len(), "an upload chunk stalled");
                break;
            }
        }
    }
    Ok(buffer.freeze())
}

/// Stores a chunk that does not complete the upload, and moves the offset
/// past it if nobody moved it first.
async fn store_part(state: &AppState, row: &UploadRecord, bytes: Bytes) -> Result<Progress> {
    let part = UploadPart {
        start: row.offset,
        bytes: bytes.len() as i64,
        object: format!("{}/{:020}-{}", staging_prefix(&row.id), row.offset, hex::encode(rand::random::<[u8; 4]>())),
    };
    state.store.put_object(&part.object, bytes).await?;
    let now = now_ms();
    let expires_at = expiry(state, now);
    match state.db.append_upload_part(&row.id, &part, expires_at, now).await {
        Ok(true) => {
            let offset = (part.start + part.bytes) as u64;
            Ok(Progress { offset, expires_at, ..Progress::of(row) })
        }
        landed => {
            let _ = state.store.delete_object(&part.object).await;
            landed?;
            Err(Error::new(
                ErrorKind::Conflict,
                format!("another request moved upload {} on first: ask for its offset", row.id),
            ))
        }
    }
}

/// Lands the complete upload, `last` being its final chunk.
async fn finish(state: &AppState, row: &UploadRecord, last: Bytes) -> Result<Progress> {
    let now = now_ms();
    let until = now + FINISH_LEASE.as_millis() as i64;
    if !state.db.claim_upload_finish(&row.id, row.offset, until, now).await? {
        return Err(finishing(&row.id));
    }
    let landed = match assemble(state, row, last).await {
        Ok(bytes) => land(state, row, bytes).await,
        Err(e) => Err(e),
    };
    match landed {
        Ok((image, copy_of)) => record_image(state, row, until, image, copy_of).await,
        Err(e) if refused(&e) => {
            remove(state, &row.id).await?;
            Err(e)
        }
        Err(e) => {
            state.db.release_upload_finish(&row.id, until).await?;
            Err(e)
        }
    }
}

/// Ingests the whole upload; or, when the client asked not to store copies
/// (`dedupe` in its metadata) and the owner has these bytes already, takes
/// that image instead (returned as the second value, too).
async fn land(state: &AppState, row: &UploadRecord, bytes: Bytes) -> Result<(ImageRecord, Option<String>)> {
    let metadata = metadata_of(&row.metadata);
    if metadata.contains_key("dedupe") {
        let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
        if let Some(earlier) = state.db.image_with_sha256(row.owner.as_deref(), &sha256).await?
            && let Some(image) = state.db.get_image(&earlier).await?
        {
            return Ok((image, Some(earlier)));
        }
    }
    Ok((ingest::ingest(state, to_ingest(&metadata, row.owner.clone(), bytes)).await?, None))
}

/// Whether ingest refused the bytes themselves: sending them again would
/// not help.
fn refused(e: &Error) -> bool {
    matches!(
        e.kind,
        ErrorKind::UnsupportedFormat | ErrorKind::CorruptImage | ErrorKind::ImageTooLarge | ErrorKind::PayloadTooLarge
    )
}

/// The upload's bytes: its stored parts, in order, then `last`.
async fn assemble(state: &AppState, row: &UploadRecord, last: Bytes) -> Result<Bytes> {
    let mut whole = BytesMut::with_capacity(row.length as usize);
    for part in state.db.upload_parts(&row.id).await? {
        if part.start != whole.len() as i64 {
            return Err(Error::internal(format!(
                "upload {}: part at {} after {} bytes",
                row.id,
                part.start,
                whole.len()
            )));
        }
        let bytes = state.store.get_object(&part.object).await?;
        if bytes.len() as i64 != part.bytes {
            return Err(Error::internal(format!("upload {}: part {} has {} bytes", row.id, part.object, bytes.len())));
        }
        whole.extend_from_slice(&bytes);
    }
    if whole.len() as i64 != row.offset {
        return Err(Error::internal(format!("upload {}: parts hold {} of {} bytes", row.id, whole.len(), row.offset)));
    }
    whole.extend_from_slice(&last);
    Ok(whole.freeze())
}

/// Records the landed image on the upload and drops its parts; if the
/// upload was deleted meanwhile, the image goes too.
async fn record_image(
    state: &AppState,
    row: &UploadRecord,
    until: i64,
    image: ImageRecord,
    copy_of: Option<String>,
) -> Result<Progress> {
    let expires_at = expiry(state, now_ms());
    if !state.db.finish_upload(&row.id, until, &image.id, expires_at).await? {
        // A new image goes with its deleted upload; an earlier one stays.
        if copy_of.is_none() && state.db.delete_image(&image.id).await?.is_some() {
            state.forget_record(&image.id);
            ingest::release(state, &image.sha256).await;
        }
        return Err(Error::not_found(format_args!("upload {}", row.id)));
    }
    if let Err(e) = state.store.delete_objects(&staging_prefix(&row.id)).await {
        tracing::warn!(upload = row.id, error = %e, "deleting a finished upload's parts failed; expiry will");
    }
    if let Some(album) = metadata_of(&row.metadata).get("album").cloned().flatten() {
        crate::albums::add_landed(&state.db, &album, &image).await;
    }
    let duplicate_of = match copy_of {
        Some(earlier) => Some(earlier),
        None => state.db.earlier_duplicate(image.owner.as_deref(), &image.sha256, &image.id).await?,
    };
    Ok(Progress { offset: row.length as u64, expires_at, image_id: Some(image.id), duplicate_of, ..Progress::of(row) })
}

/// Deletes expired uploads and their parts (a bounded batch per call).
pub async fn sweep_expired(state: &AppState) {
    let expired = match state.db.expired_uploads(now_ms(), 100).await {
        Ok(ids) => ids,
        Err(e) => return tracing::warn!(error = %e, "listing expired uploads failed"),
    };
    for id in expired {
        if let Err(e) = remove(state, &id).await {
            tracing::warn!(upload = id, error = %e.detail, "deleting an expired upload failed; will retry");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_in_the_tus_form() {
        let parsed =
            parse_metadata("filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential, album YQ==").unwrap();
        assert_eq!(parsed["filename"].as_deref(), Some("world_domination_plan.pdf"));
        assert_eq!(parsed["is_confidential"], None);
        assert_eq!(parsed["album"].as_deref(), Some("a"));
        assert_eq!(parse_metadata(&format_metadata(&parsed)).unwrap(), parsed);
        assert_eq!(parse_metadata("").unwrap(), Metadata::new());
        assert_eq!(parse_metadata("a YQ==,a Yg==").unwrap_err().kind, ErrorKind::InvalidRequest);
        assert_eq!(parse_metadata("a !!!").unwrap_err().kind, ErrorKind::InvalidRequest);
    }

    #[test]
    fn metadata_names_the_image() {
        let metadata = parse_metadata("filename YS5qcGc=,description IA==").unwrap();
        let upload = to_ingest(&metadata, Some("alice".into()), Bytes::new());
        assert_eq!((upload.name.as_deref(), upload.description, upload.source), (Some("a.jpg"), None, "tus"));
    }

    #[tokio::test]
    async fn a_cut_or_stalled_body_keeps_what_arrived() {
        let cut = futures::stream::iter(vec![Ok(Bytes::from_static(b"abc")), Err("reset")]);
        assert_eq!(receive(cut, 10, Duration::from_secs(5)).await.unwrap(), "abc");
        let stalled =
            futures::stream::iter(vec![Ok::<_, &str>(Bytes::from_static(b"ab"))]).chain(futures::stream::pending());
        let stalled = Box::pin(stalled);
        assert_eq!(receive(stalled, 10, Duration::from_millis(50)).await.unwrap(), "ab");
        let long = futures::stream::iter(vec![Ok::<_, &str>(Bytes::from_static(b"abcdef"))]);
        assert_eq!(receive(long, 4, Duration::from_secs(5)).await.unwrap_err(), 6);
    }
}
