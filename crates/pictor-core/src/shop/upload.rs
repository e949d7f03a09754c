//! A visitor's photo, straight to the store with a signed POST policy, and
//! the order made when it arrives.
//!
//! The policy fixes the key prefix `shop/incoming/<id>/`, the size range,
//! the content type, the expiry and three metadata fields: the style, the
//! visitor's address sealed under the server's key, and the site the
//! links will point to. S3 keeps them as the object's `x-amz-meta-*`; a
//! local store, which keeps no metadata, gets them as a `meta.json` beside
//! the photo, written first, so an upload interrupted by a crash is still
//! found whole by [`sweep`].

use std::collections::BTreeMap;

use bytes::Bytes;
use pictor_db::{ShopOrder, now_ms};
use pictor_imaging::ImageFormat;
use pictor_store::presign::{self, PostError};

use crate::AppState;
use crate::direct::{LOCAL_KEY_ID, LOCAL_REGION};
use crate::error::{Error, ErrorKind, Result};
use crate::notify::{EmailAddress, Recipient};

/// Where uploads land before they become orders.
pub const INCOMING: &str = "shop/incoming";
/// The photo's name under its upload's prefix…
const PHOTO: &str = "photo";
/// …and the visitor's style picture's, for their own style.
const STYLE_PICTURE: &str = "style";
/// How long a local upload is left to the request that stored it.
const LOCAL_SETTLE_MS: i64 = 60 * 1000;
/// How long after its form expired an incomplete upload is kept.
const ABANDONED_AFTER_MS: i64 = 3600 * 1000;
/// The local store's metadata, beside the photo.
const META: &str = "meta.json";
/// Metadata field names (`x-amz-meta-…`).
const STYLE_FIELD: &str = "style";
const CONTACT_FIELD: &str = "contact";
const SITE_FIELD: &str = "site";

/// What the shop's page asks for.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct UploadRequest {
    pub style: String,
    pub email: String,
    pub content_type: String,
    pub size: u64,
    /// The style picture, for a style painted from the visitor's own.
    #[serde(default)]
    pub style_image: Option<FileSpec>,
}

/// A file to be sent: its type and size.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct FileSpec {
    pub content_type: String,
    pub size: u64,
}

/// A signed form: POST `fields`, then the file, to `url` before `expires_at`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct UploadForm {
    pub url: String,
    pub fields: BTreeMap<String, String>,
    pub expires_at: i64,
    /// For the visitor's own style: the form for their style picture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style_form: Option<StyleForm>,
}

/// The second form of an own-style order.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StyleForm {
    pub url: String,
    pub fields: BTreeMap<String, String>,
}

/// Signs an upload form for `request`; `site` is the shop's public URL
/// (links point there, and a local store takes the POST at `site/shop/upload`).
pub async fn form(state: &AppState, request: &UploadRequest, site: &str) -> Result<UploadForm> {
    let shop = &state.config.shop;
    let style = state.shop.catalogue.get(&request.style)?;
    let email = EmailAddress::parse(&request.email)?;
    state.notifier.check(crate::notify::Channel::Email)?;
    let photo = FileSpec { content_type: request.content_type.clone(), size: request.size };
    let style_picture = match (&request.style_image, style.is_own()) {
        (Some(picture), true) => Some(picture),
        (None, false) => None,
        (None, true) => {
            return Err(Error::bad_request(format!(
                "the style {:?} paints with your own picture: send style_image {{content_type, size}} too",
                style.name
            )));
        }
        (Some(_), false) => {
            return Err(Error::bad_request(format!("the style {:?} takes no style_image: leave it out", style.name)));
        }
    };
    let id = hex::encode(rand::random::<[u8; 16]>());
    let contact = state.notifier.seal(&Recipient::Email(email))?;
    let site = site.trim_end_matches('/');
    let now = now_ms();
    let expires_at = now + (shop.upload_secs as i64) * 1000;
    let meta = [(STYLE_FIELD, style.name.as_str()), (CONTACT_FIELD, contact.as_str()), (SITE_FIELD, site)];
    let signer = Signer { state, id: &id, site, meta: &meta, now, expires_at };
    let signed = signer.sign(PHOTO, &photo).await?;
    let style_form = match style_picture {
        Some(picture) => {
            let signed = signer.sign(STYLE_PICTURE, picture).await?;
            Some(StyleForm { url: signed.url, fields: signed.fields })
        }
        None => None,
    };
    state.metrics.shop_step(&style.name, "form");
    Ok(UploadForm { url: signed.url, fields: signed.fields, expires_at, style_form })
}

/// Signs the forms of one upload.
struct Signer<'a> {
    state: &'a AppState,
    id: &'a str,
    site: &'a str,
    meta: &'a [(&'a str, &'a str)],
    now: i64,
    expires_at: i64,
}

impl Signer<'_> {
    /// The form for `shop/incoming/<id>/<name>`, holding a file as `spec` says.
    async fn sign(&self, name: &str, spec: &FileSpec) -> Result<presign::PostForm> {
        let max = self.state.config.shop.max_upload_bytes;
        let format = ImageFormat::ALL.into_iter().find(|f| f.mime() == spec.content_type).ok_or_else(|| {
            Error::new(ErrorKind::UnsupportedFormat, "content_type must be an image type, e.g. image/jpeg")
        })?;
        if spec.size == 0 || spec.size > max {
            return Err(Error::new(
                ErrorKind::PayloadTooLarge,
                format!("a picture must be 1 to {max} bytes (shop.max_upload_bytes), not {}", spec.size),
            ));
        }
        let prefix = format!("{INCOMING}/{}/", self.id);
        let key = format!("{prefix}{name}");
        let rules = presign::PostRules {
            bucket: None,
            key: &key,
            key_prefix: &prefix,
            content_type: format.mime(),
            min_bytes: 1,
            max_bytes: spec.size,
            now: self.now,
            expires: self.expires_at,
            meta: self.meta,
        };
        match self.state.store.presign_post(&rules).await? {
            Some(form) => Ok(form),
            None => {
                let credentials = local_credentials(self.state)?;
                Ok(presign::post_form(&format!("{}/shop/upload", self.site), &credentials, &rules))
            }
        }
    }
}

fn local_credentials(state: &AppState) -> Result<presign::Credentials<'_>> {
    Ok(presign::Credentials {
        key_id: LOCAL_KEY_ID,
        secret: state.direct_key.secret()?,
        token: None,
        region: LOCAL_REGION,
    })
}

/// What a checked local POST may store.
#[derive(Clone, Debug)]
pub struct Grant {
    pub upload: String,
    /// `photo` or `style`.
    name: &'static str,
    pub max_bytes: u64,
    meta: BTreeMap<String, String>,
}

/// Checks a local POST form's fields (all but the file) before the file
/// is read: the policy's signature, expiry and conditions, and its key.
pub async fn accept(state: &AppState, fields: &BTreeMap<String, String>) -> Result<Grant> {
    let allowed = presign::verify_post(fields, LOCAL_KEY_ID, state.direct_key.secret()?, LOCAL_REGION, now_ms())
        .map_err(|e| match e {
            PostError::Signature => Error::new(
                ErrorKind::SignatureMismatch,
                "the upload form's signature does not match: reload the shop's page and send the form unchanged",
            ),
            PostError::Expired(at) => {
                Error::new(ErrorKind::Gone, format!("this upload form expired at {at}: reload the shop's page"))
            }
            PostError::NotYetValid(at) => crate::direct::not_yet_valid("upload form", &at),
            PostError::Malformed(why) => Error::bad_request(format!("the upload form is malformed: {why}")),
            PostError::Condition(why) => Error::new(ErrorKind::Forbidden, format!("the upload form {why}")),
        })?;
    let refused = || Error::new(ErrorKind::Forbidden, "the upload form's key is not a shop upload's");
    let upload = upload_of(&allowed.key).ok_or_else(refused)?;
    let name = [PHOTO, STYLE_PICTURE]
        .into_iter()
        .find(|name| allowed.key == format!("{INCOMING}/{upload}/{name}"))
        .ok_or_else(refused)?;
    Ok(Grant { upload: upload.to_string(), name, max_bytes: allowed.max_bytes, meta: allowed.meta })
}

/// The upload id in `shop/incoming/<id>/…`.
fn upload_of(key: &str) -> Option<&str> {
    let id = key.strip_prefix(INCOMING)?.strip_prefix('/')?.split('/').next()?;
    (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(id)
}

/// Stores a checked local upload (its metadata first) and makes its order.
pub async fn receive(state: &AppState, grant: &Grant, photo: Bytes) -> Result<()> {
    if photo.is_empty() || photo.len() as u64 > grant.max_bytes {
        return Err(Error::new(
            ErrorKind::PayloadTooLarge,
            format!("the photo must be 1 to {} bytes, as the form says", grant.max_bytes),
        ));
    }
    let prefix = format!("{INCOMING}/{}", grant.upload);
    let meta = serde_json::to_vec(&grant.meta).expect("strings serialise");
    state.store.put_object(&format!("{prefix}/{META}"), meta.into()).await?;
    state.store.put_object(&format!("{prefix}/{}", grant.name), photo).await?;
    arrive(state, &grant.upload).await.map(|_| ())
}

/// Makes the order for upload `id` from its photo (and style picture, for
/// the visitor's own style) and metadata, once all have arrived (once: the
/// order's id is the upload's), then deletes the incoming objects. A
/// picture that is not one the shop takes is deleted, with a clear error.
pub async fn arrive(state: &AppState, id: &str) -> Result<bool> {
    let prefix = format!("{INCOMING}/{id}");
    let photo_key = format!("{prefix}/{PHOTO}");
    let present: Vec<String> = state.store.object_sizes(&prefix).await?.into_iter().map(|(k, _)| k).collect();
    if !present.contains(&photo_key) {
        return Ok(false); // its style picture came first: wait for the photo
    }
    let meta = metadata(state, &prefix, &photo_key).await?;
    let own = meta.get(STYLE_FIELD).and_then(|name| state.shop.catalogue.get(name).ok()).is_some_and(|s| s.is_own());
    if own && !present.contains(&format!("{prefix}/{STYLE_PICTURE}")) {
        return Ok(false); // wait for the style picture
    }
    let order = match order_for(state, id, &meta, &photo_key).await {
        Ok(order) => order,
        Err(e) => {
            state.store.delete_objects(&prefix).await?;
            return Err(e);
        }
    };
    let made = state.db.create_shop_order(&order).await?;
    if made {
        state.metrics.shop_step(&order.style, "upload");
        state.job_signal.notify_waiters();
    }
    state.store.delete_objects(&prefix).await?;
    Ok(made)
}

async fn metadata(state: &AppState, prefix: &str, photo_key: &str) -> Result<BTreeMap<String, String>> {
    match state.store.get_object(&format!("{prefix}/{META}")).await {
        Ok(json) => serde_json::from_slice(&json).map_err(|e| Error::internal(format!("{prefix}/{META}: {e}"))),
        Err(pictor_store::StoreError::NotFound(_)) => Ok(state.store.object_metadata(photo_key).await?),
        Err(e) => Err(e.into()),
    }
}

/// Checks the arrived photo and metadata, and copies the photo to the
/// order's place.
async fn order_for(state: &AppState, id: &str, meta: &BTreeMap<String, String>, photo_key: &str) -> Result<ShopOrder> {
    let field = |name: &str| meta.get(name).filter(|v| !v.is_empty()).cloned();
    let missing = || Error::bad_request("the upload carries no style, address or site: use the shop's own form");
    let (style, contact, site) = (field(STYLE_FIELD), field(CONTACT_FIELD), field(SITE_FIELD));
    let (Some(style), Some(contact), Some(site)) = (style, contact, site) else { return Err(missing()) };
    let style = state.shop.catalogue.get(&style)?;
    state.notifier.open(&contact)?;
    let photo = state.store.get_object(photo_key).await?;
    check_photo(state, &photo)?;
    if style.is_own() {
        let picture = state.store.get_object(&format!("{INCOMING}/{id}/{STYLE_PICTURE}")).await?;
        check_photo(state, &picture)?;
        state.store.put_object(&own_style_key(id), picture).await?;
    }
    let original_key = format!("shop/orders/{id}/original");
    state.store.put_object(&original_key, photo).await?;
    let now = now_ms();
    let expires_at = now + (state.config.shop.link_secs as i64) * 1000;
    Ok(ShopOrder::received(id, &style.name, &style.tier, contact, site, original_key, now, expires_at))
}

/// Where an order's own style picture is kept.
pub fn own_style_key(order: &str) -> String {
    format!("shop/orders/{order}/style")
}

/// A photo the shop can paint: an image it reads, within the size limits.
fn check_photo(state: &AppState, photo: &[u8]) -> Result<()> {
    let limits = pictor_imaging::Limits { max_pixels: state.config.shop.max_pixels, ..state.limits() };
    let header = pictor_imaging::decode::probe(photo)?;
    let pixels = u64::from(header.width) * u64::from(header.height);
    if pixels > limits.max_pixels {
        return Err(Error::new(
            ErrorKind::PayloadTooLarge,
            format!("the photo has {pixels} pixels; the shop paints up to {} (shop.max_pixels)", limits.max_pixels),
        ));
    }
    Ok(())
}

/// Makes the orders of uploads that arrived without the server seeing
/// them (S3, or a local upload cut short by a crash), and deletes incoming
/// uploads left incomplete well past their form's expiry; returns how many
/// orders it made.
pub async fn sweep(state: &AppState) -> usize {
    let listed = match state.store.object_times(INCOMING).await {
        Ok(listed) => listed,
        Err(e) => {
            tracing::warn!(error = %e, "listing the shop's incoming uploads failed");
            return 0;
        }
    };
    // Each upload's newest object.
    let mut uploads: BTreeMap<&str, i64> = BTreeMap::new();
    for (key, at) in &listed {
        if let Some(id) = upload_of(key) {
            let newest = uploads.entry(id).or_insert(*at);
            *newest = (*newest).max(*at);
        }
    }
    let now = now_ms();
    let abandoned_before = now - (state.config.shop.upload_secs as i64) * 1000 - ABANDONED_AFTER_MS;
    // On a local store the request that stored an upload makes its order
    // (and answers its refusal); the sweep only finds what a crash left.
    let settled_before = if state.store.is_remote() { now } else { now - LOCAL_SETTLE_MS };
    let mut made = 0;
    for (id, newest) in uploads.into_iter().filter(|(_, newest)| *newest <= settled_before) {
        match arrive(state, id).await {
            Ok(true) => made += 1,
            Ok(false) => {}
            Err(e) => tracing::info!(upload = id, error = %e.detail, "a shop upload arrived but made no order"),
        }
        if newest < abandoned_before
            && let Err(e) = state.store.delete_objects(&format!("{INCOMING}/{id}")).await
        {
            tracing::warn!(upload = id, error = %e, "deleting an abandoned shop upload failed");
        }
    }
    made
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_ids_come_only_from_incoming_keys() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(upload_of(&format!("shop/incoming/{id}/photo")), Some(id));
        assert_eq!(upload_of("shop/incoming/../photo"), None);
        assert_eq!(upload_of(&format!("direct/{id}/photo")), None);
        assert_eq!(upload_of("shop/incoming/xyz/photo"), None);
    }
}
