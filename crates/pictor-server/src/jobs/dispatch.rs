//! `event.dispatch`: what happens because of an event.
//!
//! `image.created` starts the configured workflow for the image; every
//! event is fanned out to the owner's webhook subscriptions. Both steps are
//! idempotent (the execution is keyed by the event id, deliveries by
//! webhook and event), so a dispatch that runs twice does everything once.

use std::sync::Arc;

use super::{Outcome, backoff};
use crate::AppState;

pub async fn dispatch(state: &Arc<AppState>, event_id: &str) -> Outcome {
    let event = match state.db.get_event(event_id).await {
        Ok(Some(event)) => event,
        Ok(None) => return Outcome::Failed(format!("event {event_id} not found")),
        Err(e) => return Outcome::RetryIn(backoff(1), e.to_string()),
    };
    if event.kind == "image.created"
        && let Err(e) = super::execution::start_for_image(state, &event.subject, &event.id).await
    {
        return Outcome::RetryIn(backoff(1), e.to_string());
    }
    match state.db.fan_out(&event).await {
        Ok(added) => {
            if added > 0 {
                state.job_signal.notify_waiters();
            }
            Outcome::Done
        }
        Err(e) => Outcome::RetryIn(backoff(1), e.to_string()),
    }
}
