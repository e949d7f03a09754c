//! An order after its photo arrived: its pictures, its link, its price,
//! its payment, its messages and its end.

use std::net::IpAddr;
use std::time::Instant;

use bytes::Bytes;
use pictor_db::{PaymentOutcome, Rendition, ShopOrder, now_ms};

use super::catalogue::jpeg;
use super::money::{Currency, Money};
use super::{link_hash, link_token};
use crate::AppState;
use crate::error::{Error, ErrorKind, Result};
use crate::notify::Message;

/// JPEG quality of the pictures sent.
const PREVIEW_QUALITY: u8 = 85;
const ARTWORK_QUALITY: u8 = 92;
/// Payment events are remembered this long (Stripe retries for 3 days).
const EVENTS_KEPT_MS: i64 = 30 * 86_400 * 1000;

/// The order `id`, or `NotFound`.
pub async fn get(state: &AppState, id: &str) -> Result<ShopOrder> {
    state.db.get_shop_order(id).await?.ok_or_else(|| Error::not_found(format_args!("order {id}")))
}

/// Where an order's picture is kept.
fn key_of(order: &ShopOrder, which: Rendition) -> String {
    let name = match which {
        Rendition::Preview => "preview.jpg",
        Rendition::Artwork => "artwork.jpg",
    };
    format!("shop/orders/{}/{name}", order.id)
}

/// Renders an order's preview (512 px, watermarked) or artwork (full
/// resolution) unless done already; blocking work on a blocking thread.
/// Returns the render's seconds (0 when it was there).
pub async fn render(state: &AppState, id: &str, which: Rendition) -> Result<f64> {
    let order = get(state, id).await?;
    let done = match which {
        Rendition::Preview => order.preview_key.is_some(),
        Rendition::Artwork => order.artwork_key.is_some(),
    };
    if done {
        return Ok(0.0);
    }
    let style = state.shop.catalogue.get(&order.style)?.clone();
    let photo = state.store.get_object(&order.original_key).await?;
    let own = match style.is_own() {
        true => Some(state.store.get_object(&super::upload::own_style_key(&order.id)).await?),
        false => None,
    };
    let vision = state.vision.clone();
    let limits = pictor_imaging::Limits { max_pixels: state.config.shop.max_pixels, ..state.limits() };
    let started = Instant::now();
    let (bytes, width, height) = tokio::task::spawn_blocking(move || -> Result<(Bytes, u32, u32)> {
        let engine = vision.styles()?;
        let image = pictor_imaging::decode(&photo, &limits)?.image;
        let style = style.engine_style(own.as_deref())?;
        let (painted, quality) = match which {
            Rendition::Preview => (engine.preview(&image, &style)?, PREVIEW_QUALITY),
            Rendition::Artwork => (engine.render(&image, &style, image.width().max(image.height()))?, ARTWORK_QUALITY),
        };
        Ok((jpeg(&painted, quality)?, painted.width(), painted.height()))
    })
    .await
    .map_err(|e| Error::internal(format!("the render thread stopped: {e}")))??;
    let seconds = started.elapsed().as_secs_f64();
    let key = key_of(&order, which);
    state.store.put_object(&key, bytes).await?;
    state.db.set_shop_rendition(id, which, &key, i64::from(width), i64::from(height)).await?;
    state.metrics.style_rendered(rendition_name(which), seconds);
    Ok(seconds)
}

/// `preview` or `artwork`, as metrics and jobs name them.
pub fn rendition_name(which: Rendition) -> &'static str {
    match which {
        Rendition::Preview => "preview",
        Rendition::Artwork => "artwork",
    }
}

/// The order's link (its page).
pub fn link(state: &AppState, order: &ShopOrder) -> Result<String> {
    Ok(format!("{}/shop/o/{}", order.link_base.trim_end_matches('/'), link_token(&state.server_key, &order.id)?))
}

/// Mails the preview's link (once: an order past `received` is left).
pub async fn send_preview(state: &AppState, id: &str) -> Result<()> {
    let order = get(state, id).await?;
    if order.state != "received" {
        return Ok(());
    }
    let link = link(state, &order)?;
    let title = &state.config.shop.title;
    let style = state.shop.catalogue.get(&order.style)?;
    let days = state.config.shop.link_secs / 86_400;
    let text = format!(
        "Your photo in the style \"{}\" is ready to see:\n\n{link}\n\n\
         The preview is watermarked; the page shows the price of the full-resolution artwork.\n\
         The link works for {days} days; then the photo and the order are deleted.\n\n{title}\n",
        style.title
    );
    mail(state, &order, Message::new(format!("{title}: your preview is ready"), text)).await?;
    let hash = link_hash(&link_token(&state.server_key, &order.id)?);
    let expires_at = now_ms() + (state.config.shop.link_secs as i64) * 1000;
    if state.db.shop_order_previewed(id, &hash, expires_at).await? {
        state.metrics.shop_step(&order.style, "preview_sent");
    }
    Ok(())
}

/// Mails the artwork's link and erases the address: the order needs it no more.
pub async fn send_artwork(state: &AppState, id: &str) -> Result<()> {
    let order = get(state, id).await?;
    if order.state != "paid" {
        return Ok(());
    }
    let link = link(state, &order)?;
    let title = &state.config.shop.title;
    let days = state.config.shop.artwork_secs / 86_400;
    let text = format!(
        "Thank you! Your artwork ({}×{} px) is ready to download:\n\n{link}\n\n\
         The link works for {days} days.\n\n{title}\n",
        order.width, order.height
    );
    mail(state, &order, Message::new(format!("{title}: your artwork is ready"), text)).await?;
    state.db.finish_shop_order(id, None).await?;
    state.metrics.shop_step(&order.style, "delivered");
    Ok(())
}

/// Ends an order that cannot go on: its address is erased.
pub async fn fail(state: &AppState, id: &str, error: &str) -> Result<()> {
    state.db.finish_shop_order(id, Some(error)).await?;
    Ok(())
}

async fn mail(state: &AppState, order: &ShopOrder, message: Message) -> Result<()> {
    let sealed = order
        .contact
        .as_deref()
        .ok_or_else(|| Error::new(ErrorKind::Gone, format!("order {} has no address any more", order.id)))?;
    state.notifier.send(&state.notifier.open(sealed)?, &message).await
}

/// The order a link's token names, if its link is live: an unknown token
/// is `NotFound`, a lapsed one `Gone`.
pub async fn by_link(state: &AppState, token: &str) -> Result<ShopOrder> {
    let not_found = || Error::not_found("this order link (check that it was copied whole)");
    if token.len() > 64 {
        return Err(not_found());
    }
    let order = state.db.shop_order_by_link(&link_hash(token)).await?.ok_or_else(not_found)?;
    if order.expires_at < now_ms() {
        return Err(Error::new(ErrorKind::Gone, "this order's link has expired, and its photo has been deleted"));
    }
    Ok(order)
}

/// Notes that the visitor opened the link (the funnel's step, once).
pub async fn opened(state: &AppState, order: &ShopOrder) -> Result<()> {
    if state.db.shop_order_opened(&order.id).await? {
        state.metrics.shop_step(&order.style, "preview_opened");
    }
    Ok(())
}

/// The visitor's country, from the client address (`X-Forwarded-For` only
/// from the configured proxies), if the country database is installed.
pub fn country(state: &AppState, peer: IpAddr, forwarded_for: Option<&str>) -> Option<String> {
    let geo = state.shop.geo.as_ref()?;
    let client = super::geo::client_ip(peer, forwarded_for, &state.config.shop.geo.trusted_proxies);
    geo.country(client)
}

/// The order's price for a visitor in `country`.
pub fn quote(state: &AppState, order: &ShopOrder, country: Option<&str>) -> Result<Money> {
    state.shop.prices.quote(&order.tier, country)
}

/// What the page needs to take a payment.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Checkout {
    pub client_secret: String,
    pub publishable_key: String,
    pub amount: i64,
    pub currency: String,
    pub display: String,
}

/// Makes (or makes again, idempotently) the payment intent for the order's
/// price in the visitor's currency. Card details go from the page to Stripe;
/// Pictor sees only the intent.
pub async fn checkout(state: &AppState, order: &ShopOrder, country: Option<&str>) -> Result<Checkout> {
    if !matches!(order.state.as_str(), "previewed" | "checkout") {
        return Err(Error::new(
            ErrorKind::Conflict,
            format!("order {} is {} already: nothing to pay", order.id, order.state),
        ));
    }
    let stripe = state.shop.stripe.as_ref().ok_or_else(|| {
        Error::bad_request(
            "this shop takes no payments yet: its operator must set shop.stripe.secret_key and publishable_key",
        )
    })?;
    let price = quote(state, order, country)?;
    let (currency, minor) = (price.currency(), price.minor());
    let idempotency = format!("{}-{currency}-{minor}", order.id);
    let intent = stripe.create_payment_intent(&price, &[("order", order.id.as_str())], &idempotency).await?;
    state.db.shop_order_checkout(&order.id, currency.as_str(), minor, &intent.id).await?;
    state.metrics.shop_step(&order.style, "checkout");
    Ok(Checkout {
        client_secret: intent.client_secret,
        publishable_key: state.config.shop.stripe.publishable_key.clone(),
        amount: intent.amount,
        currency: currency.as_str().to_string(),
        display: price.to_string(),
    })
}

/// What a payment webhook did, for its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventHandled {
    Paid,
    Replayed,
    Ignored,
}

/// Handles a Stripe webhook: checks its signature, then acts on
/// `payment_intent.succeeded` once per event id (a replay does nothing).
pub async fn payment_event(state: &AppState, body: &[u8], signature: &str) -> Result<EventHandled> {
    let config = &state.config.shop.stripe;
    let now = now_ms() / 1000;
    let tolerance = config.tolerance_secs as i64;
    let event = super::stripe::verify_webhook(body, signature, &config.webhook_secrets, now, tolerance)?;
    if event.kind != "payment_intent.succeeded" {
        return Ok(EventHandled::Ignored);
    }
    let intent = event.object["id"].as_str().unwrap_or_default();
    let order_id = event.object["metadata"]["order"].as_str().unwrap_or_default();
    let order = state.db.get_shop_order(order_id).await?;
    let matches = order.as_ref().is_some_and(|o| {
        o.payment_intent.as_deref() == Some(intent)
            && event.object["currency"].as_str().map(str::to_ascii_uppercase) == o.currency
            && event.object["amount"].as_i64().is_some_and(|paid| Some(paid) == stripe_amount(o))
    });
    let target = if matches { order_id } else { "" };
    let expires_at = now_ms() + (state.config.shop.artwork_secs as i64) * 1000;
    let outcome = state.db.shop_order_paid(&event.id, &event.kind, target, intent, expires_at).await?;
    Ok(match outcome {
        PaymentOutcome::Paid => {
            if let Some(order) = order {
                state.metrics.shop_step(&order.style, "paid");
            }
            state.job_signal.notify_waiters();
            EventHandled::Paid
        }
        PaymentOutcome::Replayed => EventHandled::Replayed,
        PaymentOutcome::Ignored => EventHandled::Ignored,
    })
}

/// What Stripe charges for the order's recorded price.
fn stripe_amount(order: &ShopOrder) -> Option<i64> {
    let currency = Currency::new(order.currency.as_deref()?).ok()?;
    Money::from_minor(order.amount, currency).ok()?.stripe_amount().ok()
}

/// An order's picture for its page: the preview always, the artwork once
/// paid and rendered.
pub async fn picture(state: &AppState, order: &ShopOrder, which: Rendition) -> Result<Bytes> {
    let key = match which {
        Rendition::Preview => order.preview_key.as_deref(),
        Rendition::Artwork if matches!(order.state.as_str(), "paid" | "delivered") => order.artwork_key.as_deref(),
        Rendition::Artwork => {
            return Err(Error::new(ErrorKind::Forbidden, "the artwork is downloadable once the order is paid"));
        }
    };
    let key =
        key.ok_or_else(|| Error::new(ErrorKind::Conflict, "this picture is still being painted: try again shortly"))?;
    Ok(state.store.get_object(key).await?)
}

/// Deletes orders whose link has lapsed, with their pictures (the
/// janitor; a bounded batch per call); returns how many went.
pub async fn expire(state: &AppState, now: i64) -> Result<usize> {
    let expired = state.db.expired_shop_orders(now, 100).await?;
    for order in &expired {
        state.store.delete_objects(&format!("shop/orders/{}", order.id)).await?;
        state.db.delete_shop_order(&order.id, now - EVENTS_KEPT_MS).await?;
    }
    Ok(expired.len())
}
