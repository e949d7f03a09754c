//! The built-in Task resources (`pictor:*`) a state machine can name: one
//! file per task, each a [`Task`] impl, all listed once in [`builtin_tasks!`].
//!
//! Each task finds its image by `imageId` in its input (or the execution's
//! image), does one thing, and returns JSON. Every task is idempotent: a
//! task re-run after a crash writes the same derivatives, overwrites the same
//! fields and records its event once (events carry a dedupe key made from
//! the execution and the task's replay key).
//!
//! Error names a definition can Retry or Catch:
//! - `NotSupportedImageType`: the file is not an image type Pictor processes;
//! - `pictor.CorruptImage`: the file cannot be read;
//! - `pictor.ImageNotFound`: the image was deleted meanwhile;
//! - `pictor.InvalidInput`: the task's input lacks what it needs;
//! - `pictor.Unavailable`: the database or store failed (worth retrying).

mod bundle;
mod detect_faces;
mod detect_labels;
mod detect_text;
mod extract_metadata;
mod moderate;
pub(crate) mod notify;
mod shop;
mod store_metadata;
mod thumbnails;
mod transform_metadata;
mod validate_type;
mod vision;

use std::future::Future;

use bytes::Bytes;
use pictor_core::AppState;
use pictor_db::ImageRecord;
use pictor_workflow::{TaskCall, TaskError};
use serde_json::Value;

/// A built-in task: the resource name a definition gives, and what it does.
pub trait Task {
    /// The resource name, `pictor:…`.
    const NAME: &'static str;

    fn run(env: &TaskEnv<'_>, call: &TaskCall) -> impl Future<Output = TaskResult> + Send;
}

/// Lists the built-in tasks once: [`BUILTINS`] and [`run`] come from it.
macro_rules! builtin_tasks {
    ($($task:ty),+ $(,)?) => {
        /// Every built-in task name.
        pub const BUILTINS: &[&str] = &[$(<$task>::NAME),+];

        /// Runs the built-in task `call.resource`, timed in the metrics.
        pub async fn run(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
            $(if call.resource == <$task>::NAME {
                let started = std::time::Instant::now();
                let result = <$task>::run(env, call).await;
                env.state.metrics.task_ran(<$task>::NAME, started.elapsed().as_secs_f64());
                return result;
            })+
            Err(fail("States.TaskFailed", format!("no built-in task named {:?}", call.resource)))
        }
    };
}

builtin_tasks![
    extract_metadata::ExtractMetadata,
    validate_type::ValidateType,
    store_metadata::StoreMetadata,
    transform_metadata::TransformMetadata,
    thumbnails::Thumbnails,
    detect_labels::DetectLabels,
    moderate::Moderate,
    detect_faces::DetectFaces,
    detect_text::DetectText,
    notify::Webhook,
    notify::Reject,
    bundle::Resolve,
    bundle::Restore,
    bundle::Zip,
    bundle::Failed,
    shop::Render,
    shop::Mail,
    shop::Failed,
];

/// What a task runs for: the execution, and its image if it has one.
pub struct TaskEnv<'a> {
    pub state: &'a AppState,
    pub execution: &'a str,
    pub image: Option<&'a str>,
}

pub type TaskResult = Result<Value, TaskError>;

pub(crate) fn fail(error: &str, cause: impl Into<String>) -> TaskError {
    TaskError { error: error.into(), cause: cause.into() }
}

/// Why a caught error (`{"Error", "Cause"}` in `input["error"]`) ended a
/// workflow: its cause, else its name, else `otherwise`.
pub(crate) fn caught_reason<'a>(input: &'a Value, otherwise: &'a str) -> &'a str {
    let error = &input["error"];
    let cause = error.get("Cause").and_then(Value::as_str).filter(|c| !c.is_empty());
    cause.or_else(|| error.get("Error").and_then(Value::as_str)).unwrap_or(otherwise)
}

pub(crate) fn unavailable(e: impl std::fmt::Display) -> TaskError {
    fail("pictor.Unavailable", e.to_string())
}

pub(crate) fn gone(record: &ImageRecord) -> TaskError {
    fail("pictor.ImageNotFound", format!("image {} does not exist (deleted?)", record.id))
}

/// The image the input names (`imageId`, `objectID` or `id`), else the
/// execution's own.
pub async fn image(env: &TaskEnv<'_>, input: &Value) -> Result<ImageRecord, TaskError> {
    let named = ["imageId", "objectID", "id"].iter().find_map(|k| input.get(*k).and_then(Value::as_str));
    let Some(id) = named.or(env.image) else {
        return Err(fail("pictor.InvalidInput", "the task input names no image: give it an \"imageId\""));
    };
    match env.state.db.get_image(id).await {
        Ok(Some(record)) => Ok(record),
        Ok(None) => Err(fail("pictor.ImageNotFound", format!("image {id} does not exist (deleted?)"))),
        Err(e) => Err(unavailable(e)),
    }
}

/// The image's original; `pictor.ImageArchived` when only the archive tier
/// holds it (restore it first).
pub async fn original(env: &TaskEnv<'_>, record: &ImageRecord) -> Result<Bytes, TaskError> {
    env.state.store.get_blob(&record.sha256).await.map_err(|e| match e {
        pictor_store::StoreError::Archived(_) => {
            fail("pictor.ImageArchived", format!("the original of image {} is archived: restore it first", record.id))
        }
        other => unavailable(other),
    })
}

/// The metadata in an input: itself, or under `extractedMetadata`/`metadata`.
pub(crate) fn metadata_in(input: &Value) -> Option<&Value> {
    if input.get("format").is_some() && input.get("mime").is_some() {
        return Some(input);
    }
    ["extractedMetadata", "metadata"].iter().find_map(|k| input.get(*k)).filter(|m| m.get("format").is_some())
}

/// The reference architecture's shape of stored metadata, if it parses.
pub fn reference_shape(metadata: &Value) -> Option<Value> {
    serde_json::from_value::<pictor_meta::Metadata>(metadata.clone()).ok().map(|m| pictor_meta::reference_shape(&m))
}

/// The same task across attempts and replays: its key without `/aN`.
pub(super) fn task_key(call: &TaskCall) -> &str {
    call.key.rsplit_once("/a").map_or(call.key.as_str(), |(task, _)| task)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_is_found_where_definitions_put_it() {
        let m = json!({"format": "PNG", "mime": "image/png"});
        assert_eq!(metadata_in(&m), Some(&m));
        assert_eq!(metadata_in(&json!({"extractedMetadata": m.clone()})), Some(&m));
        assert_eq!(metadata_in(&json!({"other": 1})), None);
    }

    #[test]
    fn every_builtin_is_listed_once() {
        let mut names = BUILTINS.to_vec();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), BUILTINS.len(), "a task listed twice");
        assert_eq!(names.len(), 18);
        assert!(names.iter().all(|n| n.starts_with("pictor:")));
    }
}
