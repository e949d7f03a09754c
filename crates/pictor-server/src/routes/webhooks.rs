//! Webhook subscriptions: create, list, read, delete, and the delivery log.
//!
//! A subscription belongs to the caller's owner and receives the events
//! about that owner's images. Only its owner (or an admin with an owner)
//! sees or deletes it; to anyone else it does not exist (404).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pictor_core::domain::EventKind;
use pictor_db::{Delivery, Webhook};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::http::{page_limit, query};
use pictor_jobs::Runtime;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Authed, PathId, Read, Upload};
use pictor_core::auth::Principal;
use pictor_core::fetch::FetchError;
use pictor_core::webhook_signing::{new_secret, secret_key};

/// Longest accepted endpoint URL.
const MAX_URL_LEN: usize = 2048;

/// `POST /api/v1/webhooks`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where deliveries are POSTed (http or https; private addresses only
    /// when `fetch.allow` lists them).
    pub url: String,
    /// Event types: `image.created`, `image.processed`, `image.rejected`,
    /// `image.flagged`, `image.deleted`, `moderation.approved`,
    /// `moderation.rejected`, or `*` for all.
    pub events: Vec<String>,
    /// `whsec_` + base64 of a 24–64 byte key; generated when absent.
    pub secret: Option<String>,
}

/// A subscription as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    pub id: String,
    pub owner: Option<String>,
    pub url: String,
    pub events: Vec<String>,
    /// False once the endpoint answered 410 Gone.
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// Unix time in milliseconds.
    pub created_at: i64,
    /// The signing secret: shown only in the answer to its creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl From<&Webhook> for WebhookView {
    fn from(h: &Webhook) -> Self {
        Self {
            id: h.id.clone(),
            owner: h.owner.clone(),
            url: h.url.clone(),
            events: h.events.clone(),
            enabled: h.enabled,
            disabled_reason: h.disabled_reason.clone(),
            created_at: h.created_at,
            secret: None,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookView>,
}

/// One entry of the delivery log.
#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    /// Also the `webhook-id` header of every attempt.
    pub id: String,
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// `pending`, `delivered`, `failed` (out of retries) or `gone` (410).
    pub status: String,
    pub attempts: i64,
    /// HTTP status of the last attempt (absent if it got no answer).
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    /// When the next attempt is due (Unix ms), while pending.
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
    pub done_at: Option<i64>,
    /// The body sent.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        let pending = d.status == "pending";
        Self {
            id: d.id,
            event_id: d.event_id,
            kind: d.event_kind,
            status: d.status,
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error,
            next_attempt_at: if pending { d.next_at } else { None },
            created_at: d.created_at,
            done_at: d.done_at,
            payload: d.payload,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryView>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Most entries, newest first, 1–1000 (default 100).
    pub limit: Option<i64>,
}

/// `POST /api/v1/webhooks`: subscribes the caller's owner to events.
#[utoipa::path(
    post, path = "/api/v1/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses((status = 201, description = "Created; the answer carries the signing secret, shown only here", body = WebhookView),
              (status = 400, description = "Invalid URL, event type or secret (problem+json)"))
)]
pub async fn create(
    State(state): State<Arc<Runtime>>,
    principal: Authed<Upload>,
    body: Result<Json<CreateWebhook>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(request) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let events = check_events(&request.events)?;
    check_url(&state, &request.url).await?;
    let secret = match request.secret {
        Some(secret) => {
            secret_key(&secret).map_err(ApiError::bad_request)?;
            secret
        }
        None => new_secret(),
    };
    let hook = Webhook {
        id: format!("wh_{}", uuid::Uuid::now_v7().simple()),
        owner: principal.owner.clone(),
        url: request.url,
        events,
        secret,
        enabled: true,
        disabled_reason: None,
        created_at: pictor_db::now_ms(),
    };
    state.db.create_webhook(&hook).await?;
    let location = format!("/api/v1/webhooks/{}", hook.id);
    let view = WebhookView { secret: Some(hook.secret.clone()), ..WebhookView::from(&hook) };
    let mut response = (StatusCode::CREATED, Json(view)).into_response();
    response.headers_mut().insert(header::LOCATION, HeaderValue::from_str(&location).expect("ascii id"));
    Ok(response)
}

/// Known event types (or `*`), without repeats; at least one.
fn check_events(events: &[String]) -> ApiResult<Vec<String>> {
    let allowed = || {
        let mut all: Vec<&str> = EventKind::DELIVERABLE.iter().map(|k| k.as_str()).collect();
        all.push("*");
        all.join(", ")
    };
    if events.is_empty() {
        return Err(ApiError::bad_request(format!("`events` is empty; name at least one of: {}", allowed())));
    }
    let mut kept: Vec<String> = Vec::new();
    for event in events {
        if event != "*" && !EventKind::DELIVERABLE.iter().any(|k| k.as_str() == event) {
            return Err(ApiError::bad_request(format!("unknown event type {event:?}; allowed: {}", allowed())));
        }
        if !kept.contains(event) {
            kept.push(event.clone());
        }
    }
    Ok(kept)
}

/// The URL must be http(s) and pass the SSRF guard deliveries go through.
async fn check_url(state: &Runtime, url: &str) -> ApiResult<()> {
    if url.len() > MAX_URL_LEN {
        return Err(ApiError::bad_request(format!("`url` is longer than {MAX_URL_LEN} characters")));
    }
    match state.fetcher.check(url).await {
        // A name that does not resolve now may later: deliveries retry.
        Ok(_) | Err(FetchError::Upstream(_) | FetchError::Timeout) => Ok(()),
        Err(FetchError::Forbidden(why)) => Err(ApiError::bad_request(
            format!("webhook URL refused: {why}").replace("to fetch from it", "to deliver to it"),
        )),
        Err(e) => Err(ApiError::bad_request(format!("webhook `url`: {e}"))),
    }
}

/// `GET /api/v1/webhooks`: the caller's subscriptions, oldest first.
#[utoipa::path(
    get, operation_id = "list_webhooks", path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, description = "The caller's subscriptions", body = WebhookList))
)]
pub async fn list(State(state): State<Arc<Runtime>>, principal: Authed<Read>) -> ApiResult<Json<WebhookList>> {
    let hooks = state.db.list_webhooks(principal.owner.as_deref()).await?;
    Ok(Json(WebhookList { webhooks: hooks.iter().map(WebhookView::from).collect() }))
}

/// `GET /api/v1/webhooks/{id}`.
#[utoipa::path(
    get, operation_id = "get_webhook", path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Subscription id")),
    responses((status = 200, description = "The subscription (without its secret)", body = WebhookView),
              (status = 404, description = "Not found, or not the caller's"))
)]
pub async fn get(
    State(state): State<Arc<Runtime>>,
    principal: Authed<Read>,
    PathId(id): PathId,
) -> ApiResult<Json<WebhookView>> {
    let hook = owned(&state, &principal, &id).await?;
    Ok(Json(WebhookView::from(&hook)))
}

/// `DELETE /api/v1/webhooks/{id}`: the subscription and its delivery log;
/// pending retries end without sending.
#[utoipa::path(
    delete, operation_id = "delete_webhook", path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Subscription id")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "Not found, or not the caller's"))
)]
pub async fn delete(
    State(state): State<Arc<Runtime>>,
    principal: Authed<Upload>,
    PathId(id): PathId,
) -> ApiResult<StatusCode> {
    let hook = owned(&state, &principal, &id).await?;
    state.db.delete_webhook(&hook.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/webhooks/{id}/deliveries`: the delivery log, newest first.
#[utoipa::path(
    get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path, description = "Subscription id"), DeliveryQuery),
    responses((status = 200, description = "Deliveries: status, attempts, last HTTP status and error, next attempt", body = DeliveryList),
              (status = 404, description = "Not found, or not the caller's"))
)]
pub async fn deliveries(
    State(state): State<Arc<Runtime>>,
    principal: Authed<Read>,
    PathId(id): PathId,
    q: Result<Query<DeliveryQuery>, QueryRejection>,
) -> ApiResult<Json<DeliveryList>> {
    let q = query(q)?;
    let limit = page_limit(q.limit, 100)?;
    let hook = owned(&state, &principal, &id).await?;
    let log = state.db.deliveries(&hook.id, limit).await?;
    Ok(Json(DeliveryList { deliveries: log.into_iter().map(DeliveryView::from).collect() }))
}

/// The subscription `id` if the caller may manage it; 404 otherwise, so
/// that others' subscriptions are not even confirmed to exist.
async fn owned(state: &Runtime, principal: &Principal, id: &str) -> ApiResult<Webhook> {
    match state.db.get_webhook(id).await? {
        Some(hook) if principal.may_manage(hook.owner.as_deref()) => Ok(hook),
        _ => Err(ApiError::not_found(format!("webhook {id}"))),
    }
}
