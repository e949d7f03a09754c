//! Shares over HTTP: the owner's API (`/api/v1/shares`: list, create,
//! revoke, access log) and the images behind a share's link, for guests:
//! `/s/{token}/img/{id}.{format}?thumbnail=N` and `/s/{token}/original/{id}`.
//! The rules are the core's (`pictor_core::shares`); the pages are the web
//! app's (`pictor_web`, `/s/{token}`).
//!
//! Every image request checks the link is live, the guest's password pass
//! (when the share has a password) and that the photo is in the share, and
//! is answered `private, no-cache`: no cache keeps serving it after the
//! link is revoked.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pictor_core::shares::{self, ShareKind, ShareOptions};
use pictor_db::{ShareAccess, ShareSummary};
use pictor_imaging::OutputFormat;
use pictor_jobs::Runtime;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::images::{derivative_response, original_response};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Authed, PathId, Read, Upload};

/// A share as its owner sees it over the API (never its token).
#[derive(Serialize, ToSchema)]
pub struct ShareView {
    pub id: String,
    /// `album` or `photo`.
    pub kind: String,
    /// The album's or photo's id.
    pub target: String,
    /// The album's name or the photo's, if any.
    pub target_name: Option<String>,
    pub has_password: bool,
    /// Unix time in milliseconds; absent: never.
    pub expires_at: Option<i64>,
    /// Whether guests see the camera and place and get originals with metadata.
    pub show_metadata: bool,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    /// Pages guests were shown.
    pub views: i64,
    pub last_access: Option<i64>,
}

impl From<ShareSummary> for ShareView {
    fn from(s: ShareSummary) -> Self {
        let share = s.share;
        Self {
            has_password: share.password_hash.is_some(),
            id: share.id,
            kind: share.kind,
            target: share.target,
            target_name: s.target_name,
            expires_at: share.expires_at,
            show_metadata: share.show_metadata,
            created_at: share.created_at,
            revoked_at: share.revoked_at,
            views: s.views,
            last_access: s.last_access,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ShareList {
    pub shares: Vec<ShareView>,
}

/// `POST /api/v1/shares`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShareFields {
    /// `album` or `photo`.
    pub kind: String,
    /// The id of one of the caller's albums or photos.
    pub target: String,
    /// Guests must give it first (4 to 1,024 characters).
    pub password: Option<String>,
    /// The link dies this many seconds after it is made (default: never).
    pub expires_in_secs: Option<u64>,
    /// Show guests the camera and place, and give originals with their metadata.
    #[serde(default)]
    pub show_metadata: bool,
}

/// A new share and its link, which is shown only here.
#[derive(Serialize, ToSchema)]
pub struct NewShareView {
    pub id: String,
    /// The link's path (`/s/{token}`); only its hash is kept.
    pub url: String,
    pub kind: String,
    pub target: String,
    pub has_password: bool,
    pub expires_at: Option<i64>,
    pub show_metadata: bool,
    pub created_at: i64,
}

#[derive(Serialize, ToSchema)]
pub struct AccessList {
    /// The latest visits, newest first.
    #[schema(value_type = Vec<Object>)]
    pub access: Vec<ShareAccess>,
}

/// `GET /api/v1/shares`: the caller's shares, newest first.
#[utoipa::path(get, operation_id = "list_shares", path = "/api/v1/shares", tag = "shares",
    responses((status = 200, description = "The caller's shares, with their use", body = ShareList)))]
pub async fn list(State(state): State<Arc<Runtime>>, caller: Authed<Read>) -> ApiResult<Json<ShareList>> {
    let listed = shares::list(&state.db, &caller).await?;
    Ok(Json(ShareList { shares: listed.into_iter().map(ShareView::from).collect() }))
}

/// `POST /api/v1/shares`: a link to one of the caller's albums or photos.
#[utoipa::path(post, operation_id = "create_share", path = "/api/v1/shares", tag = "shares", request_body = NewShareFields,
    responses((status = 201, description = "Created; `url` is shown only now", body = NewShareView),
              (status = 400, description = "Invalid kind, password or expiry (problem+json)"),
              (status = 404, description = "No such album or photo of the caller's")))]
pub async fn create(
    State(state): State<Arc<Runtime>>,
    caller: Authed<Upload>,
    body: Result<Json<NewShareFields>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(fields) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let kind = ShareKind::parse(&fields.kind)?;
    let options = ShareOptions {
        password: fields.password,
        expires_in: fields.expires_in_secs.map(Duration::from_secs),
        show_metadata: fields.show_metadata,
    };
    let link = shares::create(&state, &caller, kind, &fields.target, &options).await?;
    let share = link.share;
    let view = NewShareView {
        url: format!("/s/{}", link.token),
        has_password: share.password_hash.is_some(),
        id: share.id,
        kind: share.kind,
        target: share.target,
        expires_at: share.expires_at,
        show_metadata: share.show_metadata,
        created_at: share.created_at,
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// `DELETE /api/v1/shares/{id}`: revokes the link (page and images at once).
#[utoipa::path(delete, operation_id = "revoke_share", path = "/api/v1/shares/{id}", tag = "shares",
    params(("id" = String, Path, description = "Share id")),
    responses((status = 204, description = "Revoked (or already was)"),
              (status = 404, description = "Not found, or not the caller's")))]
pub async fn revoke(
    State(state): State<Arc<Runtime>>,
    caller: Authed<Upload>,
    PathId(id): PathId,
) -> ApiResult<StatusCode> {
    shares::revoke(&state.db, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccessQuery {
    /// How many visits, 1–1000 (default 100).
    pub limit: Option<i64>,
}

/// `GET /api/v1/shares/{id}/access`: the share's access log.
#[utoipa::path(get, operation_id = "share_access", path = "/api/v1/shares/{id}/access", tag = "shares",
    params(("id" = String, Path, description = "Share id"), AccessQuery),
    responses((status = 200, description = "Visits: `at`, `network` (IPv4 /24 or IPv6 /48), `user_agent`, \
                                            `outcome` (viewed, wrong_password, expired, revoked)", body = AccessList),
              (status = 404, description = "Not found, or not the caller's")))]
pub async fn access(
    State(state): State<Arc<Runtime>>,
    caller: Authed<Read>,
    PathId(id): PathId,
    Query(q): Query<AccessQuery>,
) -> ApiResult<Json<AccessList>> {
    let limit = super::http::page_limit(q.limit, 100)?;
    Ok(Json(AccessList { access: shares::access_log(&state.db, &caller, &id, limit).await? }))
}

#[derive(Deserialize)]
pub struct ThumbnailQuery {
    thumbnail: u32,
}

/// `GET /s/{token}/img/{id}.{format}?thumbnail=N`: a thumbnail of a shared
/// photo (webp, jpg or png; N one of 256, 512, 1024, 2048), without metadata.
#[utoipa::path(get, operation_id = "shared_image", path = "/s/{token}/img/{file}", tag = "shares",
    params(("token" = String, Path, description = "The link's token"),
           ("file" = String, Path, description = "`{id}.{format}`: webp, jpg or png"),
           ("thumbnail" = u32, Query, description = "256, 512, 1024 or 2048")),
    responses((status = 200, description = "The thumbnail, metadata stripped"),
              (status = 401, description = "The link has a password and the request no pass (its cookie)"),
              (status = 404, description = "No such link, or the photo is not in it"),
              (status = 410, description = "The link was revoked or expired")))]
pub async fn image(
    State(state): State<Arc<Runtime>>,
    Path((token, file)): Path<(String, String)>,
    query: Result<Query<ThumbnailQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (id, extension) =
        file.rsplit_once('.').ok_or_else(|| ApiError::not_found("a shared image is {id}.{format}"))?;
    let format = OutputFormat::from_str(extension)
        .ok()
        .filter(|f| matches!(f, OutputFormat::Webp | OutputFormat::Jpeg | OutputFormat::Png))
        .ok_or_else(|| ApiError::bad_request("a shared photo comes as .webp, .jpg or .png"))?;
    let guest = shares::guest(&state, &token, pictor_web::share_pass(&headers), None).await?;
    let record = guest.record(&state, id).await?;
    let Query(q) = query.map_err(|_| ApiError::bad_request("a shared photo needs ?thumbnail=N"))?;
    let derivative = guest.thumbnail(&state, &record, q.thumbnail, format).await?;
    Ok(private(derivative_response(&derivative, &headers, false)))
}

/// `GET /s/{token}/original/{id}`: a shared photo at full size: the
/// original when the owner opted in to metadata, else re-encoded without it.
#[utoipa::path(get, operation_id = "shared_original", path = "/s/{token}/original/{id}", tag = "shares",
    params(("token" = String, Path, description = "The link's token"), ("id" = String, Path, description = "Image id")),
    responses((status = 200, description = "The photo at full size"),
              (status = 401, description = "The link has a password and the request no pass (its cookie)"),
              (status = 404, description = "No such link, or the photo is not in it"),
              (status = 410, description = "The link was revoked or expired")))]
pub async fn original(
    State(state): State<Arc<Runtime>>,
    Path((token, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let guest = shares::guest(&state, &token, pictor_web::share_pass(&headers), None).await?;
    let record = guest.record(&state, &id).await?;
    let response = match guest.full_size(&state, &record).await? {
        Some(derivative) => derivative_response(&derivative, &headers, false),
        None => original_response(&state, &record, &headers).await?,
    };
    Ok(private(response))
}

/// Keeps a guest's image out of shared caches, and has the browser ask
/// again each time (a 304 while the link lives).
fn private(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}
