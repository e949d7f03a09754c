//! `pictor:store-metadata`: stores the extracted metadata on the image record,
//! with the camera, date and place that search and the map filter on.

use super::{gone, image, metadata_in, unavailable};
use pictor_workflow::TaskCall;
use serde_json::{Value, json};

use super::{Task, TaskEnv, TaskResult, fail};

/// The `pictor:store-metadata` task.
pub struct StoreMetadata;

impl Task for StoreMetadata {
    const NAME: &'static str = "pictor:store-metadata";

    async fn run(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
        store_metadata(env, &call.input).await
    }
}

async fn store_metadata(env: &TaskEnv<'_>, input: &Value) -> TaskResult {
    let record = image(env, input).await?;
    let metadata = metadata_in(input).ok_or_else(|| {
        fail("pictor.InvalidInput", "store-metadata needs the extracted metadata under \"extractedMetadata\"")
    })?;
    let facts = pictor_core::search::facts(metadata);
    match env.state.db.set_image_metadata(&record.id, metadata, &facts).await {
        Ok(true) => Ok(json!({ "imageId": record.id, "stored": true })),
        Ok(false) => Err(gone(&record)),
        Err(e) => Err(unavailable(e)),
    }
}
