//! `bundle.notify`: sends a bundle's link to the address its owner left,
//! once the bundle is ready (or says it failed).
//!
//! The address is personal data, so it lives only here: sealed in this
//! job's payload, queued with the bundle in one transaction ([`request`]).
//! The job waits (retrying every [`WAIT`]) until the bundle's workflow
//! settles it, which wakes the job at once; then it sends one message and
//! ends, and its row, the only place the address was, is deleted. A job
//! that cannot send gives up after [`MAX_CLAIMS`] tries and ends the same
//! way, never kept as `dead` with the address in it. Nothing personal is
//! logged.

use std::sync::Arc;
use std::time::Duration;

use pictor_core::AppState;
use pictor_core::auth::Principal;
use pictor_core::bundles::{self, BundleSpec};
use pictor_core::domain::JobKind;
use pictor_core::notify::{Message, Recipient};
use pictor_db::BundleRecord;
use serde::{Deserialize, Serialize};

use crate::{Job, Outcome, Runtime, backoff};

/// How long a notification waits before looking at its bundle again, if
/// nothing wakes it.
const WAIT: Duration = Duration::from_secs(60);
/// Sending attempts (claims while the bundle is settled) before giving up.
const MAX_CLAIMS: i64 = 12;

/// Sends bundle `bundle`'s outcome to `to` (sealed).
#[derive(Debug, Serialize, Deserialize)]
pub struct NotifyBundle {
    pub bundle: String,
    /// The recipient, sealed with the server's key.
    pub to: String,
}

impl Job for NotifyBundle {
    const KIND: JobKind = JobKind::NotifyBundle;

    async fn run(self, rt: &Arc<Runtime>, claims: i64) -> Outcome {
        let bundle = match rt.db.get_bundle(&self.bundle).await {
            Ok(Some(bundle)) => bundle,
            Ok(None) => return Outcome::Done,
            Err(e) => return Outcome::RetryIn(backoff(claims), e.to_string()),
        };
        if !matches!(bundle.state.as_str(), "ready" | "failed") {
            return Outcome::RetryIn(WAIT, format!("bundle {} is {}", bundle.id, bundle.state));
        }
        match send(rt, &bundle, &self.to, &self.bundle).await {
            Ok(()) => {
                tracing::info!(bundle = bundle.id, channel = bundle.channel, "bundle notification sent");
                Outcome::Done
            }
            Err(e) if claims < MAX_CLAIMS => Outcome::RetryIn(backoff(claims), e.detail),
            Err(e) => {
                tracing::warn!(bundle = bundle.id, channel = bundle.channel, error = %e.detail,
                    "giving up on a bundle notification; the address is erased");
                Outcome::Done
            }
        }
    }
}

/// The dedupe key of a bundle's notification job (what its workflow wakes).
pub fn dedupe_key(bundle: &str) -> String {
    format!("{}:{bundle}", JobKind::NotifyBundle.as_str())
}

/// Records a bundle for `principal` with `labels` (all, or any) and, for a
/// recipient, the job that sends its link there (none: only the
/// `bundle.ready` event, to webhooks). Links point at `link_base`. A
/// channel the server cannot send on is refused now, before any work is
/// queued.
pub async fn request(
    state: &AppState,
    principal: &Principal,
    labels: &[String],
    match_all: bool,
    to: Option<Recipient>,
    link_base: &str,
) -> pictor_core::Result<BundleRecord> {
    let spec = BundleSpec::new(labels, match_all, to.as_ref().map(Recipient::channel), link_base)?;
    let sealed = match &to {
        Some(recipient) => {
            state.notifier.check(recipient.channel())?;
            Some(state.notifier.seal(recipient)?)
        }
        None => None,
    };
    let job = |id: &str| sealed.map(|to| NotifyBundle { bundle: id.to_string(), to }.queued(Some(dedupe_key(id))));
    bundles::create(state, principal, spec, job).await
}

/// Sends the bundle's outcome to the sealed recipient.
async fn send(rt: &Runtime, bundle: &BundleRecord, sealed: &str, job: &str) -> pictor_core::Result<()> {
    let recipient = rt.notifier.open(sealed)?;
    let mut message = message(rt, bundle, &recipient)?;
    message.id = Some(format!("msg_{job}"));
    rt.notifier.send(&recipient, &message).await
}

/// What the owner is told: the link and until when, or why it failed.
fn message(state: &AppState, bundle: &BundleRecord, to: &Recipient) -> pictor_core::Result<Message> {
    let labels = bundle.labels.join(", ");
    if bundle.state != "ready" {
        let why = bundle.error.as_deref().unwrap_or("it failed");
        let text = format!("Your Pictor bundle of photos tagged {labels} could not be made: {why}.");
        return Ok(Message::new("Your Pictor bundle could not be made", text));
    }
    let link = bundles::link(state, bundle)?;
    let until = pictor_db::rfc3339_ms(bundle.expires_at);
    let size = format!("{:.1} MB", bundle.bytes as f64 / 1e6);
    let photos = bundle.total;
    if matches!(to, Recipient::Sms(_)) {
        let text = format!("Pictor: your {photos} photos tagged {labels} ({size}) are ready until {until}: {link}");
        return Ok(Message::new("Your Pictor bundle is ready", text));
    }
    let text = format!(
        "Your zip of {photos} photos tagged {labels} ({size}) is ready:\n\n{link}\n\n\
         The link works until {until} (UTC); then the zip is deleted.\n"
    );
    let html = format!(
        "<p>Your zip of {photos} photos tagged <b>{}</b> ({size}) is ready:</p>\
         <p><a href=\"{link}\">Download the zip</a></p><p>The link works until {until} (UTC); then the zip is deleted.</p>",
        html_escape(&labels)
    );
    let mut message = Message::new(format!("Your Pictor bundle is ready: {photos} photos"), text);
    message.html = Some(html);
    Ok(message)
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Wakes a bundle's notification (its workflow settled the bundle).
pub async fn wake(state: &AppState, bundle: &str) {
    match state.db.wake_job(&dedupe_key(bundle)).await {
        Ok(true) => state.job_signal.notify_waiters(),
        Ok(false) => {}
        Err(e) => tracing::warn!(bundle, error = %e, "waking a bundle notification failed; it looks again soon"),
    }
}
