//! `blob.restore`: brings one archived original back hot.
//!
//! Enqueued by a restore request ([`request`]) after the first wait (the
//! local store's configured delay); each run is one
//! `pictor_core::tiers::poll_restore` step, and while the archive is still
//! making its copy the job is retried after the poll interval, so a restore
//! holds no worker while it waits.

use std::sync::Arc;
use std::time::Duration;

use pictor_core::domain::JobKind;
use pictor_core::tiers::{self, Poll, TierState};
use serde::{Deserialize, Serialize};

use crate::{Job, Outcome, Runtime, backoff};

/// Restores the original `sha256`.
#[derive(Debug, Serialize, Deserialize)]
pub struct RestoreBlob {
    pub sha256: String,
}

impl Job for RestoreBlob {
    const KIND: JobKind = JobKind::RestoreBlob;

    async fn run(self, rt: &Arc<Runtime>, claims: i64) -> Outcome {
        match tiers::poll_restore(rt, &self.sha256).await {
            Ok(Poll::Ready(_) | Poll::Idle) => Outcome::Done,
            Ok(Poll::Pending(wait)) => Outcome::RetryIn(wait, "the archive is still restoring the original".into()),
            Err(e) => Outcome::RetryIn(backoff(claims), e.detail),
        }
    }
}

/// Asks for a restore of the archived original `sha256` and queues the job
/// that completes it (once per restore in progress). Returns its state.
pub async fn request(rt: &pictor_core::AppState, sha256: &str) -> pictor_core::Result<TierState> {
    let (state, first_look) = tiers::request_restore(rt, sha256).await?;
    if matches!(state.restore.as_deref(), Some("requested" | "restoring")) {
        let job = RestoreBlob { sha256: sha256.to_string() };
        let dedupe = format!("{}:{sha256}", JobKind::RestoreBlob.as_str());
        rt.db.enqueue_job(&job.queued(Some(dedupe)), first_look).await?;
        if first_look == Duration::ZERO {
            rt.job_signal.notify_waiters();
        }
    }
    Ok(state)
}
