//! The web app: the pages people use in a browser, served by `pictor serve`
//! at `/` from the same binary.
//!
//! Layout:
//! - `session.rs`: the session cookie, the `SignedIn` extractor (a page
//!   without a session redirects to `/login`), and the CSRF check every
//!   state-changing form goes through.
//! - `pages/`: one file per page; `layout.rs` is the shell they share;
//!   `oidc.rs` signs in through the OIDC provider (the core's `oidc`).
//! - `assets.rs`: the stylesheet, embedded in the binary; pages load
//!   nothing from elsewhere.
//!
//! Architecture invariant: pages call the application core (accounts, the
//! records) and never the HTTP API; this crate knows nothing of
//! `pictor-server`, which only mounts [`router`].

mod assets;
mod pages;
mod session;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use pictor_jobs::Runtime;

pub use session::{SESSION_COOKIE, session_token};

/// The web app's routes, to merge into the server's router.
pub fn router() -> Router<Arc<Runtime>> {
    Router::new()
        .route("/", get(pages::gallery::show))
        .route("/login", get(pages::login::show).post(pages::login::submit))
        .route("/login/oidc", get(pages::oidc::start))
        .route("/login/oidc/callback", get(pages::oidc::callback))
        .route("/signup", get(pages::login::show_signup).post(pages::login::submit_signup))
        .route("/logout", post(pages::login::sign_out))
        .route("/photos/{id}", get(pages::photo::show))
        .route("/tags", get(pages::tags::show))
        .route("/assets/{name}", get(assets::serve))
}
