//! `import.run`: runs one import (`pictor_core::import`) page by page.
//!
//! [`start`] stores the import and this job in one transaction. The job
//! calls `import::step` until the import has ended: each step is one page,
//! whose counts and cursor are written when it is done, so a process that
//! dies mid-import leaves the cursor at the last page done, and the job,
//! claimed again when its lease lapses, resumes there. The payload holds
//! the source sealed (its credentials never in the clear); it is the only
//! place the credentials are kept, and goes with the job.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pictor_core::auth::Principal;
use pictor_core::domain::JobKind;
use pictor_core::import::{self, Step};
use pictor_db::ImportRecord;
use serde::{Deserialize, Serialize};

use crate::{Job, Outcome, Runtime, backoff};

/// How long one claim runs pages before it hands the job back to the
/// queue (due at once): a shutdown waits at most this long for an import,
/// and other jobs get their turn.
const SLICE: Duration = Duration::from_secs(20);

/// Runs the import `import`, whose source is `source` sealed.
#[derive(Debug, Serialize, Deserialize)]
pub struct ImportRun {
    pub import: String,
    pub source: String,
}

impl Job for ImportRun {
    const KIND: JobKind = JobKind::ImportRun;

    async fn run(self, rt: &Arc<Runtime>, claims: i64) -> Outcome {
        let until = Instant::now() + SLICE;
        loop {
            match import::step(rt, &self.import, &self.source).await {
                Ok(Step::More) if Instant::now() < until => continue,
                Ok(Step::More) => return Outcome::RetryIn(Duration::ZERO, "continues after a slice of pages".into()),
                Ok(Step::Finished) => return Outcome::Done,
                // The source or the database did not answer: the page runs
                // again later (cancelling the import stops it).
                Err(e) => return Outcome::RetryIn(backoff(claims), e.detail),
            }
        }
    }
}

/// Checks `source` for the caller and starts importing it: the record and
/// its job, stored together.
pub async fn start(rt: &Runtime, caller: &Principal, source: &str) -> pictor_core::Result<ImportRecord> {
    let prepared = import::prepare(rt, caller, source).await?;
    let job = ImportRun { import: prepared.record.id.clone(), source: prepared.sealed_source };
    let dedupe = format!("{}:{}", JobKind::ImportRun.as_str(), prepared.record.id);
    rt.db.create_import(&prepared.record, &job.queued(Some(dedupe))).await?;
    rt.job_signal.notify_waiters();
    Ok(prepared.record)
}
