//! Download bundles, the photo asset manager's journey: pick labels, get a
//! link to a zip of every matching original, valid for a day. Without HTTP
//! and without jobs: the layers above run the steps.
//!
//! A bundle moves through its workflow (`bundle.requested` starts it):
//! 1. [`create`] records the request, its event and (from the caller) the
//!    job that will send the link, in one transaction. No address is kept
//!    here: it lives, sealed, only in that job's payload.
//! 2. [`resolve`] finds the owner's photos with the labels (any or all)
//!    through the label index, and gives each a unique, safe name.
//! 3. [`restore_step`] asks the archive tier for the originals that are
//!    there, a few at a time, and says how many are readable; the workflow
//!    retries it until all are.
//! 4. [`write_zip`] streams them into a zip in the store ([`zip`]), then
//!    marks the bundle ready until `bundles.link_secs` from now and
//!    releases the restored copies it asked for: the originals stay
//!    archived and no temporary copy is left behind.
//! 5. [`expire`] (the janitor) deletes the zip and the record once the
//!    link has lapsed; the link then answers `Gone`.
//!
//! Each step records `bundle.progress` events (restoring n/m, zipping n/m),
//! and the end `bundle.ready` or `bundle.failed`, which webhook
//! subscribers receive.

pub mod names;
pub mod zip;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use pictor_db::{BundleItem, BundleOutcome, BundleRecord, ImageFilter, NewJob, now_ms};
use pictor_store::ByteStream;
use serde_json::json;
use sha2::Sha256;

use crate::AppState;
use crate::auth::{Principal, Scope};
use crate::error::{Error, ErrorKind, Result};
use crate::notify::Channel;
use crate::tiers;

/// The most labels one bundle may name.
const MAX_LABELS: usize = 20;
/// How long an unfinished bundle is kept before the janitor gives up on it.
const UNFINISHED_KEEP_MS: i64 = 7 * 86_400 * 1000;
/// Progress events per phase, at most (one per 5%).
const PROGRESS_STEPS: usize = 20;

/// A checked bundle request.
#[derive(Clone, Debug, PartialEq)]
pub struct BundleSpec {
    labels: Vec<String>,
    match_all: bool,
    /// Email or SMS; `None`: only the `bundle.ready` event, to webhooks.
    channel: Option<Channel>,
    link_base: String,
}

impl BundleSpec {
    /// `labels` (1 to 20, trimmed, duplicates dropped), all of them or any;
    /// links point at `link_base` (the server's public address).
    pub fn new(labels: &[String], match_all: bool, channel: Option<Channel>, link_base: &str) -> Result<Self> {
        let mut clean: Vec<String> = Vec::new();
        for label in labels {
            let label = label.trim();
            if label.is_empty() || label.chars().count() > 100 {
                return Err(Error::bad_request("each label must be 1 to 100 characters"));
            }
            if !clean.iter().any(|l| l == label) {
                clean.push(label.to_string());
            }
        }
        if clean.is_empty() || clean.len() > MAX_LABELS {
            return Err(Error::bad_request(format!(
                "name 1 to {MAX_LABELS} labels, e.g. {{\"labels\": [\"mountain\"]}}"
            )));
        }
        Ok(Self { labels: clean, match_all, channel, link_base: link_base.trim_end_matches('/').to_string() })
    }
}

/// Records a bundle for `principal` and its `bundle.requested` event; the
/// job `notify` makes for the new id (the link's message) is queued with
/// them. Returns the bundle.
pub async fn create(
    state: &AppState,
    principal: &Principal,
    spec: BundleSpec,
    notify: impl FnOnce(&str) -> Option<NewJob>,
) -> Result<BundleRecord> {
    if !principal.has(Scope::Read) {
        return Err(Error::new(ErrorKind::Forbidden, "making a bundle needs the read scope"));
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    let now = now_ms();
    let bundle = BundleRecord {
        id: id.clone(),
        owner: principal.owner.clone(),
        labels: spec.labels,
        match_all: spec.match_all,
        channel: spec.channel.map_or("webhook", Channel::as_str).to_string(),
        link_base: spec.link_base,
        state: "requested".into(),
        total: 0,
        restored: 0,
        zipped: 0,
        bytes: 0,
        object_key: format!("bundles/{id}.zip"),
        error: None,
        created_at: now,
        ready_at: 0,
        expires_at: now + UNFINISHED_KEEP_MS,
    };
    let job = notify(&id);
    state.db.create_bundle(&bundle, job.as_ref(), now).await?;
    state.job_signal.notify_waiters();
    tracing::info!(bundle = %id, channel = bundle.channel, labels = bundle.labels.len(), "bundle requested");
    Ok(bundle)
}

/// What a bundle of `labels` would hold now, for the page that asks:
/// how many photos (at most `bundles.max_images` + 1) and their bytes.
pub async fn preview(
    state: &AppState,
    principal: &Principal,
    labels: &[String],
    match_all: bool,
) -> Result<(usize, i64)> {
    let found = candidates(state, principal.owner.as_deref(), labels, match_all).await?;
    Ok((found.len(), found.iter().map(|image| image.bytes).sum()))
}

/// The owner's photos with the labels, oldest first, at most one more
/// than `bundles.max_images` (so that too many can be told).
async fn candidates(
    state: &AppState,
    owner: Option<&str>,
    labels: &[String],
    match_all: bool,
) -> Result<Vec<pictor_db::BundleCandidate>> {
    let filter = ImageFilter { labels: labels.to_vec(), match_all, ..Default::default() };
    let limit = i64::try_from(state.config.bundles.max_images).unwrap_or(i64::MAX - 1) + 1;
    Ok(state.db.bundle_candidates(owner, &filter, limit).await?)
}

/// The caller's bundle `id` (another's is `NotFound`, as a missing one).
pub async fn get(state: &AppState, principal: &Principal, id: &str) -> Result<BundleRecord> {
    match state.db.get_bundle(id).await? {
        Some(bundle) if bundle.owner == principal.owner => Ok(bundle),
        _ => Err(Error::not_found(format!("bundle {id}"))),
    }
}

/// The caller's bundles, newest first.
pub async fn list(state: &AppState, principal: &Principal) -> Result<Vec<BundleRecord>> {
    Ok(state.db.list_bundles(principal.owner.as_deref(), 100).await?)
}

/// A bundle by id, for the steps of its workflow.
async fn load(state: &AppState, id: &str) -> Result<BundleRecord> {
    state.db.get_bundle(id).await?.ok_or_else(|| Error::not_found(format!("bundle {id} (expired or deleted)")))
}

/// Step 2: finds the photos and names their entries. Returns how many.
/// Safe to repeat until the bundle is zipping.
pub async fn resolve(state: &AppState, id: &str) -> Result<usize> {
    let bundle = load(state, id).await?;
    if !matches!(bundle.state.as_str(), "requested" | "restoring") {
        return Ok(bundle.total as usize);
    }
    let max = state.config.bundles.max_images;
    let found = candidates(state, bundle.owner.as_deref(), &bundle.labels, bundle.match_all).await?;
    if found.is_empty() {
        return Err(Error::bad_request("no photo carries these labels"));
    }
    if found.len() as u64 > max {
        return Err(Error::bad_request(format!(
            "more than {max} photos carry these labels (bundles.max_images): pick rarer labels, or match all"
        )));
    }
    let mut names = names::Names::default();
    let items: Vec<BundleItem> = found
        .into_iter()
        .enumerate()
        .map(|(position, image)| BundleItem {
            position: position as i64,
            name: names.next(image.name.as_deref(), &image.format, &image.id),
            image_id: image.id,
            sha256: image.sha256,
            bytes: image.bytes,
            taken_at: image.taken_at,
            restoring: false,
        })
        .collect();
    state.db.set_bundle_items(id, &items).await?;
    progress_event(state, &bundle, "restoring", 0, items.len()).await;
    Ok(items.len())
}

/// How far a bundle's restores are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restored {
    pub readable: usize,
    pub total: usize,
}

impl Restored {
    pub fn done(self) -> bool {
        self.readable == self.total
    }
}

/// Step 3: counts the readable originals, and picks more to restore while
/// fewer than `bundles.restore_parallel` of this bundle's are under way.
/// Returns the progress and every original to ask the archive for (those
/// under way again: asking is idempotent, so a lost request is repeated).
pub async fn restore_step(state: &AppState, id: &str) -> Result<(Restored, Vec<String>)> {
    let bundle = load(state, id).await?;
    let items = state.db.bundle_items(id).await?;
    let unreadable = state.db.unreadable_bundle_items(id, now_ms()).await?;
    let waiting: Vec<&BundleItem> =
        items.iter().filter(|item| unreadable.binary_search(&item.position).is_ok()).collect();
    let under_way = waiting.iter().filter(|item| item.restoring).count();
    let room = state.config.bundles.restore_parallel.saturating_sub(under_way);
    let new: Vec<i64> = waiting.iter().filter(|item| !item.restoring).take(room).map(|item| item.position).collect();
    state.db.mark_bundle_restoring(id, &new).await?;
    let ask = waiting
        .iter()
        .filter(|item| item.restoring || new.contains(&item.position))
        .map(|item| item.sha256.clone())
        .collect();
    let progress = Restored { readable: items.len() - waiting.len(), total: items.len() };
    state.db.set_bundle_progress(id, "restoring", progress.readable as i64, 0).await?;
    if progress.readable > bundle.restored as usize {
        progress_event(state, &bundle, "restoring", progress.readable, progress.total).await;
    }
    Ok((progress, ask))
}

/// Step 4: writes the zip, marks the bundle ready and releases the copies
/// it restored. Returns the zip's size. Safe to repeat (the zip is
/// written again under the same key).
pub async fn write_zip(state: &AppState, id: &str) -> Result<u64> {
    let bundle = load(state, id).await?;
    if bundle.state == "ready" {
        return Ok(bundle.bytes as u64);
    }
    let items = state.db.bundle_items(id).await?;
    let total = items.len();
    state.db.set_bundle_progress(id, "zipping", total as i64, 0).await?;
    let part = state.config.bundles.part_mib * 1024 * 1024;
    let (sender, receiver) = tokio::sync::watch::channel(0);
    let (store, key, entries) = (&state.store, bundle.object_key.as_str(), &items[..]);
    let writing = async move {
        let written = zip::write(store, key, part, entries, &sender).await;
        drop(sender);
        written
    };
    let (bytes, ()) = tokio::join!(writing, report_zipping(state, &bundle, total, receiver));
    let bytes = bytes?;
    let expires_at = now_ms() + i64::try_from(state.config.bundles.link_secs * 1000).unwrap_or(i64::MAX / 2);
    let payload = json!({
        "bundleId": id, "state": "ready", "photos": total, "bytes": bytes, "expiresAt": expires_at,
        "links": { "self": format!("/api/v1/bundles/{id}") },
    });
    state.db.settle_bundle(id, BundleOutcome::Ready { bytes: bytes as i64, expires_at }, payload).await?;
    release(state, &items).await;
    tracing::info!(bundle = %id, photos = total, bytes, "bundle ready");
    Ok(bytes)
}

/// Records zipping progress as `zip::write` reports it, a step at a time
/// (one per 5%), until the writer is done.
async fn report_zipping(
    state: &AppState,
    bundle: &BundleRecord,
    total: usize,
    mut written: tokio::sync::watch::Receiver<usize>,
) {
    let every = total.div_ceil(PROGRESS_STEPS).max(1);
    let mut reported = 0;
    while written.changed().await.is_ok() {
        let done = *written.borrow_and_update();
        if done >= reported + every || done == total {
            reported = done;
            let _ = state.db.set_bundle_progress(&bundle.id, "zipping", total as i64, done as i64).await;
            progress_event(state, bundle, "zipping", done, total).await;
        }
    }
}

/// Ends a bundle as failed with `error` (a sentence for its owner), and
/// releases the copies it restored.
pub async fn fail(state: &AppState, id: &str, error: &str) -> Result<()> {
    let payload = json!({ "bundleId": id, "state": "failed", "error": error });
    state.db.settle_bundle(id, BundleOutcome::Failed { error }, payload).await?;
    release(state, &state.db.bundle_items(id).await?).await;
    tracing::info!(bundle = %id, error, "bundle failed");
    Ok(())
}

/// Removes the restored hot copies this bundle asked for.
async fn release(state: &AppState, items: &[BundleItem]) {
    for item in items.iter().filter(|item| item.restoring) {
        if let Err(e) = tiers::release_restored(state, &item.sha256).await {
            tracing::warn!(sha256 = item.sha256, error = %e.detail, "releasing a restored copy failed; the janitor will");
        }
    }
}

async fn progress_event(state: &AppState, bundle: &BundleRecord, phase: &str, done: usize, total: usize) {
    let payload = json!({ "bundleId": bundle.id, "phase": phase, "done": done, "total": total });
    let dedupe = format!("bundle.progress:{}:{phase}:{done}", bundle.id);
    let recorded =
        state.db.record_event("bundle.progress", &bundle.id, bundle.owner.as_deref(), payload, Some(&dedupe)).await;
    if let Err(e) = recorded {
        tracing::warn!(bundle = bundle.id, error = %e, "recording a bundle's progress failed");
    }
}

/// The janitor: deletes bundles whose link (or, unfinished, whose week)
/// has lapsed at `now`, with their zips. Logs failures; the next round
/// retries.
pub async fn expire(state: &AppState, now: i64) {
    let expired = match state.db.expired_bundles(now, 100).await {
        Ok(expired) => expired,
        Err(e) => {
            tracing::warn!(error = %e, "listing expired bundles failed");
            return;
        }
    };
    for bundle in expired {
        let deleted = async {
            state.store.delete_object(&bundle.object_key).await?;
            state.db.delete_bundle(&bundle.id).await?;
            Ok::<_, Error>(())
        };
        match deleted.await {
            Ok(()) => tracing::info!(bundle = bundle.id, "expired bundle deleted"),
            Err(e) => tracing::warn!(bundle = bundle.id, error = %e.detail, "deleting an expired bundle failed"),
        }
    }
}

/// The bundle's download link, valid until its expiry, for the message.
pub fn link(state: &AppState, bundle: &BundleRecord) -> Result<String> {
    let expires = bundle.expires_at / 1000;
    let sig = link_signature(state, &bundle.id, expires)?;
    Ok(format!("{}/api/v1/bundles/{}/zip?expires={expires}&sig={sig}", bundle.link_base, bundle.id))
}

fn link_signature(state: &AppState, id: &str, expires: i64) -> Result<String> {
    Ok(URL_SAFE_NO_PAD.encode(link_mac(state, id, expires)?.finalize().into_bytes()))
}

/// The MAC of a link to bundle `id` valid until `expires` (Unix seconds),
/// under a key derived from the server's for links alone.
fn link_mac(state: &AppState, id: &str, expires: i64) -> Result<Hmac<Sha256>> {
    let key = state.server_key.derive("pictor bundle link v1")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(format!("{id}\n{expires}").as_bytes());
    Ok(mac)
}

/// Checks a link's signature (in constant time) and its expiry: a forged
/// one is `Forbidden`, a lapsed one `Gone`.
fn check_link(state: &AppState, id: &str, expires: i64, sig: &str) -> Result<()> {
    let given = URL_SAFE_NO_PAD.decode(sig).unwrap_or_default();
    if link_mac(state, id, expires)?.verify_slice(&given).is_err() {
        return Err(Error::new(ErrorKind::Forbidden, "this download link is not valid: check it was copied whole"));
    }
    if expires * 1000 < now_ms() {
        return Err(gone());
    }
    Ok(())
}

fn gone() -> Error {
    Error::new(ErrorKind::Gone, "this bundle's link has expired and its zip was deleted: ask for a new bundle")
}

/// The bundle a signed link names, if the link holds and its zip can be
/// read now.
pub async fn by_link(state: &AppState, id: &str, expires: i64, sig: &str) -> Result<BundleRecord> {
    check_link(state, id, expires, sig)?;
    ready(state.db.get_bundle(id).await?)
}

/// The bundle, if its zip can be read now; one the janitor deleted
/// (`None`) is `Gone`.
pub fn ready(bundle: Option<BundleRecord>) -> Result<BundleRecord> {
    let bundle = bundle.ok_or_else(gone)?;
    if bundle.state != "ready" {
        return Err(Error::new(
            ErrorKind::Conflict,
            format!("bundle {} is {}, not ready yet", bundle.id, bundle.state),
        ));
    }
    if bundle.expires_at < now_ms() {
        return Err(gone());
    }
    Ok(bundle)
}

/// A ready bundle's zip (of `range`, when given) as a stream.
pub async fn open_zip(
    state: &AppState,
    bundle: &BundleRecord,
    range: Option<std::ops::Range<u64>>,
) -> Result<ByteStream> {
    let (_, bytes) = state.store.object_stream(&bundle.object_key, range).await.map_err(|e| match e {
        pictor_store::StoreError::NotFound(_) => gone(),
        other => other.into(),
    })?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_validate_labels() {
        let labels = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let spec = BundleSpec::new(&labels(&[" lake ", "lake", "mountain"]), false, Some(Channel::Email), "http://h/")
            .unwrap();
        assert_eq!(spec.labels, ["lake", "mountain"]);
        assert_eq!(spec.link_base, "http://h");
        assert!(BundleSpec::new(&[], false, Some(Channel::Sms), "").is_err());
        assert!(BundleSpec::new(&labels(&["  "]), false, Some(Channel::Sms), "").is_err());
        let many: Vec<String> = (0..21).map(|i| i.to_string()).collect();
        assert!(BundleSpec::new(&many, true, None, "").is_err());
    }
}
