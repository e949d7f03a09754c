//! Shares: a link that shows one album or one photo to people without an
//! account, optionally behind a password and until an expiry, revocable by
//! its owner, with a log of its use. No HTTP here: the web app's guest
//! pages and the API call these.
//!
//! A link carries 256 random bits; only their sha256 is stored, so a copy
//! of the table opens nothing. A guest gets a [`Guest`]: the share and
//! nothing else, seeing exactly its photo or its album's photos (those held
//! by moderation excepted), as [`GuestPhoto`]s: sizes, a name, labels for
//! alt text, and the camera and place only when the owner opted in. No
//! owner, no hashes, no paths.
//!
//! A password guards everything behind the link, thumbnails and originals
//! included: once it is given, the guest holds a *pass*, an expiring HMAC
//! keyed by the share's password hash (which never leaves the database), so
//! passes need no table and die with the share. Every request checks the
//! share is still live: revoking or expiring it closes the page and every
//! image URL at once.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use pictor_db::{Db, ImageFilter, ImageRecord, NewShare, ShareAccess, ShareRecord, ShareSummary, now_ms};
use pictor_imaging::{OutputFormat, Pipeline};
use sha2::Sha256;

use crate::AppState;
use crate::access::ensure_manages;
use crate::accounts::{hash_secret, random_token, token_hash, verify_password};
use crate::auth::Principal;
use crate::cache::Derivative;
use crate::error::{Error, ErrorKind, Result};

/// How long a guest's pass lasts once they gave the password.
pub const PASS_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Wrong passwords a share takes within [`THROTTLE_WINDOW`] before it
/// refuses every guess for the rest of the window.
pub const MAX_WRONG_PASSWORDS: i64 = 20;
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Most photos an album's share shows.
pub const MOST_PHOTOS: i64 = 500;
/// The thumbnail sizes guests may ask for: a fixed set, so a link cannot
/// be used to make the server render arbitrary derivatives.
pub const SIZES: [u32; 4] = [256, 512, 1024, 2048];

/// What a share shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShareKind {
    Album,
    Photo,
}

impl ShareKind {
    pub fn parse(raw: &str) -> Result<Self> {
        match raw {
            "album" => Ok(Self::Album),
            "photo" => Ok(Self::Photo),
            other => Err(Error::bad_request(format!("a share is of an album or a photo, not {other:?}"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Album => "album",
            Self::Photo => "photo",
        }
    }
}

/// How a new share behaves.
#[derive(Clone, Debug, Default)]
pub struct ShareOptions {
    /// Guests must give it first (4 to 1,024 characters).
    pub password: Option<String>,
    /// The link dies this long after it is made.
    pub expires_in: Option<Duration>,
    /// Guests see the camera and place, and get originals with their EXIF.
    pub show_metadata: bool,
}

/// A share just made, with its link's token (shown once, never stored).
pub struct NewLink {
    pub share: ShareRecord,
    pub token: String,
}

/// Makes a share of the caller's album or photo.
pub async fn create(
    state: &AppState,
    caller: &Principal,
    kind: ShareKind,
    target: &str,
    options: &ShareOptions,
) -> Result<NewLink> {
    let owner = match kind {
        ShareKind::Album => crate::albums::album_for(&state.db, caller, target).await?.owner,
        ShareKind::Photo => state.image_for(caller, target).await?.owner.clone(),
    };
    ensure_manages(caller, owner.as_deref(), &format!("this {}", kind.as_str()))?;
    let password_hash = match options.password.as_deref().filter(|p| !p.is_empty()) {
        Some(password) if (4..=1024).contains(&password.chars().count()) => {
            Some(hash_secret(password.to_string()).await?)
        }
        Some(_) => return Err(Error::bad_request("a share's password is 4 to 1,024 characters long")),
        None => None,
    };
    let expires_at = match options.expires_in {
        Some(d) if d.is_zero() || d > Duration::from_secs(3650 * 86_400) => {
            return Err(Error::bad_request("a share expires within ten years, and not at once"));
        }
        Some(d) => Some(now_ms() + d.as_millis() as i64),
        None => None,
    };
    let (id, token) = (uuid::Uuid::new_v4().to_string(), random_token());
    let share = state
        .db
        .insert_share(&NewShare {
            id: &id,
            owner: owner.as_deref(),
            kind: kind.as_str(),
            target,
            token_hash: &token_hash(&token),
            password_hash: password_hash.as_deref(),
            expires_at,
            show_metadata: options.show_metadata,
        })
        .await?;
    Ok(NewLink { share, token })
}

/// The caller's shares, newest first, with their use.
pub async fn list(db: &Db, caller: &Principal) -> Result<Vec<ShareSummary>> {
    Ok(db.list_shares(caller.owner.as_deref()).await?)
}

/// The caller's share `id` (another's does not exist).
pub async fn owned(db: &Db, caller: &Principal, id: &str) -> Result<ShareRecord> {
    let share = db.get_share(id).await?.filter(|s| s.owner == caller.owner);
    share.ok_or_else(|| Error::not_found(format_args!("share {id}")))
}

/// Revokes one of the caller's shares: its page and images stop at once.
/// Revoking a revoked share changes nothing.
pub async fn revoke(db: &Db, caller: &Principal, id: &str) -> Result<()> {
    owned(db, caller, id).await?;
    db.revoke_share(id).await?;
    Ok(())
}

/// The latest visits to one of the caller's shares, newest first.
pub async fn access_log(db: &Db, caller: &Principal, id: &str, limit: i64) -> Result<Vec<ShareAccess>> {
    owned(db, caller, id).await?;
    Ok(db.share_access(id, limit).await?)
}

/// Who is visiting, as far as the log keeps it.
#[derive(Clone, Debug, Default)]
pub struct Visit {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl Visit {
    fn logged(&self, outcome: &str) -> ShareAccess {
        ShareAccess {
            at: now_ms(),
            network: self.ip.map(network),
            user_agent: self.user_agent.as_deref().map(|ua| ua.chars().take(160).collect()),
            outcome: outcome.to_string(),
        }
    }
}

/// An address's network, not the address: IPv4 /24, IPv6 /48.
fn network(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => network(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
            }
        },
    }
}

/// A guest's view of one live share.
#[derive(Clone, Debug)]
pub struct Guest {
    pub share: ShareRecord,
    /// The album's name or the photo's (never the owner's).
    pub title: String,
    /// The album's description, if any.
    pub description: String,
}

/// One photo as a guest sees it.
#[derive(Clone, Debug)]
pub struct GuestPhoto {
    pub id: String,
    pub width: i64,
    pub height: i64,
    /// Its name, without any folder a file name came with.
    pub name: Option<String>,
    pub created_at: i64,
    pub thumbhash: Option<String>,
    /// Its best labels, for alt text.
    pub labels: Vec<String>,
    /// The extracted metadata (camera, place), only when the owner opted in.
    pub metadata: Option<serde_json::Value>,
}

/// The live share behind `token`, as a guest holding `pass` (the password's
/// pass, if they have one) may see it. Refusals: `NotFound` (no such link),
/// `Gone` (revoked, expired, or what it showed is deleted), `Unauthorized`
/// (it has a password and `pass` is not a valid one). With a `visit`, the
/// outcome is logged (a page view; image requests pass none).
pub async fn guest(state: &AppState, token: &str, pass: Option<&str>, visit: Option<&Visit>) -> Result<Guest> {
    let share = live(&state.db, token, visit).await?;
    if let Some(hash) = &share.password_hash
        && !pass.is_some_and(|pass| pass_valid(hash, &share.id, pass))
    {
        return Err(Error::new(ErrorKind::Unauthorized, "this link needs its password"));
    }
    let (title, description) = match ShareKind::parse(&share.kind)? {
        ShareKind::Album => match state.db.get_album(&share.target).await? {
            Some(album) => (album.name, album.description),
            None => return Err(gone("the shared album was deleted")),
        },
        ShareKind::Photo => match state.db.get_image(&share.target).await? {
            Some(image) => (display_name(image.name.as_deref()).unwrap_or_else(|| "A photo".into()), String::new()),
            None => return Err(gone("the shared photo was deleted")),
        },
    };
    if let Some(visit) = visit {
        log(&state.db, &share.id, visit, "viewed").await;
    }
    Ok(Guest { share, title, description })
}

/// Checks the password of the share behind `token`; returns a pass for it,
/// valid for [`PASS_LIFETIME`]. A wrong password is logged, and a share
/// that had too many in a while refuses further guesses for a while.
pub async fn unlock(state: &AppState, token: &str, password: &str, visit: &Visit) -> Result<String> {
    let share = live(&state.db, token, None).await?;
    let Some(hash) = &share.password_hash else { return Ok(String::new()) };
    let since = now_ms() - THROTTLE_WINDOW.as_millis() as i64;
    if state.db.count_share_access(&share.id, "wrong_password", since).await? >= MAX_WRONG_PASSWORDS {
        return Err(Error::new(ErrorKind::RateLimited, "too many wrong passwords: try again in 15 minutes"));
    }
    if !verify_password(password, hash).await {
        log(&state.db, &share.id, visit, "wrong_password").await;
        return Err(Error::new(ErrorKind::Unauthorized, "that is not the password of this link"));
    }
    let until = now_ms() / 1000 + PASS_LIFETIME.as_secs() as i64;
    let until = share.expires_at.map_or(until, |at| until.min(at / 1000 + 1));
    Ok(format!("{until}.{}", URL_SAFE_NO_PAD.encode(pass_mac(hash, &share.id, until).finalize().into_bytes())))
}

/// The share behind `token` if it is live; otherwise the refusal, logged
/// when there is a `visit`.
async fn live(db: &Db, token: &str, visit: Option<&Visit>) -> Result<ShareRecord> {
    let share = if is_token(token) { db.share_by_token(&token_hash(token)).await? } else { None };
    let share = share.ok_or_else(|| Error::not_found("there is no such link: check it was copied whole"))?;
    let refusal = if share.revoked_at.is_some() {
        Some(("revoked", "its owner revoked this link"))
    } else if share.expires_at.is_some_and(|at| at <= now_ms()) {
        Some(("expired", "this link expired"))
    } else {
        None
    };
    match refusal {
        Some((outcome, why)) => {
            if let Some(visit) = visit {
                log(db, &share.id, visit, outcome).await;
            }
            Err(gone(why))
        }
        None => Ok(share),
    }
}

/// Whether `token` has the shape of a link's token (43 URL-safe base64
/// characters): anything else is refused before a lookup, and is never
/// echoed into a header.
pub fn is_token(token: &str) -> bool {
    token.len() == 43 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn gone(why: &str) -> Error {
    Error::new(ErrorKind::Gone, why)
}

/// Logs a visit; a failure to log is only a warning (the visit still counts).
async fn log(db: &Db, share: &str, visit: &Visit, outcome: &str) {
    if let Err(e) = db.record_share_access(share, &visit.logged(outcome)).await {
        tracing::warn!(share, error = %e, "logging a share's visit failed");
    }
}

type HmacSha256 = Hmac<Sha256>;

fn pass_mac(password_hash: &str, share: &str, until: i64) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(password_hash.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("share-pass:{share}:{until}").as_bytes());
    mac
}

/// Whether `pass` is an unexpired pass of this share (constant-time compare).
fn pass_valid(password_hash: &str, share: &str, pass: &str) -> bool {
    let Some((until, sig)) = pass.split_once('.') else { return false };
    let (Ok(until), Ok(sig)) = (until.parse::<i64>(), URL_SAFE_NO_PAD.decode(sig)) else { return false };
    until > now_ms() / 1000 && pass_mac(password_hash, share, until).verify_slice(&sig).is_ok()
}

/// A name as guests see it: without a folder, if it came with one.
fn display_name(name: Option<&str>) -> Option<String> {
    let name = name?.rsplit(['/', '\\']).next()?.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// Whether moderation holds the image back (flagged or rejected).
fn held(record: &ImageRecord) -> bool {
    matches!(record.moderation.as_deref(), Some("flagged" | "rejected"))
}

impl Guest {
    /// The photos the share shows, newest first: the one photo, or the
    /// album's (at most [`MOST_PHOTOS`]); none that moderation holds back.
    pub async fn photos(&self, state: &AppState) -> Result<Vec<GuestPhoto>> {
        let records = match ShareKind::parse(&self.share.kind)? {
            ShareKind::Photo => vec![(*state.image(&self.share.target).await?).clone()],
            ShareKind::Album => {
                let filter = ImageFilter { album: Some(self.share.target.clone()), ..Default::default() };
                state.db.list_images(self.share.owner.as_deref(), &filter, None, MOST_PHOTOS).await?.images
            }
        };
        let records: Vec<ImageRecord> = records.into_iter().filter(|r| !held(r)).collect();
        let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
        let mut labels = state.db.top_labels(&ids, 3).await?;
        let mut photos = Vec::with_capacity(records.len());
        for record in &records {
            let metadata = self.metadata(state, &record.id).await?;
            photos.push(self.scoped(record, labels.remove(&record.id).unwrap_or_default(), metadata));
        }
        Ok(photos)
    }

    /// One photo of the share as the guest sees it, or `NotFound`.
    pub async fn photo(&self, state: &AppState, id: &str) -> Result<GuestPhoto> {
        let record = self.record(state, id).await?;
        let labels = state.db.top_labels(&[id], 3).await?.remove(id).unwrap_or_default();
        Ok(self.scoped(&record, labels, self.metadata(state, id).await?))
    }

    /// The record of photo `id` if the share shows it (for serving its
    /// pixels); `NotFound` otherwise, as for anything else.
    pub async fn record(&self, state: &AppState, id: &str) -> Result<Arc<ImageRecord>> {
        let not_here = || Error::not_found(format_args!("image {id} in this share"));
        let shown = match ShareKind::parse(&self.share.kind)? {
            ShareKind::Photo => self.share.target == id,
            ShareKind::Album => state.db.album_holds(&self.share.target, id).await?,
        };
        if !shown {
            return Err(not_here());
        }
        let record = state.image(id).await.map_err(|_| not_here())?;
        if held(&record) || record.owner != self.share.owner {
            return Err(not_here());
        }
        Ok(record)
    }

    /// A thumbnail of a photo of the share, `size` pixels on its longer
    /// side (one of [`SIZES`]), without metadata whatever the query says.
    pub async fn thumbnail(
        &self,
        state: &AppState,
        record: &ImageRecord,
        size: u32,
        format: OutputFormat,
    ) -> Result<Derivative> {
        if !SIZES.contains(&size) || format == OutputFormat::Auto {
            let sizes: Vec<String> = SIZES.iter().map(u32::to_string).collect();
            return Err(Error::bad_request(format!("a shared photo comes as thumbnail={}", sizes.join(", "))));
        }
        let pipeline = Pipeline::parse(&format!("thumbnail={size}"))?;
        crate::transform::cached(state, record, pipeline, format).await
    }

    /// The photo at full size for a guest: the original as uploaded when
    /// the owner opted in to metadata (`None`: serve the stored bytes);
    /// otherwise re-encoded in its own format (JPEG for those the encoder
    /// does not write), which drops EXIF, GPS and every other tag.
    pub async fn full_size(&self, state: &AppState, record: &ImageRecord) -> Result<Option<Derivative>> {
        if self.share.show_metadata {
            return Ok(None);
        }
        let format = match record.format.to_ascii_lowercase().as_str() {
            "png" => OutputFormat::Png,
            "webp" => OutputFormat::Webp,
            "gif" => OutputFormat::Gif,
            "avif" => OutputFormat::Avif,
            _ => OutputFormat::Jpeg,
        };
        Ok(Some(crate::transform::cached(state, record, Pipeline::parse("")?, format).await?))
    }

    async fn metadata(&self, state: &AppState, id: &str) -> Result<Option<serde_json::Value>> {
        if !self.share.show_metadata {
            return Ok(None);
        }
        Ok(state.db.image_state(id).await?.and_then(|s| s.metadata))
    }

    fn scoped(&self, record: &ImageRecord, labels: Vec<String>, metadata: Option<serde_json::Value>) -> GuestPhoto {
        GuestPhoto {
            id: record.id.clone(),
            width: record.width,
            height: record.height,
            name: display_name(record.name.as_deref()),
            created_at: record.created_at,
            thumbhash: record.thumbhash.clone(),
            labels,
            metadata,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_are_bound_to_their_share_and_expire() {
        let until = now_ms() / 1000 + 60;
        let pass = format!("{until}.{}", URL_SAFE_NO_PAD.encode(pass_mac("h", "s1", until).finalize().into_bytes()));
        assert!(pass_valid("h", "s1", &pass));
        assert!(!pass_valid("h", "s2", &pass), "another share's pass");
        assert!(!pass_valid("h2", "s1", &pass), "a pass from before the password changed");
        let (_, sig) = pass.split_once('.').unwrap();
        assert!(!pass_valid("h", "s1", &format!("{}.{sig}", until + 1)), "a pass stretched");
        let past = now_ms() / 1000 - 1;
        let old = format!("{past}.{}", URL_SAFE_NO_PAD.encode(pass_mac("h", "s1", past).finalize().into_bytes()));
        assert!(!pass_valid("h", "s1", &old), "an expired pass");
        assert!(!pass_valid("h", "s1", "") && !pass_valid("h", "s1", "x.y"));
    }

    #[test]
    fn the_log_keeps_networks_not_addresses() {
        assert_eq!(network("203.0.113.77".parse().unwrap()), "203.0.113.0/24");
        assert_eq!(network("2001:db8:1:2:3::9".parse().unwrap()), "2001:db8:1::/48");
        assert_eq!(network("::ffff:198.51.100.7".parse().unwrap()), "198.51.100.0/24");
        let long = Visit { ip: None, user_agent: Some("x".repeat(500)) }.logged("viewed");
        assert_eq!(long.user_agent.unwrap().len(), 160);
    }

    #[test]
    fn guests_see_names_without_folders() {
        assert_eq!(display_name(Some("/home/ann/Pictures/IMG_1.jpg")).as_deref(), Some("IMG_1.jpg"));
        assert_eq!(display_name(Some("C:\\Users\\ann\\a.png")).as_deref(), Some("a.png"));
        assert_eq!(display_name(Some("Alps")).as_deref(), Some("Alps"));
        assert_eq!(display_name(Some("dir/")), None);
        assert_eq!(ShareKind::parse("album").unwrap(), ShareKind::Album);
        assert!(ShareKind::parse("user").is_err());
        assert!(is_token(&random_token()));
        assert!(!is_token("abc") && !is_token(&format!("{};x", "a".repeat(41))));
    }
}
