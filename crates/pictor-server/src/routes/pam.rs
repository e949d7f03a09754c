//! The photo asset manager's own API, as its original clients call it,
//! under `pam.prefix` (`/pam` by default; empty: not mounted):
//!
//! - `PUT /pam/upload {"file_name": "x.jpg"}` → `{"url": …}`: a presigned
//!   PUT URL; the file then goes straight to the store and lands as the
//!   caller's image with no further call (`pictor_core::direct`'s uploads
//!   that land on arrival).
//! - `GET /pam/labels` → `{"labels": {"mountain": {"count": 32}, …}}`: the
//!   caller's label index.
//! - `POST /pam/download {"labels": [...]}` → `200`: a download bundle of
//!   the caller's photos with any of the labels, whose link goes to the
//!   caller's email address: the `email` field if given, else the `email`
//!   claim of the provider's token (refused when `email_verified` is false),
//!   else 409 (a Pictor account keeps no address).
//!
//! Credentials as anywhere in the API (an API key, a configured JWT, the
//! web session with its CSRF token for writes), and also the web app's
//! OIDC provider's JWTs ([`pam_caller`]), as the original took Cognito's.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use pictor_core::auth::Scope;
use pictor_core::bundles::BundleSpec;
use pictor_core::direct::{self, Target, Ticket};
use pictor_core::notify::{Channel, EmailAddress, Recipient};
use pictor_db::Audience;
use pictor_jobs::Runtime;
use pictor_jobs::jobs::notify_bundle;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, Code};
use crate::extract::{PamCaller, pam_caller};

/// The routes under `prefix` (none when it is empty).
pub fn router(prefix: &str) -> Router<Arc<Runtime>> {
    if prefix.is_empty() {
        return Router::new();
    }
    let routes =
        Router::new().route("/upload", put(upload)).route("/labels", get(labels)).route("/download", post(download));
    Router::new().nest(prefix, routes)
}

fn invalid(e: JsonRejection, shape: &str) -> ApiError {
    ApiError::new(Code::InvalidRequest, format!("send {shape}: {}", e.body_text()))
}

/// A file to upload.
#[derive(Deserialize, ToSchema)]
pub struct PamUpload {
    /// Its name, which must end in an image's extension (`.jpg`, `.png`,
    /// `.gif`, `.webp`, `.tiff`, `.bmp`, `.avif`, `.heic`).
    pub file_name: String,
}

/// Where to send the file.
#[derive(Serialize, ToSchema)]
pub struct PamUploadUrl {
    /// `PUT` the file's bytes here, with no credentials (any image
    /// `Content-Type`, or none); it lands as your image on arrival.
    pub url: String,
    /// The upload's id (`POST /api/v1/uploads/{id}/complete` lands it at
    /// once, or says why it did not).
    pub id: String,
    /// When the URL expires (Unix ms).
    pub expires_at: i64,
}

/// `PUT /pam/upload`: a presigned URL for one file.
#[utoipa::path(
    put, operation_id = "pam_upload", path = "/pam/upload", tag = "pam", request_body = PamUpload,
    description = "Under `pam.prefix` (default `/pam`). The file goes straight to the store: on a local store the PUT lands it (and answers a refusal); on S3 the server finds it within about 5 s. Up to `limits.max_upload_bytes`.",
    responses(
        (status = 200, description = "PUT the file to `url`", body = PamUploadUrl),
        (status = 400, description = "invalid_request: no file_name, or not an image's extension"),
        (status = 401, description = "No credentials"),
        (status = 429, description = "Too many open uploads (limits.open_uploads_per_owner)"),
    ),
    security(("bearer" = []))
)]
pub async fn upload(
    State(state): State<Arc<Runtime>>,
    method: Method,
    headers: HeaderMap,
    body: Result<Json<PamUpload>, JsonRejection>,
) -> ApiResult<Response> {
    let PamCaller { principal, .. } = pam_caller(&state, &headers, &method, Scope::Upload).await?;
    let Json(request) = body.map_err(|e| invalid(e, r#"{"file_name": "x.jpg"}"#))?;
    let base = pictor_web::public_url(&state.config, &headers);
    let ticket = direct::create_on_arrival(&state, &principal, &base, &request.file_name).await?;
    let Ticket::Upload { id, target: Target::Put { url, .. }, expires_at, .. } = ticket else {
        return Err(ApiError::internal("an upload on arrival made no PUT URL"));
    };
    let mut response = Json(PamUploadUrl { url, id, expires_at }).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// One label's count.
#[derive(Serialize, ToSchema)]
pub struct PamLabel {
    /// How many of your images carry it (each once).
    pub count: i64,
}

/// Your labels, by name.
#[derive(Serialize, ToSchema)]
pub struct PamLabels {
    pub labels: BTreeMap<String, PamLabel>,
}

/// `GET /pam/labels`: the caller's label index.
#[utoipa::path(
    get, operation_id = "pam_labels", path = "/pam/labels", tag = "pam",
    description = "Under `pam.prefix` (default `/pam`). Only your own images count.",
    responses(
        (status = 200, description = "Each label of your images with its count", body = PamLabels),
        (status = 401, description = "No credentials"),
    ),
    security(("bearer" = []))
)]
pub async fn labels(
    State(state): State<Arc<Runtime>>,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<Json<PamLabels>> {
    let PamCaller { principal, .. } = pam_caller(&state, &headers, &method, Scope::Read).await?;
    let counts = state.db.label_counts(Audience::Owner(principal.owner.as_deref())).await?;
    Ok(Json(PamLabels { labels: counts.into_iter().map(|l| (l.name, PamLabel { count: l.count })).collect() }))
}

/// A download of the photos with some labels.
#[derive(Deserialize, ToSchema)]
pub struct PamDownload {
    /// Photos with any of these labels (1 to 20).
    pub labels: Vec<String>,
    /// Where the link goes; by default your token's `email` claim.
    pub email: Option<String>,
}

/// The bundle being made.
#[derive(Serialize, ToSchema)]
pub struct PamBundle {
    /// The bundle's id.
    pub bundle: String,
    /// `requested` (then `restoring`, `zipping`, `ready` or `failed`).
    pub state: String,
    pub links: PamBundleLinks,
}

#[derive(Serialize, ToSchema)]
pub struct PamBundleLinks {
    /// Its progress: `GET /api/v1/bundles/{id}`.
    #[serde(rename = "self")]
    pub this: String,
}

/// `POST /pam/download`: a zip of the caller's photos with the labels; its
/// link goes to the caller's email address once ready.
#[utoipa::path(
    post, operation_id = "pam_download", path = "/pam/download", tag = "pam", request_body = PamDownload,
    description = "Under `pam.prefix` (default `/pam`). Processed asynchronously; the link (valid `bundles.link_secs`) is emailed to `email`, else to your token's `email` claim.",
    responses(
        (status = 200, description = "Requested", body = PamBundle),
        (status = 400, description = "invalid_request: no labels"),
        (status = 401, description = "No credentials"),
        (status = 403, description = "forbidden: the token's email is not verified (email_verified false); send `email`"),
        (status = 409, description = "conflict: no address on the account or token; send `email`"),
    ),
    security(("bearer" = []))
)]
pub async fn download(
    State(state): State<Arc<Runtime>>,
    method: Method,
    headers: HeaderMap,
    body: Result<Json<PamDownload>, JsonRejection>,
) -> ApiResult<Response> {
    let PamCaller { principal, email } = pam_caller(&state, &headers, &method, Scope::Read).await?;
    let Json(request) = body.map_err(|e| invalid(e, r#"{"labels": ["mountain"]}"#))?;
    let base = pictor_web::public_url(&state.config, &headers);
    // A bad request is told so before a missing address.
    BundleSpec::new(&request.labels, false, Some(Channel::Email), &base)?;
    let to = Recipient::Email(EmailAddress::parse(&recipient(request.email, email)?)?);
    let bundle = notify_bundle::request(&state, &principal, &request.labels, false, Some(to), &base).await?;
    let links = PamBundleLinks { this: format!("/api/v1/bundles/{}", bundle.id) };
    Ok(Json(PamBundle { bundle: bundle.id, state: bundle.state, links }).into_response())
}

/// Where the link goes: the address the request names, else the token's
/// (unless the provider says it is unverified).
fn recipient(given: Option<String>, token: Option<(String, Option<bool>)>) -> ApiResult<String> {
    match (given.filter(|e| !e.trim().is_empty()), token) {
        (Some(given), _) => Ok(given),
        (None, Some((_, Some(false)))) => Err(ApiError::new(
            Code::Forbidden,
            "your token's email address is not verified (email_verified is false): verify it with your \
             provider, or send {\"email\": …}",
        )),
        (None, Some((email, _))) => Ok(email),
        (None, None) => Err(ApiError::new(
            Code::Conflict,
            "there is no email address on this account for the link: send {\"labels\": […], \"email\": …}, \
             or sign in with a token that carries an email claim",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_goes_to_the_given_address_then_the_tokens_verified_one() {
        let token = |verified| Some(("t@x.io".to_string(), verified));
        assert_eq!(recipient(Some("g@x.io".into()), token(Some(false))).unwrap(), "g@x.io");
        assert_eq!(recipient(None, token(Some(true))).unwrap(), "t@x.io");
        assert_eq!(recipient(None, token(None)).unwrap(), "t@x.io");
        assert_eq!(recipient(Some(" ".into()), token(None)).unwrap(), "t@x.io");
        assert_eq!(recipient(None, token(Some(false))).unwrap_err().code, Code::Forbidden);
        assert_eq!(recipient(None, None).unwrap_err().code, Code::Conflict);
    }
}
