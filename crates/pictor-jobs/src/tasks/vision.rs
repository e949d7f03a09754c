//! What the vision tasks (`detect_labels`, `moderate`, `detect_faces`,
//! `detect_text`) share: each decodes the original only as large as its
//! model looks, runs the model on a worker thread, and stores what it found
//! in place of what an earlier run stored.
//!
//! Boxes are in pixels of the upright original. Error names a definition can
//! Catch, besides those of [`super`]:
//! - `pictor.ModelsNotInstalled`: the model files are missing
//!   (`pictor models install`);
//! - `pictor.ModelFailed`: the model could not run on this image.

use std::sync::Arc;

use pictor_db::ImageRecord;
use pictor_imaging::Image;
use pictor_vision::VisionError;
use pictor_workflow::TaskError;

use super::{TaskEnv, fail, original};
use pictor_core::vision::Vision;

fn model_error(e: VisionError) -> TaskError {
    match e {
        VisionError::Models(_) => fail("pictor.ModelsNotInstalled", e.to_string()),
        other => fail("pictor.ModelFailed", other.to_string()),
    }
}

/// The upright original, decoded at least `side` pixels on the side the
/// model measures (`shorter` or longer), and how many original pixels one
/// decoded pixel spans.
pub(super) async fn picture(
    env: &TaskEnv<'_>,
    record: &ImageRecord,
    side: u32,
    shorter: bool,
) -> Result<(Image, f32), TaskError> {
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
pub(super) async fn run_model<T: Send + 'static>(
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
