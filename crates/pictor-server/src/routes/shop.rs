//! The style shop's API (the rules are `pictor_core::shop`'s; the pages
//! are `pictor_web`'s). No accounts: an order's link token is its only key.
//!
//! - `POST /shop/api/uploads {style, email, content_type, size}` → a signed
//!   POST form (`url`, `fields`): post the fields, then the photo as `file`,
//!   to `url` (the bucket on S3; `POST /shop/upload` on a local store).
//! - `GET /shop/api/orders/{token}`: the order's state and price.
//! - `POST /shop/api/orders/{token}/checkout` → a Stripe PaymentIntent's
//!   client secret for the Payment Element, in the visitor's currency.
//! - `GET /shop/o/{token}/preview.jpg`, `…/artwork.jpg` (once paid).
//! - `GET /shop/samples/{style}.jpg`: each style over the bundled photo.
//! - `POST /shop/stripe/webhook`: Stripe's signed events (`Stripe-Signature`).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pictor_core::shop::{orders, upload};
use pictor_db::{Rendition, ShopOrder};
use pictor_jobs::Runtime;
use serde::Serialize;

use super::direct::policy_form;
use crate::error::{ApiError, ApiResult, Code};

fn enabled(state: &Runtime) -> ApiResult<()> {
    if state.config.shop.enabled {
        Ok(())
    } else {
        Err(ApiError::new(Code::NotFound, "this server runs no shop (shop.enabled is false)"))
    }
}

/// `POST /shop/api/uploads`: a signed form for one photo.
#[utoipa::path(post, operation_id = "shop_upload_form", path = "/shop/api/uploads", tag = "shop",
    request_body(content = serde_json::Value, description = "`{\"style\": \"ember\", \"email\": \"…\", \"content_type\": \"image/jpeg\", \"size\": 123456}`"),
    responses((status = 200, description = "`{url, fields, expires_at}`: POST the fields, then the photo as `file`, to `url`"),
              (status = 400, description = "Not an email address, or email is not set up"),
              (status = 404, description = "No such style"), (status = 413, description = "Over shop.max_upload_bytes"),
              (status = 415, description = "Not an image type"), (status = 429, description = "Too many forms from this address")))]
pub async fn create_upload(
    State(state): State<Arc<Runtime>>,
    headers: HeaderMap,
    request: Request,
) -> ApiResult<Json<upload::UploadForm>> {
    enabled(&state)?;
    let client = format!("ip:{}", pictor_web::peer_ip(request.extensions()));
    state.uploads.check(&client)?;
    let Json(body) = <Json<upload::UploadRequest> as axum::extract::FromRequest<_>>::from_request(request, &state)
        .await
        .map_err(|e: JsonRejection| {
            ApiError::bad_request(format!(
                "send JSON {{\"style\", \"email\", \"content_type\", \"size\"}}: {}",
                e.body_text()
            ))
        })?;
    let site = pictor_web::public_url(&state.config, &headers);
    Ok(Json(upload::form(&state, &body, &site).await?))
}

/// `POST /shop/upload`: the local store's end of the form (S3's is the bucket).
#[utoipa::path(post, operation_id = "shop_receive_upload", path = "/shop/upload", tag = "shop",
    request_body(content_type = "multipart/form-data", description = "The signed form's fields, then `file`"),
    responses((status = 204, description = "Stored: the order is made and its preview on the way"),
              (status = 403, description = "signature_mismatch or forbidden: the form was changed"),
              (status = 410, description = "The form expired"), (status = 413, description = "Over the signed size"),
              (status = 415, description = "Not an image the shop paints")))]
pub async fn receive_upload(State(state): State<Arc<Runtime>>, request: Request) -> ApiResult<StatusCode> {
    enabled(&state)?;
    let accept = async |fields: &std::collections::BTreeMap<String, String>| upload::accept(&state, fields).await;
    let (grant, bytes, _slot) = policy_form(&state, request, accept, |g: &upload::Grant| g.max_bytes).await?;
    upload::receive(&state, &grant, bytes).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An order as its page's script reads it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OrderView {
    pub state: String,
    pub style: String,
    /// The price for this visitor, while unpaid; what was paid, after.
    pub price: Option<PriceView>,
    pub preview_url: Option<String>,
    pub artwork_url: Option<String>,
    pub width: i64,
    pub height: i64,
    pub error: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PriceView {
    pub currency: String,
    /// In the currency's minor units (cents; yen).
    pub amount: i64,
    pub display: String,
}

/// The order's view for a visitor in `country`.
pub fn order_view(state: &Runtime, token: &str, order: &ShopOrder, country: Option<&str>) -> OrderView {
    let paid = matches!(order.state.as_str(), "paid" | "delivered");
    let price = if paid {
        paid_price(order)
    } else {
        orders::quote(state, order, country).ok().map(|m| PriceView {
            currency: m.currency().as_str().to_string(),
            amount: m.minor(),
            display: m.to_string(),
        })
    };
    OrderView {
        state: order.state.clone(),
        style: order.style.clone(),
        price,
        preview_url: order.preview_key.as_ref().map(|_| format!("/shop/o/{token}/preview.jpg")),
        artwork_url: (paid && order.artwork_key.is_some()).then(|| format!("/shop/o/{token}/artwork.jpg")),
        width: order.width,
        height: order.height,
        error: order.error.clone(),
    }
}

fn paid_price(order: &ShopOrder) -> Option<PriceView> {
    use pictor_core::shop::money::{Currency, Money};
    let money = Money::from_minor(order.amount, Currency::new(order.currency.as_deref()?).ok()?).ok()?;
    Some(PriceView {
        currency: money.currency().as_str().to_string(),
        amount: money.minor(),
        display: money.to_string(),
    })
}

/// The order a link's token names, and the visitor's country.
async fn order_for_visitor(
    state: &Runtime,
    token: &str,
    extensions: &axum::http::Extensions,
    headers: &HeaderMap,
) -> ApiResult<(ShopOrder, Option<String>)> {
    enabled(state)?;
    let country = pictor_web::visitor_country(state, extensions, headers);
    Ok((orders::by_link(state, token).await?, country))
}

/// `GET /shop/api/orders/{token}`.
#[utoipa::path(get, operation_id = "shop_order", path = "/shop/api/orders/{token}", tag = "shop",
    params(("token" = String, Path, description = "The order link's token")),
    responses((status = 200, description = "The order, priced for this visitor", body = OrderView),
              (status = 404, description = "No such link"), (status = 410, description = "The link has expired")))]
pub async fn get_order(
    State(state): State<Arc<Runtime>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> ApiResult<Response> {
    let (order, country) = order_for_visitor(&state, &token, request.extensions(), &headers).await?;
    Ok(private(Json(order_view(&state, &token, &order, country.as_deref()))))
}

/// `POST /shop/api/orders/{token}/checkout`.
#[utoipa::path(post, operation_id = "shop_checkout", path = "/shop/api/orders/{token}/checkout", tag = "shop",
    params(("token" = String, Path, description = "The order link's token")),
    responses((status = 200, description = "`{client_secret, publishable_key, amount, currency, display}` for Stripe's Payment Element"),
              (status = 409, description = "Paid already"), (status = 404, description = "No such link")))]
pub async fn checkout(
    State(state): State<Arc<Runtime>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> ApiResult<Response> {
    let (order, country) = order_for_visitor(&state, &token, request.extensions(), &headers).await?;
    Ok(private(Json(orders::checkout(&state, &order, country.as_deref()).await?)))
}

/// `GET /shop/o/{token}/{picture}`: `preview.jpg`, or `artwork.jpg` once paid.
#[utoipa::path(get, operation_id = "shop_picture", path = "/shop/o/{token}/{picture}", tag = "shop",
    params(("token" = String, Path, description = "The order link's token"),
           ("picture" = String, Path, description = "`preview.jpg` or `artwork.jpg`")),
    responses((status = 200, description = "A JPEG", content_type = "image/jpeg"),
              (status = 403, description = "The artwork, before payment"), (status = 409, description = "Still being painted")))]
pub async fn picture(
    State(state): State<Arc<Runtime>>,
    Path((token, picture)): Path<(String, String)>,
) -> ApiResult<Response> {
    enabled(&state)?;
    let which = match picture.as_str() {
        "preview.jpg" => Rendition::Preview,
        "artwork.jpg" => Rendition::Artwork,
        _ => return Err(ApiError::new(Code::NotFound, "an order has preview.jpg and artwork.jpg")),
    };
    let order = orders::by_link(&state, &token).await?;
    let bytes = orders::picture(&state, &order, which).await?;
    let mut response = private(bytes);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    if which == Rendition::Artwork {
        let name = format!("attachment; filename=\"artwork-{}.jpg\"", order.style);
        if let Ok(value) = HeaderValue::from_str(&name) {
            response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}

/// `GET /shop/samples/{file}`: a style's sample (`ember.jpg`), once rendered.
#[utoipa::path(get, operation_id = "shop_sample", path = "/shop/samples/{file}", tag = "shop",
    params(("file" = String, Path, description = "`STYLE.jpg`")),
    responses((status = 200, description = "A JPEG", content_type = "image/jpeg"), (status = 404, description = "No such style, or not painted yet")))]
pub async fn sample(State(state): State<Arc<Runtime>>, Path(file): Path<String>) -> ApiResult<Response> {
    enabled(&state)?;
    let name = file.strip_suffix(".jpg").unwrap_or(&file);
    state.shop.catalogue.get(name)?;
    let bytes = state.shop.catalogue.sample(name).ok_or_else(|| {
        ApiError::new(
            Code::NotFound,
            "this sample is not painted yet (the style models may be missing): try again soon",
        )
    })?;
    Ok(([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "public, max-age=3600")], bytes).into_response())
}

/// `POST /shop/stripe/webhook`: answers 200 once the event is handled (or
/// was before); a bad signature gets 400, so Stripe shows the failure.
#[utoipa::path(post, operation_id = "shop_stripe_webhook", path = "/shop/stripe/webhook", tag = "shop",
    request_body(content = serde_json::Value, description = "A Stripe event, signed in `Stripe-Signature`"),
    responses((status = 200, description = "`{received: true, handled: paid|replayed|ignored}`"),
              (status = 400, description = "The signature does not hold (forged, changed, or older than shop.stripe.tolerance_secs)")))]
pub async fn stripe_webhook(State(state): State<Arc<Runtime>>, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    enabled(&state)?;
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let handled = orders::payment_event(&state, &body, signature).await.map_err(|e| {
        let mut error = ApiError::from(e);
        if error.status() == StatusCode::FORBIDDEN {
            error = error.with_status(StatusCode::BAD_REQUEST);
        }
        error
    })?;
    let handled = match handled {
        orders::EventHandled::Paid => "paid",
        orders::EventHandled::Replayed => "replayed",
        orders::EventHandled::Ignored => "ignored",
    };
    Ok(Json(serde_json::json!({ "received": true, "handled": handled })).into_response())
}

/// An answer only its visitor should keep: never cached by others.
fn private(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}
