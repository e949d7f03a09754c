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

/// Runs `model` on the upright original, decoded at least `side` pixels on
/// the side the model measures (`shorter` or longer), with the factor from
/// the decoded picture's pixels to the original's. Model, decode and run are
/// one worker job: a task waits in the workers' line once.
pub(super) async fn on_picture<M: Send + Sync + 'static, T: Send + 'static>(
    env: &TaskEnv<'_>,
    record: &ImageRecord,
    (side, shorter): (u32, bool),
    load: fn(&Vision) -> pictor_vision::Result<Arc<M>>,
    run: impl FnOnce(&M, &Image) -> pictor_vision::Result<T> + Send + 'static,
) -> Result<(T, f32), TaskError> {
    let bytes = original(env, record).await?;
    let limits = env.state.limits();
    let vision: Arc<Vision> = env.state.vision.clone();
    env.state
        .workers
        .run_waiting(move || {
            // Loaded (once per process) first: without it, nothing is decoded.
            let model = load(&vision).map_err(model_error)?;
            let decoded = pictor_imaging::decode::decode_with(&bytes, &limits, &|header| {
                let (w, h) = header.upright_size();
                let measured = if shorter { w.min(h) } else { w.max(h) };
                (f64::from(measured) / f64::from(side)).max(1.0)
            })
            .map_err(|e| fail("pictor.CorruptImage", e.to_string()))?;
            let (full_width, _) = decoded.header.upright_size();
            let scale = full_width as f32 / decoded.image.width() as f32;
            Ok((run(&model, &decoded.image).map_err(model_error)?, scale))
        })
        .await
        .map_err(|e| fail("pictor.Unavailable", e.detail))?
}
