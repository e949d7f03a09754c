//! `pictor:moderate`: the NSFW score; at or over the threshold the image is held and `image.flagged` recorded.

use pictor_core::vision::Vision;
use pictor_workflow::TaskCall;
use serde_json::json;

use super::vision::{on_picture, small};
use super::{Task, TaskEnv, TaskResult, gone, image, unavailable};

/// The `pictor:moderate` task.
pub struct Moderate;

impl Task for Moderate {
    const NAME: &'static str = "pictor:moderate";

    async fn run(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
        moderate(env, call).await
    }
}

/// The NSFW score; at or over the threshold the image is flagged (held back
/// until an admin approves it) and `image.flagged` fires.
async fn moderate(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
    let record = image(env, &call.input).await?;
    let (score, _) =
        on_picture(env, &record, (Vision::moderator, small), |moderator, picture| moderator.nsfw_score(picture))
            .await?;
    let threshold = env.state.config.vision.nsfw_threshold;
    let payload = json!({
        "id": record.id,
        "owner": record.owner,
        "nsfwScore": score,
        "threshold": threshold,
        "execution": env.execution,
        "links": { "self": format!("/api/v1/img/{}", record.id) },
    });
    let dedupe = format!("{}/{}", env.execution, super::task_key(call));
    let held = env
        .state
        .db
        .set_moderation(&record, f64::from(score), threshold, payload, &dedupe)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| gone(&record))?;
    env.state.forget_record(&record.id);
    env.state.job_signal.notify_waiters();
    Ok(json!({ "nsfwScore": score, "flagged": held }))
}
