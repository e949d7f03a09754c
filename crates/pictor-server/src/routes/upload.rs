//! `POST /api/v1/img`: every upload form lands through [`crate::ingest`].
//!
//! - JSON, the seed API's form: `{"type":"base64"|"url"|"uuid","data":…}`,
//!   answered `200` as the seed API does.
//! - JSON, Pinster's form: `{"data":{"image":…,"name":…,"description":…}}`.
//! - `multipart/form-data` with one or more files.
//! - a raw body with `Content-Type: image/*`.
//!
//! The last three answer `201 Created`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use pictor_db::ImageRecord;
use serde::Deserialize;
use utoipa::ToSchema;

use super::http::{decode_base64, read_body, too_large};
use super::images::ImageView;
use pictor_jobs::Runtime;

use crate::error::{ApiError, ApiResult, Code};
use crate::extract::{Authed, Upload};
use pictor_core::auth::Principal;
use pictor_core::fetch::FetchError;
use pictor_core::ingest;
use pictor_multipart::FieldError;

/// The seed API's upload.
#[derive(Deserialize, ToSchema)]
pub struct UploadSeed {
    /// `base64` (bare or a data URL), `url` (fetched by the server) or
    /// `uuid` (a new image over an existing one's bytes).
    #[serde(rename = "type")]
    pub kind: String,
    pub data: String,
}

/// Pinster's upload.
#[derive(Deserialize, ToSchema)]
pub struct UploadPinster {
    pub data: PinsterImage,
}

#[derive(Deserialize, ToSchema)]
pub struct PinsterImage {
    /// A data URL or bare base64.
    pub image: String,
    /// 3–140 characters.
    pub name: Option<String>,
    /// 3–140 characters.
    pub description: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum JsonUpload {
    Seed(UploadSeed),
    Pinster(UploadPinster),
}

#[utoipa::path(
    post, path = "/api/v1/img", tag = "images",
    request_body(description = "JSON (seed or Pinster form), multipart/form-data, or raw image/* bytes",
        content((UploadSeed = "application/json"), (UploadPinster = "application/json"), (String = "multipart/form-data"), (String = "image/*"))),
    responses(
        (status = 200, description = "Stored (seed JSON form)", body = ImageView),
        (status = 201, description = "Stored (other forms); multipart answers {\"images\": [...]}", body = ImageView),
        (status = "4XX", description = "Problem (application/problem+json)"),
    )
)]
pub async fn upload(
    State(state): State<Arc<Runtime>>,
    principal: Authed<Upload>,
    request: Request,
) -> ApiResult<Response> {
    state.uploads.check(&client_key(&principal, &request))?;
    // Held until the upload has landed: bounds the bodies held in memory.
    let _slot = state.upload_slots.clone().try_acquire_owned().map_err(|_| {
        let mut busy = ApiError::overloaded();
        busy.detail = "too many uploads are being received (limits.concurrent_uploads); retry shortly".into();
        busy
    })?;
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        return multipart(&state, principal.into_inner(), request).await;
    }
    let limit = state.config.limits.max_upload_bytes;
    let (parts, body) = request.into_parts();
    if content_type.starts_with("image/") || content_type.starts_with("application/octet-stream") {
        let bytes = read_body(&parts.headers, body, limit).await?;
        let record = ingest::ingest(&state, upload_of(bytes, "raw", &principal)).await?;
        return Ok(created(&record));
    }
    // Base64 is 4/3 of the bytes, plus room for the JSON around it.
    let json = read_body(&parts.headers, body, limit / 3 * 4 + 64 * 1024).await?;
    match serde_json::from_slice::<JsonUpload>(&json) {
        Ok(JsonUpload::Seed(seed)) => seed_upload(&state, principal.into_inner(), seed, limit).await,
        Ok(JsonUpload::Pinster(pinster)) => pinster_upload(&state, principal.into_inner(), pinster.data, limit).await,
        Err(e) => Err(ApiError::bad_request(format!(
            "send an image as JSON {{\"type\":\"base64\"|\"url\"|\"uuid\",\"data\":…}}, multipart/form-data, or a raw body with Content-Type: image/* ({e})"
        ))),
    }
}

/// Whom `limits.uploads_per_minute` counts an upload against: its owner,
/// or the client's address when anonymous.
pub(super) fn client_key(principal: &Principal, request: &Request) -> String {
    match (&principal.owner, request.extensions().get::<ConnectInfo<SocketAddr>>()) {
        (Some(owner), _) => format!("owner:{owner}"),
        (None, Some(ConnectInfo(addr))) => format!("ip:{}", addr.ip()),
        (None, None) => "anonymous".to_string(),
    }
}

fn upload_of(bytes: Bytes, source: &'static str, principal: &Principal) -> ingest::Upload {
    ingest::Upload { bytes, source, owner: principal.owner.clone(), name: None, description: None }
}

async fn seed_upload(state: &Runtime, principal: Principal, seed: UploadSeed, limit: u64) -> ApiResult<Response> {
    let record = match seed.kind.as_str() {
        "base64" => {
            let bytes = checked_len(decode_base64(&seed.data)?, limit)?;
            ingest::ingest(state, upload_of(bytes, "base64", &principal)).await?
        }
        "url" => {
            let bytes = state.fetcher.fetch(&seed.data).await.map_err(fetch_error)?;
            ingest::ingest(state, upload_of(bytes, "url", &principal)).await?
        }
        "uuid" => {
            let source = state.image_for(&principal, seed.data.trim()).await?;
            ingest::copy(state, &source, principal.owner.clone()).await?
        }
        other => {
            return Err(ApiError::bad_request(format!("unknown type {other:?}: use \"base64\", \"url\" or \"uuid\"")));
        }
    };
    // The seed API answers 200, and its clients' tests assert that.
    Ok(with_location(StatusCode::OK, Json(ImageView::from(&record)).into_response(), &record))
}

async fn pinster_upload(state: &Runtime, principal: Principal, data: PinsterImage, limit: u64) -> ApiResult<Response> {
    for (field, value) in [("name", &data.name), ("description", &data.description)] {
        if let Some(text) = value {
            let chars = text.chars().count();
            if !(3..=140).contains(&chars) {
                return Err(ApiError::bad_request(format!("{field} must be 3 to 140 characters long, not {chars}")));
            }
        }
    }
    let bytes = checked_len(decode_base64(&data.image)?, limit)?;
    let upload =
        ingest::Upload { name: data.name, description: data.description, ..upload_of(bytes, "pinster", &principal) };
    let record = ingest::ingest(state, upload).await?;
    Ok(created(&record))
}

fn checked_len(bytes: Bytes, limit: u64) -> ApiResult<Bytes> {
    if bytes.len() as u64 > limit { Err(too_large(limit)) } else { Ok(bytes) }
}

/// Many files in one request: all land, or none do.
async fn multipart(state: &Arc<Runtime>, principal: Principal, request: Request) -> ApiResult<Response> {
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|e| ApiError::bad_request(format!("invalid multipart body: {e}")))?;
    let mut landed: Vec<ImageRecord> = Vec::new();
    let result = async {
        while let Some(mut field) = form.next_field().await.map_err(|e| field_error(e.into()))? {
            let is_file = field.file_name().is_some() || field.content_type().is_some_and(|t| t.starts_with("image/"));
            if !is_file {
                continue;
            }
            if landed.len() >= state.config.limits.max_files {
                return Err(ApiError::new(
                    Code::PayloadTooLarge,
                    format!("more than {} files in one request (limits.max_files)", state.config.limits.max_files),
                ));
            }
            let file_name = field.file_name().unwrap_or("unnamed").to_string();
            let bytes =
                pictor_multipart::bytes(&mut field, state.config.limits.max_upload_bytes).await.map_err(field_error)?;
            let upload = ingest::Upload { name: Some(file_name.clone()), ..upload_of(bytes, "multipart", &principal) };
            let record = ingest::ingest(state, upload).await.map_err(|mut e| {
                e.detail = format!("{file_name}: {}", e.detail);
                e
            })?;
            landed.push(record);
        }
        if landed.is_empty() {
            return Err(ApiError::bad_request("the multipart body has no file parts"));
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        for record in &landed {
            super::images::remove(state, record).await;
        }
        return Err(e);
    }
    let views: Vec<ImageView> = landed.iter().map(ImageView::from).collect();
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "images": views }))).into_response())
}

/// A file part that could not be read: over the upload limit, or broken.
fn field_error(e: FieldError) -> ApiError {
    match e {
        FieldError::TooLarge { max, .. } => too_large(max),
        malformed @ FieldError::Malformed(_) => ApiError::bad_request(malformed.to_string()),
    }
}

fn fetch_error(e: FetchError) -> ApiError {
    match e {
        FetchError::InvalidUrl(why) | FetchError::InvalidPolicy(why) => {
            ApiError::bad_request(format!("bad image URL: {why}"))
        }
        FetchError::Forbidden(why) => ApiError::new(Code::Forbidden, why),
        FetchError::TooLarge { limit } => too_large(limit),
        FetchError::Timeout => {
            ApiError::new(Code::UpstreamFailed, "fetching the image URL timed out (fetch.timeout_secs)")
                .with_status(StatusCode::GATEWAY_TIMEOUT)
        }
        FetchError::Upstream(why) => ApiError::new(Code::UpstreamFailed, why),
    }
}

fn created(record: &ImageRecord) -> Response {
    with_location(StatusCode::CREATED, Json(ImageView::from(record)).into_response(), record)
}

fn with_location(status: StatusCode, mut response: Response, record: &ImageRecord) -> Response {
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(&format!("/api/v1/img/{}", record.id)) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}
