//! What an admin does, for every front end (the API's `/api/v1/admin/…`
//! routes and the web app's `/admin` pages): decide on a flagged image,
//! make accounts admins or not (never the last one), and read the
//! server's counts.

use pictor_db::{ImageRecord, QueueStats, Review};

use crate::AppState;
use crate::error::{Error, ErrorKind, Result};

/// An admin's decision on a flagged image: the record as it now is, its
/// cached copy forgotten, and the workers woken for the event's dispatch.
/// `NotFound` when no such image was flagged.
pub async fn review(state: &AppState, id: &str, decision: Review, by: Option<&str>) -> Result<ImageRecord> {
    let record = state
        .db
        .review_image(id, decision, by)
        .await?
        .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no flagged image {id}")))?;
    state.forget_record(id);
    state.job_signal.notify_waiters();
    Ok(record)
}

/// Makes account `name` an admin or not. `NotFound` when there is no such
/// account; `InvalidRequest` when it is the last admin.
pub async fn set_admin(state: &AppState, name: &str, admin: bool) -> Result<()> {
    match state.db.set_admin(name, admin).await? {
        Some(true) => Ok(()),
        Some(false) => Err(Error::new(ErrorKind::InvalidRequest, "the server keeps at least one admin")),
        None => Err(Error::new(ErrorKind::NotFound, format!("no account {name:?}"))),
    }
}

/// The job queue per state and the executions per status, read together.
pub struct Counts {
    pub jobs: QueueStats,
    pub executions: Vec<(String, i64)>,
}

/// The server's counts as the admin overview shows them.
pub async fn counts(state: &AppState) -> Result<Counts> {
    let (jobs, executions) = tokio::try_join!(state.db.queue_stats(), state.db.execution_counts())?;
    Ok(Counts { jobs, executions })
}
