//! The vision tasks (`pictor:detect-labels`, `pictor:moderate`,
//! `pictor:detect-faces`, `pictor:detect-text`): each decodes the original
//! only as large as its model looks, runs the model on a worker thread, and
//! stores what it found in place of what an earlier run stored.
//!
//! Boxes are in pixels of the upright original. Error names a definition can
//! Catch, besides those of [`super::tasks`]:
//! - `pictor.ModelsNotInstalled`: the model files are missing
//!   (`pictor models install`);
//! - `pictor.ModelFailed`: the model could not run on this image.

use std::sync::Arc;

use pictor_db::{ImageLabel, ImageRecord};
use pictor_imaging::Image;
use pictor_vision::VisionError;
use pictor_workflow::{TaskCall, TaskError};
use serde_json::{Value, json};

use super::tasks::{TaskEnv, fail, image, original, unavailable};
use crate::vision::Vision;

type TaskResult = Result<Value, TaskError>;

fn model_error(e: VisionError) -> TaskError {
    match e {
        VisionError::Models(_) => fail("pictor.ModelsNotInstalled", e.to_string()),
        other => fail("pictor.ModelFailed", other.to_string()),
    }
}

/// The upright original, decoded at least `side` pixels on the side the
/// model measures (`shorter` or longer), and how many original pixels one
/// decoded pixel spans.
async fn picture(env: &TaskEnv<'_>, record: &ImageRecord, side: u32, shorter: bool) -> Result<(Image, f32), TaskError> {
    let bytes = original(env, record).await?;
    let limits = env.state.limits();
    let decoded = env
        .state
        .workers
        .run_waiting(move || {
            pictor_imaging::decode::decode_with(&bytes, &limits, &|header| {
                let (w, h) = header.upright_size();
                let measured = if shorter { w.min(h) } else { w.max(h) };
                (f64::from(measured) / f64::from(side)).max(1.0)
            })
        })
        .await
        .map_err(|e| fail("pictor.Unavailable", e.detail))?
        .map_err(|e| fail("pictor.CorruptImage", e.to_string()))?;
    let (full_width, _) = decoded.header.upright_size();
    let scale = full_width as f32 / decoded.image.width() as f32;
    Ok((decoded.image, scale))
}

/// Runs `model` on a worker thread with the loaded models. Each task first
/// gets its model this way (loaded once per process), so a missing model
/// fails it before the original is fetched and decoded.
async fn run_model<T: Send + 'static>(
    env: &TaskEnv<'_>,
    model: impl FnOnce(&Vision) -> pictor_vision::Result<T> + Send + 'static,
) -> Result<T, TaskError> {
    let vision: Arc<Vision> = env.state.vision.clone();
    env.state
        .workers
        .run_waiting(move || model(&vision))
        .await
        .map_err(|e| fail("pictor.Unavailable", e.detail))?
        .map_err(model_error)
}

fn gone(record: &ImageRecord) -> TaskError {
    fail("pictor.ImageNotFound", format!("image {} does not exist (deleted?)", record.id))
}

/// ImageNet labels with their WordNet parents, stored in the label index.
pub async fn detect_labels(env: &TaskEnv<'_>, input: &Value) -> TaskResult {
    let record = image(env, input).await?;
    let labeler = run_model(env, Vision::labeler).await?;
    let (picture, _) = picture(env, &record, 256, true).await?;
    let settings = env.state.config.vision.clone();
    let labels =
        run_model(env, move |_| labeler.labels(&picture, settings.max_labels, settings.min_label_confidence)).await?;
    let mut rows = Vec::new();
    for label in &labels {
        let confidence = f64::from(label.confidence);
        rows.push(ImageLabel { name: label.name.clone(), confidence, direct: true, parents: label.parents.clone() });
        for (i, parent) in label.parents.iter().enumerate() {
            let parents = label.parents[i + 1..].to_vec();
            rows.push(ImageLabel { name: parent.clone(), confidence, direct: false, parents });
        }
    }
    if !env.state.db.set_image_labels(&record.id, &rows).await.map_err(unavailable)? {
        return Err(gone(&record));
    }
    let labels: Vec<Value> =
        labels.iter().map(|l| json!({ "name": l.name, "confidence": l.confidence, "parents": l.parents })).collect();
    Ok(json!({ "labels": labels }))
}

/// The NSFW score; at or over the threshold the image is flagged (held back
/// until an admin approves it) and `image.flagged` fires.
pub async fn moderate(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
    let record = image(env, &call.input).await?;
    let moderator = run_model(env, Vision::moderator).await?;
    let (picture, _) = picture(env, &record, 256, true).await?;
    let score = run_model(env, move |_| moderator.nsfw_score(&picture)).await?;
    let threshold = env.state.config.vision.nsfw_threshold;
    let payload = json!({
        "id": record.id,
        "owner": record.owner,
        "nsfwScore": score,
        "threshold": threshold,
        "execution": env.execution,
        "links": { "self": format!("/api/v1/img/{}", record.id) },
    });
    let dedupe = format!("{}/{}", env.execution, super::tasks::task_key(call));
    let held = env
        .state
        .db
        .set_moderation(&record, f64::from(score), threshold, payload, &dedupe)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| gone(&record))?;
    env.state.forget_record(&record.id);
    env.state.job_signal.notify_waiters();
    Ok(json!({ "nsfwScore": score, "flagged": held }))
}

/// Face boxes with landmarks, kept for the API and the face steps.
pub async fn detect_faces(env: &TaskEnv<'_>, input: &Value) -> TaskResult {
    let record = image(env, input).await?;
    let detector = run_model(env, Vision::face_detector).await?;
    let (picture, scale) = picture(env, &record, 640, false).await?;
    let mut faces = run_model(env, move |_| detector.detect(&picture)).await?;
    for face in &mut faces {
        (face.x, face.y, face.width, face.height) =
            (face.x * scale, face.y * scale, face.width * scale, face.height * scale);
        for point in &mut face.landmarks {
            *point = [point[0] * scale, point[1] * scale];
        }
    }
    let faces = serde_json::to_value(&faces).map_err(|e| fail("pictor.ModelFailed", e.to_string()))?;
    if !env.state.db.set_image_faces(&record.id, &faces).await.map_err(unavailable)? {
        return Err(gone(&record));
    }
    Ok(json!({ "faces": faces }))
}

/// Text lines with their boxes, stored and searchable.
pub async fn detect_text(env: &TaskEnv<'_>, input: &Value) -> TaskResult {
    let record = image(env, input).await?;
    let reader = run_model(env, Vision::text_reader).await?;
    let (picture, scale) = picture(env, &record, 2000, false).await?;
    let mut lines = run_model(env, move |_| reader.read(&picture)).await?;
    for line in &mut lines {
        for corner in &mut line.quad {
            *corner = [corner[0] * scale, corner[1] * scale];
        }
    }
    let text = lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join("\n");
    let lines = serde_json::to_value(&lines).map_err(|e| fail("pictor.ModelFailed", e.to_string()))?;
    if !env.state.db.set_image_text(&record.id, &lines, &text).await.map_err(unavailable)? {
        return Err(gone(&record));
    }
    Ok(json!({ "lines": lines, "text": text }))
}
