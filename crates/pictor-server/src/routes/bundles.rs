//! Download bundles over HTTP (the rules are `pictor_core::bundles`'s; the
//! workflow and the message are `pictor_jobs`'):
//!
//! - `POST /api/v1/bundles {"labels": [...], "match": "any"|"all",
//!   "notify": {"email": …} | {"sms": …} | {"webhook": true}}` → `202`.
//! - `GET /api/v1/bundles` (the caller's) and `GET /api/v1/bundles/{id}`:
//!   state and progress (restoring n/m, zipping n/m), and the link once
//!   ready.
//! - `GET /api/v1/bundles/{id}/zip`: the zip, for its owner, or for anyone
//!   with the signed link that was sent (`?expires=…&sig=…`); `410` once
//!   the link has lapsed and the janitor deleted it. Honours `Range`, so a
//!   large download can resume.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pictor_core::bundles;
use pictor_core::notify::{EmailAddress, PhoneNumber, Recipient};
use pictor_db::BundleRecord;
use pictor_jobs::Runtime;
use pictor_jobs::jobs::notify_bundle;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::http::{RangeRequest, parse_range};
use crate::error::{ApiError, ApiResult, Code};
use crate::extract::{Authed, PathId, Read, caller};

/// A request for a bundle.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BundleRequest {
    /// The labels to bundle (1 to 20), as `GET /api/v1/labels` lists them.
    pub labels: Vec<String>,
    /// `any` (default): photos with any of the labels; `all`: with all.
    #[serde(default, rename = "match")]
    pub match_: Option<String>,
    /// Where the link goes: exactly one of `email`, `sms` or `webhook`.
    pub notify: NotifyRequest,
}

/// Where a bundle's link goes. The address is used once and not kept.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyRequest {
    /// An email address.
    pub email: Option<String>,
    /// A phone number in international form (`+15551234567`).
    pub sms: Option<String>,
    /// `true`: only the `bundle.ready` event, to your webhooks.
    pub webhook: Option<bool>,
}

impl NotifyRequest {
    /// The recipient (none: the webhook event only).
    fn into_recipient(self) -> Result<Option<Recipient>, ApiError> {
        match (self.email, self.sms, self.webhook.unwrap_or(false)) {
            (Some(email), None, false) => Ok(Some(Recipient::Email(EmailAddress::parse(&email)?))),
            (None, Some(number), false) => Ok(Some(Recipient::Sms(PhoneNumber::parse(&number)?))),
            (None, None, true) => Ok(None),
            _ => Err(ApiError::new(
                Code::InvalidRequest,
                "notify needs exactly one of {\"email\": …}, {\"sms\": …} or {\"webhook\": true}",
            )),
        }
    }
}

/// A bundle as its owner sees it.
#[derive(Serialize, ToSchema)]
pub struct BundleView {
    pub id: String,
    pub labels: Vec<String>,
    /// `any` or `all`.
    #[serde(rename = "match")]
    pub match_: &'static str,
    /// `email`, `sms` or `webhook` (never the address).
    pub channel: String,
    /// `requested`, `restoring`, `zipping`, `ready` or `failed`.
    pub state: String,
    pub progress: BundleProgress,
    /// The zip's size, once ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub created_at: i64,
    /// Until when the link works (Unix ms), once ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    pub links: BundleLinks,
}

/// How far a bundle is: photos found, originals readable, entries zipped.
#[derive(Serialize, ToSchema)]
pub struct BundleProgress {
    pub total: i64,
    pub restored: i64,
    pub zipped: i64,
}

#[derive(Serialize, ToSchema)]
pub struct BundleLinks {
    #[serde(rename = "self")]
    pub this: String,
    /// The zip, once ready: signed, valid until `expires_at`, for anyone
    /// who has it (it is what the message carries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download: Option<String>,
}

impl BundleView {
    fn of(state: &Runtime, bundle: BundleRecord) -> ApiResult<Self> {
        let ready = bundle.state == "ready";
        let download = if ready { Some(bundles::link(state, &bundle)?) } else { None };
        Ok(Self {
            links: BundleLinks { this: format!("/api/v1/bundles/{}", bundle.id), download },
            id: bundle.id,
            labels: bundle.labels,
            match_: if bundle.match_all { "all" } else { "any" },
            channel: bundle.channel,
            state: bundle.state,
            progress: BundleProgress { total: bundle.total, restored: bundle.restored, zipped: bundle.zipped },
            bytes: ready.then_some(bundle.bytes),
            error: bundle.error,
            created_at: bundle.created_at,
            expires_at: ready.then_some(bundle.expires_at),
        })
    }
}

/// `POST /api/v1/bundles`: asks for a zip of the caller's photos with the
/// labels; the link goes where `notify` says once it is ready.
#[utoipa::path(
    post, operation_id = "create_bundle", path = "/api/v1/bundles", tag = "bundles", request_body = BundleRequest,
    responses((status = 202, description = "Accepted: follow `links.self`", body = BundleView),
              (status = 400, description = "No labels, or no single notify target")),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<Arc<Runtime>>,
    principal: Authed<Read>,
    headers: HeaderMap,
    body: Result<Json<BundleRequest>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(request) = body.map_err(|e| ApiError::new(Code::InvalidRequest, e.body_text()))?;
    let match_all = match request.match_.as_deref() {
        None | Some("any") => false,
        Some("all") => true,
        Some(other) => {
            return Err(ApiError::new(Code::InvalidRequest, format!("match is \"any\" or \"all\", not {other:?}")));
        }
    };
    let to = request.notify.into_recipient()?;
    let base = pictor_web::public_url(&state.config, &headers);
    let bundle = notify_bundle::request(&state, &principal, &request.labels, match_all, to, &base).await?;
    let location = format!("/api/v1/bundles/{}", bundle.id);
    let mut response = (StatusCode::ACCEPTED, Json(BundleView::of(&state, bundle)?)).into_response();
    response.headers_mut().insert(header::LOCATION, HeaderValue::from_str(&location).expect("ascii id"));
    Ok(response)
}

/// `GET /api/v1/bundles`: the caller's bundles, newest first.
#[utoipa::path(get, operation_id = "list_bundles", path = "/api/v1/bundles", tag = "bundles",
    responses((status = 200, description = "The caller's bundles", body = [BundleView])), security(("bearer" = [])))]
pub async fn list(State(state): State<Arc<Runtime>>, principal: Authed<Read>) -> ApiResult<Json<Vec<BundleView>>> {
    let bundles = bundles::list(&state, &principal).await?;
    Ok(Json(bundles.into_iter().map(|b| BundleView::of(&state, b)).collect::<ApiResult<_>>()?))
}

/// `GET /api/v1/bundles/{id}`: one of the caller's bundles.
#[utoipa::path(get, operation_id = "get_bundle", path = "/api/v1/bundles/{id}", tag = "bundles",
    params(("id" = String, Path, description = "Bundle id")),
    responses((status = 200, description = "The bundle", body = BundleView), (status = 404, description = "Not found")),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<Arc<Runtime>>,
    principal: Authed<Read>,
    PathId(id): PathId,
) -> ApiResult<Json<BundleView>> {
    Ok(Json(BundleView::of(&state, bundles::get(&state, &principal, &id).await?)?))
}

/// A signed link's query.
#[derive(Deserialize, IntoParams)]
pub struct LinkQuery {
    /// Unix seconds until which the link works.
    pub expires: Option<i64>,
    /// The link's signature.
    pub sig: Option<String>,
}

/// `GET /api/v1/bundles/{id}/zip`: the zip (Stored entries, ZIP64).
#[utoipa::path(get, operation_id = "get_bundle_zip", path = "/api/v1/bundles/{id}/zip", tag = "bundles",
    params(("id" = String, Path, description = "Bundle id"), LinkQuery),
    responses((status = 200, description = "The zip", content_type = "application/zip"),
              (status = 206, description = "A byte range"),
              (status = 403, description = "The link's signature does not match"),
              (status = 409, description = "Not ready yet"),
              (status = 410, description = "The link has expired and the zip was deleted")))]
pub async fn zip(
    State(state): State<Arc<Runtime>>,
    headers: HeaderMap,
    PathId(id): PathId,
    Query(link): Query<LinkQuery>,
) -> ApiResult<Response> {
    let bundle = match (link.expires, link.sig.as_deref()) {
        (Some(expires), Some(sig)) => bundles::by_link(&state, &id, expires, sig).await?,
        _ => {
            let principal = caller(&state, &headers, &axum::http::Method::GET, pictor_core::auth::Scope::Read).await?;
            bundles::ready(Some(bundles::get(&state, &principal, &id).await?))?
        }
    };
    let len = bundle.bytes as u64;
    let (status, range) = match parse_range(&headers, len) {
        RangeRequest::Full => (StatusCode::OK, None),
        RangeRequest::Partial(range) => (StatusCode::PARTIAL_CONTENT, Some(range)),
        RangeRequest::Unsatisfiable => {
            return Err(ApiError::new(Code::InvalidRequest, format!("the range is outside the {len}-byte zip"))
                .with_status(StatusCode::RANGE_NOT_SATISFIABLE));
        }
    };
    let bytes = bundles::open_zip(&state, &bundle, range.clone()).await?;
    let mut response = Response::new(Body::from_stream(bytes));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    let shown = range.clone().unwrap_or(0..len);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(shown.end - shown.start));
    if let Some(range) = range {
        let value = format!("bytes {}-{}/{len}", range.start, range.end - 1);
        h.insert(header::CONTENT_RANGE, HeaderValue::from_str(&value).expect("ascii"));
    }
    let disposition = format!("attachment; filename=\"{}\"", file_name(&bundle));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).expect("ascii name"));
    Ok(response)
}

/// `pictor-mountain-lake-2026-12-03.zip`: the labels (ASCII-safe) and the day.
fn file_name(bundle: &BundleRecord) -> String {
    let labels: String = bundle
        .labels
        .join("-")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .take(60)
        .collect();
    let day = pictor_db::rfc3339_ms(bundle.created_at);
    let day = day.get(..10).unwrap_or_default();
    format!("pictor-{}-{day}.zip", labels.trim_matches('-'))
}
