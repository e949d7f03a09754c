//! Rendering a derivative: an image's original through a pipeline of
//! operations into an output format, on the bounded worker pool.
//!
//! The face steps get the face model through [`crate::vision::Faces`], so
//! the engine itself stays model-free.

use bytes::Bytes;
use pictor_db::ImageRecord;
use pictor_imaging::{OutputFormat, Pipeline};

use crate::AppState;
use crate::cache::Derivative;
use crate::error::{Error, Result};

/// Renders `record` through `pipeline` as `format` on a worker.
pub async fn render(
    state: &AppState,
    record: &ImageRecord,
    pipeline: Pipeline,
    format: OutputFormat,
) -> Result<Derivative> {
    // A place at the front of the line first, the original's bytes second,
    // a worker third: a request waiting in line holds no image memory, one
    // refused (503) has read nothing, and the reads of the next requests
    // (two per worker) overlap the jobs running.
    let ready = state.workers.line_up().await?;
    let original = state.store.get_blob(&record.sha256).await?;
    let slot = ready.admit().await?;
    let limits = state.limits();
    let vision = state.vision.clone();
    // `auto` reaching the encoder means neither AVIF nor WebP: an empty
    // Accept makes it pick PNG or JPEG.
    let output = slot
        .run(move || {
            let faces = if pipeline.needs_faces() { Some(crate::vision::Faces(vision.face_detector()?)) } else { None };
            let finder = faces.as_ref().map(|f| f as &dyn pictor_imaging::ops::FaceFinder);
            Ok::<_, Error>(pipeline.run_with(&original, format, "", &limits, finder)?)
        })
        .await??;
    Ok(Derivative::new(Bytes::from(output.bytes)))
}

/// `record` through `pipeline` as `format`, from the derivative cache or
/// rendered now (and cached): what every route that serves a transform
/// calls once it has checked who may see it.
pub async fn cached(
    state: &AppState,
    record: &ImageRecord,
    pipeline: Pipeline,
    format: OutputFormat,
) -> Result<Derivative> {
    let key = crate::cache::derivative_key(&record.sha256, &pipeline, format);
    state.cache.get_or_compute(key, || render(state, record, pipeline, format)).await
}
