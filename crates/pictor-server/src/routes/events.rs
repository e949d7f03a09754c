//! `GET /api/v1/events`: the event feed as server-sent events, for user
//! interfaces that show uploads and executions live.
//!
//! Each stream polls the events table (ids are UUIDv7, so "newer than the
//! last id sent" is a range query), which works the same when the event was
//! written by another process. A client sees only its own images' events.
//! `Last-Event-ID` (or `?after=`) resumes where a dropped stream stopped.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use pictor_db::{Audience, Event};
use serde::Deserialize;
use utoipa::IntoParams;

use pictor_jobs::Runtime;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Authed, Read};

/// How often a stream looks for new events.
const POLL: Duration = Duration::from_millis(250);
/// Most events read per poll.
const BATCH: i64 = 200;
/// Streams open at once per process; past that: 503.
const MAX_STREAMS: usize = 1024;

static OPEN_STREAMS: AtomicUsize = AtomicUsize::new(0);

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
    let after = match resume {
        Some(id) => id,
        None => state.db.latest_event_id().await?,
    };
    let slot = StreamSlot::take().ok_or_else(|| {
        let mut busy = ApiError::overloaded();
        busy.detail = "too many event streams are open; retry shortly".into();
        busy
    })?;
    let events = feed(state, principal.into_inner().owner, after, slot);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response())
}

/// Counts an open stream until dropped.
struct StreamSlot;

impl StreamSlot {
    fn take() -> Option<Self> {
        let open = OPEN_STREAMS.fetch_add(1, Ordering::AcqRel);
        if open >= MAX_STREAMS {
            OPEN_STREAMS.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Self)
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        OPEN_STREAMS.fetch_sub(1, Ordering::AcqRel);
    }
}

fn feed(
    state: Arc<Runtime>,
    owner: Option<String>,
    after: String,
    slot: StreamSlot,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    let start = (state, owner, after, slot, std::collections::VecDeque::<Event>::new());
    futures::stream::unfold(start, |(state, owner, mut after, slot, mut pending)| async move {
        let mut stopping = state.stopping.subscribe();
        loop {
            if *stopping.borrow_and_update() {
                return None; // the server is shutting down
            }
            if let Some(event) = pending.pop_front() {
                after = event.id.clone();
                return Some((Ok(to_sse(&event)), (state, owner, after, slot, pending)));
            }
            match state.db.events_after(Audience::Owner(owner.as_deref()), &after, BATCH).await {
                Ok(events) if !events.is_empty() => pending.extend(events),
                Ok(_) => {
                    tokio::select! {
                        () = tokio::time::sleep(POLL) => {}
                        _ = stopping.changed() => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reading events for a stream failed");
                    tokio::time::sleep(POLL * 4).await;
                }
            }
        }
    })
}

fn to_sse(event: &Event) -> SseEvent {
    let data = serde_json::json!({
        "id": event.id, "type": event.kind, "subject": event.subject, "data": event.payload, "time": event.created_at,
    });
    SseEvent::default().id(event.id.clone()).event(event.kind.clone()).data(data.to_string())
}
