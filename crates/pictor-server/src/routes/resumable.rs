//! Resumable uploads over the tus 1.0.0 protocol
//! (<https://tus.io/protocols/resumable-upload>): core, creation,
//! creation-with-upload, termination and expiration.
//!
//! - `OPTIONS /api/v1/uploads`: what the server supports.
//! - `POST /api/v1/uploads`: starts an upload (`Upload-Length`,
//!   `Upload-Metadata`), optionally with its first chunk.
//! - `HEAD /api/v1/uploads/{id}`: its offset, to resume from.
//! - `PATCH /api/v1/uploads/{id}`: a chunk at `Upload-Offset`.
//! - `DELETE /api/v1/uploads/{id}`: abandons it.
//! - `POST /api/v1/uploads/{id}` with `X-HTTP-Method-Override`: PATCH,
//!   DELETE or HEAD, for clients that cannot send those.
//!
//! The rules live in [`pictor_core::resumable`]; this module reads and
//! writes the protocol's headers. The chunk that completes an upload
//! answers, beside the protocol's headers, `Pictor-Image-Id` and a `Link` to
//! the image, and `Pictor-Duplicate-Of` when the owner already had an image
//! with the same content.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pictor_core::auth::{Principal, Scope};
use pictor_core::resumable::{self, Chunk, Progress};
use pictor_jobs::Runtime;

use crate::error::{ApiError, ApiResult, Code};
use crate::extract::{PathId, caller, credential};

/// The protocol version spoken.
pub const TUS_VERSION: &str = "1.0.0";
/// The extensions supported.
pub const TUS_EXTENSIONS: &str = "creation,creation-with-upload,termination,expiration";
/// The media type of every chunk.
const OFFSET_STREAM: &str = "application/offset+octet-stream";
/// The header the web app sends its session's CSRF token in.
const CSRF_HEADER: &str = "x-csrf-token";

const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");

/// Every request but OPTIONS must speak our version (412 otherwise), and
/// every answer says which it speaks. No answer but discovery is cached:
/// an offset is only true now.
pub async fn protocol(request: Request, next: Next) -> Response {
    // A JSON `POST /api/v1/uploads` asks for direct uploads, not tus.
    if request.method() == Method::POST
        && request.uri().path() == "/api/v1/uploads"
        && super::direct::is_direct(request.headers())
    {
        return next.run(request).await;
    }
    let discovery = request.method() == Method::OPTIONS;
    let mut response = match check_version(&request) {
        Ok(()) => next.run(request).await,
        Err(refused) => refused.into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(TUS_RESUMABLE, HeaderValue::from_static(TUS_VERSION));
    if !discovery {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if response.status() == StatusCode::PRECONDITION_FAILED {
        response.headers_mut().insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    }
    response
}

fn check_version(request: &Request) -> ApiResult<()> {
    let version = request.headers().get(&TUS_RESUMABLE).and_then(|v| v.to_str().ok());
    if request.method() != Method::OPTIONS && version.map(str::trim) != Some(TUS_VERSION) {
        return Err(ApiError::new(
            Code::InvalidRequest,
            format!("send Tus-Resumable: {TUS_VERSION} (this server speaks tus {TUS_VERSION} only)"),
        )
        .with_status(StatusCode::PRECONDITION_FAILED));
    }
    Ok(())
}

/// The caller of a resumable upload: someone with the upload scope, from
/// an API credential as for `POST /api/v1/img`, or from the web app's
/// session cookie with the session's CSRF token in `X-CSRF-Token` (a header
/// no cross-site form can send).
pub struct Uploader(pub(crate) Principal);

impl FromRequestParts<Arc<Runtime>> for Uploader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<Runtime>) -> Result<Self, ApiError> {
        if let Some(principal) = web_session(state, &parts.headers).await? {
            return Ok(Self(principal));
        }
        Ok(Self(caller(state, &parts.headers, &parts.method, Scope::Upload).await?))
    }
}

async fn web_session(state: &Runtime, headers: &HeaderMap) -> ApiResult<Option<Principal>> {
    let (None, Some(token), Some(csrf)) = (
        credential(headers),
        pictor_web::session_token(headers),
        headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()),
    ) else {
        return Ok(None);
    };
    let Some(session) = pictor_core::accounts::session(&state.db, token).await? else { return Ok(None) };
    let principal = pictor_core::accounts::principal(&session.user);
    Ok((pictor_core::accounts::csrf_matches(&session, csrf) && principal.has(Scope::Upload)).then_some(principal))
}

#[utoipa::path(
    options, operation_id = "tus_options", path = "/api/v1/uploads", tag = "uploads",
    responses((status = 204, description = "What the server supports", headers(
        ("Tus-Version" = String, description = "1.0.0"),
        ("Tus-Extension" = String, description = "creation,creation-with-upload,termination,expiration"),
        ("Tus-Max-Size" = u64, description = "The largest upload, in bytes (limits.max_upload_bytes)"),
    )))
)]
pub async fn options(State(state): State<Arc<Runtime>>) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    headers.insert("tus-extension", HeaderValue::from_static(TUS_EXTENSIONS));
    headers.insert("tus-max-size", HeaderValue::from(state.config.limits.max_upload_bytes));
    response
}

#[utoipa::path(
    post, operation_id = "tus_create", path = "/api/v1/uploads", tag = "uploads",
    params(
        ("Tus-Resumable" = String, Header, description = "1.0.0"),
        ("Upload-Length" = u64, Header, description = "The upload's size in bytes, at most limits.max_upload_bytes"),
        ("Upload-Metadata" = Option<String>, Header, description = "Comma-separated `key base64(value)` pairs: `filename` names the image"),
    ),
    request_body(description = "Optionally the first chunk (creation-with-upload); or, with `Content-Type: application/json` and no `Tus-Resumable`, a request for direct uploads (presigned PUT URLs or S3 POST forms)", content((String = "application/offset+octet-stream"), (super::direct::DirectRequest = "application/json"))),
    responses(
        (status = 200, description = "Direct uploads (a JSON request): per file a presigned target, or `duplicate_of`", body = super::direct::DirectTickets),
        (status = 201, description = "Created", headers(
            ("Location" = String, description = "The upload's URL, /api/v1/uploads/{id}"),
            ("Upload-Offset" = u64, description = "Bytes received"),
            ("Upload-Expires" = String, description = "When an unfinished upload is deleted"),
        )),
        (status = "4XX", description = "Problem (application/problem+json); 412 without Tus-Resumable: 1.0.0, 413 over the limit, 429 past limits.open_uploads_per_owner"),
    )
)]
pub async fn create(
    State(state): State<Arc<Runtime>>,
    Uploader(principal): Uploader,
    request: Request,
) -> ApiResult<Response> {
    state.uploads.check(&super::upload::client_key(&principal, &request))?;
    if super::direct::is_direct(request.headers()) {
        return super::direct::create(&state, principal, request).await;
    }
    let headers = request.headers();
    if headers.contains_key("upload-defer-length") {
        return Err(ApiError::bad_request("Upload-Defer-Length is not supported: send Upload-Length"));
    }
    let length = number(headers, &UPLOAD_LENGTH)?.ok_or_else(|| ApiError::bad_request("send Upload-Length"))?;
    let metadata = match headers.get("upload-metadata") {
        Some(value) => resumable::parse_metadata(value.to_str().map_err(|_| not_ascii("Upload-Metadata"))?)?,
        None => Default::default(),
    };
    let with_chunk = has_body(headers);
    if with_chunk {
        offset_stream(headers)?;
    }
    let created = resumable::create(&state, &principal, length, metadata).await?;
    if !with_chunk {
        return Ok(created_response(&created));
    }
    match append_detached(&state, principal.clone(), &created.id, 0, request).await {
        Ok(progress) => Ok(created_response(&progress)),
        // The upload exists; its chunk may be sent again.
        Err(e) if e.status().is_server_error() => {
            let progress = resumable::progress(&state, &principal, &created.id).await.unwrap_or(created);
            Ok(created_response(&progress))
        }
        // Refused (not an image, too long): nothing is kept.
        Err(e) => {
            let _ = resumable::terminate(&state, &principal, &created.id).await;
            Err(e)
        }
    }
}

fn created_response(progress: &Progress) -> Response {
    let mut response = progress_response(StatusCode::CREATED, progress);
    let location = format!("/api/v1/uploads/{}", progress.id);
    response.headers_mut().insert(header::LOCATION, HeaderValue::from_str(&location).expect("ids are hex"));
    response
}

#[utoipa::path(
    head, operation_id = "tus_head", path = "/api/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "The upload's id"), ("Tus-Resumable" = String, Header, description = "1.0.0")),
    responses(
        (status = 200, description = "Where the upload stands", headers(
            ("Upload-Offset" = u64, description = "Bytes received: resume from here"),
            ("Upload-Length" = u64, description = "The upload's size"),
            ("Upload-Metadata" = String, description = "As sent at creation"),
            ("Upload-Expires" = String, description = "When it is deleted"),
            ("Pictor-Image-Id" = String, description = "The image it became, once complete"),
        )),
        (status = 404, description = "No such upload (or another's)"),
        (status = 410, description = "Expired"),
    )
)]
pub async fn head(
    State(state): State<Arc<Runtime>>,
    Uploader(principal): Uploader,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let progress = resumable::progress(&state, &principal, &id).await?;
    let mut response = progress_response(StatusCode::OK, &progress);
    let headers = response.headers_mut();
    headers.insert(UPLOAD_LENGTH, HeaderValue::from(progress.length));
    if !progress.metadata.is_empty()
        && let Ok(value) = HeaderValue::from_str(&resumable::format_metadata(&progress.metadata))
    {
        headers.insert("upload-metadata", value);
    }
    Ok(response)
}

#[utoipa::path(
    patch, operation_id = "tus_patch", path = "/api/v1/uploads/{id}", tag = "uploads",
    params(
        ("id" = String, Path, description = "The upload's id"),
        ("Tus-Resumable" = String, Header, description = "1.0.0"),
        ("Upload-Offset" = u64, Header, description = "Where this chunk starts: the upload's offset"),
    ),
    request_body(description = "The chunk: at most limits.upload_chunk_bytes", content((String = "application/offset+octet-stream"))),
    responses(
        (status = 204, description = "Received; the last chunk lands the image", headers(
            ("Upload-Offset" = u64, description = "Bytes received"),
            ("Upload-Expires" = String, description = "When an unfinished upload is deleted"),
            ("Pictor-Image-Id" = String, description = "The image it became, once complete"),
            ("Pictor-Duplicate-Of" = String, description = "An earlier image of yours with the same content"),
        )),
        (status = 409, description = "Upload-Offset is not the upload's offset: ask with HEAD"),
        (status = 415, description = "Content-Type is not application/offset+octet-stream"),
        (status = "4XX", description = "Problem (application/problem+json): the complete upload is not an image, …"),
    )
)]
pub async fn patch(
    State(state): State<Arc<Runtime>>,
    Uploader(principal): Uploader,
    PathId(id): PathId,
    request: Request,
) -> ApiResult<Response> {
    offset_stream(request.headers())?;
    let offset =
        number(request.headers(), &UPLOAD_OFFSET)?.ok_or_else(|| ApiError::bad_request("send Upload-Offset"))?;
    let progress = append_detached(&state, principal, &id, offset, request).await?;
    Ok(progress_response(StatusCode::NO_CONTENT, &progress))
}

#[utoipa::path(
    delete, operation_id = "tus_delete", path = "/api/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "The upload's id"), ("Tus-Resumable" = String, Header, description = "1.0.0")),
    responses(
        (status = 204, description = "Deleted with its parts (an image it became stays)"),
        (status = 404, description = "No such upload (or another's)"),
    )
)]
pub async fn delete(
    State(state): State<Arc<Runtime>>,
    Uploader(principal): Uploader,
    PathId(id): PathId,
) -> ApiResult<StatusCode> {
    resumable::terminate(&state, &principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A POST that stands for the method in `X-HTTP-Method-Override`, for
/// clients that cannot send PATCH or DELETE.
#[utoipa::path(
    post, operation_id = "tus_override", path = "/api/v1/uploads/{id}", tag = "uploads",
    params(
        ("id" = String, Path, description = "The upload's id"),
        ("Tus-Resumable" = String, Header, description = "1.0.0"),
        ("X-HTTP-Method-Override" = String, Header, description = "PATCH, DELETE or HEAD: the method this request stands for"),
    ),
    request_body(description = "As for the method it stands for", content((String = "application/offset+octet-stream"))),
    responses(
        (status = 204, description = "As PATCH or DELETE"),
        (status = 200, description = "As HEAD"),
        (status = 405, description = "No X-HTTP-Method-Override naming PATCH, DELETE or HEAD"),
    )
)]
pub async fn overridden(
    state: State<Arc<Runtime>>,
    uploader: Uploader,
    id: PathId,
    request: Request,
) -> ApiResult<Response> {
    let method = request.headers().get("x-http-method-override").and_then(|v| v.to_str().ok()).unwrap_or("");
    match method.trim().to_ascii_uppercase().as_str() {
        "PATCH" => patch(state, uploader, id, request).await,
        "DELETE" => Ok(delete(state, uploader, id).await?.into_response()),
        "HEAD" => head(state, uploader, id).await,
        _ => Err(ApiError::new(
            Code::InvalidRequest,
            "POST on an upload needs X-HTTP-Method-Override: PATCH, DELETE or HEAD",
        )
        .with_status(StatusCode::METHOD_NOT_ALLOWED)),
    }
}

/// Appends the request's body on a task of its own, which nothing cancels
/// midway: the end of a connection may drop its handler (an HTTP/2 reset
/// does), and what arrived before must still be stored.
async fn append_detached(
    state: &Arc<Runtime>,
    principal: Principal,
    id: &str,
    offset: u64,
    request: Request,
) -> ApiResult<Progress> {
    let declared = number(request.headers(), &header::CONTENT_LENGTH)?;
    let chunk = Chunk { offset, declared, body: request.into_body().into_data_stream() };
    let (state, id) = (state.clone(), id.to_string());
    let task = tokio::spawn(async move { resumable::append(&state, &principal, &id, chunk).await });
    Ok(task.await.map_err(ApiError::internal)??)
}

/// The protocol's answer headers for `progress`, and Pictor's own.
fn progress_response(status: StatusCode, progress: &Progress) -> Response {
    let mut response = status.into_response();
    let headers = response.headers_mut();
    headers.insert(UPLOAD_OFFSET, HeaderValue::from(progress.offset));
    let expires = UNIX_EPOCH + Duration::from_millis(progress.expires_at.max(0) as u64);
    if let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(expires)) {
        headers.insert("upload-expires", value);
    }
    if let Some(image) = progress.image_id.as_deref().and_then(|id| HeaderValue::from_str(id).ok()) {
        let link = format!("</api/v1/img/{}>; rel=\"related\"", image.to_str().unwrap_or(""));
        headers.insert("pictor-image-id", image);
        headers.insert(header::LINK, HeaderValue::from_str(&link).expect("image ids are header-safe"));
    }
    if let Some(earlier) = progress.duplicate_of.as_deref().and_then(|id| HeaderValue::from_str(id).ok()) {
        headers.insert("pictor-duplicate-of", earlier);
    }
    response
}

/// A non-negative integer header; 400 when it is not one.
fn number(headers: &HeaderMap, name: &HeaderName) -> ApiResult<Option<u64>> {
    let Some(value) = headers.get(name) else { return Ok(None) };
    let parsed = value.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok());
    parsed.map(Some).ok_or_else(|| ApiError::bad_request(format!("{name} must be a non-negative integer")))
}

fn not_ascii(name: &str) -> ApiError {
    ApiError::bad_request(format!("{name} must be ASCII"))
}

/// Whether the request has a body to read.
fn has_body(headers: &HeaderMap) -> bool {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    declared.is_some_and(|n| n > 0) || headers.contains_key(header::TRANSFER_ENCODING)
}

/// Refuses a chunk that is not `application/offset+octet-stream` (415).
fn offset_stream(headers: &HeaderMap) -> ApiResult<()> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case(OFFSET_STREAM) {
        return Ok(());
    }
    Err(ApiError::new(Code::InvalidRequest, format!("send chunks with Content-Type: {OFFSET_STREAM}"))
        .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    #[test]
    fn every_request_but_options_names_the_version() {
        let current = Request::head("/x").header("tus-resumable", "1.0.0").body(Body::empty()).unwrap();
        check_version(&current).unwrap();
        let old = Request::head("/x").header("tus-resumable", "0.2.2").body(Body::empty()).unwrap();
        assert_eq!(check_version(&old).unwrap_err().status(), StatusCode::PRECONDITION_FAILED);
        let none = Request::patch("/x").body(Body::empty()).unwrap();
        assert_eq!(check_version(&none).unwrap_err().status(), StatusCode::PRECONDITION_FAILED);
        check_version(&Request::options("/x").body(Body::empty()).unwrap()).unwrap();
    }

    #[test]
    fn chunks_must_be_offset_streams() {
        let mut headers = HeaderMap::new();
        assert_eq!(offset_stream(&headers).unwrap_err().status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("Application/Offset+Octet-Stream"));
        offset_stream(&headers).unwrap();
        headers.insert(UPLOAD_OFFSET, HeaderValue::from_static("-1"));
        assert!(number(&headers, &UPLOAD_OFFSET).is_err());
    }
}
