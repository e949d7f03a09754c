//! Storage tiers for originals: archiving, restoring, and the janitor of
//! restored copies, for every front end (the API's restore route, the
//! lifecycle job, and later the asset manager's bundles).
//!
//! Why here and not in the store: the store moves bytes between tiers
//! (`pictor_store::archive`); which blob is in which tier, and the order
//! that keeps a crash harmless, belong to the records. Archiving is:
//! copy to the archive durably → record `archive` and delete the hot copy
//! in one transaction. A restore is: `requested` → the archive makes a
//! readable copy (`restoring`; S3 `RestoreObject`, polled) → copied back as
//! a temporary hot copy → `restored` until `tiers.restored_secs` have
//! passed, when the janitor removes it. Readers need no change: a hot copy
//! is read as ever, and its absence reads as `image_archived`.
//!
//! Derivatives never move. Nothing here touches images or their labels, so
//! label counts do not change when an original changes tier.

use std::time::Duration;

use futures::{StreamExt as _, TryStreamExt as _};
use pictor_db::{ArchiveCandidates, BlobTier};
use pictor_store::RestoreStatus;
use serde::Serialize;

use crate::AppState;
use crate::config::ArchiveRule;
use crate::error::{Error, Result};

/// Where an original is, as the API reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TierState {
    /// `hot` or `archive`.
    pub tier: String,
    /// `requested`, `restoring` or `restored` while a restore is asked for
    /// or readable; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore: Option<String>,
    /// Unix ms until which the restored copy is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored_until: Option<i64>,
}

impl TierState {
    fn of(row: &BlobTier, now: i64) -> Self {
        let restore = match row.restore_state.as_deref() {
            Some("restored") if !row.is_restored(now) => None,
            other => other.map(str::to_string),
        };
        let restored_until = (restore.as_deref() == Some("restored")).then_some(row.restored_until);
        Self { tier: row.tier.clone(), restore, restored_until }
    }

    /// Whether the original can be read now (hot, or restored).
    pub fn readable(&self) -> bool {
        self.tier == "hot" || self.restore.as_deref() == Some("restored")
    }
}

/// One look at a restore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Poll {
    /// Readable: hot, or restored until this Unix ms (`None` when hot).
    Ready(Option<i64>),
    /// Not yet: look again after this long.
    Pending(Duration),
    /// No restore is asked for (or its copy was released).
    Idle,
}

/// A blob's tier; `NotFound` when there is no such blob.
pub async fn state(state: &AppState, sha256: &str) -> Result<TierState> {
    let row = state.db.blob_tier(sha256).await?.ok_or_else(|| Error::not_found(format!("blob {sha256}")))?;
    Ok(TierState::of(&row, pictor_db::now_ms()))
}

/// Moves an original to the archive tier: a durable copy there, then the
/// record and the hot copy's deletion in one transaction. Returns whether
/// it moved (false when the blob is no longer archivable: an upload or a
/// workflow holds it, or it is archived already). Safe to repeat.
pub async fn archive(state: &AppState, sha256: &str) -> Result<bool> {
    let Some(row) = state.db.blob_tier(sha256).await? else { return Ok(false) };
    if row.is_archived() {
        return Ok(false);
    }
    state.store.archive_blob(sha256).await?;
    let moved = state.db.mark_archived(sha256, || state.store.delete_hot_blob(sha256)).await?;
    if moved {
        tracing::info!(sha256, "original archived");
    }
    Ok(moved)
}

/// Hot blobs that the configured lifecycle rule archives now, at most `limit`.
pub async fn archive_candidates(state: &AppState, limit: i64) -> Result<Vec<String>> {
    let now = pictor_db::now_ms();
    let rule = match state.config.lifecycle.archive_originals {
        ArchiveRule::Never => return Ok(Vec::new()),
        ArchiveRule::Labelled => ArchiveCandidates { stored_before: now, processed: true },
        ArchiveRule::After(age) => {
            let age = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
            ArchiveCandidates { stored_before: now.saturating_sub(age), processed: false }
        }
    };
    Ok(state.db.archive_candidates(rule, limit).await?)
}

/// Asks for a restore of an archived original. Returns its state, and how
/// long until the first look ([`poll_restore`]) is worth it: the local
/// store's configured delay, or none on S3 (whose own restore takes the
/// time).
pub async fn request_restore(state: &AppState, sha256: &str) -> Result<(TierState, Duration)> {
    let row = state.db.request_restore(sha256).await?.ok_or_else(|| Error::not_found(format!("blob {sha256}")))?;
    let first_look = if state.store.is_local() {
        Duration::from_secs(state.config.tiers.restore_delay_secs)
    } else {
        Duration::ZERO
    };
    Ok((TierState::of(&row, pictor_db::now_ms()), first_look))
}

/// One step of a restore: starts it in the archive if needed, and once the
/// archive's copy is readable, copies it back hot and records until when.
pub async fn poll_restore(state: &AppState, sha256: &str) -> Result<Poll> {
    let Some(row) = state.db.blob_tier(sha256).await? else { return Ok(Poll::Idle) };
    let now = pictor_db::now_ms();
    if !row.is_archived() {
        return Ok(Poll::Ready(None));
    }
    match row.restore_state.as_deref() {
        Some("restored") if row.is_restored(now) => return Ok(Poll::Ready(Some(row.restored_until))),
        Some("requested" | "restoring") => {}
        _ => return Ok(Poll::Idle),
    }
    let mut status = state.store.restore_status(sha256).await?;
    if status == RestoreStatus::NotStarted {
        state.store.start_restore(sha256, restore_days(state)).await?;
        status = state.store.restore_status(sha256).await?;
    }
    if status != RestoreStatus::Readable {
        state.db.mark_restoring(sha256).await?;
        return Ok(Poll::Pending(Duration::from_secs(state.config.tiers.restore_poll_secs.max(1))));
    }
    state.store.copy_archived_to_hot(sha256).await?;
    let until = pictor_db::now_ms()
        + i64::try_from(state.config.tiers.restored_secs.saturating_mul(1000)).unwrap_or(i64::MAX / 2);
    if state.db.mark_restored(sha256, until).await? {
        tracing::info!(sha256, until, "original restored");
        Ok(Poll::Ready(Some(until)))
    } else {
        // Released or made hot meanwhile: look again.
        Box::pin(poll_restore(state, sha256)).await
    }
}

/// Days the archive keeps its own readable copy: enough to cover ours.
fn restore_days(state: &AppState) -> u32 {
    u32::try_from(state.config.tiers.restored_secs.div_ceil(86_400)).unwrap_or(u32::MAX).max(1)
}

/// Restores one original and waits until it is readable, looking again as
/// [`poll_restore`] says (a transient failure is retried after a pause).
pub async fn restore(state: &AppState, sha256: &str) -> Result<()> {
    let (_, first_look) = request_restore(state, sha256).await?;
    tokio::time::sleep(first_look).await;
    let mut failures = 0u32;
    loop {
        match poll_restore(state, sha256).await {
            Ok(Poll::Ready(_)) => return Ok(()),
            Ok(Poll::Pending(wait)) => tokio::time::sleep(wait).await,
            // Released by someone else between the request and now: ask again.
            Ok(Poll::Idle) => {
                request_restore(state, sha256).await?;
            }
            Err(e) if failures < 5 && e.kind != crate::ErrorKind::NotFound => {
                failures += 1;
                tracing::warn!(sha256, error = %e.detail, "a restore step failed; retrying");
                tokio::time::sleep(Duration::from_secs(1 << failures)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Restores every original in `sha256s`, at most `limit` at once, and
/// waits until all are readable (for bundles of archived originals).
pub async fn restore_all(state: &AppState, sha256s: &[String], limit: usize) -> Result<()> {
    futures::stream::iter(sha256s.iter().map(Ok))
        .try_for_each_concurrent(limit.max(1), |sha256| restore(state, sha256))
        .await
}

/// Removes a restored hot copy now (the archived original stays). Returns
/// whether there was one.
pub async fn release_restored(state: &AppState, sha256: &str) -> Result<bool> {
    Ok(state.db.release_restore(sha256, None, || state.store.delete_hot_blob(sha256)).await?)
}

/// The janitor: removes restored copies whose time is up, a batch at a
/// time; logs failures (the next round retries them).
pub async fn expire_restored(state: &AppState) {
    let now = pictor_db::now_ms();
    let expired = match state.db.expired_restores(now, 100).await {
        Ok(expired) => expired,
        Err(e) => {
            tracing::warn!(error = %e, "listing expired restores failed");
            return;
        }
    };
    let releases = futures::stream::iter(expired).map(|sha256| async move {
        let released = state.db.release_restore(&sha256, Some(now), || state.store.delete_hot_blob(&sha256)).await;
        (sha256, released)
    });
    let results: Vec<_> = releases.buffer_unordered(4).collect().await;
    for (sha256, released) in results {
        match released {
            Ok(true) => tracing::info!(sha256, "restored copy expired and removed"),
            Ok(false) => {}
            Err(e) => tracing::warn!(sha256, error = %e, "removing an expired restored copy failed"),
        }
    }
}
