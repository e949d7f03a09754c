//! `pictor:thumbnails`: the configured preset thumbnails, from one decode, stored as cached derivatives.

use bytes::Bytes;
use pictor_core::cache::Derivative;
use pictor_imaging::{OutputFormat, Pipeline};

use super::{gone, image, original, unavailable};
use pictor_workflow::TaskCall;
use serde_json::{Value, json};

use super::{Task, TaskEnv, TaskResult, fail};

/// The `pictor:thumbnails` task.
pub struct Thumbnails;

impl Task for Thumbnails {
    const NAME: &'static str = "pictor:thumbnails";

    async fn run(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
        thumbnails(env, &call.input).await
    }
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
        let key = pictor_core::cache::derivative_key(&record.sha256, &canonical, format);
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
        Ok(false) => Err(gone(&record)),
        Err(e) => Err(unavailable(e)),
    }
}
