//! Operations endpoints: liveness, readiness, metrics, OpenAPI.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ApiResult, Code};
use pictor_jobs::Runtime;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Alive")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database and the store both answer.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready"), (status = 503, description = "A backend is down")))]
pub async fn readyz(State(state): State<Arc<Runtime>>) -> ApiResult<Json<serde_json::Value>> {
    let (db, store) = tokio::join!(state.db.ping(), state.store.ping());
    let down = |what: &str, e: &dyn std::fmt::Display| {
        tracing::warn!(error = %e, "{what} is not answering");
        ApiError::new(Code::Overloaded, format!("the {what} is not answering: {e}")).with_retry_after(5)
    };
    db.map_err(|e| down("database", &e))?;
    store.map_err(|e| down("store", &e))?;
    Ok(Json(serde_json::json!({ "database": "ok", "store": "ok" })))
}

/// Prometheus metrics in the OpenMetrics text format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Metrics")))]
pub async fn metrics(State(state): State<Arc<Runtime>>) -> Response {
    match state.db.queue_stats().await {
        Ok(stats) => state.metrics.set_queue(stats.ready, stats.leased, stats.dead),
        Err(e) => tracing::warn!(error = %e, "reading queue statistics for /metrics failed"),
    }
    match state.db.ready_by_kind().await {
        Ok(mut ready) => {
            for kind in pictor_core::domain::JobKind::ALL {
                if !ready.iter().any(|(k, _)| k == kind.as_str()) {
                    ready.push((kind.as_str().to_string(), 0));
                }
            }
            state.metrics.set_queue_ready(&ready);
        }
        Err(e) => tracing::warn!(error = %e, "reading the ready jobs by kind for /metrics failed"),
    }
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}
