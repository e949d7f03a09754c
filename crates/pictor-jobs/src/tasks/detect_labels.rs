//! `pictor:detect-labels`: ImageNet labels with the everyday words they are
//! browsed under (scene words, everyday ancestors), stored in the label
//! index; a guess under `vision.specific_label_confidence` gives only those.

use pictor_core::vision::Vision;
use pictor_db::ImageLabel;
use pictor_vision::labels::vocabulary;
use pictor_workflow::TaskCall;
use serde_json::{Value, json};

use super::vision::{on_picture, small};
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
    let settings = env.state.config.vision.clone();
    let (max, least) = (settings.max_labels, settings.min_label_confidence);
    let (labels, _) =
        on_picture(env, &record, (Vision::labeler, small), move |labeler, picture| labeler.labels(picture, max, least))
            .await?;
    let rows: Vec<ImageLabel> = vocabulary::tags(&labels, settings.specific_label_confidence)
        .into_iter()
        .map(|t| ImageLabel { name: t.name, confidence: f64::from(t.confidence), direct: t.direct, parents: t.parents })
        .collect();
    // `person` is the faces task's to set.
    let kept = [vocabulary::PERSON];
    if !env.state.db.set_image_labels_keeping(&record.id, &rows, &kept).await.map_err(unavailable)? {
        return Err(gone(&record));
    }
    let labels: Vec<Value> =
        labels.iter().map(|l| json!({ "name": l.name, "confidence": l.confidence, "parents": l.parents })).collect();
    Ok(json!({ "labels": labels }))
}
