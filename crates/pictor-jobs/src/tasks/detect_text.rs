//! `pictor:detect-text`: text lines with their boxes, stored and searchable.

use pictor_core::vision::Vision;
use pictor_vision::text::TextReader;
use pictor_workflow::TaskCall;
use serde_json::{Value, json};

use super::vision::{large, on_picture};
use super::{Task, TaskEnv, TaskResult, fail, gone, image, unavailable};

/// The `pictor:detect-text` task.
pub struct DetectText;

impl Task for DetectText {
    const NAME: &'static str = "pictor:detect-text";

    async fn run(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
        detect_text(env, &call.input).await
    }
}

/// Text lines with their boxes, stored and searchable.
async fn detect_text(env: &TaskEnv<'_>, input: &Value) -> TaskResult {
    let record = image(env, input).await?;
    let glance = env.state.config.vision.text_glance;
    let read = move |reader: &TextReader, picture: &_| {
        if glance { reader.read(picture) } else { reader.read_closely(picture) }
    };
    let (mut lines, scale) = on_picture(env, &record, (Vision::text_reader, large), read).await?;
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
