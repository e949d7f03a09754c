//! `pictor:detect-faces`: face boxes with landmarks, in pixels of the upright
//! original; a photo with faces is tagged `person`.

use pictor_core::vision::Vision;
use pictor_workflow::TaskCall;
use serde_json::{Value, json};

use super::vision::{on_picture, small};
use super::{Task, TaskEnv, TaskResult, fail, gone, image, unavailable};

/// The `pictor:detect-faces` task.
pub struct DetectFaces;

impl Task for DetectFaces {
    const NAME: &'static str = "pictor:detect-faces";

    async fn run(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
        detect_faces(env, &call.input).await
    }
}

/// Face boxes with landmarks, kept for the API and the face steps.
async fn detect_faces(env: &TaskEnv<'_>, input: &Value) -> TaskResult {
    let record = image(env, input).await?;
    let (mut faces, scale) =
        on_picture(env, &record, (Vision::face_detector, small), |detector, picture| detector.detect(picture)).await?;
    for face in &mut faces {
        (face.x, face.y, face.width, face.height) =
            (face.x * scale, face.y * scale, face.width * scale, face.height * scale);
        for point in &mut face.landmarks {
            *point = [point[0] * scale, point[1] * scale];
        }
    }
    // A photo with a face in it is browsable as `person`, at the best face's confidence.
    let best = faces.iter().map(|f| f64::from(f.confidence)).reduce(f64::max);
    let person = pictor_vision::labels::vocabulary::PERSON;
    let faces = serde_json::to_value(&faces).map_err(|e| fail("pictor.ModelFailed", e.to_string()))?;
    let db = &env.state.db;
    if !db.set_image_faces(&record.id, &faces).await.map_err(unavailable)?
        || !db.set_image_label(&record.id, person, best).await.map_err(unavailable)?
    {
        return Err(gone(&record));
    }
    Ok(json!({ "faces": faces }))
}
