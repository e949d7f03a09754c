//! `pictor:transform-metadata`: the AWS reference architecture's shape of extracted metadata.

use super::metadata_in;
use pictor_workflow::TaskCall;
use serde_json::Value;

use super::{Task, TaskEnv, TaskResult, fail};

/// The `pictor:transform-metadata` task.
pub struct TransformMetadata;

impl Task for TransformMetadata {
    const NAME: &'static str = "pictor:transform-metadata";

    async fn run(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
        let _ = env;
        transform_metadata(&call.input)
    }
}

fn transform_metadata(input: &Value) -> TaskResult {
    let metadata =
        metadata_in(input).ok_or_else(|| fail("pictor.InvalidInput", "transform-metadata needs extracted metadata"))?;
    let parsed: pictor_meta::Metadata = serde_json::from_value(metadata.clone())
        .map_err(|e| fail("pictor.InvalidInput", format!("not metadata from pictor:extract-metadata: {e}")))?;
    Ok(pictor_meta::reference_shape(&parsed))
}
