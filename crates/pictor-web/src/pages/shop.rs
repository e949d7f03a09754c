//! The style shop's pages, for visitors without an account:
//!
//! - `/shop`: the catalogue (each style's sample over the same photo, its
//!   price in the visitor's currency) and the upload form. `shop.js` asks
//!   `POST /shop/api/uploads` for a signed form and posts the photo straight
//!   to the store; the preview's link arrives by email.
//! - `/shop/o/{token}`: the order: its watermarked preview, the price, the
//!   Stripe Payment Element (Stripe.js from `shop.stripe.js_url`, loaded on
//!   this page only, and only when the visitor pays), then the download.
//!
//! Prices are quoted through `pictor_core::shop` (country from the address,
//! `X-Forwarded-For` only from trusted proxies); the page credits DB-IP,
//! whose database (CC BY 4.0) tells the country.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use pictor_core::shop::orders;
use pictor_db::ShopOrder;
use pictor_jobs::Runtime;

use super::layout::{error_page, failed, page};
use crate::assets;

/// `GET /shop`.
pub async fn show(State(state): State<Arc<Runtime>>, headers: HeaderMap, request: Request) -> Response {
    if !state.config.shop.enabled {
        return error_page(StatusCode::NOT_FOUND, "This server runs no shop.");
    }
    let country = visitor_country(&state, request.extensions(), &headers);
    let shop = &state.config.shop;
    let styles = state.shop.catalogue.styles();
    let can_mail = state.notifier.check(pictor_core::notify::Channel::Email).is_ok();
    let body = html! {
        h1 { (shop.title) }
        p.lead { "Your photo, repainted in a style you pick. You get a watermarked preview by email; "
                 "pay only if you like it, and download the full-resolution artwork." }
        form #shop-upload.shop-form data-max-bytes=(shop.max_upload_bytes) {
            fieldset.styles {
                legend { "1. Pick a style" }
                ul.styles {
                    @for (i, style) in styles.iter().enumerate() {
                        li {
                            label.style {
                                input type="radio" name="style" value=(style.name) required checked[i == 0] data-own[style.is_own()];
                                @if style.is_own() {
                                    span.own aria-hidden="true" { "Your picture" }
                                } @else {
                                    img src=(format!("/shop/samples/{}.jpg", style.name)) alt=(format!("A coffee cup painted in the style {}", style.title))
                                        width="320" height="213" loading="lazy";
                                }
                                span.name { (style.title) }
                                span.muted { (style.description) }
                                @if let Ok(price) = state.shop.prices.quote(&style.tier, country.as_deref()) {
                                    span.price data-currency=(price.currency().as_str()) { (price.to_string()) }
                                }
                            }
                        }
                    }
                }
            }
            @if styles.iter().any(|s| s.is_own()) {
                p #shop-own hidden {
                    label for="shop-style-image" { "Your style picture " span.muted { "(a painting, a drawing, any picture)" } }
                    input #shop-style-image type="file" name="style_image" accept="image/*";
                }
            }
            fieldset {
                legend { "2. Your photo and your email" }
                label for="shop-photo" { "Photo " span.muted { "(JPEG, PNG, WebP, HEIC…, up to " (shop.max_upload_bytes / 1_000_000) " MB)" } }
                input #shop-photo type="file" name="photo" accept="image/*" required;
                label for="shop-email" { "Email address " span.muted { "(for the preview's link)" } }
                input #shop-email type="email" name="email" autocomplete="email" maxlength="254" required;
                p.muted { "Your address is kept, sealed, only until your order is done, then erased. "
                          "Unpaid orders and their photos are deleted after " (shop.link_secs / 86_400) " days." }
            }
            @if can_mail { p { button type="submit" { "Upload and get my preview" } } }
            @else { p.error role="alert" { "This shop sends no email yet, so it takes no orders: its operator must set email.smtp_url." } }
            progress #shop-progress max="100" value="0" hidden aria-label="Upload progress" {}
            p #shop-status role="status" aria-live="polite" {}
        }
        (credit())
        script src=(assets::url(assets::SHOP_JS)) defer {}
    };
    Html(page(&shop.title, None, body).into_string()).into_response()
}

/// `GET /shop/o/{token}`: the order's page.
pub async fn order(
    State(state): State<Arc<Runtime>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    if !state.config.shop.enabled {
        return error_page(StatusCode::NOT_FOUND, "This server runs no shop.");
    }
    let order = match orders::by_link(&state, &token).await {
        Ok(order) => order,
        Err(e) => return failed(e),
    };
    if let Err(e) = orders::opened(&state, &order).await {
        tracing::warn!(error = %e.detail, "counting an opened order failed");
    }
    let country = visitor_country(&state, request.extensions(), &headers);
    let body = order_body(&state, &token, &order, country.as_deref());
    let mut response = Html(page(&state.config.shop.title, None, body).into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

fn order_body(state: &Runtime, token: &str, order: &ShopOrder, country: Option<&str>) -> Markup {
    let style = state.shop.catalogue.get(&order.style).map(|s| s.title.clone()).unwrap_or_else(|_| order.style.clone());
    let price = orders::quote(state, order, country).ok();
    let stripe = &state.config.shop.stripe;
    let paying = matches!(order.state.as_str(), "previewed" | "checkout");
    let busy = order.state == "paid";
    html! {
        h1 { "Your photo in the style " (style) }
        div #shop-order data-token=(token) data-state=(order.state) data-stripe-js=(stripe.js_url) {
            figure.preview {
                img src=(format!("/shop/o/{token}/preview.jpg")) alt=(format!("Preview of your photo in the style {style}, watermarked"));
                figcaption.muted { "Preview, 512 px, watermarked. The artwork is painted at your photo's full resolution." }
            }
            @if paying {
                @if let Some(price) = &price {
                    p.price { "Full-resolution artwork: " strong #shop-price data-currency=(price.currency().as_str()) data-amount=(price.minor()) { (price.to_string()) } }
                }
                @if state.shop.stripe.is_some() {
                    p { button #shop-pay type="button" { "Pay and get the artwork" } }
                    div #payment-element {}
                    p { button #shop-confirm type="button" hidden { "Pay now" } }
                } @else {
                    p.error role="alert" { "This shop takes no payments yet: its operator must set up Stripe." }
                }
            }
            // While the artwork is painted, the order's state is polled (shop.js).
            p #shop-status role="status" aria-live="polite" {
                @match order.state.as_str() {
                    "paid" => "Payment received. Your artwork is being painted at full resolution; this page updates when it is ready.",
                    "delivered" => "Your artwork is ready.",
                    "failed" => { "This order could not be completed: " (order.error.as_deref().unwrap_or("an error")) }
                    _ => "",
                }
            }
            p #shop-download hidden[!(order.state == "delivered" && order.artwork_key.is_some())] {
                a.button href=(format!("/shop/o/{token}/artwork.jpg")) download { "Download the artwork" }
                " " span.muted { (order.width) "×" (order.height) " px, JPEG" }
            }
            @if busy { noscript { p { "Reload this page in a minute to see whether the artwork is ready." } } }
        }
        (credit())
        script src=(assets::url(assets::SHOP_JS)) defer {}
    }
}

/// DB-IP's database is CC BY 4.0: its pages credit it.
fn credit() -> Markup {
    html! {
        p.muted.credit { "Prices in your currency: " a href="https://db-ip.com" { "IP Geolocation by DB-IP" } "." }
    }
}

/// The visitor's country: from the socket's address, `X-Forwarded-For`
/// believed only from the configured proxies (`shop.geo.trusted_proxies`).
pub fn visitor_country(state: &Runtime, extensions: &axum::http::Extensions, headers: &HeaderMap) -> Option<String> {
    let forwarded: Vec<&str> = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
    let forwarded = (!forwarded.is_empty()).then(|| forwarded.join(","));
    orders::country(state, peer_ip(extensions), forwarded.as_deref())
}

/// The address of the socket's other end (a proxy's, behind one).
pub fn peer_ip(extensions: &axum::http::Extensions) -> std::net::IpAddr {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or(std::net::IpAddr::from([127, 0, 0, 1]), |c| c.0.ip())
}
