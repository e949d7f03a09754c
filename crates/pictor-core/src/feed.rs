//! The event feed as a stream, for whatever shows events live: the API's
//! server-sent events and the web app's live status share it.
//!
//! Each stream polls the events table (ids are UUIDv7, so "newer than the
//! last id sent" is a range query), which works the same when the event was
//! written by another process. A stream sees only its owner's events, and
//! ends when the server shuts down.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::Stream;
use pictor_db::{Audience, Event};

use crate::AppState;
use crate::error::{Error, ErrorKind, Result};

/// How often a stream looks for new events.
const POLL: Duration = Duration::from_millis(250);
/// Most events read per poll.
const BATCH: i64 = 200;
/// Streams open at once per process; past that, no new one.
const MAX_STREAMS: usize = 1024;

static OPEN_STREAMS: AtomicUsize = AtomicUsize::new(0);

/// Counts an open stream until dropped.
struct StreamSlot;

impl StreamSlot {
    fn take() -> Result<Self> {
        let open = OPEN_STREAMS.fetch_add(1, Ordering::AcqRel);
        if open >= MAX_STREAMS {
            OPEN_STREAMS.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::new(ErrorKind::Overloaded, "too many event streams are open; retry shortly"));
        }
        Ok(Self)
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        OPEN_STREAMS.fetch_sub(1, Ordering::AcqRel);
    }
}

/// `owner`'s events after event id `after` (default: only new ones), as
/// they happen.
pub async fn events(
    state: Arc<AppState>,
    owner: Option<String>,
    after: Option<String>,
) -> Result<impl Stream<Item = Event> + Send + 'static> {
    let after = match after {
        Some(id) => id,
        None => state.db.latest_event_id().await?,
    };
    let slot = StreamSlot::take()?;
    let start = (state, owner, after, slot, VecDeque::<Event>::new());
    Ok(futures::stream::unfold(start, |(state, owner, mut after, slot, mut pending)| async move {
        let mut stopping = state.stopping.subscribe();
        loop {
            if *stopping.borrow_and_update() {
                return None; // the server is shutting down
            }
            if let Some(event) = pending.pop_front() {
                after = event.id.clone();
                return Some((event, (state, owner, after, slot, pending)));
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
    }))
}
