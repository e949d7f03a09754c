//! `webhook.deliver`: one signed attempt of one webhook delivery.
//!
//! `POST` of the delivery's payload with the Standard Webhooks headers (see
//! `pictor_core::webhook_signing`). 2xx is delivered; 410 disables the
//! endpoint; any other answer, a timeout or a connection error is retried
//! on `webhooks.retry_schedule_secs` (plus jitter) until it runs out. The
//! delivery's own attempt count drives the schedule, since a claim cut short
//! by a crash may not have sent anything.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use pictor_core::AppState;
use pictor_core::domain::JobKind;
use pictor_core::webhook_signing::{retry_delay, secret_key, sign};
use pictor_db::{Attempt, Delivery};
use serde::{Deserialize, Serialize};

use crate::{Job, Outcome, Runtime, backoff};

/// Sends one attempt of the delivery `delivery`.
#[derive(Debug, Serialize, Deserialize)]
pub struct DeliverWebhook {
    pub delivery: String,
}

impl Job for DeliverWebhook {
    const KIND: JobKind = JobKind::DeliverWebhook;

    async fn run(self, rt: &Arc<Runtime>, claims: i64) -> Outcome {
        deliver(rt, &self.delivery, claims).await
    }
}

/// Sends one attempt; `claims` counts the job's claims.
async fn deliver(state: &AppState, delivery: &str, claims: i64) -> Outcome {
    let delivery = match state.db.get_delivery(delivery).await {
        Ok(Some(delivery)) => delivery,
        // Deleted with its subscription.
        Ok(None) => return Outcome::Done,
        Err(e) => return Outcome::RetryIn(backoff(claims), e.to_string()),
    };
    if delivery.status != "pending" {
        return Outcome::Done; // already settled: a re-run sends nothing
    }
    let hook = match state.db.get_webhook(&delivery.webhook_id).await {
        Ok(Some(hook)) if hook.enabled => hook,
        Ok(_) => return Outcome::Done, // disabled or deleted meanwhile
        Err(e) => return Outcome::RetryIn(backoff(claims), e.to_string()),
    };
    let attempt = delivery.attempts + 1;
    let key = match secret_key(&hook.secret) {
        Ok(key) => key,
        Err(e) => return settle(state, &delivery, None, Some(&format!("unusable secret: {e}")), Attempt::GaveUp).await,
    };
    let body = Bytes::from(delivery.payload.to_string());
    let timestamp = pictor_db::now_ms() / 1000;
    let signature = sign(&key, &delivery.id, timestamp, &body);
    let timestamp = timestamp.to_string();
    let headers =
        [("webhook-id", delivery.id.as_str()), ("webhook-timestamp", &timestamp), ("webhook-signature", &signature)];
    let timeout = Duration::from_secs(state.config.webhooks.timeout_secs.max(1));
    let sent = state.fetcher.post_json(&hook.url, &headers, body, timeout).await;
    let (status, error) = match &sent {
        Ok(status) if (200..300).contains(status) => (Some(*status), None),
        Ok(status) => (Some(*status), Some(format!("the endpoint answered HTTP {status}"))),
        Err(e) => (None, Some(e.to_string())),
    };
    let outcome = match (status, &error) {
        (_, None) => Attempt::Delivered,
        (Some(410), _) => Attempt::Gone,
        _ => match retry_delay(&state.config.webhooks, attempt, rand::random()) {
            Some(delay) => Attempt::RetryAt(pictor_db::now_ms() + delay.as_millis() as i64),
            None => Attempt::GaveUp,
        },
    };
    tracing::info!(delivery = %delivery.id, webhook = %hook.id, attempt, ?status, ?outcome, error = error.as_deref(), "webhook attempt");
    settle(state, &delivery, status, error.as_deref(), outcome).await
}

/// Records the attempt and tells the worker what to do with the job.
async fn settle(
    state: &AppState,
    delivery: &Delivery,
    status: Option<u16>,
    error: Option<&str>,
    outcome: Attempt,
) -> Outcome {
    if let Err(e) = state.db.record_attempt(delivery, status, error, &outcome).await {
        // Not recorded: the attempt is made again (receivers dedupe on webhook-id).
        return Outcome::RetryIn(backoff(1), format!("recording the attempt failed: {e}"));
    }
    match outcome {
        Attempt::RetryAt(at) => {
            let delay = Duration::from_millis(u64::try_from(at - pictor_db::now_ms()).unwrap_or(0));
            Outcome::RetryIn(delay, error.unwrap_or("not delivered").to_string())
        }
        Attempt::GaveUp => {
            tracing::warn!(delivery = %delivery.id, error, "webhook delivery failed for good");
            Outcome::Done
        }
        Attempt::Delivered | Attempt::Gone => Outcome::Done,
    }
}
