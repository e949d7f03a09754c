//! The built-in Task resources (`pictor:*`) a state machine can name.
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

use bytes::Bytes;
use pictor_db::ImageRecord;
use pictor_imaging::{OutputFormat, Pipeline};
use pictor_workflow::{TaskCall, TaskError};
use serde_json::{Value, json};

use super::vision_tasks;
use crate::AppState;
use crate::cache::Derivative;

pub const EXTRACT_METADATA: &str = "pictor:extract-metadata";
pub const VALIDATE_TYPE: &str = "pictor:validate-type";
pub const STORE_METADATA: &str = "pictor:store-metadata";
pub const TRANSFORM_METADATA: &str = "pictor:transform-metadata";
pub const THUMBNAILS: &str = "pictor:thumbnails";
pub const DETECT_LABELS: &str = "pictor:detect-labels";
pub const MODERATE: &str = "pictor:moderate";
pub const DETECT_FACES: &str = "pictor:detect-faces";
pub const DETECT_TEXT: &str = "pictor:detect-text";
pub const WEBHOOK: &str = "pictor:webhook";
pub const REJECT: &str = "pictor:reject";

/// Every built-in task name.
pub const BUILTINS: &[&str] = &[
    EXTRACT_METADATA,
    VALIDATE_TYPE,
    STORE_METADATA,
    TRANSFORM_METADATA,
    THUMBNAILS,
    DETECT_LABELS,
    MODERATE,
    DETECT_FACES,
    DETECT_TEXT,
    WEBHOOK,
    REJECT,
];

/// Formats the default workflow accepts: those Pictor can decode.
const SUPPORTED_FORMATS: &[&str] = &["JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP"];

/// What a task runs for: the execution, and its image if it has one.
pub struct TaskEnv<'a> {
    pub state: &'a AppState,
    pub execution: &'a str,
    pub image: Option<&'a str>,
}

type TaskResult = Result<Value, TaskError>;

pub(super) fn fail(error: &str, cause: impl Into<String>) -> TaskError {
    TaskError { error: error.into(), cause: cause.into() }
}

pub(super) fn unavailable(e: impl std::fmt::Display) -> TaskError {
    fail("pictor.Unavailable", e.to_string())
}

/// Runs the built-in task `call.resource`.
pub async fn run(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
    match call.resource.as_str() {
        EXTRACT_METADATA => extract_metadata(env, &call.input).await,
        VALIDATE_TYPE => validate_type(&call.input),
        STORE_METADATA => store_metadata(env, &call.input).await,
        TRANSFORM_METADATA => transform_metadata(&call.input),
        THUMBNAILS => thumbnails(env, &call.input).await,
        DETECT_LABELS => vision_tasks::detect_labels(env, &call.input).await,
        MODERATE => vision_tasks::moderate(env, call).await,
        DETECT_FACES => vision_tasks::detect_faces(env, &call.input).await,
        DETECT_TEXT => vision_tasks::detect_text(env, &call.input).await,
        WEBHOOK => {
            notify(env, call, call.input.get("event").and_then(Value::as_str).unwrap_or("image.processed")).await
        }
        REJECT => notify(env, call, "image.rejected").await,
        other => Err(fail("States.TaskFailed", format!("no built-in task named {other:?}"))),
    }
}

/// The image the input names (`imageId`, `objectID` or `id`), else the
/// execution's own.
pub(super) async fn image(env: &TaskEnv<'_>, input: &Value) -> Result<ImageRecord, TaskError> {
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

pub(super) async fn original(env: &TaskEnv<'_>, record: &ImageRecord) -> Result<Bytes, TaskError> {
    env.state.store.get_blob(&record.sha256).await.map_err(unavailable)
}

async fn extract_metadata(env: &TaskEnv<'_>, input: &Value) -> TaskResult {
    let record = image(env, input).await?;
    let bytes = original(env, &record).await?;
    let extracted = env
        .state
        .workers
        .run_waiting(move || pictor_meta::extract(&bytes))
        .await
        .map_err(|e| fail("pictor.Unavailable", e.detail))?;
    match extracted {
        Ok(metadata) => Ok(serde_json::to_value(metadata).unwrap_or_default()),
        Err(pictor_meta::MetaError::UnsupportedFormat(what)) => Err(fail("NotSupportedImageType", what)),
        Err(e) => Err(fail("pictor.CorruptImage", e.to_string())),
    }
}

/// The metadata in an input: itself, or under `extractedMetadata`/`metadata`.
fn metadata_in(input: &Value) -> Option<&Value> {
    if input.get("format").is_some() && input.get("mime").is_some() {
        return Some(input);
    }
    ["extractedMetadata", "metadata"].iter().find_map(|k| input.get(*k)).filter(|m| m.get("format").is_some())
}

fn validate_type(input: &Value) -> TaskResult {
    let format = metadata_in(input)
        .or(Some(input))
        .and_then(|m| m.get("format"))
        .and_then(Value::as_str)
        .ok_or_else(|| fail("pictor.InvalidInput", "validate-type needs the extracted metadata (a \"format\")"))?;
    if SUPPORTED_FORMATS.contains(&format.to_ascii_uppercase().as_str()) {
        Ok(json!({ "format": format, "supported": true }))
    } else {
        Err(fail(
            "NotSupportedImageType",
            format!("{format} images are not processed; supported: {}", SUPPORTED_FORMATS.join(", ")),
        ))
    }
}

async fn store_metadata(env: &TaskEnv<'_>, input: &Value) -> TaskResult {
    let record = image(env, input).await?;
    let metadata = metadata_in(input).ok_or_else(|| {
        fail("pictor.InvalidInput", "store-metadata needs the extracted metadata under \"extractedMetadata\"")
    })?;
    match env.state.db.set_image_metadata(&record.id, metadata).await {
        Ok(true) => Ok(json!({ "imageId": record.id, "stored": true })),
        Ok(false) => Err(fail("pictor.ImageNotFound", format!("image {} does not exist (deleted?)", record.id))),
        Err(e) => Err(unavailable(e)),
    }
}

fn transform_metadata(input: &Value) -> TaskResult {
    let metadata =
        metadata_in(input).ok_or_else(|| fail("pictor.InvalidInput", "transform-metadata needs extracted metadata"))?;
    let parsed: pictor_meta::Metadata = serde_json::from_value(metadata.clone())
        .map_err(|e| fail("pictor.InvalidInput", format!("not metadata from pictor:extract-metadata: {e}")))?;
    Ok(pictor_meta::reference_shape(&parsed))
}

/// The reference architecture's shape of stored metadata, if it parses.
pub fn reference_shape(metadata: &Value) -> Option<Value> {
    serde_json::from_value::<pictor_meta::Metadata>(metadata.clone()).ok().map(|m| pictor_meta::reference_shape(&m))
}

/// Makes the configured thumbnail sizes and formats from one decode and
/// stores them as cached derivatives: the same keys that
/// `GET /api/v1/img/{id}.{format}?thumbnail=N` looks up.
async fn thumbnails(env: &TaskEnv<'_>, input: &Value) -> TaskResult {
    let record = image(env, input).await?;
    let settings = &env.state.config.workflow;
    let formats = settings
        .thumbnail_formats
        .iter()
        .map(|f| f.parse::<OutputFormat>().map_err(|e| fail("pictor.InvalidInput", e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let sizes = settings.thumbnail_sizes.clone();
    let bytes = original(env, &record).await?;
    let limits = env.state.limits();
    let (set_sizes, set_formats) = (sizes.clone(), formats.clone());
    let rendered = env
        .state
        .workers
        .run_waiting(move || pictor_imaging::thumbnail_set(&bytes, &set_sizes, &set_formats, &limits))
        .await
        .map_err(|e| fail("pictor.Unavailable", e.detail))?
        .map_err(|e| match e {
            pictor_imaging::ImagingError::UnsupportedFormat(what) => fail("NotSupportedImageType", what),
            other => fail("pictor.CorruptImage", other.to_string()),
        })?;
    let mut made = Vec::with_capacity(rendered.len());
    let labels: Vec<(u32, OutputFormat)> = sizes.iter().flat_map(|&s| formats.iter().map(move |&f| (s, f))).collect();
    for ((size, format), output) in labels.into_iter().zip(rendered) {
        let canonical =
            Pipeline::parse(&format!("thumbnail={size}")).map_err(|e| fail("pictor.InvalidInput", e.to_string()))?;
        let key = crate::cache::derivative_key(&record.sha256, &canonical, format);
        let derivative = Derivative::new(Bytes::from(output.bytes));
        made.push(json!({
            "size": size,
            "format": format.name(),
            "width": output.width,
            "height": output.height,
            "url": format!("/api/v1/img/{}.{}?thumbnail={size}", record.id, format.extension()),
            "bytes": derivative.bytes.len(),
            "etag": derivative.etag.to_string(),
        }));
        env.state.cache.put(key, derivative).await.map_err(|e| fail("pictor.Unavailable", e.detail))?;
    }
    let made = Value::Array(made);
    match env.state.db.set_image_thumbnails(&record.id, &made).await {
        Ok(true) => Ok(json!({ "thumbnails": made })),
        Ok(false) => Err(fail("pictor.ImageNotFound", format!("image {} does not exist (deleted?)", record.id))),
        Err(e) => Err(unavailable(e)),
    }
}

/// The same task across attempts and replays: its key without `/aN`.
pub(super) fn task_key(call: &TaskCall) -> &str {
    call.key.rsplit_once("/a").map_or(call.key.as_str(), |(task, _)| task)
}

/// Records `kind` for the image and settles its status; the event reaches
/// webhook subscribers through the dispatcher. Once per task, however often
/// it runs.
async fn notify(env: &TaskEnv<'_>, call: &TaskCall, kind: &str) -> TaskResult {
    let status = match kind {
        "image.processed" => "processed",
        "image.rejected" => "rejected",
        other => {
            return Err(fail(
                "pictor.InvalidInput",
                format!("event {other:?}: use image.processed or image.rejected (pictor:moderate flags images)"),
            ));
        }
    };
    let record = image(env, &call.input).await?;
    let current = env.state.db.image_state(&record.id).await.map_err(unavailable)?.unwrap_or_default();
    let mut payload = json!({
        "id": record.id,
        "owner": record.owner,
        "status": status,
        "execution": env.execution,
        "metadata": current.metadata,
        "reference": current.metadata.as_ref().and_then(reference_shape),
        "thumbnails": current.thumbnails,
        "links": { "self": format!("/api/v1/img/{}", record.id), "original": format!("/api/v1/img/{}/original", record.id) },
    });
    if status == "rejected" {
        payload["reason"] = call.input.get("error").cloned().unwrap_or(Value::Null);
    }
    let dedupe = format!("{}/{}", env.execution, task_key(call));
    let event = env.state.db.settle_image(&record, status, kind, payload, &dedupe).await.map_err(unavailable)?;
    env.state.job_signal.notify_waiters();
    Ok(json!({ "event": kind, "imageId": record.id, "recorded": event.is_some() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_type_accepts_decodable_formats_only() {
        assert!(validate_type(&json!({"extractedMetadata": {"format": "JPEG"}})).is_ok());
        assert!(validate_type(&json!({"format": "webp"})).is_ok());
        let refused = validate_type(&json!({"format": "HEIC"})).unwrap_err();
        assert_eq!(refused.error, "NotSupportedImageType");
        assert_eq!(validate_type(&json!({})).unwrap_err().error, "pictor.InvalidInput");
    }

    #[test]
    fn metadata_is_found_where_definitions_put_it() {
        let m = json!({"format": "PNG", "mime": "image/png"});
        assert_eq!(metadata_in(&m), Some(&m));
        assert_eq!(metadata_in(&json!({"extractedMetadata": m.clone()})), Some(&m));
        assert_eq!(metadata_in(&json!({"other": 1})), None);
    }
}
