//! The HTTP surface: one module per group of routes.
//!
//! - `upload`: `POST /api/v1/img` in all its forms.
//! - `resumable`: resumable uploads over tus (`/api/v1/uploads`).
//! - `direct`: presigned direct uploads (a JSON `POST /api/v1/uploads`,
//!   `/api/v1/uploads/{id}/complete`, and the local store's `/api/v1/direct`).
//! - `images`: reading, transforming, listing and deleting images.
//! - `executions`: workflow executions, their history, reprocessing.
//! - `events`: the live event feed (server-sent events).
//! - `albums`: albums and the photos in them.
//! - `bundles`: download bundles (a zip of photos by label, linked for a
//!   day) and their zips.
//! - `imports`: imports of an S3 prefix or a server folder, and their progress.
//! - `shares`: share links (the owner's API) and the images behind one,
//!   for guests (`/s/{token}/img/…`, `/s/{token}/original/…`).
//! - `webhooks`: webhook subscriptions and their delivery logs.
//! - `pam`: the photo asset manager's own API under `pam.prefix` (`/pam`).
//! - `shop`: the style shop's API (upload forms, orders, checkout, the
//!   order's pictures and samples, Stripe's webhook) under `/shop`.
//! - `ops`: health, readiness and metrics.
//! - `openapi`: the OpenAPI document, from the handlers' annotations.

pub(crate) mod albums;
pub(crate) mod bundles;
pub(crate) mod direct;
pub(crate) mod events;
pub(crate) mod executions;
mod http;
pub(crate) mod images;
pub(crate) mod imports;
mod openapi;
pub(crate) mod ops;
pub(crate) mod pam;
pub(crate) mod resumable;
pub(crate) mod shares;
pub(crate) mod shop;
pub(crate) mod upload;
pub(crate) mod vision;
pub(crate) mod webhooks;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, head, post, put};
use pictor_core::metrics::Metrics;
use tower_http::classify::ServerErrorsFailureClass;

use crate::error::{self, ApiError};
use crate::slow_body::{self, RateFloor};
use pictor_jobs::Runtime;

/// Builds the app's router over `state`.
pub fn router(state: Arc<Runtime>) -> Router {
    let timeout = state.config.request_timeout();
    let api = Router::new()
        .route("/api/v1/img", get(images::list).post(upload::upload))
        .route("/api/v1/img/{file}", get(images::get).delete(images::delete))
        .route("/api/v1/img/{id}/original", get(images::original))
        .route("/api/v1/img/{id}/restore", post(images::restore))
        .route("/api/v1/uploads/{id}/complete", post(direct::complete))
        .route("/api/v1/bundles", get(bundles::list).post(bundles::create))
        .route("/api/v1/bundles/{id}", get(bundles::get))
        .route("/api/v1/bundles/{id}/zip", get(bundles::zip))
        .route("/api/v1/img/{id}/executions", get(executions::for_image))
        .route("/api/v1/img/{id}/reprocess", axum::routing::post(executions::reprocess))
        .route("/api/v1/img/{id}/labels", get(vision::of_image))
        .route("/api/v1/labels", get(vision::index))
        .route("/api/v1/admin/flagged", get(vision::flagged))
        .route("/api/v1/admin/flagged/{id}/approve", axum::routing::post(vision::approve))
        .route("/api/v1/admin/flagged/{id}/reject", axum::routing::post(vision::reject))
        .route("/api/v1/executions", get(executions::list))
        .route("/api/v1/executions/{id}", get(executions::get))
        .route("/api/v1/albums", get(albums::list).post(albums::create))
        .route("/api/v1/albums/{id}", get(albums::get).patch(albums::update).delete(albums::delete))
        .route("/api/v1/albums/{id}/images", axum::routing::post(albums::add_images))
        .route("/api/v1/albums/{id}/images/{image}", axum::routing::delete(albums::remove_image))
        .route("/api/v1/imports", get(imports::list).post(imports::create))
        .route("/api/v1/imports/{id}", get(imports::get).delete(imports::cancel))
        .route("/api/v1/shares", get(shares::list).post(shares::create))
        .route("/api/v1/shares/{id}", axum::routing::delete(shares::revoke))
        .route("/api/v1/shares/{id}/access", get(shares::access))
        .route("/s/{token}/img/{file}", get(shares::image))
        .route("/s/{token}/original/{id}", get(shares::original))
        .route("/api/v1/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/api/v1/webhooks/{id}", get(webhooks::get).delete(webhooks::delete))
        .route("/api/v1/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route("/shop/api/uploads", post(shop::create_upload))
        .route("/shop/api/orders/{token}", get(shop::get_order))
        .route("/shop/api/orders/{token}/checkout", post(shop::checkout))
        .route("/shop/o/{token}/{picture}", get(shop::picture))
        .route("/shop/samples/{file}", get(shop::sample))
        .route("/shop/stripe/webhook", post(shop::stripe_webhook))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/api/openapi.json", get(openapi::serve))
        .merge(pictor_web::router())
        .merge(pam::router(&state.config.pam.prefix))
        .fallback(error::fallback)
        .method_not_allowed_fallback(error::method_not_allowed)
        // Upload limits are enforced while bodies stream in, per form.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(move |req, next| with_timeout(timeout, req, next)))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(tower_http::trace::TraceLayer::new_for_http().on_failure(log_failure))
        .with_state(state.clone());
    // Event streams are long-lived: no request timeout.
    let streams = Router::new()
        .route("/api/v1/events", get(events::stream))
        .merge(pictor_web::streams())
        .with_state(state.clone());
    api.merge(streams)
        .merge(resumable_router(state.clone()))
        .merge(direct_router(state.clone()))
        .layer(middleware::from_fn_with_state(Finish::new(&state), finish))
}

/// The tus routes: no request timeout either (a large chunk over a slow
/// link takes its time; a stalled one is cut by its own idle bound, keeping
/// what arrived), and the protocol's headers on every answer.
fn resumable_router(state: Arc<Runtime>) -> Router {
    Router::new()
        .route("/api/v1/uploads", post(resumable::create).options(resumable::options))
        .route(
            "/api/v1/uploads/{id}",
            head(resumable::head).patch(resumable::patch).delete(resumable::delete).post(resumable::overridden),
        )
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(middleware::from_fn(resumable::protocol))
        .layer(DefaultBodyLimit::disable())
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(tower_http::trace::TraceLayer::new_for_http().on_failure(log_failure))
        .with_state(state)
}

/// The local store's direct-upload endpoints: no request timeout (a body
/// that stalls is cut by its own idle bound), no credentials (the URL's or
/// form's signature is one).
fn direct_router(state: Arc<Runtime>) -> Router {
    Router::new()
        .route("/api/v1/direct", post(direct::post_object))
        .route("/shop/upload", post(shop::receive_upload))
        .route("/api/v1/direct/{id}/{name}", put(direct::put_object))
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::disable())
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(tower_http::trace::TraceLayer::new_for_http().on_failure(log_failure))
        .with_state(state)
}

fn panicked(_: Box<dyn std::any::Any + Send>) -> Response {
    ApiError::internal("a handler panicked").into_response()
}

/// Logs a failed (5xx) response as an error, except a 503: overload answers
/// are counted in `/metrics` and summed up in one warning every few seconds
/// (`Metrics::job_refused`); a line each would flood the log, and cost CPU,
/// exactly when the server is busiest.
fn log_failure(class: ServerErrorsFailureClass, latency: Duration, _span: &tracing::Span) {
    if matches!(class, ServerErrorsFailureClass::StatusCode(StatusCode::SERVICE_UNAVAILABLE)) {
        return;
    }
    tracing::error!(classification = %class, latency = %format_args!("{} ms", latency.as_millis()), "response failed");
}

/// Answers 503 instead of letting a request run past the configured time.
async fn with_timeout(limit: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(crate::error::Code::Overloaded, "the request took too long; retry later")
            .with_retry_after(5)
            .into_response(),
    }
}

/// What [`finish`] needs.
#[derive(Clone)]
struct Finish {
    metrics: Arc<Metrics>,
    floor: RateFloor,
}

impl Finish {
    fn new(state: &Runtime) -> Self {
        let limits = &state.config.limits;
        let floor = RateFloor {
            allowance: Duration::from_secs(limits.body_read_timeout_secs),
            bytes_per_sec: limits.body_min_bytes_per_sec,
        };
        Self { metrics: state.metrics.clone(), floor }
    }
}

/// Starts and finishes every answer, errors included: holds the request
/// body to the read rate floor (`slow_body`), records the route, status and
/// duration in the metrics, and tells browsers not to second-guess its
/// `Content-Type` (an upload may be both a valid JPEG and an HTML page).
/// One layer for all: each layer costs every request a boxed clone.
async fn finish(State(finish): State<Finish>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let wants_page = request.headers().get(header::ACCEPT).is_some_and(|a| a.as_bytes().starts_with(b"text/html"));
    let (parts, body) = request.into_parts();
    let (body, cut) = finish.floor.guard(body);
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if cut.is_some_and(|cut| cut.load(Ordering::Relaxed)) && !response.status().is_success() {
        finish.metrics.slow_bodies_cut.inc();
        response = slow_body::too_slow(finish.floor, wants_page);
    }
    response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    finish.metrics.http_request(method.as_str(), route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}
