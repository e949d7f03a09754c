//! `execution.run`: runs one state machine durably.

use std::sync::Arc;

use super::Outcome;
use crate::AppState;

/// Starts the configured workflow for an image (idempotent per cause).
pub async fn start_for_image(_state: &Arc<AppState>, _image: &str, _cause: &str) -> anyhow::Result<()> {
    Ok(())
}

pub async fn run(_state: &Arc<AppState>, execution: &str) -> Outcome {
    Outcome::Failed(format!("execution {execution}: not wired yet"))
}
