//! The download bundles' tasks (`pictor:bundle-*`), one per step of the
//! built-in `bundles` workflow; each is a thin call into
//! `pictor_core::bundles` with the bundle named by `bundleId`.
//!
//! Errors a definition can Retry or Catch, besides `pictor.Unavailable`:
//! - `pictor.Restoring`: originals are still coming back from the archive
//!   (the cause says how many are readable); retry until they are;
//! - `pictor.BundleEmpty`: no photo carries the labels, or too many do;
//! - `pictor.BundleNotFound`: the bundle was deleted meanwhile.

use pictor_core::ErrorKind;
use pictor_core::bundles;
use pictor_workflow::{TaskCall, TaskError};
use serde_json::{Value, json};

use super::{Task, TaskEnv, TaskResult, caught_reason, fail, unavailable};
use crate::jobs::{notify_bundle, restore_blob};

/// `pictor:bundle-resolve`: finds the photos and names their entries.
pub struct Resolve;

impl Task for Resolve {
    const NAME: &'static str = "pictor:bundle-resolve";

    async fn run(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
        let id = bundle_id(call)?;
        let photos = bundles::resolve(env.state, id).await.map_err(task_error)?;
        Ok(json!({ "bundleId": id, "photos": photos }))
    }
}

/// `pictor:bundle-restore`: asks for restores; fails with
/// `pictor.Restoring` until every original is readable.
pub struct Restore;

impl Task for Restore {
    const NAME: &'static str = "pictor:bundle-restore";

    async fn run(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
        let id = bundle_id(call)?;
        let (progress, ask) = bundles::restore_step(env.state, id).await.map_err(task_error)?;
        for sha256 in &ask {
            restore_blob::request(env.state, sha256).await.map_err(task_error)?;
        }
        if !progress.done() {
            let cause = format!("{} of {} originals readable", progress.readable, progress.total);
            return Err(fail("pictor.Restoring", cause));
        }
        Ok(json!({ "bundleId": id, "readable": progress.readable }))
    }
}

/// `pictor:bundle-zip`: writes the zip and marks the bundle ready.
pub struct Zip;

impl Task for Zip {
    const NAME: &'static str = "pictor:bundle-zip";

    async fn run(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
        let id = bundle_id(call)?;
        let bytes = bundles::write_zip(env.state, id).await.map_err(task_error)?;
        notify_bundle::wake(env.state, id).await;
        Ok(json!({ "bundleId": id, "bytes": bytes }))
    }
}

/// `pictor:bundle-failed`: marks the bundle failed with the caught error.
pub struct Failed;

impl Task for Failed {
    const NAME: &'static str = "pictor:bundle-failed";

    async fn run(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
        let id = bundle_id(call)?;
        let reason = caught_reason(&call.input, "the bundle failed");
        bundles::fail(env.state, id, reason).await.map_err(task_error)?;
        notify_bundle::wake(env.state, id).await;
        Ok(json!({ "bundleId": id, "state": "failed" }))
    }
}

fn bundle_id(call: &TaskCall) -> Result<&str, TaskError> {
    call.input
        .get("bundleId")
        .and_then(Value::as_str)
        .ok_or_else(|| fail("pictor.InvalidInput", "the task input names no bundle: give it a \"bundleId\""))
}

fn task_error(e: pictor_core::Error) -> TaskError {
    match e.kind {
        ErrorKind::InvalidRequest => fail("pictor.BundleEmpty", e.detail),
        ErrorKind::NotFound | ErrorKind::Gone => fail("pictor.BundleNotFound", e.detail),
        _ => unavailable(e.detail),
    }
}
