//! `pictor:webhook` and `pictor:reject`: settle the image (`processed` or
//! `rejected`) and record the event that says so; the event reaches webhook
//! subscribers through the dispatcher. Once per task, however often it runs.

use pictor_core::domain::ImageStatus;
use pictor_db::{ImageRecord, ImageState};
use pictor_workflow::TaskCall;
use serde_json::{Value, json};

use super::{Task, TaskEnv, TaskResult, fail, image, task_key, unavailable};

/// The `pictor:webhook` task: records `event` (default `image.processed`).
pub struct Webhook;

impl Task for Webhook {
    const NAME: &'static str = "pictor:webhook";

    async fn run(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
        notify(env, call, call.input.get("event").and_then(Value::as_str).unwrap_or("image.processed")).await
    }
}

/// The `pictor:reject` task: records `image.rejected` with the input's `error`.
pub struct Reject;

impl Task for Reject {
    const NAME: &'static str = "pictor:reject";

    async fn run(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
        notify(env, call, "image.rejected").await
    }
}

/// The payload of an image's settling event: its id, owner, status, the
/// execution, and what the workflow stored (metadata, thumbnails, links).
pub fn image_payload(record: &ImageRecord, current: &ImageState, execution: &str, status: ImageStatus) -> Value {
    json!({
        "id": record.id,
        "owner": record.owner,
        "status": status.as_str(),
        "execution": execution,
        "metadata": current.metadata,
        "reference": current.metadata.as_ref().and_then(super::reference_shape),
        "thumbnails": current.thumbnails,
        "links": { "self": format!("/api/v1/img/{}", record.id), "original": format!("/api/v1/img/{}/original", record.id) },
    })
}

/// Records `kind` for the image and settles its status.
async fn notify(env: &TaskEnv<'_>, call: &TaskCall, kind: &str) -> TaskResult {
    let status = match kind {
        "image.processed" => ImageStatus::Processed,
        "image.rejected" => ImageStatus::Rejected,
        other => {
            return Err(fail(
                "pictor.InvalidInput",
                format!("event {other:?}: use image.processed or image.rejected (pictor:moderate flags images)"),
            ));
        }
    };
    let record = image(env, &call.input).await?;
    let current = env.state.db.image_state(&record.id).await.map_err(unavailable)?.unwrap_or_default();
    let mut payload = image_payload(&record, &current, env.execution, status);
    if status == ImageStatus::Rejected {
        payload["reason"] = call.input.get("error").cloned().unwrap_or(Value::Null);
    }
    let dedupe = format!("{}/{}", env.execution, task_key(call));
    let event =
        env.state.db.settle_image(&record, status.as_str(), kind, payload, &dedupe).await.map_err(unavailable)?;
    env.state.job_signal.notify_waiters();
    Ok(json!({ "event": kind, "imageId": record.id, "recorded": event.is_some() }))
}
