//! `event.dispatch`: what happens because of an event.
//!
//! The event starts each workflow configured for its kind, and is fanned out
//! to the owner's webhook subscriptions. Both steps are idempotent (an
//! execution is keyed by the event and workflow, a delivery by webhook and
//! event), so a dispatch that runs twice does everything once.

use std::sync::Arc;

use pictor_core::domain::JobKind;
use serde::{Deserialize, Serialize};

use crate::workflows::start_for_event;
use crate::{DeliverWebhook, Job, Outcome, Runtime, backoff};

/// Dispatches the event `event` (the outbox's payload: `{"event": id}`).
#[derive(Debug, Serialize, Deserialize)]
pub struct Dispatch {
    pub event: String,
}

impl Job for Dispatch {
    const KIND: JobKind = JobKind::Dispatch;

    async fn run(self, rt: &Arc<Runtime>, _claims: i64) -> Outcome {
        let event = match rt.db.get_event(&self.event).await {
            Ok(Some(event)) => event,
            Ok(None) => return Outcome::Failed(format!("event {} not found", self.event)),
            Err(e) => return Outcome::RetryIn(backoff(1), e.to_string()),
        };
        for workflow in rt.workflows.started_by(&event.kind) {
            if let Err(e) = start_for_event(&rt.state, workflow, &event).await {
                return Outcome::RetryIn(backoff(1), format!("starting workflow {}: {e}", workflow.key));
            }
        }
        let deliver = |id: &str| DeliverWebhook { delivery: id.to_string() }.queued(Some(id.to_string()));
        match rt.db.fan_out(&event, deliver).await {
            Ok(added) => {
                if added > 0 {
                    rt.job_signal.notify_waiters();
                }
                Outcome::Done
            }
            Err(e) => Outcome::RetryIn(backoff(1), e.to_string()),
        }
    }
}
