//! The style-transfer shop: a visitor uploads a photo with a signed
//! policy, picks a style, gets a watermarked preview by email, pays in
//! their own currency, and receives the full-resolution artwork. Without
//! HTTP and without jobs: the layers above run the steps.
//!
//! An order's path:
//! 1. [`upload::form`] signs an S3 POST policy for `shop/incoming/<id>/`
//!    whose metadata fields carry the style and the visitor's address,
//!    sealed (the policy fixes both, so neither can be changed). The
//!    browser posts the photo straight to the bucket, or on a local store
//!    to the server, which checks the same policy ([`upload::accept`]).
//! 2. [`upload::arrive`] makes the order from the object and its metadata
//!    (on a local store at once, on S3 when the housekeeping sweep
//!    [`upload::sweep`] finds it), with a `shop.order.received` event that
//!    starts the `shop-preview` workflow.
//! 3. The workflow renders the preview ([`orders::render`], a `style`
//!    job of its own that dedicated workers may take) and mails an
//!    unguessable link ([`orders::send_preview`]).
//! 4. The link's page quotes the price in the visitor's currency
//!    ([`geo`], [`money`]) and pays through Stripe ([`orders::checkout`]);
//!    Stripe's signed webhook ([`orders::payment_event`]) marks it paid
//!    once, and `shop.order.paid` starts the `shop-artwork` workflow:
//!    render at full resolution, mail the download link, erase the address.
//! 5. [`orders::expire`] (the janitor) deletes an order and its pictures
//!    once its link lapses.
//!
//! **Personal data.** The address exists only sealed (object metadata, the
//! order's `contact`) and is erased once the order is delivered or failed.
//! Events, metrics and logs name orders and styles, never a person.

pub mod catalogue;
pub mod geo;
pub mod money;
pub mod orders;
pub mod stripe;
pub mod upload;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::Result;
use crate::server_key::ServerKey;

pub use catalogue::{Catalogue, ShopStyle};

/// The shop's parts that are built once from the configuration.
pub struct Shop {
    pub catalogue: Catalogue,
    pub prices: money::PriceList,
    /// The country database, if installed (`pictor shop install-geoip`).
    pub geo: Option<geo::GeoIp>,
    pub stripe: Option<stripe::StripeClient>,
}

impl Shop {
    /// Builds the shop, checking the price list against the catalogue.
    pub fn new(config: &Config) -> anyhow::Result<Arc<Self>> {
        let shop = &config.shop;
        let prices = money::PriceList::from_config(&shop.prices).map_err(|e| anyhow::anyhow!(e.detail))?;
        for style in &shop.styles {
            anyhow::ensure!(
                prices.tiers().any(|tier| tier == style.tier),
                "shop.styles {:?}: tier {:?} has no prices: add [shop.prices.{}]",
                style.name,
                style.tier,
                style.tier
            );
        }
        let geo_path = shop.geo.database_path(&config.data_dir);
        let geo = match geo::GeoIp::open(&geo_path) {
            Ok(db) => Some(db),
            Err(e) => {
                tracing::info!(error = %e, "no country database: prices are shown in {}", shop.prices.default_currency);
                None
            }
        };
        let stripe = if shop.stripe.secret_key.is_empty() {
            None
        } else {
            Some(stripe::StripeClient::from_config(&shop.stripe).map_err(|e| anyhow::anyhow!(e.detail))?)
        };
        Ok(Arc::new(Self { catalogue: Catalogue::new(shop), prices, geo, stripe }))
    }
}

impl std::fmt::Debug for Shop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shop").field("styles", &self.catalogue.styles().len()).finish_non_exhaustive()
    }
}

/// Paints the catalogue's samples in the background (the style models
/// must be installed; without them the shop shows its styles unpainted).
pub fn paint_samples(state: Arc<crate::AppState>) {
    tokio::task::spawn_blocking(move || {
        let painted = state
            .vision
            .styles()
            .map_err(crate::Error::from)
            .and_then(|engine| state.shop.catalogue.render_samples(&engine));
        match painted {
            Ok(n) => tracing::info!(painted = n, "shop samples painted"),
            Err(e) => tracing::info!(error = %e.detail, "shop samples not painted"),
        }
    });
}

/// The token of an order's link: 256 bits derived from the order's id
/// under the server's key, so the same link can be mailed again (with the
/// artwork) without being stored. Only its hash is stored ([`link_hash`]).
pub fn link_token(key: &ServerKey, order_id: &str) -> Result<String> {
    let derived = key.derive("pictor shop link v1")?;
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&derived).expect("HMAC takes any key length");
    mac.update(order_id.as_bytes());
    Ok(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

/// What an order's link is found by: the token's sha256, hex. A lookup by
/// hash compares nothing secret byte by byte.
pub fn link_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_tokens_are_long_stable_and_per_order() {
        let key = ServerKey::new("a secret of the server", std::path::Path::new("/nonexistent"));
        let token = link_token(&key, "order-1").unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len() * 8, 256);
        assert_eq!(token, link_token(&key, "order-1").unwrap());
        assert_ne!(token, link_token(&key, "order-2").unwrap());
        let other = ServerKey::new("another secret", std::path::Path::new("/nonexistent"));
        assert_ne!(token, link_token(&other, "order-1").unwrap());
        assert_eq!(link_hash(&token).len(), 64);
    }
}
