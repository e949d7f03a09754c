//! Webhook deliveries, signed per the Standard Webhooks spec.
//! (Being written: delivery, signing and retries.)

use crate::AppState;
use crate::jobs::Outcome;

/// Sends one delivery attempt (the `webhook.deliver` job).
pub async fn deliver(_state: &AppState, delivery: &str, _attempts: i64) -> Outcome {
    Outcome::Failed(format!("delivery {delivery}: webhooks are not wired yet"))
}
