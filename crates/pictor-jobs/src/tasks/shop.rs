//! The shop's tasks (`pictor:shop-*`), the steps of the built-in
//! `shop-preview` and `shop-artwork` workflows; each names its order by
//! `orderId`.
//!
//! Errors a definition can Retry or Catch, besides `pictor.Unavailable`:
//! - `pictor.Rendering`: the picture is being painted by a `style.render`
//!   job (which wakes the execution when done); retry until it is;
//! - `pictor.RenderFailed`: the photo could not be painted;
//! - `pictor.OrderNotFound`: the order was deleted meanwhile.

use pictor_core::ErrorKind;
use pictor_core::shop::orders;
use pictor_db::Rendition;
use pictor_workflow::{TaskCall, TaskError};
use serde_json::{Value, json};

use super::{Task, TaskEnv, TaskResult, caught_reason, fail, unavailable};
use crate::jobs::style_render::{StyleRender, rendition};

/// `pictor:shop-render`: `{orderId, rendition: preview|artwork}`; fails
/// with `pictor.Rendering` until the picture is painted.
pub struct Render;

impl Task for Render {
    const NAME: &'static str = "pictor:shop-render";

    async fn run(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
        let id = order_id(call)?;
        let name = call.input.get("rendition").and_then(Value::as_str).unwrap_or_default();
        let which = rendition(name)
            .ok_or_else(|| fail("pictor.InvalidInput", "rendition must be \"preview\" or \"artwork\""))?;
        let order = orders::get(env.state, id).await.map_err(task_error)?;
        if order.state == "failed" {
            return Err(fail("pictor.RenderFailed", order.error.unwrap_or_default()));
        }
        let key = match which {
            Rendition::Preview => order.preview_key,
            Rendition::Artwork => order.artwork_key,
        };
        if let Some(key) = key {
            return Ok(json!({ "orderId": id, "rendition": name, "key": key }));
        }
        let job = StyleRender::queued_for(id, which, env.execution);
        env.state
            .db
            .enqueue(&job.kind, &job.payload, job.dedupe.as_deref(), Default::default())
            .await
            .map_err(unavailable)?;
        env.state.job_signal.notify_waiters();
        Err(fail("pictor.Rendering", format!("the {name} is being painted by a style worker")))
    }
}

/// `pictor:shop-mail`: `{orderId, message: preview|artwork}`: mails the
/// order's link (the artwork's also erases the address).
pub struct Mail;

impl Task for Mail {
    const NAME: &'static str = "pictor:shop-mail";

    async fn run(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
        let id = order_id(call)?;
        let sent = match call.input.get("message").and_then(Value::as_str) {
            Some("preview") => orders::send_preview(env.state, id).await,
            Some("artwork") => orders::send_artwork(env.state, id).await,
            _ => return Err(fail("pictor.InvalidInput", "message must be \"preview\" or \"artwork\"")),
        };
        sent.map_err(task_error)?;
        Ok(json!({ "orderId": id, "sent": true }))
    }
}

/// `pictor:shop-failed`: ends the order with the caught error (its
/// address is erased).
pub struct Failed;

impl Task for Failed {
    const NAME: &'static str = "pictor:shop-failed";

    async fn run(env: &TaskEnv<'_>, call: &TaskCall) -> TaskResult {
        let id = order_id(call)?;
        let reason = caught_reason(&call.input, "the order failed");
        orders::fail(env.state, id, reason).await.map_err(task_error)?;
        Ok(json!({ "orderId": id, "state": "failed" }))
    }
}

fn order_id(call: &TaskCall) -> Result<&str, TaskError> {
    call.input
        .get("orderId")
        .and_then(Value::as_str)
        .ok_or_else(|| fail("pictor.InvalidInput", "the task input names no order: give it an \"orderId\""))
}

fn task_error(e: pictor_core::Error) -> TaskError {
    match e.kind {
        ErrorKind::NotFound => fail("pictor.OrderNotFound", e.detail),
        // No address left: the order ended meanwhile; nothing to send.
        ErrorKind::Gone => fail("pictor.OrderNotFound", e.detail),
        _ => unavailable(e.detail),
    }
}
