//! `GET /api/v1/events`: the event feed as server-sent events, for user
//! interfaces that show uploads and executions live.
//!
//! The stream itself is the core's [`pictor_core::feed`]: a client sees
//! only its own images' events. `Last-Event-ID` (or `?after=`) resumes where
//! a dropped stream stopped.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use pictor_db::Event;
use serde::Deserialize;
use utoipa::IntoParams;

use pictor_jobs::Runtime;

use crate::error::ApiResult;
use crate::extract::{Authed, Read};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Resume after this event id (as `Last-Event-ID` does); default: only new events.
    pub after: Option<String>,
}

/// `GET /api/v1/events`: `image.*`, `execution.*` and `execution.step` events.
#[utoipa::path(
    get, path = "/api/v1/events", tag = "events", params(EventsQuery),
    responses((status = 200, description = "text/event-stream; each event's `event` is its kind and `data` its JSON"))
)]
pub async fn stream(
    State(state): State<Arc<Runtime>>,
    principal: Authed<Read>,
    q: Result<Query<EventsQuery>, QueryRejection>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let q = super::http::query(q)?;
    let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::to_string).or(q.after);
    let events = pictor_core::feed::events(state.state.clone(), principal.into_inner().owner, resume).await?;
    let events = events.map(|event| Ok::<_, Infallible>(to_sse(&event)));
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response())
}

fn to_sse(event: &Event) -> SseEvent {
    let data = serde_json::json!({
        "id": event.id, "type": event.kind, "subject": event.subject, "data": event.payload, "time": event.created_at,
    });
    SseEvent::default().id(event.id.clone()).event(event.kind.clone()).data(data.to_string())
}
