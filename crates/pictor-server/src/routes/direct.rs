//! Direct uploads over HTTP (the rules are [`pictor_core::direct`]'s):
//!
//! - `POST /api/v1/uploads` with `Content-Type: application/json` (a tus
//!   request carries `Tus-Resumable` instead): `{"files": [{"name",
//!   "size", "content_type", "sha256"?}], "form": "put"|"post"}` → per
//!   file a presigned `PUT` URL or an S3 POST form, or `duplicate_of`.
//! - `POST /api/v1/uploads/{id}/complete`: lands the object: `201` with the
//!   image, as `POST /api/v1/img` answers.
//! - On a local store the server is the store: `PUT
//!   /api/v1/direct/{id}/{name}?X-Amz-…` (a URL it signed) and `POST
//!   /api/v1/direct` (a form with its SigV4 policy), each checked before
//!   the body is read. No credentials: the signature is one.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use pictor_core::auth::Principal;
use pictor_core::direct::{self, FileRequest, Form, Target, Ticket};
use pictor_jobs::Runtime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::http::read_within;
use super::images::ImageView;
use crate::error::{ApiError, ApiResult, Code};
use crate::extract::PathId;
use pictor_multipart::FieldError;

use super::resumable::Uploader;

/// A request for direct uploads.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectRequest {
    /// The files to send, at most `limits.max_files`.
    pub files: Vec<DirectFile>,
    /// `put` (default): a presigned PUT URL per file; `post`: an S3-style
    /// POST form (policy) per file.
    #[serde(default)]
    pub form: Option<String>,
}

/// One file to send.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectFile {
    /// Its name (the image's name once it lands).
    pub name: String,
    /// Its size in bytes; the object may hold no more.
    pub size: u64,
    /// `image/jpeg`, `image/png`, `image/gif`, `image/webp`, `image/tiff`,
    /// `image/bmp`, `image/avif` or `image/heic`: the object must be sent
    /// with it, and be one.
    pub content_type: String,
    /// Lower-case hex sha256 of its bytes: when you already have an image
    /// with them, the answer names it (`duplicate_of`) and no upload is made.
    pub sha256: Option<String>,
}

/// What to do with each file, in the request's order.
#[derive(Serialize, ToSchema)]
pub struct DirectTickets {
    pub uploads: Vec<DirectTicket>,
}

/// One file's upload, or the image that already holds its content.
#[derive(Serialize, ToSchema)]
pub struct DirectTicket {
    pub name: String,
    /// The upload's id (absent for a duplicate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Your earlier image with this content (then nothing is to be sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
    /// `PUT` or `POST`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Where to send the bytes: the store's, or this server's on a local store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// For `PUT`: the headers to send (`Content-Type`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// For `POST`: the form's fields, sent before the `file` field (last).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
    /// When the URL or form expires (Unix ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Where to `POST` once the bytes are sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete_url: Option<String>,
}

impl From<Ticket> for DirectTicket {
    fn from(ticket: Ticket) -> Self {
        let none = Self {
            name: String::new(),
            id: None,
            duplicate_of: None,
            method: None,
            url: None,
            headers: None,
            fields: None,
            expires_at: None,
            complete_url: None,
        };
        match ticket {
            Ticket::Duplicate { name, image_id } => Self { name, duplicate_of: Some(image_id), ..none },
            Ticket::Upload { id, name, target, expires_at } => {
                let complete_url = Some(format!("/api/v1/uploads/{id}/complete"));
                let common = Self { name, id: Some(id), expires_at: Some(expires_at), complete_url, ..none };
                match target {
                    Target::Put { url, headers } => {
                        Self { method: Some("PUT".into()), url: Some(url), headers: Some(headers), ..common }
                    }
                    Target::Post { url, fields } => {
                        Self { method: Some("POST".into()), url: Some(url), fields: Some(fields), ..common }
                    }
                }
            }
        }
    }
}

/// Whether a `POST /api/v1/uploads` asks for direct uploads (JSON, and no
/// tus header) rather than a resumable one.
pub fn is_direct(headers: &HeaderMap) -> bool {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    json && !headers.contains_key("tus-resumable") && !headers.contains_key("upload-length")
}

/// `POST /api/v1/uploads` with a JSON body (dispatched from the tus route,
/// whose OpenAPI entry documents both).
pub async fn create(state: &Arc<Runtime>, principal: Principal, request: Request) -> ApiResult<Response> {
    let base_url = pictor_web::public_url(&state.config, request.headers());
    let Json(body) = Json::<DirectRequest>::from_request(request, state).await.map_err(|e| {
        ApiError::bad_request(format!(
            "send {{\"files\": [{{\"name\", \"size\", \"content_type\"}}]}}: {}",
            e.body_text()
        ))
    })?;
    let form = match body.form.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("put") => Form::Put,
        Some("post") => Form::Post,
        Some(other) => return Err(ApiError::bad_request(format!("form must be \"put\" or \"post\", not {other:?}"))),
    };
    let files = body
        .files
        .into_iter()
        .map(|f| FileRequest { name: f.name, size: f.size, content_type: f.content_type, sha256: f.sha256 })
        .collect();
    let tickets = direct::create(state, &principal, &base_url, files, form).await?;
    let uploads = tickets.into_iter().map(DirectTicket::from).collect();
    let mut response = (StatusCode::OK, Json(DirectTickets { uploads })).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[utoipa::path(
    post, operation_id = "direct_complete", path = "/api/v1/uploads/{id}/complete", tag = "uploads",
    params(("id" = String, Path, description = "The direct upload's id")),
    responses(
        (status = 201, description = "Landed (or landed before: the same image)", body = ImageView, headers(
            ("Location" = String, description = "/api/v1/img/{id}"),
            ("Pictor-Duplicate-Of" = String, description = "An earlier image of yours with the same content"),
        )),
        (status = 404, description = "No such upload (or another's)"),
        (status = 409, description = "Nothing has arrived yet, or another request is completing it"),
        (status = 410, description = "Expired"),
        (status = "4XX", description = "Problem (application/problem+json): over the declared size (413), another type (415), not an image (415, 422); the upload is then deleted"),
    )
)]
pub async fn complete(
    State(state): State<Arc<Runtime>>,
    Uploader(principal): Uploader,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let completed = direct::complete(&state, &principal, &id).await?;
    let mut response = (StatusCode::CREATED, Json(ImageView::from(&completed.image))).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("/api/v1/img/{}", completed.image.id)) {
        headers.insert(header::LOCATION, value);
    }
    if let Some(earlier) = completed.duplicate_of.and_then(|id| HeaderValue::from_str(&id).ok()) {
        headers.insert("pictor-duplicate-of", earlier);
    }
    Ok(response)
}

#[utoipa::path(
    put, operation_id = "direct_put", path = "/api/v1/direct/{id}/{name}", tag = "uploads",
    params(
        ("id" = String, Path, description = "The direct upload's id"),
        ("name" = String, Path, description = "The object's name"),
        ("X-Amz-Algorithm" = String, Query, description = "PICTOR-HMAC-SHA256"),
        ("X-Amz-Date" = String, Query, description = "When it was signed, 20261203T063000Z"),
        ("X-Amz-Expires" = u64, Query, description = "Seconds it is valid"),
        ("X-Pictor-Content-Type" = String, Query, description = "The Content-Type to send"),
        ("X-Pictor-Max-Bytes" = u64, Query, description = "The most bytes to send"),
        ("X-Amz-Signature" = String, Query, description = "HMAC-SHA256 of the above under the server's key"),
    ),
    request_body(description = "The file", content((String = "image/*"))),
    responses(
        (status = 200, description = "Stored: now complete the upload"),
        (status = 403, description = "signature_mismatch: tampered or foreign"),
        (status = 410, description = "The URL expired"),
        (status = 413, description = "Over the declared size"),
        (status = 415, description = "Not the declared Content-Type"),
    )
)]
pub async fn put_object(
    State(state): State<Arc<Runtime>>,
    Path((id, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    request: Request,
) -> ApiResult<StatusCode> {
    let (parts, body) = request.into_parts();
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let checked = match put_query(query.as_deref().unwrap_or("")) {
        Ok(query) => direct::accept_put(&state, &id, &name, &query, content_type).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    let grant = match checked.and_then(|grant| Ok((grant, slot(&state)?))) {
        Ok(granted) => granted,
        Err(e) => {
            pictor_multipart::drain(body.into_data_stream()).await;
            return Err(e);
        }
    };
    let (max, idle) = (grant.0.max_bytes, state.config.request_timeout());
    let bytes = read_within(body.into_data_stream(), 0, max, Some(idle), |sent| too_large(sent, max)).await?;
    // An upload that lands on arrival (`PUT /pam/upload`'s) lands now.
    direct::store(&state, &grant.0, bytes).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(
    post, operation_id = "direct_post", path = "/api/v1/direct", tag = "uploads",
    request_body(description = "multipart/form-data: the form's fields (key, Content-Type, policy, x-amz-algorithm, x-amz-credential, x-amz-date, x-amz-signature), then `file`", content((String = "multipart/form-data"))),
    responses(
        (status = 204, description = "Stored: now complete the upload"),
        (status = 403, description = "signature_mismatch (tampered or foreign policy), or forbidden (a field breaks the policy)"),
        (status = 410, description = "The policy expired"),
        (status = 413, description = "Outside the policy's content-length-range"),
    )
)]
pub async fn post_object(State(state): State<Arc<Runtime>>, request: Request) -> ApiResult<StatusCode> {
    let accept = async |fields: &BTreeMap<String, String>| direct::accept_post(&state, fields).await;
    let (grant, bytes, _slot) = policy_form(&state, request, accept, |g: &direct::Grant| g.max_bytes).await?;
    direct::store(&state, &grant, bytes).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reads an S3-style POST form: its fields, which `accept` checks before
/// any byte of the file is read, then the file (at most `max_of` the
/// grant's bytes), holding an upload slot.
pub(crate) async fn policy_form<G>(
    state: &Arc<Runtime>,
    request: Request,
    accept: impl AsyncFnOnce(&BTreeMap<String, String>) -> pictor_core::Result<G>,
    max_of: impl Fn(&G) -> u64,
) -> ApiResult<(G, Bytes, tokio::sync::OwnedSemaphorePermit)> {
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|e| ApiError::bad_request(format!("send multipart/form-data: {e}")))?;
    let mut fields = BTreeMap::new();
    while let Some(mut field) = form.next_field().await.map_err(|e| field_error(e.into()))? {
        let name = field.name().unwrap_or("").to_string();
        if name != "file" {
            if fields.len() >= 32 {
                return Err(ApiError::bad_request("the form has too many fields"));
            }
            let value = pictor_multipart::text(&mut field).await.map_err(|e| ApiError::bad_request(e.to_string()))?;
            fields.insert(name, value);
            continue;
        }
        // The policy is checked before any byte of the file is read.
        let grant = match accept(&fields).await {
            Ok(grant) => grant,
            Err(e) => {
                pictor_multipart::drain(&mut field).await;
                return Err(e.into());
            }
        };
        let slot = slot(state)?;
        let bytes = pictor_multipart::bytes(&mut field, max_of(&grant)).await.map_err(field_error)?;
        return Ok((grant, bytes, slot));
    }
    Err(ApiError::bad_request("the form has no file field (it comes last, after the policy's fields)"))
}

fn put_query(query: &str) -> ApiResult<direct::PutQuery> {
    let pairs: serde_json::Map<String, serde_json::Value> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| {
            let value = match k.as_ref() {
                "X-Amz-Expires" | "X-Pictor-Max-Bytes" => {
                    v.parse::<u64>().map(serde_json::Value::from).unwrap_or(serde_json::Value::Null)
                }
                _ => serde_json::Value::String(v.into_owned()),
            };
            (k.into_owned(), value)
        })
        .filter(|(_, v)| !v.is_null())
        .collect();
    serde_json::from_value(serde_json::Value::Object(pairs))
        .map_err(|e| ApiError::bad_request(format!("the presigned URL's query is malformed: {e}")))
}

fn slot(state: &Runtime) -> ApiResult<tokio::sync::OwnedSemaphorePermit> {
    state.upload_slots.clone().try_acquire_owned().map_err(|_| {
        let mut busy = ApiError::overloaded();
        busy.detail = "too many uploads are being received (limits.concurrent_uploads); retry shortly".into();
        busy
    })
}

fn too_large(sent: u64, max: u64) -> ApiError {
    ApiError::new(
        Code::PayloadTooLarge,
        format!(
            "the file is over the {max} bytes declared ({sent} or more sent): start a new upload with its real size"
        ),
    )
}

/// The file part that could not be read: over the grant's size, or broken.
fn field_error(e: FieldError) -> ApiError {
    match e {
        FieldError::TooLarge { seen, max } => too_large(seen, max),
        malformed @ FieldError::Malformed(_) => ApiError::bad_request(malformed.to_string()),
    }
}
