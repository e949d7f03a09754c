//! Reading images: records, originals (with `Range`), on-the-fly transforms
//! through the derivative cache, listing and deleting, and restoring an
//! original from the archive tier.

use std::str::FromStr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use pictor_db::ImageRecord;
use pictor_imaging::{ImageFormat, OutputFormat, Pipeline};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::http::{RangeRequest, not_modified, page_limit, parse_range};
use pictor_jobs::Runtime;

use crate::error::{ApiError, ApiResult, Code};
use crate::extract::{Authed, ImagePath, PathId, Read, Upload, caller};
use pictor_core::access::ensure_manages;
use pictor_core::auth::{Principal, Scope};
use pictor_core::cache::Derivative;
use pictor_core::signing;
use pictor_core::tiers::{self, TierState};
use pictor_core::transform;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// For user content opened directly in a browser: no scripts, no
/// subresources, a unique origin, should a browser take it for a page.
const SANDBOX: &str = "default-src 'none'; sandbox";

/// An image as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct ImageView {
    pub id: String,
    pub owner: Option<String>,
    pub md5: String,
    pub sha256: String,
    /// The original's format: jpeg, png, gif, webp, tiff, bmp…
    pub format: String,
    pub width: i64,
    pub height: i64,
    /// Size of the original in bytes.
    pub bytes: i64,
    pub name: Option<String>,
    pub description: Option<String>,
    /// How it was uploaded: base64, url, uuid, pinster, multipart, raw, tus,
    /// direct, web or import.
    pub source: String,
    /// Unix time in milliseconds.
    pub created_at: i64,
    pub links: Links,
    /// What the workflow made of it: pending, processing, processed,
    /// rejected or failed (on `GET /api/v1/img/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Extracted metadata: format, sizes, EXIF, GPS, ICC, frames.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// The same in the AWS reference architecture's shape (`creationTime`,
    /// `geo`, `exifMake`, `exifModel`, `dimensions`, `fileSize`, `format`).
    #[serde(rename = "referenceMetadata", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub reference_metadata: Option<serde_json::Value>,
    /// The preset thumbnails made by the workflow, with their URLs.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub thumbnails: Option<serde_json::Value>,
    /// `flagged` (held back until an admin approves it), `approved` or
    /// `rejected`; absent when moderation never flagged it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderation: Option<String>,
    /// The moderation model's NSFW score, 0–1.
    #[serde(rename = "nsfwScore", skip_serializing_if = "Option::is_none")]
    pub nsfw_score: Option<f64>,
    /// Faces: `x`, `y`, `width`, `height` in pixels of the upright
    /// original, `confidence`, and five `landmarks`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub faces: Option<serde_json::Value>,
    /// Text lines: `text`, `confidence`, and `quad` (four corners).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub text: Option<serde_json::Value>,
    /// Where the original is: `tier` (`hot` or `archive`), and while a
    /// restore is asked for or readable, `restore` (`requested`,
    /// `restoring`, `restored`) and `restored_until` (Unix ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub storage: Option<TierState>,
}

impl ImageView {
    /// Adds what the workflow recorded.
    pub fn with_state(mut self, state: pictor_db::ImageState) -> Self {
        self.reference_metadata = state.metadata.as_ref().and_then(pictor_jobs::tasks::reference_shape);
        self.status = Some(state.status);
        self.metadata = state.metadata;
        self.thumbnails = state.thumbnails;
        self.nsfw_score = state.nsfw_score;
        self.faces = state.faces;
        self.text = state.text_lines;
        self
    }
}

#[derive(Serialize, ToSchema)]
pub struct Links {
    #[serde(rename = "self")]
    pub this: String,
    pub original: String,
    /// A transform URL; change the format and the query at will.
    pub thumbnail: String,
}

impl From<&ImageRecord> for ImageView {
    fn from(r: &ImageRecord) -> Self {
        let base = format!("/api/v1/img/{}", r.id);
        Self {
            id: r.id.clone(),
            owner: r.owner.clone(),
            md5: r.md5.clone(),
            sha256: r.sha256.clone(),
            format: r.format.clone(),
            width: r.width,
            height: r.height,
            bytes: r.bytes,
            name: r.name.clone(),
            description: r.description.clone(),
            source: r.source.clone(),
            created_at: r.created_at,
            links: Links {
                original: format!("{base}/original"),
                thumbnail: format!("{base}.webp?thumbnail=200"),
                this: base,
            },
            status: None,
            metadata: None,
            reference_metadata: None,
            thumbnails: None,
            moderation: r.moderation.clone(),
            nsfw_score: None,
            faces: None,
            text: None,
            storage: None,
        }
    }
}

/// `GET /api/v1/img/{id}` (the record) or `GET /api/v1/img/{id}.{format}?…`
/// (a transform).
#[utoipa::path(
    get, operation_id = "get_image", path = "/api/v1/img/{file}", tag = "images",
    params(("file" = String, Path, description = "`{id}` for the JSON record, or `{id}.{format}` (jpg, png, webp, avif, gif, auto) for a transform"),
           ("query" = Option<String>, Query, description = "Operations in order, e.g. `thumbnail=200&rotate=180`; `preset=NAME`; `sig=` for signed URLs")),
    responses(
        (status = 200, description = "The record (JSON) or the transformed image"),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = "4XX", description = "Problem (application/problem+json)"),
    )
)]
pub async fn get(
    State(state): State<Arc<Runtime>>,
    PathId(file): PathId,
    RawQuery(query): RawQuery,
    uri: Uri,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let Some((id, extension)) = file.rsplit_once('.') else {
        let caller = caller(&state, &headers, &Method::GET, Scope::Read).await?;
        let record = state.image_for(&caller, &file).await?;
        let mut view = ImageView::from(&*record);
        if let Some(processing) = state.db.image_state(&record.id).await? {
            view = view.with_state(processing);
        }
        view.storage = Some(tiers::state(&state, &record.sha256).await?);
        return Ok(Json(view).into_response());
    };
    // A format we cannot write is refused before any lookup.
    let requested =
        OutputFormat::from_str(extension).map_err(|e| ApiError::from(e).with_status(StatusCode::BAD_REQUEST))?;
    let (pipeline, principal) =
        authorise_transform(&state, uri.path(), query.as_deref().unwrap_or(""), &headers).await?;
    // A signed URL stands for its signer: no caller to check.
    let record = match &principal {
        Some(caller) => state.image_for(caller, id).await?,
        None => state.image(id).await?,
    };
    ensure_viewable(&state, &record, principal.as_ref()).await?;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let format = negotiate(requested, accept, state.config.transforms.negotiate_avif);
    let derivative =
        transform::cached(&state, &record, pipeline, format).await.map_err(|e| restorable(e.into(), &record.id))?;
    Ok(derivative_response(&derivative, &headers, requested == OutputFormat::Auto))
}

/// Refuses the pixels of an image moderation holds back (flagged or
/// rejected), except to an admin of a server that has credentials: on an
/// open server everyone is admin, and the hold must still hold.
async fn ensure_viewable(state: &Runtime, record: &ImageRecord, principal: Option<&Principal>) -> ApiResult<()> {
    let held = matches!(record.moderation.as_deref(), Some("flagged" | "rejected"));
    if !held || (principal.is_some_and(Principal::is_admin) && !state.auth.is_open().await) {
        return Ok(());
    }
    let why = if record.moderation.as_deref() == Some("rejected") {
        "an admin rejected this image"
    } else {
        "moderation flagged this image; it is served again once an admin approves it"
    };
    Err(ApiError::new(Code::ImageFlagged, why))
}

/// Checks signature, presets-only mode and read access; returns the
/// operations to run, and who asked (none for a signed URL).
async fn authorise_transform(
    state: &Runtime,
    path: &str,
    raw_query: &str,
    headers: &HeaderMap,
) -> ApiResult<(Pipeline, Option<Principal>)> {
    let settings = &state.config.transforms;
    let (query, sig) = signing::split_signature(raw_query);
    let signed = match sig {
        Some(sig) if !settings.signing_key.is_empty() && signing::verify(&settings.signing_key, path, &query, sig) => {
            true
        }
        Some(_) => return Err(ApiError::new(Code::Forbidden, "the URL signature does not match (or signing is off)")),
        None => false,
    };
    let principal = if signed { None } else { Some(caller(state, headers, &Method::GET, Scope::Read).await?) };
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let uses_only_preset = pairs.len() == 1 && pairs[0].0 == "preset";
    if settings.only_presets_and_signed && !signed && !uses_only_preset && !pairs.is_empty() {
        return Err(ApiError::new(Code::Forbidden, "this server serves only presets (`?preset=NAME`) and signed URLs"));
    }
    let mut expanded = Vec::with_capacity(pairs.len());
    for (name, value) in pairs {
        if name == "preset" {
            let ops = settings.presets.get(&value).ok_or_else(|| {
                let known: Vec<&str> = settings.presets.keys().map(String::as_str).collect();
                ApiError::new(Code::InvalidFilter, format!("unknown preset {value:?}; known: {}", known.join(", ")))
            })?;
            expanded.extend(url::form_urlencoded::parse(ops.as_bytes()).into_owned());
        } else {
            expanded.push((name, value));
        }
    }
    Ok((Pipeline::from_pairs(expanded.iter().map(|(k, v)| (k.as_str(), v.as_str())))?, principal))
}

/// Resolves `auto` as far as the request allows: AVIF or WebP when the client
/// accepts them; otherwise it stays `auto` and the encoder picks PNG or JPEG
/// from the image's transparency (a fixed choice for a given image).
fn negotiate(format: OutputFormat, accept: &str, allow_avif: bool) -> OutputFormat {
    if format != OutputFormat::Auto {
        return format;
    }
    match OutputFormat::negotiate(accept, false, allow_avif) {
        chosen @ (OutputFormat::Avif | OutputFormat::Webp) => chosen,
        _ => OutputFormat::Auto,
    }
}

pub(crate) fn derivative_response(d: &Derivative, headers: &HeaderMap, vary: bool) -> Response {
    let mut response = if not_modified(headers, &d.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = d.bytes.clone().into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(d.content_type));
        r
    };
    let h = response.headers_mut();
    immutable(h, &d.etag);
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(SANDBOX));
    if vary {
        h.insert(header::VARY, HeaderValue::from_static("Accept"));
    }
    response
}

/// `GET /api/v1/img/{id}/original`: the bytes as uploaded; honours `Range`.
#[utoipa::path(
    get, path = "/api/v1/img/{id}/original", tag = "images",
    params(("id" = String, Path, description = "Image id")),
    responses((status = 200, description = "The original bytes"), (status = 206, description = "A byte range"),
              (status = 304, description = "Not modified"), (status = 416, description = "Range not satisfiable"),
              (status = 404, description = "Not found"))
)]
pub async fn original(
    State(state): State<Arc<Runtime>>,
    principal: Authed<Read>,
    ImagePath(id): ImagePath,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let record = state.image_for(&principal, &id).await?;
    ensure_viewable(&state, &record, Some(&principal)).await?;
    original_response(&state, &record, &headers).await.map_err(|e| restorable(e, &id))
}

/// An archived original's problem gets the link that asks for its restore.
pub(crate) fn restorable(error: ApiError, id: &str) -> ApiError {
    match error.code {
        Code::ImageArchived => error.with_link("restore", format!("/api/v1/img/{id}/restore")),
        _ => error,
    }
}

/// What a restore request answers: where the original is now.
#[derive(Serialize, ToSchema)]
pub struct RestoreView {
    pub id: String,
    /// `hot` or `archive`.
    pub tier: String,
    /// `requested`, `restoring` or `restored`; absent when hot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore: Option<String>,
    /// Unix ms until which the restored original is served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored_until: Option<i64>,
    pub links: RestoreLinks,
}

#[derive(Serialize, ToSchema)]
pub struct RestoreLinks {
    /// The original: served once `restore` is `restored` (or when hot).
    pub original: String,
    /// The record, whose `storage` follows the restore.
    #[serde(rename = "self")]
    pub this: String,
}

/// `POST /api/v1/img/{id}/restore`: asks for an archived original back.
/// `202` while the restore runs (poll the record's `storage`, or the
/// original), `200` when it is readable already; only the owner may.
#[utoipa::path(
    post, path = "/api/v1/img/{id}/restore", tag = "images",
    params(("id" = String, Path, description = "Image id")),
    responses((status = 202, description = "Restore requested or under way", body = RestoreView),
              (status = 200, description = "The original is readable (hot, or restored)", body = RestoreView),
              (status = 403, description = "Not the owner"), (status = 404, description = "Not found"))
)]
pub async fn restore(
    State(state): State<Arc<Runtime>>,
    principal: Authed<Upload>,
    ImagePath(id): ImagePath,
) -> ApiResult<Response> {
    let record = state.image_for(&principal, &id).await?;
    ensure_manages(&principal, record.owner.as_deref(), "this image")?;
    let tier = match tiers::state(&state, &record.sha256).await? {
        hot if hot.tier == "hot" => hot,
        _ => pictor_jobs::jobs::restore_blob::request(&state, &record.sha256).await?,
    };
    let status = if tier.readable() { StatusCode::OK } else { StatusCode::ACCEPTED };
    let base = format!("/api/v1/img/{id}");
    let view = RestoreView {
        id: id.to_string(),
        tier: tier.tier,
        restore: tier.restore,
        restored_until: tier.restored_until,
        links: RestoreLinks { original: format!("{base}/original"), this: base },
    };
    Ok((status, Json(view)).into_response())
}

/// The original's bytes as a response (whole, a `Range`, or 304), once the
/// caller may have them.
pub(crate) async fn original_response(
    state: &Runtime,
    record: &ImageRecord,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let etag = format!("\"{}\"", record.sha256);
    let len = record.bytes as u64;
    let mut response = if not_modified(headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        match parse_range(headers, len) {
            RangeRequest::Full => state.store.get_blob(&record.sha256).await?.into_response(),
            RangeRequest::Partial(range) => {
                let content_range = format!("bytes {}-{}/{len}", range.start, range.end - 1);
                let bytes = state.store.get_blob_range(&record.sha256, range).await?;
                let mut r = (StatusCode::PARTIAL_CONTENT, bytes).into_response();
                r.headers_mut().insert(header::CONTENT_RANGE, HeaderValue::from_str(&content_range).expect("ascii"));
                r
            }
            RangeRequest::Unsatisfiable => {
                let mut r =
                    ApiError::new(Code::InvalidRequest, format!("the range is outside the {len}-byte original"))
                        .with_status(StatusCode::RANGE_NOT_SATISFIABLE)
                        .into_response();
                r.headers_mut()
                    .insert(header::CONTENT_RANGE, HeaderValue::from_str(&format!("bytes */{len}")).expect("ascii"));
                return Ok(r);
            }
        }
    };
    let h = response.headers_mut();
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    immutable(h, &etag);
    let format = ImageFormat::from_name(&record.format);
    let mime = format.map_or("application/octet-stream", ImageFormat::mime);
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(SANDBOX));
    h.insert(header::CONTENT_DISPOSITION, content_disposition(&record.id, format));
    Ok(response)
}

/// `inline; filename="{id}.{ext}"`, from the id and the detected format
/// only, never from what the uploader sent: a multipart file name could say
/// `.html`, and a polyglot saved under it would open as a page.
fn content_disposition(id: &str, format: Option<ImageFormat>) -> HeaderValue {
    let mut stem: String = id.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).collect();
    if stem.is_empty() {
        stem.push_str("image");
    }
    let extension = format.map_or("bin", ImageFormat::name);
    HeaderValue::from_str(&format!("inline; filename=\"{stem}.{extension}\"")).expect("ASCII letters, digits, - and _")
}

/// Content under an id never changes: a strong ETag and a year of caching.
fn immutable(h: &mut HeaderMap, etag: &str) {
    if let Ok(etag) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, etag);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
}

/// `DELETE /api/v1/img/{id}`: only the owner (or an admin) may.
#[utoipa::path(
    delete, operation_id = "delete_image", path = "/api/v1/img/{file}", tag = "images",
    params(("file" = String, Path, description = "Image id")),
    responses((status = 204, description = "Deleted"), (status = 403, description = "Not the owner"), (status = 404, description = "Not found"))
)]
pub async fn delete(
    State(state): State<Arc<Runtime>>,
    principal: Authed<Upload>,
    ImagePath(id): ImagePath,
) -> ApiResult<StatusCode> {
    let record = state.db.get_image(&id).await?.ok_or_else(|| ApiError::not_found(format!("image {id}")))?;
    pictor_core::access::ensure_visible(&principal, record.owner.as_deref(), format_args!("image {id}"))?;
    ensure_manages(&principal, record.owner.as_deref(), "this image")?;
    remove(&state, &record).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes an image and, if it was the last over its blob, the blob.
pub async fn remove(state: &Runtime, record: &ImageRecord) {
    match state.db.delete_image(&record.id).await {
        Ok(_) => {
            state.forget_record(&record.id);
            pictor_core::ingest::release(state, &record.sha256).await;
        }
        Err(e) => tracing::warn!(id = record.id, error = %e, "deleting an image failed"),
    }
}

/// The listing's parameters, for the OpenAPI document only: [`Listing::parse`]
/// reads them, since `label` may repeat, which the typed extractor does not
/// allow.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListQuery {
    /// Page size, 1–1000 (default 100).
    pub limit: Option<i64>,
    /// The `next` value of the previous page.
    pub cursor: Option<String>,
    /// Only images with this label (its own or a parent: `tabby`, `cat`,
    /// `animal`); repeat it, or separate labels with commas.
    pub label: Option<String>,
    /// With several labels: `all` (default) or `any` of them.
    #[serde(rename = "match")]
    pub match_: Option<String>,
    /// Only images whose recognised text contains this (case-insensitive).
    pub text: Option<String>,
    /// Only images in this album (the caller's).
    pub album: Option<String>,
    /// Only images whose camera (EXIF make and model) contains this
    /// (case-insensitive).
    pub camera: Option<String>,
    /// Only images taken at or after this Unix time in milliseconds (the
    /// EXIF date with its offset; the upload's time without one).
    pub taken_after: Option<i64>,
    /// Only images taken before this Unix time in milliseconds.
    pub taken_before: Option<i64>,
    /// `true`: only images with a GPS position.
    pub has_gps: Option<bool>,
    /// Only images placed in this box: `south,west,north,east` in degrees
    /// (west ≤ east).
    pub bbox: Option<String>,
}

/// A listing request, read from the query string by hand.
struct Listing {
    limit: Option<i64>,
    cursor: Option<String>,
    filter: pictor_db::ImageFilter,
}

impl Listing {
    fn parse(raw: &str) -> ApiResult<Self> {
        let mut listing = Listing {
            limit: None,
            cursor: None,
            filter: pictor_db::ImageFilter { match_all: true, ..Default::default() },
        };
        let filter = &mut listing.filter;
        for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            match name.as_ref() {
                "limit" => listing.limit = Some(whole(&name, &value)?),
                "cursor" => listing.cursor = Some(value.into_owned()),
                "label" => {
                    filter.labels.extend(value.split(',').map(str::trim).filter(|l| !l.is_empty()).map(Into::into))
                }
                "match" => {
                    filter.match_all = match value.as_ref() {
                        "all" => true,
                        "any" => false,
                        other => return Err(ApiError::bad_request(format!("match={other:?}: use all or any"))),
                    }
                }
                "text" => filter.text = Some(value.trim().to_string()).filter(|t| !t.is_empty()),
                "album" => filter.album = Some(value.into_owned()),
                "camera" => filter.camera = Some(value.trim().to_string()).filter(|c| !c.is_empty()),
                "taken_after" => filter.taken_after = Some(whole(&name, &value)?),
                "taken_before" => filter.taken_before = Some(whole(&name, &value)?),
                "has_gps" => match value.as_ref() {
                    "true" => filter.area = filter.area.or(Some(pictor_db::Area::WORLD)),
                    "false" => {}
                    other => return Err(ApiError::bad_request(format!("has_gps={other:?}: use true or false"))),
                },
                "bbox" => filter.area = Some(area(&value)?),
                other => {
                    return Err(ApiError::bad_request(format!(
                        "unknown parameter {other:?}; known: limit, cursor, label, match, text, album, camera, \
                         taken_after, taken_before, has_gps, bbox"
                    )));
                }
            }
        }
        if filter.labels.len() > 32 {
            return Err(ApiError::bad_request("at most 32 labels at once"));
        }
        Ok(listing)
    }
}

/// A parameter that must be a whole number.
fn whole(name: &str, value: &str) -> ApiResult<i64> {
    value.trim().parse().map_err(|_| ApiError::bad_request(format!("{name} must be a whole number")))
}

/// `bbox=south,west,north,east` in degrees, as microdegrees.
fn area(bbox: &str) -> ApiResult<pictor_db::Area> {
    let e6 = |d: &str| d.trim().parse::<f64>().ok().filter(|d| d.is_finite()).map(|d| (d * 1e6).round() as i64);
    let edges: Vec<i64> = bbox.split(',').map(e6).collect::<Option<_>>().unwrap_or_default();
    let world = pictor_db::Area::WORLD;
    match edges[..] {
        [south, west, north, east]
            if world.south <= south
                && south < north
                && north <= world.north
                && world.west <= west
                && west <= east
                && east <= world.east =>
        {
            Ok(pictor_db::Area { south, west, north, east })
        }
        _ => Err(ApiError::bad_request("bbox must be south,west,north,east in degrees (south < north, west <= east)")),
    }
}

#[derive(Serialize, ToSchema)]
pub struct ImagePage {
    pub images: Vec<ImageView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next: Option<String>,
}

/// `GET /api/v1/img`: the caller's images, newest first; `label`, `match`,
/// `text`, `album`, `camera`, `taken_after`/`taken_before`, `has_gps` and
/// `bbox` narrow them.
#[utoipa::path(
    get, operation_id = "list_images", path = "/api/v1/img", tag = "images", params(ListQuery),
    responses((status = 200, description = "A page of the caller's images", body = ImagePage))
)]
pub async fn list(
    State(state): State<Arc<Runtime>>,
    principal: Authed<Read>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<ImagePage>> {
    let q = Listing::parse(raw.as_deref().unwrap_or(""))?;
    let limit = page_limit(q.limit, 100)?;
    // An album lists its owner's photos, once the caller may see it.
    let owner = match &q.filter.album {
        Some(album) => pictor_core::albums::album_for(&state.db, &principal, album).await?.owner,
        None => principal.owner.clone(),
    };
    let page = state.db.list_images(owner.as_deref(), &q.filter, q.cursor.as_deref(), limit).await?;
    Ok(Json(ImagePage { images: page.images.iter().map(ImageView::from).collect(), next: page.next }))
}
