//! `pictor:detect-labels`: ImageNet labels with their WordNet parents, stored in the label index.

use pictor_core::vision::Vision;
use pictor_db::ImageLabel;
use pictor_workflow::TaskCall;
use serde_json::{Value, json};

use super::vision::{picture, run_model};
use super::{Task, TaskEnv, TaskResult, gone, image, unavailable};

/// The `pictor:detect-labels` task.
pub struct DetectLabels;

impl Task for DetectLabels {
    const NAME: &'static str = "pictor:detect-labels";

    async fn run(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
        detect_labels(env, &call.input).await
    }
}

/// ImageNet labels with their WordNet parents, stored in the label index.
async fn detect_labels(env: &TaskEnv<'_>, input: &Value) -> TaskResult {
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
