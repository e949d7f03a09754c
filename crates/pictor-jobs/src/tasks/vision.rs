//! What the vision tasks (`detect_labels`, `moderate`, `detect_faces`,
//! `detect_text`) share: one decoded picture of the original, a model run
//! on a worker thread, and storing what it found in place of what an
//! earlier run stored.
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
use pictor_core::vision::{Picture, Vision};

fn model_error(e: VisionError) -> TaskError {
    match e {
        VisionError::Models(_) => fail("pictor.ModelsNotInstalled", e.to_string()),
        other => fail("pictor.ModelFailed", other.to_string()),
    }
}

/// Gets a loaded model (`Vision::labeler`, …).
type Loader<M> = fn(&Vision) -> pictor_vision::Result<Arc<M>>;

/// Runs `model` on a picture of the upright original (`which` of
/// [`Picture`]'s sizes), with the factor from that picture's pixels to the
/// original's. The picture is decoded once for all of an upload's vision
/// steps ([`Vision::picture`]). Model, decode and run are one worker job: a
/// task waits in the workers' line once.
pub(super) async fn on_picture<M: Send + Sync + 'static, T: Send + 'static>(
    env: &TaskEnv<'_>,
    record: &ImageRecord,
    (load, which): (Loader<M>, fn(&Picture) -> &Image),
    run: impl FnOnce(&M, &Image) -> pictor_vision::Result<T> + Send + 'static,
) -> Result<(T, f32), TaskError> {
    let vision: Arc<Vision> = env.state.vision.clone();
    let (limits, key) = (env.state.limits(), record.sha256.clone());
    // Another step of the upload decoded it already: no need to read the original.
    let decoded = vision.decoded_picture(&key);
    let bytes = if decoded.is_none() { Some(original(env, record).await?) } else { None };
    env.state
        .workers
        .run_waiting(move || {
            // Loaded (once per process) first: without it, nothing is decoded.
            let model = load(&vision).map_err(model_error)?;
            let decode = || Picture::decode(bytes.as_deref().unwrap_or_default(), &limits).map_err(|e| e.to_string());
            let picture = match decoded {
                Some(picture) => picture,
                None => vision.picture(&key, decode).map_err(|e| fail("pictor.CorruptImage", e))?,
            };
            let image = which(&picture);
            Ok((run(&model, image).map_err(model_error)?, picture.scale(image)))
        })
        .await
        .map_err(|e| fail("pictor.Unavailable", e.detail))?
}

/// The large picture of [`Picture`].
pub(super) fn large(picture: &Picture) -> &Image {
    &picture.large
}

/// The small picture of [`Picture`].
pub(super) fn small(picture: &Picture) -> &Image {
    &picture.small
}
