//! What a guest sees behind a share's link, `/s/{token}`: the password form
//! first when the link has one, then the shared photo or the album's grid;
//! `/s/{token}/photos/{id}` is one photo of a shared album. Plain HTML
//! forms and links: it all works with JavaScript off.
//!
//! Only share-scoped data reaches these pages (`pictor_core::shares::Guest`):
//! no owner, no paths, the camera and place only when the owner opted in.
//! Images come from the share's own routes (`/s/{token}/img/…`,
//! `/s/{token}/original/…`, served by `pictor-server`), which check the
//! link, its password pass and that the photo is in the share on every
//! request. The pass is a cookie scoped to `Path=/s/{token}`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Form;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{AppendHeaders, Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use pictor_core::error::{Error, ErrorKind};
use pictor_core::shares::{self, Guest, GuestPhoto, Visit};
use pictor_jobs::Runtime;
use serde::Deserialize;

use super::layout::{failed, page};
use crate::session::{cookie, set_cookie_at};

/// The guest's pass, once they gave the link's password.
pub const PASS_COOKIE: &str = "pictor_share";
/// The password form's double-submit token.
const FORM_COOKIE: &str = "pictor_share_form";

/// Who is visiting, for the share's access log: the address (the log
/// keeps only its network) and the browser.
pub struct Visitor(Visit);

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
        let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string);
        Ok(Self(Visit { ip, user_agent }))
    }
}

/// The path every URL of a share starts with.
pub fn base(token: &str) -> String {
    format!("/s/{token}")
}

/// The guest of the live share `token` for a request with these headers;
/// images pass no visit, pages do (a view is logged).
pub async fn guest(state: &Runtime, token: &str, headers: &HeaderMap, visit: Option<&Visit>) -> Result<Guest, Error> {
    shares::guest(state, token, cookie(headers, PASS_COOKIE), visit).await
}

/// `GET /s/{token}`: the shared photo or album, or the password form.
pub async fn show(
    State(state): State<Arc<Runtime>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Visitor(visit): Visitor,
) -> Response {
    let guest = match guest(&state, &token, &headers, Some(&visit)).await {
        Ok(guest) => guest,
        Err(e) => return refused(&headers, &token, e, false),
    };
    let photos = match guest.photos(&state).await {
        Ok(photos) => photos,
        Err(e) => return failed(e),
    };
    let body = html! {
        h1 { (guest.title) }
        @if !guest.description.is_empty() { p.description { (guest.description) } }
        @match photos.as_slice() {
            [] => p.muted { "Nothing to see here yet." },
            [one] if guest.share.kind == "photo" => (figure(&token, &guest, one)),
            many => {
                p.muted { (many.len()) (if many.len() == 1 { " photo" } else { " photos" }) }
                div.grid.shared { @for photo in many { (tile(&token, photo)) } }
            }
        }
    };
    guest_page(&guest.title, body)
}

/// `GET /s/{token}/photos/{id}`: one photo of a shared album.
pub async fn photo(
    State(state): State<Arc<Runtime>>,
    Path((token, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let guest = match guest(&state, &token, &headers, None).await {
        Ok(guest) => guest,
        Err(e) => return refused(&headers, &token, e, false),
    };
    match guest.photo(&state, &id).await {
        Ok(photo) => {
            let back = html! { p { a href=(base(&token)) { "Back to " (guest.title) } } };
            let title = photo.name.clone().unwrap_or_else(|| guest.title.clone());
            guest_page(&title, html! { (back) (figure(&token, &guest, &photo)) })
        }
        Err(e) => refused(&headers, &token, e, false),
    }
}

#[derive(Deserialize)]
pub struct Unlock {
    password: String,
    csrf: String,
}

/// `POST /s/{token}`: the password; right, it sets the pass and opens the
/// share; wrong, the form again (logged, and throttled per share).
pub async fn unlock(
    State(state): State<Arc<Runtime>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Visitor(visit): Visitor,
    Form(f): Form<Unlock>,
) -> Response {
    if !shares::is_token(&token) {
        return refused(&headers, &token, Error::not_found("no such link"), false);
    }
    if f.csrf.is_empty() || cookie(&headers, FORM_COOKIE) != Some(f.csrf.as_str()) {
        return password_form(&headers, &token, Some("This form expired. Please try again."), StatusCode::FORBIDDEN);
    }
    match shares::unlock(&state, &token, &f.password, &visit).await {
        Ok(pass) => {
            let path = base(&token);
            let max_age = shares::PASS_LIFETIME.as_secs();
            let cookies = AppendHeaders([
                (header::SET_COOKIE, set_cookie_at(&headers, PASS_COOKIE, &pass, max_age, &path)),
                (header::SET_COOKIE, set_cookie_at(&headers, FORM_COOKIE, "", 0, &path)),
            ]);
            (cookies, Redirect::to(&path)).into_response()
        }
        Err(e) => refused(&headers, &token, e, true),
    }
}

/// A refusal as a page: the password form (again, with why, after a
/// wrong one), or a readable page saying the link is gone or unknown.
fn refused(headers: &HeaderMap, token: &str, e: Error, guessed: bool) -> Response {
    match e.kind {
        ErrorKind::Unauthorized => {
            let (why, status) =
                if guessed { (Some(e.detail.as_str()), StatusCode::UNAUTHORIZED) } else { (None, StatusCode::OK) };
            password_form(headers, token, why, status)
        }
        ErrorKind::RateLimited => password_form(headers, token, Some(&e.detail), StatusCode::TOO_MANY_REQUESTS),
        ErrorKind::Gone => guest_error(StatusCode::GONE, "This link no longer works", &format!("Sorry: {}.", e.detail)),
        ErrorKind::NotFound => {
            guest_error(StatusCode::NOT_FOUND, "Nothing here", "There is no such shared photo or album.")
        }
        _ => failed(e),
    }
}

fn guest_error(status: StatusCode, title: &str, message: &str) -> Response {
    let body = html! { div.card role="alert" { h1 { (title) } p { (message) } } };
    let mut response = guest_page(title, body);
    *response.status_mut() = status;
    response
}

/// The password form, with a fresh double-submit token. The visitor's
/// answer is never echoed.
fn password_form(headers: &HeaderMap, token: &str, error: Option<&str>, status: StatusCode) -> Response {
    let form_token = pictor_core::accounts::random_token();
    let body = html! {
        div.card {
            h1 { "This link has a password" }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            form method="post" action=(base(token)) {
                input type="hidden" name="csrf" value=(form_token);
                label for="share-password" { "Password" }
                input #share-password type="password" name="password" autocomplete="off" required autofocus;
                p { button type="submit" { "Open" } }
            }
        }
    };
    let cookie = set_cookie_at(headers, FORM_COOKIE, &form_token, 3600, &base(token));
    let mut response = guest_page("Password", body);
    *response.status_mut() = status;
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

/// A guest page: the shell without any account's navigation, kept out of
/// caches and search engines, and sending no `Referer` with the link in it.
fn guest_page(title: &str, body: Markup) -> Response {
    let mut response = Html(page(title, None, body).into_string()).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("x-robots-tag", HeaderValue::from_static("noindex, nofollow"));
    response
}

/// One tile of a shared album's grid.
fn tile(token: &str, photo: &GuestPhoto) -> Markup {
    let alt = super::alt_text(photo.name.as_deref(), &photo.labels);
    html! {
        div.tile data-id=(photo.id) {
            a href=(format!("{}/photos/{}", base(token), photo.id)) {
                img src=(format!("{}/img/{}.webp?thumbnail=256", base(token), photo.id)) width="256" height="256"
                    loading="lazy" decoding="async" alt=(alt)
                    style=[super::tiles::placeholder_style(photo.thumbhash.as_deref())];
            }
        }
    }
}

/// One photo, large, with the facts the share allows and its full size.
fn figure(token: &str, guest: &Guest, photo: &GuestPhoto) -> Markup {
    let alt = super::alt_text(photo.name.as_deref(), &photo.labels);
    let metadata =
        photo.metadata.as_ref().and_then(|m| serde_json::from_value::<pictor_meta::Metadata>(m.clone()).ok());
    html! {
        div.photo-page {
            figure.photo {
                img src=(format!("{}/img/{}.webp?thumbnail=1024", base(token), photo.id)) alt=(alt)
                    width=(photo.width.min(1024)) height=(super::photo::scaled_height(photo.width, photo.height, 1024));
            }
            div.info {
                @if let Some(name) = &photo.name { h2 { (name) } }
                dl.facts {
                    dt { "Size" } dd { (photo.width) " × " (photo.height) }
                    @if let Some(metadata) = &metadata { (super::photo::camera_facts(metadata)) }
                }
                @if !photo.labels.is_empty() { ul.labels { @for label in &photo.labels { li { (label) } } } }
                p { a href=(format!("{}/original/{}", base(token), photo.id)) download {
                    (if guest.share.show_metadata { "Download the original" } else { "Download full size" })
                } }
            }
        }
    }
}
