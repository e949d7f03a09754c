//! The page shell: head, top bar (with sign-out when signed in), main; and
//! readable error pages.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use pictor_core::error::{Error, ErrorKind};
use pictor_db::SessionRecord;

use crate::assets;

/// A full page titled `title` around `body`.
pub fn page(title: &str, session: Option<&SessionRecord>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · Pictor" }
                link rel="icon" type="image/svg+xml" href=(assets::url(assets::ICON));
                link rel="stylesheet" href=(assets::url("app.css"));
                script src=(assets::url(assets::HTMX)) defer {}
                script src=(assets::url(assets::HTMX_SSE)) defer {}
                script src=(assets::url(assets::APP_JS)) defer {}
            }
            body {
                header.top {
                    a.brand href="/" { "Pictor" }
                    @if let Some(session) = session {
                        nav aria-label="Main" {
                            a href="/" { "Photos" } " " a href="/albums" { "Albums" } " "
                            a href="/upload" { "Upload" } " " a href="/tags" { "Tags" } " "
                            a href="/search" { "Search" } " " a href="/map" { "Map" } " "
                            a href="/shares" { "Shares" } " " a href="/bundles" { "Bundles" }
                            @if session.user.admin { " " a href="/admin" { "Admin" } }
                        }
                        a.muted href="/settings" title="Settings" { (session.user.name) }
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(session.csrf);
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The status a page answers for a failure of the core.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::InvalidRequest => StatusCode::BAD_REQUEST,
        ErrorKind::DatabaseUnavailable | ErrorKind::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A readable error page for a failure of the core or the database.
pub fn failed(error: impl Into<Error>) -> Response {
    let error = error.into();
    error_page(status_of(error.kind), &error.detail)
}

/// A readable error page with `status`.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let body = html! {
        div.card role="alert" {
            h1 { (title) }
            p { (message) }
            p { a href="/" { "Back to your photos" } }
        }
    };
    (status, Html(page(title, None, body).into_string())).into_response()
}
