//! `blob.archive`: moves one original to the archive tier, and the
//! lifecycle sweep that enqueues these jobs.
//!
//! Why a job: the move must survive a crash midway. The queue keeps the job
//! until `pictor_core::tiers::archive` has finished (durable copy, then the
//! record and the hot copy's deletion in one transaction), and every step
//! is idempotent, so a job run twice moves the original once.

use std::sync::Arc;

use pictor_core::domain::JobKind;
use pictor_core::tiers;
use serde::{Deserialize, Serialize};

use crate::{Job, Outcome, Runtime, backoff};

/// Archives the original `sha256`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ArchiveBlob {
    pub sha256: String,
}

impl Job for ArchiveBlob {
    const KIND: JobKind = JobKind::ArchiveBlob;

    async fn run(self, rt: &Arc<Runtime>, claims: i64) -> Outcome {
        match tiers::archive(rt, &self.sha256).await {
            Ok(_) => Outcome::Done,
            Err(e) => Outcome::RetryIn(backoff(claims), e.detail),
        }
    }
}

/// Blobs enqueued per sweep; the next sweep takes the rest.
const SWEEP_BATCH: i64 = 500;

/// Enqueues a `blob.archive` job for every original the lifecycle rule
/// (`lifecycle.archive_originals`) archives now; returns how many were
/// added (one already queued for a blob is not added twice).
pub async fn sweep(rt: &Runtime) -> pictor_core::Result<usize> {
    let mut added = 0;
    for sha256 in tiers::archive_candidates(rt, SWEEP_BATCH).await? {
        let job = ArchiveBlob { sha256 };
        let dedupe = format!("{}:{}", JobKind::ArchiveBlob.as_str(), job.sha256);
        if rt.db.enqueue_job(&job.queued(Some(dedupe)), std::time::Duration::ZERO).await? {
            added += 1;
        }
    }
    if added > 0 {
        rt.job_signal.notify_waiters();
    }
    Ok(added)
}
