//! `style.render`: paints a shop order's preview or artwork, then wakes
//! the execution waiting for it. A kind of its own so that dedicated
//! processes (`pictor worker --only style`, on a bigger machine) can take
//! these alone while the others leave them (`workflow.except = ["style"]`);
//! `pictor_queue_ready{kind="style.render"}` says when to add one.

use std::sync::Arc;
use std::time::Duration;

use pictor_core::ErrorKind;
use pictor_core::domain::JobKind;
use pictor_core::shop::orders;
use pictor_db::Rendition;
use serde::{Deserialize, Serialize};

use crate::{Job, Outcome, Runtime, backoff};

/// How long to wait before trying again when the models are not installed.
const NO_MODELS_RETRY: Duration = Duration::from_secs(60);

/// Paint `rendition` (`preview` or `artwork`) of order `order`.
#[derive(Debug, Serialize, Deserialize)]
pub struct StyleRender {
    pub order: String,
    pub rendition: String,
    /// The execution to wake when done.
    #[serde(default)]
    pub execution: Option<String>,
}

impl StyleRender {
    /// The job for `order`'s `which`, once per order and rendition.
    pub fn queued_for(order: &str, which: Rendition, execution: &str) -> pictor_db::NewJob {
        let rendition = orders::rendition_name(which);
        let job = StyleRender { order: order.into(), rendition: rendition.into(), execution: Some(execution.into()) };
        job.queued(Some(format!("style:{order}:{rendition}")))
    }
}

/// `preview` or `artwork` as a [`Rendition`].
pub fn rendition(name: &str) -> Option<Rendition> {
    match name {
        "preview" => Some(Rendition::Preview),
        "artwork" => Some(Rendition::Artwork),
        _ => None,
    }
}

impl Job for StyleRender {
    const KIND: JobKind = JobKind::StyleRender;

    async fn run(self, rt: &Arc<Runtime>, claims: i64) -> Outcome {
        let Some(which) = rendition(&self.rendition) else {
            return Outcome::Failed(format!("rendition {:?} is neither preview nor artwork", self.rendition));
        };
        match orders::render(rt, &self.order, which).await {
            Ok(seconds) => tracing::info!(order = self.order, rendition = self.rendition, seconds, "style rendered"),
            Err(e) if e.kind == ErrorKind::NotFound => {} // the order is gone
            Err(e) if e.kind == ErrorKind::ModelsNotInstalled => {
                return Outcome::RetryIn(NO_MODELS_RETRY, format!("{}: run `pictor models install`", e.detail));
            }
            Err(e) if e.kind.is_transient() && claims < 8 => {
                return Outcome::RetryIn(backoff(claims), e.detail);
            }
            Err(e) => {
                // The photo cannot be painted: the order ends, and its workflow with it.
                if let Err(end) = orders::fail(rt, &self.order, &e.detail).await {
                    return Outcome::RetryIn(backoff(claims), end.detail);
                }
            }
        }
        if let Some(execution) = &self.execution {
            match rt.db.wake_job(execution).await {
                Ok(true) => rt.job_signal.notify_waiters(),
                Ok(false) => {}
                Err(e) => tracing::warn!(execution, error = %e, "waking an execution failed; it looks again soon"),
            }
        }
        Outcome::Done
    }
}
