//! `pictor:extract-metadata`: reads the original's metadata (EXIF, GPS, ICC, sizes) without decoding pixels.

use super::{image, original};
use pictor_workflow::TaskCall;
use serde_json::Value;

use super::{Task, TaskEnv, TaskResult, fail};

/// The `pictor:extract-metadata` task.
pub struct ExtractMetadata;

impl Task for ExtractMetadata {
    const NAME: &'static str = "pictor:extract-metadata";

    async fn run(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
        extract_metadata(env, &call.input).await
    }
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
