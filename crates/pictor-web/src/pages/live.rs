//! `GET /live`: the signed-in account's events as server-sent HTML
//! fragments for htmx's SSE extension, from the same feed as
//! `/api/v1/events` (`pictor_core::feed`). Each photo's status arrives as
//! event `status-{id}`, which its tile, upload row or page swaps in;
//! `photo-{id}` says that something about the photo changed (its page
//! reloads its details).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use pictor_db::Event;
use pictor_jobs::Runtime;
use serde::Deserialize;
use serde_json::Value;

use super::layout::failed;
use super::tiles::status_badge;
use crate::session::SignedIn;

#[derive(Deserialize)]
pub struct After {
    after: Option<String>,
}

pub async fn stream(
    State(state): State<Arc<Runtime>>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Query(q): Query<After>,
) -> Response {
    let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::to_string).or(q.after);
    let owner = Some(signed_in.session.user.name);
    match pictor_core::feed::events(state.state.clone(), owner, resume).await {
        Ok(events) => {
            let fragments = events.flat_map(|event| futures::stream::iter(fragments(&event)));
            let fragments = fragments.map(Ok::<_, Infallible>);
            Sse::new(fragments).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
        }
        Err(e) => failed(e),
    }
}

/// The fragments an event changes: the photo's status badge, and a nudge
/// to its page.
fn fragments(event: &Event) -> Vec<SseEvent> {
    let Some((image, status, execution)) = status_change(event) else { return Vec::new() };
    let badge = status_badge(status, execution).into_string();
    let id = |e: SseEvent| e.id(event.id.clone());
    vec![
        id(SseEvent::default().event(format!("status-{image}")).data(badge)),
        id(SseEvent::default().event(format!("photo-{image}")).data(status)),
    ]
}

/// The photo an event is about, its new status, and its execution if known.
fn status_change(event: &Event) -> Option<(&str, &str, Option<&str>)> {
    let field = |name: &str| event.payload.get(name).and_then(Value::as_str);
    match event.kind.as_str() {
        "image.created" => Some((event.subject.as_str(), "pending", None)),
        "execution.started" => Some((field("image")?, "processing", Some(event.subject.as_str()))),
        "image.processed" => Some((event.subject.as_str(), "processed", None)),
        "image.failed" => Some((event.subject.as_str(), "failed", None)),
        "image.rejected" => Some((event.subject.as_str(), "rejected", None)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, subject: &str, payload: Value) -> Event {
        Event { id: "e".into(), kind: kind.into(), subject: subject.into(), owner: None, payload, created_at: 0 }
    }

    #[test]
    fn statuses_follow_the_workflow() {
        let started = event("execution.started", "x1", serde_json::json!({ "image": "i1", "workflow": "w" }));
        assert_eq!(status_change(&started), Some(("i1", "processing", Some("x1"))));
        assert_eq!(status_change(&event("image.processed", "i1", Value::Null)), Some(("i1", "processed", None)));
        assert_eq!(status_change(&event("image.failed", "i1", Value::Null)), Some(("i1", "failed", None)));
        let unrelated = event("execution.started", "x2", serde_json::json!({ "image": null }));
        assert_eq!(status_change(&unrelated), None);
        assert_eq!(status_change(&event("api_key.created", "k", Value::Null)), None);
        assert_eq!(fragments(&started).len(), 2);
    }
}
