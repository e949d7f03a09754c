//! Direct uploads: the client asks for presigned URLs (or S3 POST forms),
//! sends each file straight to the store, then completes the upload, which
//! goes through [`ingest::ingest`] like any other: type check, content hash,
//! record, `image.created`. Without HTTP.
//!
//! - [`create`] checks each file (name, size within `limits.max_upload_bytes`,
//!   an image media type), answers a file whose content the caller already
//!   has (a `sha256` given) with that image instead, records the rest
//!   (capped by `limits.open_uploads_per_owner`), and signs a target for
//!   each: a `PUT` URL or a POST form, for the staging key
//!   `direct/<id>/<name>`.
//! - On S3 the URLs are the bucket's (object_store's SigV4 signer; the POST
//!   policy by [`pictor_store::presign`]). On a local store the server
//!   serves the same flow itself: [`accept_put`] checks a URL signed here
//!   with the server's key (HMAC-SHA256 over method, key, date, expiry,
//!   content type and size), [`accept_post`] a SigV4 POST policy signed
//!   with it, before any byte of the body is read.
//! - [`complete`] takes a lease on the row, finds the object, refuses one
//!   over the declared size or of another content type (declared, stored,
//!   or sniffed from the bytes), and ingests it; a refused upload is deleted
//!   with its staging objects: nothing is left behind. It lands once; a
//!   repeated call answers the same image.
//! - [`sweep_expired`] (housekeeping) deletes rows past their expiry with
//!   their staging objects: abandoned uploads go.
//! - Uploads made by [`create_on_arrival`] (the asset manager's
//!   `PUT /pam/upload`, whose client never calls `complete`) land when their
//!   object arrives: on a local store right after [`store`] keeps it (the
//!   PUT's answer is the landing's), on S3, which tells nobody, when
//!   [`land_arrivals`] (housekeeping, every tick: within about 5 s) finds
//!   the object under `direct/<id>/`. Their client is told no size or type:
//!   the size may be up to `limits.max_upload_bytes`, the type is any image
//!   ingest reads (the name's extension only has to be an image's).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use pictor_db::{DirectUploadRecord, ImageRecord, now_ms};
use pictor_imaging::ImageFormat;
use pictor_store::presign::{self, PostError};
use sha2::Sha256;

use crate::AppState;
use crate::auth::Principal;
use crate::error::{Error, ErrorKind, Result};
use crate::ingest;
use crate::server_key::ServerKey;

/// How `source` reads on images that arrived this way.
pub const SOURCE: &str = "direct";

/// The access key the local store's POST forms name.
pub const LOCAL_KEY_ID: &str = "pictor";
/// The region the local store's POST forms name.
pub const LOCAL_REGION: &str = "local";
/// The algorithm a local PUT URL names.
pub const LOCAL_ALGORITHM: &str = "PICTOR-HMAC-SHA256";

/// How long after its URL expires an upload may still be completed (the
/// last bytes may arrive just before), and is then swept.
const COMPLETE_GRACE_MS: i64 = 3600 * 1000;
/// How long the request completing an upload holds the right to.
const FINISH_LEASE: Duration = Duration::from_secs(300);
/// The longest file name kept.
const MAX_NAME_CHARS: usize = 255;

/// The key of the URLs and forms the server serves itself: the server's
/// key ([`ServerKey`]) on a local store or when `direct.secret` is set;
/// else (a server on S3, where the bucket signs) a key for this process.
pub type DirectKey = ServerKey;

/// The direct-upload key for a server whose own key is `server`.
pub fn direct_key(server: &ServerKey, secret_set: bool, local_store: bool) -> DirectKey {
    if secret_set || local_store { server.clone() } else { ServerKey::ephemeral() }
}

/// One file the client means to send.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct FileRequest {
    pub name: String,
    /// Its size in bytes: the most the object may hold.
    pub size: u64,
    /// Its media type (`image/jpeg`…): the object must have this one.
    pub content_type: String,
    /// Lower-case hex sha256 of its bytes: if the caller already has an
    /// image with this content, no upload is made and the answer names it.
    #[serde(default)]
    pub sha256: Option<String>,
}

/// How the client will send the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// One `PUT` to a presigned URL, with the `Content-Type` given.
    Put,
    /// An S3-style browser upload: `POST` multipart/form-data, the fields
    /// given, then the file.
    Post,
}

/// Where and how to send one file.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    Put { url: String, headers: BTreeMap<String, String> },
    Post { url: String, fields: BTreeMap<String, String> },
}

/// The answer for one requested file.
#[derive(Clone, Debug, PartialEq)]
pub enum Ticket {
    /// Send the bytes to `target`, then complete upload `id`.
    Upload { id: String, name: String, target: Target, expires_at: i64 },
    /// The caller already has this content as image `image_id`.
    Duplicate { name: String, image_id: String },
}

/// The media types a direct upload may declare: the formats ingest reads.
pub fn content_types() -> impl Iterator<Item = &'static str> {
    ImageFormat::ALL.into_iter().map(ImageFormat::mime)
}

/// Makes an upload for each file of `caller`'s (or answers a duplicate).
/// `base_url` is the server's public URL, for the URLs it serves itself.
pub async fn create(
    state: &AppState,
    caller: &Principal,
    base_url: &str,
    files: Vec<FileRequest>,
    form: Form,
) -> Result<Vec<Ticket>> {
    create_with(state, caller, base_url, files, form, false).await
}

/// Makes one upload of `caller`'s that lands as soon as its object arrives
/// (see the module's docs): a presigned PUT URL for a file named
/// `file_name`, of any size up to `limits.max_upload_bytes`, whose name
/// must end in an image's extension (`.jpg`, `.png`…).
pub async fn create_on_arrival(
    state: &AppState,
    caller: &Principal,
    base_url: &str,
    file_name: &str,
) -> Result<Ticket> {
    let content_type = type_of_name(file_name)?;
    let file = FileRequest {
        name: file_name.to_string(),
        size: state.config.limits.max_upload_bytes,
        content_type: content_type.to_string(),
        sha256: None,
    };
    let mut tickets = create_with(state, caller, base_url, vec![file], Form::Put, true).await?;
    tickets.pop().ok_or_else(|| Error::internal("an upload request made no ticket"))
}

/// The media type a file name's extension names, if an image's.
pub fn type_of_name(file_name: &str) -> Result<&'static str> {
    let extension = file_name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default();
    let format = match extension.as_str() {
        "jpg" | "jpe" | "jfif" => Some(ImageFormat::Jpeg),
        "tif" => Some(ImageFormat::Tiff),
        "heif" | "hif" => Some(ImageFormat::Heic),
        other => ImageFormat::from_name(other),
    };
    format.map(ImageFormat::mime).ok_or_else(|| {
        let known: Vec<&str> = ImageFormat::ALL.into_iter().map(ImageFormat::name).collect();
        Error::bad_request(format!(
            "file_name {:?} does not end in an image's extension: one of .{} (or .jpeg, .tif, .heif)",
            truncate(file_name, 60),
            known.join(", .")
        ))
    })
}

async fn create_with(
    state: &AppState,
    caller: &Principal,
    base_url: &str,
    files: Vec<FileRequest>,
    form: Form,
    on_arrival: bool,
) -> Result<Vec<Ticket>> {
    let max_files = state.config.limits.max_files;
    if files.is_empty() || files.len() > max_files {
        return Err(Error::bad_request(format!("send 1 to {max_files} files (limits.max_files), not {}", files.len())));
    }
    for (i, file) in files.iter().enumerate() {
        check_file(state, file).map_err(|mut e| {
            e.detail = format!("files[{i}] ({:?}): {}", truncate(&file.name, 60), e.detail);
            e
        })?;
    }
    let now = now_ms();
    let url_expires = now + (state.config.direct.expiry_secs as i64) * 1000;
    let mut tickets = Vec::with_capacity(files.len());
    let mut rows = Vec::new();
    for file in files {
        if let Some(sha256) = &file.sha256
            && let Some(image_id) = state.db.image_with_sha256(caller.owner.as_deref(), sha256).await?
        {
            tickets.push(Ticket::Duplicate { name: file.name, image_id });
            continue;
        }
        let id = hex::encode(rand::random::<[u8; 16]>());
        let object_key = format!("{}/{}", staging_prefix(&id), safe_name(&file.name));
        rows.push(DirectUploadRecord {
            id,
            owner: caller.owner.clone(),
            name: file.name,
            content_type: canonical_type(&file.content_type),
            size: file.size as i64,
            object_key,
            created_at: now,
            expires_at: url_expires + COMPLETE_GRACE_MS,
            finishing_until: 0,
            image_id: None,
            on_arrival,
        });
    }
    let max_open = state.config.limits.open_uploads_per_owner.min(i64::MAX as u64) as i64;
    if !state.db.create_direct_uploads(&rows, max_open, now).await? {
        return Err(Error::new(
            ErrorKind::RateLimited,
            format!(
                "these would leave more than {max_open} direct uploads open (limits.open_uploads_per_owner): \
                 complete some, or let them expire"
            ),
        )
        .with_retry_after(60));
    }
    for row in rows {
        let target = sign(state, base_url, &row, form, now, url_expires).await?;
        tickets.push(Ticket::Upload { id: row.id, name: row.name, target, expires_at: url_expires });
    }
    Ok(tickets)
}

fn check_file(state: &AppState, file: &FileRequest) -> Result<()> {
    let chars = file.name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || file.name.chars().any(char::is_control) {
        return Err(Error::bad_request(format!("name must be 1 to {MAX_NAME_CHARS} characters, without controls")));
    }
    let limit = state.config.limits.max_upload_bytes;
    if file.size == 0 {
        return Err(Error::bad_request("an empty file is not an image: size must be above 0"));
    }
    if file.size > limit {
        return Err(Error::new(
            ErrorKind::PayloadTooLarge,
            format!("size {} is over the {limit}-byte limit (limits.max_upload_bytes)", file.size),
        ));
    }
    let declared = canonical_type(&file.content_type);
    if !content_types().any(|t| t == declared) {
        let known: Vec<&str> = content_types().collect();
        return Err(Error::new(
            ErrorKind::UnsupportedFormat,
            format!(
                "content_type {:?} is not an image type Pictor reads: one of {}",
                file.content_type,
                known.join(", ")
            ),
        ));
    }
    if let Some(sha256) = &file.sha256
        && (sha256.len() != 64 || !sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
    {
        return Err(Error::bad_request("sha256 must be 64 lower-case hex digits"));
    }
    Ok(())
}

/// A media type without parameters, lower-case; `image/heif` is HEIC's.
fn canonical_type(content_type: &str) -> String {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "image/heif" => "image/heic".into(),
        "image/jpg" => "image/jpeg".into(),
        _ => essence,
    }
}

fn truncate(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

/// The file name as a key segment: letters, digits, `.`, `-` and `_`, at
/// most 100 of them (`file` if none are left).
fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let safe: String =
        base.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).take(100).collect();
    let safe = safe.trim_start_matches('.');
    if safe.is_empty() { "file".into() } else { safe.to_string() }
}

/// Where an upload's object may be written: `direct/<id>`.
pub fn staging_prefix(id: &str) -> String {
    format!("direct/{id}")
}

async fn sign(
    state: &AppState,
    base_url: &str,
    row: &DirectUploadRecord,
    form: Form,
    now: i64,
    expires: i64,
) -> Result<Target> {
    let base_url = base_url.trim_end_matches('/');
    let content_type = row.content_type.as_str();
    let headers = BTreeMap::from([("Content-Type".to_string(), content_type.to_string())]);
    let expires_in = Duration::from_millis((expires - now).max(1000) as u64);
    match form {
        Form::Put => {
            let url = match state.store.presign_put(&row.object_key, expires_in).await? {
                Some(url) => url,
                None => local_put_url(&state.direct_key, base_url, row, now, expires_in.as_secs())?,
            };
            Ok(Target::Put { url, headers })
        }
        Form::Post => {
            let prefix = format!("{}/", staging_prefix(&row.id));
            let rules = presign::PostRules {
                bucket: None,
                key: &row.object_key,
                key_prefix: &prefix,
                content_type,
                min_bytes: 1,
                max_bytes: row.size as u64,
                now,
                expires,
                meta: &[],
            };
            let form = match state.store.presign_post(&rules).await? {
                Some(form) => form,
                None => {
                    let credentials = presign::Credentials {
                        key_id: LOCAL_KEY_ID,
                        secret: state.direct_key.secret()?,
                        token: None,
                        region: LOCAL_REGION,
                    };
                    presign::post_form(&format!("{base_url}/api/v1/direct"), &credentials, &rules)
                }
            };
            Ok(Target::Post { url: form.url, fields: form.fields })
        }
    }
}

/// The parameters of a local `PUT` URL, as its query carries them.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct PutQuery {
    #[serde(rename = "X-Amz-Algorithm", default)]
    pub algorithm: String,
    #[serde(rename = "X-Amz-Date", default)]
    pub date: String,
    #[serde(rename = "X-Amz-Expires", default)]
    pub expires: u64,
    #[serde(rename = "X-Pictor-Content-Type", default)]
    pub content_type: String,
    #[serde(rename = "X-Pictor-Max-Bytes", default)]
    pub max_bytes: u64,
    #[serde(rename = "X-Amz-Signature", default)]
    pub signature: String,
}

fn put_mac(key: &DirectKey, object_key: &str, query: &PutQuery) -> Result<Hmac<Sha256>> {
    let mut mac = key.mac()?;
    let text =
        format!("PUT\n{object_key}\n{}\n{}\n{}\n{}", query.date, query.expires, query.content_type, query.max_bytes);
    mac.update(text.as_bytes());
    Ok(mac)
}

fn local_put_url(
    key: &DirectKey,
    base_url: &str,
    row: &DirectUploadRecord,
    now: i64,
    expires_in: u64,
) -> Result<String> {
    let mut query = PutQuery {
        algorithm: LOCAL_ALGORITHM.into(),
        date: presign::amz_date(now).0,
        expires: expires_in,
        // Empty for one landing on arrival: any type may be sent.
        content_type: if row.on_arrival { String::new() } else { row.content_type.clone() },
        max_bytes: row.size as u64,
        signature: String::new(),
    };
    query.signature = hex::encode(put_mac(key, &row.object_key, &query)?.finalize().into_bytes());
    let mut url = url::Url::parse(&format!("{base_url}/api/v1/{}", row.object_key)).map_err(|e| {
        Error::bad_request(format!("the server's URL {base_url:?} is not one (direct.public_url): {e}"))
    })?;
    url.query_pairs_mut()
        .append_pair("X-Amz-Algorithm", &query.algorithm)
        .append_pair("X-Amz-Date", &query.date)
        .append_pair("X-Amz-Expires", &query.expires.to_string())
        .append_pair("X-Pictor-Content-Type", &query.content_type)
        .append_pair("X-Pictor-Max-Bytes", &query.max_bytes.to_string())
        .append_pair("X-Amz-Signature", &query.signature);
    Ok(url.to_string())
}

/// What a checked request may store: the key, and at most this many bytes
/// (at least `min_bytes`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub key: String,
    pub min_bytes: u64,
    pub max_bytes: u64,
}

fn signature_mismatch(what: &str) -> Error {
    Error::new(
        ErrorKind::SignatureMismatch,
        format!("the {what} signature does not match: ask POST /api/v1/uploads for a new one, and send it unchanged"),
    )
}

/// A URL or form dated further ahead of this server's clock than
/// [`presign::MAX_CLOCK_SKEW_MS`]: made by a process whose clock is wrong.
pub(crate) fn not_yet_valid(what: &str, signed_at: &str) -> Error {
    Error::new(
        ErrorKind::SignatureMismatch,
        format!(
            "this {what} is signed at {signed_at}, more than {} minutes ahead of this server's clock: \
             check the clocks of the servers (NTP)",
            presign::MAX_CLOCK_SKEW_MS / 60_000
        ),
    )
}

/// Whether a local `PUT` URL may be used at `now`: not dated too far ahead
/// (clock skew), not expired.
fn check_put_window(query: &PutQuery, now: i64) -> Result<()> {
    let signed = presign::parse_amz_date(&query.date).ok_or_else(|| signature_mismatch("URL's"))?;
    if presign::signed_too_far_ahead(signed, now) {
        return Err(not_yet_valid("presigned URL", &presign::iso8601(signed)));
    }
    let expires = signed.saturating_add((query.expires as i64).saturating_mul(1000));
    if expires <= now {
        return Err(Error::new(
            ErrorKind::Gone,
            format!(
                "this presigned URL expired at {}: ask POST /api/v1/uploads for a new one",
                presign::iso8601(expires)
            ),
        ));
    }
    Ok(())
}

/// Checks a `PUT /api/v1/direct/{id}/{name}` on the local store before its
/// body is read: the signature, the expiry, the upload (still open), and
/// the request's `Content-Type`.
pub async fn accept_put(
    state: &AppState,
    id: &str,
    name: &str,
    query: &PutQuery,
    content_type: Option<&str>,
) -> Result<Grant> {
    let key = format!("{}/{name}", staging_prefix(id));
    let signature = hex::decode(&query.signature).unwrap_or_default();
    if query.algorithm != LOCAL_ALGORITHM || put_mac(&state.direct_key, &key, query)?.verify_slice(&signature).is_err()
    {
        return Err(signature_mismatch("URL's"));
    }
    check_put_window(query, now_ms())?;
    open_row(state, id, &key).await?;
    let sent = content_type.map(canonical_type).unwrap_or_default();
    // A URL signed without a type (an upload landing on arrival) takes any.
    if !query.content_type.is_empty() && sent != query.content_type {
        return Err(wrong_type(&sent, &query.content_type));
    }
    Ok(Grant { key, min_bytes: 1, max_bytes: query.max_bytes })
}

/// Checks a local POST form's fields (all but the file) before the file
/// is read: the SigV4 policy (signature, expiration, conditions) and the
/// upload (still open).
pub async fn accept_post(state: &AppState, fields: &BTreeMap<String, String>) -> Result<Grant> {
    let allowed = presign::verify_post(fields, LOCAL_KEY_ID, state.direct_key.secret()?, LOCAL_REGION, now_ms())
        .map_err(|e| match e {
            PostError::Signature => signature_mismatch("form's policy"),
            PostError::Expired(at) => Error::new(
                ErrorKind::Gone,
                format!("this upload form expired at {at}: ask POST /api/v1/uploads for a new one"),
            ),
            PostError::NotYetValid(at) => not_yet_valid("upload form", &at),
            PostError::Malformed(why) => Error::bad_request(format!("the upload form is malformed: {why}")),
            PostError::Condition(why) => Error::new(ErrorKind::Forbidden, format!("the upload form {why}")),
        })?;
    // The key is `direct/<id>/<name>` under the policy's own prefix.
    let mut parts = allowed.key.splitn(3, '/');
    let (Some("direct"), Some(id), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Error::new(ErrorKind::Forbidden, "the upload form's key is not a direct upload's"));
    };
    if name.is_empty() || name.contains('/') {
        return Err(Error::new(ErrorKind::Forbidden, "the upload form's key is not a direct upload's"));
    }
    open_row(state, id, &allowed.key).await?;
    Ok(Grant { key: allowed.key, min_bytes: allowed.min_bytes, max_bytes: allowed.max_bytes })
}

/// The upload `id`, if it is still waiting for its bytes.
async fn open_row(state: &AppState, id: &str, key: &str) -> Result<DirectUploadRecord> {
    let row = state.db.get_direct_upload(id).await?;
    match row {
        Some(row) if row.image_id.is_some() => {
            Err(Error::new(ErrorKind::Conflict, format!("upload {id} is complete already: start a new one")))
        }
        Some(row) if key.starts_with(&format!("{}/", staging_prefix(id))) => Ok(row),
        _ => Err(Error::not_found(format_args!("upload {id}"))),
    }
}

/// Stores what a checked request sent (its length within the grant); an
/// upload landing on arrival lands now, and a refusal is the answer.
pub async fn store(state: &AppState, grant: &Grant, bytes: Bytes) -> Result<Option<Completed>> {
    if (bytes.len() as u64) < grant.min_bytes {
        return Err(Error::bad_request(format!("the file is under {} bytes", grant.min_bytes)));
    }
    if bytes.len() as u64 > grant.max_bytes {
        return Err(too_large(bytes.len() as u64, grant.max_bytes));
    }
    state.store.put_object(&grant.key, bytes).await?;
    let id = grant.key.split('/').nth(1).unwrap_or_default();
    match state.db.get_direct_upload(id).await? {
        Some(row) if row.on_arrival && row.image_id.is_none() => match complete_row(state, row).await {
            Ok(completed) => Ok(Some(completed)),
            // The sweep is landing it this moment: it lands all the same.
            Err(e) if e.kind == ErrorKind::Conflict => Ok(None),
            Err(e) => Err(e),
        },
        _ => Ok(None),
    }
}

/// Lands the open uploads that land on arrival and whose object has
/// arrived (a bounded batch per call; housekeeping calls it every tick);
/// returns how many landed. A refused one is deleted, as `complete` does.
pub async fn land_arrivals(state: &AppState) -> usize {
    let open = match state.db.open_arrival_uploads(now_ms(), 100).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "listing direct uploads that land on arrival failed");
            return 0;
        }
    };
    let mut landed = 0;
    for row in open {
        match state.store.object_sizes(&staging_prefix(&row.id)).await {
            Ok(objects) if objects.is_empty() => continue,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(upload = row.id, error = %e, "looking for a direct upload's object failed");
                continue;
            }
        }
        let id = row.id.clone();
        match complete_row(state, row).await {
            Ok(_) => landed += 1,
            Err(e) => {
                tracing::info!(upload = id, error = %e.detail, "a direct upload's object arrived but did not land")
            }
        }
    }
    landed
}

fn too_large(size: u64, declared: u64) -> Error {
    Error::new(
        ErrorKind::PayloadTooLarge,
        format!("the file is {size} bytes, over the {declared} declared: start a new upload with its real size"),
    )
}

fn wrong_type(sent: &str, declared: &str) -> Error {
    Error::new(
        ErrorKind::UnsupportedFormat,
        format!("the file was sent as {sent:?}, not the {declared:?} declared: send it with its declared Content-Type"),
    )
}

/// A completed upload: its image, and an earlier image of the caller's
/// with the same content, if any.
#[derive(Clone, Debug)]
pub struct Completed {
    pub image: ImageRecord,
    pub duplicate_of: Option<String>,
}

/// Lands upload `id` of `caller`'s: its object, checked, through ingest.
pub async fn complete(state: &AppState, caller: &Principal, id: &str) -> Result<Completed> {
    let row = state.db.get_direct_upload(id).await?.filter(|row| row.owner == caller.owner);
    let Some(row) = row else { return Err(Error::not_found(format_args!("upload {id}"))) };
    complete_row(state, row).await
}

/// Lands upload `row` (the caller's rights checked).
async fn complete_row(state: &AppState, row: DirectUploadRecord) -> Result<Completed> {
    let id = row.id.as_str();
    if let Some(image_id) = &row.image_id {
        let image =
            state.db.get_image(image_id).await?.ok_or_else(|| Error::not_found(format_args!("image {image_id}")))?;
        return completed(state, image).await;
    }
    let now = now_ms();
    if row.expires_at < now {
        remove(state, id).await?;
        return Err(Error::new(ErrorKind::Gone, format!("upload {id} expired: start it again")));
    }
    let until = now + FINISH_LEASE.as_millis() as i64;
    if !state.db.claim_direct_upload(id, until, now).await? {
        return Err(Error::new(ErrorKind::Conflict, format!("upload {id} is being completed by another request"))
            .with_retry_after(1));
    }
    match land(state, &row).await {
        Ok(image) => {
            if !state.db.finish_direct_upload(id, until, &image.id).await? {
                // Swept meanwhile: the image goes with its upload.
                if state.db.delete_image(&image.id).await?.is_some() {
                    state.forget_record(&image.id);
                    ingest::release(state, &image.sha256).await;
                }
                return Err(Error::not_found(format_args!("upload {id}")));
            }
            if let Err(e) = state.store.delete_objects(&staging_prefix(id)).await {
                tracing::warn!(upload = id, error = %e, "deleting a completed upload's object failed; expiry will");
            }
            completed(state, image).await
        }
        Err(Landing::Refused(e)) => {
            remove(state, id).await?;
            Err(e)
        }
        Err(Landing::Failed(e)) => {
            state.db.release_direct_upload(id, until).await?;
            Err(e)
        }
    }
}

async fn completed(state: &AppState, image: ImageRecord) -> Result<Completed> {
    let duplicate_of = state.db.earlier_duplicate(image.owner.as_deref(), &image.sha256, &image.id).await?;
    Ok(Completed { image, duplicate_of })
}

enum Landing {
    /// The object is not acceptable: the upload goes.
    Refused(Error),
    /// Not now (nothing arrived yet, a backend failed): the upload stays.
    Failed(Error),
}

impl From<Error> for Landing {
    fn from(e: Error) -> Self {
        if matches!(
            e.kind,
            ErrorKind::UnsupportedFormat
                | ErrorKind::CorruptImage
                | ErrorKind::ImageTooLarge
                | ErrorKind::PayloadTooLarge
        ) {
            Self::Refused(e)
        } else {
            Self::Failed(e)
        }
    }
}

async fn land(state: &AppState, row: &DirectUploadRecord) -> std::result::Result<ImageRecord, Landing> {
    let objects = state.store.object_sizes(&staging_prefix(&row.id)).await.map_err(Error::from)?;
    // The key it was given, else the one object the form's prefix allowed.
    let object = objects.iter().find(|(key, _)| *key == row.object_key).or(objects.first());
    let Some((key, size)) = object else {
        return Err(Landing::Failed(Error::new(
            ErrorKind::Conflict,
            format!("nothing has arrived for upload {} yet: send the file to its URL first", row.id),
        )));
    };
    if objects.len() > 1 {
        return Err(Landing::Refused(Error::bad_request(format!(
            "upload {} received {} files; it takes one: start again",
            row.id,
            objects.len()
        ))));
    }
    if *size > row.size as u64 || *size == 0 {
        return Err(Landing::Refused(too_large(*size, row.size as u64)));
    }
    let (bytes, stored_type) = state.store.get_object_typed(key).await.map_err(Error::from)?;
    // One landing on arrival was given no type to send: ingest's own check
    // (an image it reads) is the one that counts.
    if let Some(stored) = stored_type.map(|t| canonical_type(&t))
        && stored != row.content_type
        && !row.on_arrival
    {
        return Err(Landing::Refused(wrong_type(&stored, &row.content_type)));
    }
    if let Some(format) = ImageFormat::sniff(&bytes)
        && format.mime() != row.content_type
        && !row.on_arrival
    {
        return Err(Landing::Refused(Error::new(
            ErrorKind::UnsupportedFormat,
            format!("the file is {}, not the {:?} declared", format.mime(), row.content_type),
        )));
    }
    let upload = ingest::Upload {
        bytes,
        source: SOURCE,
        owner: row.owner.clone(),
        name: Some(row.name.clone()),
        description: None,
    };
    Ok(ingest::ingest(state, upload).await?)
}

async fn remove(state: &AppState, id: &str) -> Result<()> {
    state.store.delete_objects(&staging_prefix(id)).await?;
    state.db.delete_direct_upload(id).await?;
    Ok(())
}

/// Deletes uploads expired at `now` with their staging objects (a bounded
/// batch per call); returns how many went.
pub async fn sweep_expired(state: &AppState, now: i64) -> usize {
    let expired = match state.db.expired_direct_uploads(now, 100).await {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!(error = %e, "listing expired direct uploads failed");
            return 0;
        }
    };
    let mut swept = 0;
    for id in expired {
        match remove(state, &id).await {
            Ok(()) => swept += 1,
            Err(e) => tracing::warn!(upload = id, error = %e.detail, "deleting an expired direct upload failed"),
        }
    }
    swept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_on_s3_without_a_secret_signs_with_a_key_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let server = ServerKey::new("", dir.path());
        let local = direct_key(&server, false, true);
        assert_eq!(local.secret().unwrap(), server.secret().unwrap());
        assert_ne!(direct_key(&server, false, false).secret().unwrap(), server.secret().unwrap());
        let set = ServerKey::new("k", dir.path());
        assert_eq!(direct_key(&set, true, false).secret().unwrap(), "k");
    }

    /// Between the process that signs a URL and the one that checks it,
    /// clocks may disagree by up to 15 minutes either way.
    #[test]
    fn clock_skew_within_the_allowance_is_accepted_beyond_refused() {
        const NOW: i64 = 1_796_279_400_000;
        let url = |signed: i64| PutQuery { date: presign::amz_date(signed).0, expires: 900, ..Default::default() };
        let refused = |signed: i64| check_put_window(&url(signed), NOW).unwrap_err();
        // The signer's clock ahead of ours (or ours behind).
        assert!(check_put_window(&url(NOW + 14 * 60_000), NOW).is_ok());
        let ahead = refused(NOW + 16 * 60_000);
        assert_eq!(ahead.kind, ErrorKind::SignatureMismatch);
        assert!(ahead.detail.contains("ahead of this server's clock"), "{}", ahead.detail);
        // The signer's clock behind: the URL's 15 minutes are shorter here.
        assert!(check_put_window(&url(NOW - 14 * 60_000), NOW).is_ok());
        assert_eq!(refused(NOW - 16 * 60_000).kind, ErrorKind::Gone);
    }

    #[test]
    fn names_become_safe_key_segments() {
        assert_eq!(safe_name("IMG 0001.JPG"), "IMG0001.JPG");
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("C:\\photos\\a.png"), "a.png");
        assert_eq!(safe_name("..."), "file");
        assert_eq!(safe_name("日本.jpg"), "jpg");
        assert_eq!(safe_name(&"a".repeat(300)).len(), 100);
    }

    #[test]
    fn a_file_name_names_its_image_type() {
        assert_eq!(type_of_name("x.jpg").unwrap(), "image/jpeg");
        assert_eq!(type_of_name("IMG.JPEG").unwrap(), "image/jpeg");
        assert_eq!(type_of_name("a.b.heif").unwrap(), "image/heic");
        assert_eq!(type_of_name("scan.tif").unwrap(), "image/tiff");
        assert_eq!(type_of_name("p.webp").unwrap(), "image/webp");
        for refused in ["notes.txt", "jpg", "x.", "movie.mp4", ""] {
            assert_eq!(type_of_name(refused).unwrap_err().kind, ErrorKind::InvalidRequest, "{refused}");
        }
    }

    #[test]
    fn content_types_are_compared_by_essence() {
        assert_eq!(canonical_type("Image/JPEG; charset=x"), "image/jpeg");
        assert_eq!(canonical_type("image/heif"), "image/heic");
        assert!(content_types().any(|t| t == "image/webp"));
        assert_eq!(presign::parse_amz_date("20261203T063000Z"), Some(1_796_279_400_000));
        assert_eq!(presign::parse_amz_date("2026-12-03"), None);
    }

    #[test]
    fn a_local_put_url_signs_every_parameter() {
        let key = ServerKey::new("k", std::path::Path::new("/nonexistent"));
        let row = DirectUploadRecord {
            id: "u1".into(),
            owner: None,
            name: "a.jpg".into(),
            content_type: "image/jpeg".into(),
            size: 10,
            object_key: "direct/u1/a.jpg".into(),
            created_at: 0,
            expires_at: 0,
            finishing_until: 0,
            image_id: None,
            on_arrival: false,
        };
        let url = url::Url::parse(&local_put_url(&key, "http://h:1", &row, 1_796_279_400_000, 60).unwrap()).unwrap();
        assert_eq!(url.path(), "/api/v1/direct/u1/a.jpg");
        let pairs: BTreeMap<String, String> = url.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
        let mut query = PutQuery {
            algorithm: pairs["X-Amz-Algorithm"].clone(),
            date: pairs["X-Amz-Date"].clone(),
            expires: pairs["X-Amz-Expires"].parse().unwrap(),
            content_type: pairs["X-Pictor-Content-Type"].clone(),
            max_bytes: pairs["X-Pictor-Max-Bytes"].parse().unwrap(),
            signature: pairs["X-Amz-Signature"].clone(),
        };
        let verifies = |q: &PutQuery, k: &str| {
            put_mac(&key, k, q).unwrap().verify_slice(&hex::decode(&q.signature).unwrap()).is_ok()
        };
        assert!(verifies(&query, "direct/u1/a.jpg"));
        assert!(!verifies(&query, "direct/u2/a.jpg"));
        query.max_bytes = 11;
        assert!(!verifies(&query, "direct/u1/a.jpg"));
    }
}
