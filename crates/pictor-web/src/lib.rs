//! The web app: the pages people use in a browser, served by `pictor serve`
//! at `/` from the same binary.
//!
//! Layout:
//! - `session.rs`: the session cookie, the `SignedIn` extractor (a page
//!   without a session redirects to `/login`), and the CSRF check every
//!   state-changing form goes through.
//! - `form.rs`: posted forms with repeated fields, CSRF-checked.
//! - `pages/`: one file per page; `layout.rs` is the shell they share,
//!   `shares.rs` the owner's links, `shared.rs` what a guest sees behind
//!   one, `tiles.rs` the photo grid, `admin.rs` the admin's pages, `live.rs`
//!   the live status feed, `oidc.rs` the way through the OIDC
//!   provider (the core's `oidc`).
//! - `assets.rs`: the stylesheet, scripts and pinned libraries, embedded in
//!   the binary; pages load nothing from elsewhere.
//!
//! Architecture invariant: pages call the application core (accounts, the
//! records) and never the HTTP API; this crate knows nothing of
//! `pictor-server`, which only mounts [`router`].

// A page's refusal is a whole response, returned early and rarely.
#![allow(clippy::result_large_err)]

mod assets;
mod form;
mod pages;
mod session;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use pictor_jobs::Runtime;

pub use pages::layout::error_page;
pub use pages::shop::{peer_ip, visitor_country};
pub use session::{SESSION_COOKIE, public_url, session_token};

/// The pass a guest holds for a share with a password (its cookie, which
/// the browser sends only under that share's `/s/{token}`), if any: the
/// share's image routes check it.
pub fn share_pass(headers: &axum::http::HeaderMap) -> Option<&str> {
    session::cookie(headers, pages::shared::PASS_COOKIE)
}

/// The web app's routes, to merge into the server's router.
pub fn router() -> Router<Arc<Runtime>> {
    Router::new()
        .route("/", get(pages::gallery::show))
        .route("/login", get(pages::login::show).post(pages::login::submit))
        .route("/login/oidc", get(pages::oidc::start))
        .route("/login/oidc/callback", get(pages::oidc::callback))
        .route("/signup", get(pages::login::show_signup).post(pages::login::submit_signup))
        .route("/logout", post(pages::login::sign_out))
        .route("/upload", get(pages::upload::show).post(pages::upload::submit).layer(DefaultBodyLimit::disable()))
        .route("/upload/import", post(pages::imports::start))
        .route("/upload/imports", get(pages::imports::fragment))
        .route("/upload/imports/{id}/cancel", post(pages::imports::cancel))
        .route("/photos/{id}", get(pages::photo::show))
        .route("/photos/{id}/{part}", get(pages::photo::fragment))
        .route("/albums", get(pages::albums::list).post(pages::albums::create))
        .route("/albums/add", post(pages::albums::add))
        .route("/albums/{id}", get(pages::albums::show).post(pages::albums::update))
        .route("/albums/{id}/{action}", post(pages::albums::act))
        .route("/tags", get(pages::tags::show))
        .route("/bundles", get(pages::bundles::list).post(pages::bundles::create))
        .route("/bundles/new", get(pages::bundles::new))
        .route("/shares", get(pages::shares::list).post(pages::shares::create))
        .route("/shares/{id}/revoke", post(pages::shares::revoke))
        .route("/s/{token}", get(pages::shared::show).post(pages::shared::unlock))
        .route("/s/{token}/photos/{id}", get(pages::shared::photo))
        .route("/search", get(pages::search::show))
        .route("/map", get(pages::map::show))
        .route("/shop", get(pages::shop::show))
        .route("/shop/o/{token}", get(pages::shop::order))
        .route("/settings", get(pages::settings::show))
        .route("/settings/keys", post(pages::settings::create))
        .route("/settings/keys/{id}/revoke", post(pages::settings::revoke))
        .route("/admin", get(pages::admin::overview))
        .route("/admin/counts", get(pages::admin::counts))
        .route("/admin/moderation", get(pages::admin::moderation))
        .route("/admin/moderation/{id}/{action}", post(pages::admin::decide))
        .route("/admin/users", get(pages::admin::users).post(pages::admin::create))
        .route("/admin/users/{name}/role", post(pages::admin::set_role))
        .route("/assets/{name}", get(assets::serve))
        // Forms are small: a bound on what a page's form may post.
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
}

/// Long-lived routes (no request timeout): the live status feed.
pub fn streams() -> Router<Arc<Runtime>> {
    Router::new().route("/live", get(pages::live::stream))
}

/// Most bytes a page's form may post.
const FORM_LIMIT: usize = 64 * 1024;
