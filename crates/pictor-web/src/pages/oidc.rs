//! Signing in through the OIDC provider: `/login/oidc` sends the visitor
//! there; `/login/oidc/callback` brings them back, signed in.
//!
//! The flow's state travels in the URL and in a short-lived cookie: the
//! callback must present both, so a callback URL made in another browser
//! (login CSRF) signs no one in. The flow itself (nonce, PKCE verifier)
//! stays in the database, taken once by its callback.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, Html, IntoResponse, Redirect, Response};
use maud::html;
use pictor_core::config::OidcConfig;
use pictor_core::error::{Error, ErrorKind};
use pictor_core::oidc::{Finished, LOGIN_LIFETIME, Oidc};
use pictor_jobs::Runtime;
use serde::Deserialize;

use super::layout::{page, status_of};
use crate::session::{SESSION_COOKIE, cookie, over_tls, safe_next, set_cookie};

/// Holds the flow's state between the two requests.
pub const OIDC_COOKIE: &str = "pictor_oidc";

#[derive(Deserialize)]
pub struct Start {
    next: Option<String>,
}

/// `GET /login/oidc?next=…`: off to the provider.
pub async fn start(State(state): State<Arc<Runtime>>, headers: HeaderMap, Query(q): Query<Start>) -> Response {
    let Some(oidc) = state.oidc.as_ref() else { return not_set_up() };
    let redirect = match oidc.configured_redirect_url() {
        Some(url) => url.to_string(),
        None => match callback_url(&headers) {
            Some(url) => url,
            None => return trouble(StatusCode::BAD_REQUEST, "This request names no host to come back to."),
        },
    };
    match oidc.start(&state.db, safe_next(q.next.as_deref()), &redirect).await {
        Ok(started) => {
            let cookie = set_cookie(&headers, OIDC_COOKIE, &started.state, LOGIN_LIFETIME.as_secs());
            ([(header::SET_COOKIE, cookie)], Redirect::to(&started.url)).into_response()
        }
        Err(e) => failed(e),
    }
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /login/oidc/callback?code=…&state=…` (or `?error=…`): back from
/// the provider.
pub async fn callback(State(state): State<Arc<Runtime>>, headers: HeaderMap, Query(q): Query<Callback>) -> Response {
    let Some(oidc) = state.oidc.as_ref() else { return not_set_up() };
    let flow = q.state.as_deref().unwrap_or_default();
    let ours = !flow.is_empty() && cookie(&headers, OIDC_COOKIE) == Some(flow);
    if let Some(error) = q.error.as_deref() {
        if ours {
            let _ = oidc.abandon(&state.db, flow).await;
        }
        return refused(oidc, error, q.error_description.as_deref());
    }
    if !ours {
        return trouble(
            StatusCode::BAD_REQUEST,
            "This sign-in expired, was already used, or was started in another browser. Please start again.",
        );
    }
    let Some(code) = q.code.as_deref().filter(|c| !c.is_empty()) else {
        return trouble(StatusCode::BAD_REQUEST, "The provider sent no sign-in code. Please start again.");
    };
    match oidc.finish(&state.db, state.config.auth.signup, flow, code).await {
        Ok(done) => {
            if done.created {
                // The server is no longer open to anonymous callers.
                state.auth.close_now().await;
            }
            signed_in(&headers, &done)
        }
        Err(e) => failed(e),
    }
}

/// The session cookie, the flow's cookie gone, and on to `next`.
fn signed_in(headers: &HeaderMap, done: &Finished) -> Response {
    let max_age = pictor_core::accounts::SESSION_LIFETIME.as_secs();
    let cookies = AppendHeaders([
        (header::SET_COOKIE, set_cookie(headers, SESSION_COOKIE, &done.session.token, max_age)),
        (header::SET_COOKIE, set_cookie(headers, OIDC_COOKIE, "", 0)),
    ]);
    (cookies, Redirect::to(safe_next(Some(&done.next)))).into_response()
}

/// This server's callback URL, from the request's `Host` (and
/// `X-Forwarded-Proto`); `None` when the host is missing or malformed.
fn callback_url(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let valid = !host.is_empty() && host.parse::<axum::http::uri::Authority>().is_ok_and(|a| !a.as_str().contains('@'));
    let scheme = if over_tls(headers) { "https" } else { "http" };
    valid.then(|| format!("{scheme}://{host}{}", OidcConfig::CALLBACK_PATH))
}

/// The provider answered with an error instead of a code. Its description
/// is logged, not shown: anyone can put text in a callback URL.
fn refused(oidc: &Oidc, error: &str, description: Option<&str>) -> Response {
    tracing::info!(error, description, "OIDC provider refused a sign-in");
    if error == "access_denied" {
        let message = format!("Signing in with {} was cancelled or refused. Nothing was changed.", oidc.name());
        return trouble(StatusCode::FORBIDDEN, &message);
    }
    let code = if error.len() <= 40 && error.chars().all(|c| c.is_ascii_lowercase() || c == '_') { error } else { "?" };
    trouble(
        StatusCode::BAD_REQUEST,
        &format!("The sign-in provider answered with an error ({code}). Please start again."),
    )
}

fn not_set_up() -> Response {
    trouble(StatusCode::NOT_FOUND, "Signing in through a provider is not set up on this server.")
}

/// A failure of the core: 4xx for what starting again may fix, 502 when
/// the provider failed.
fn failed(error: Error) -> Response {
    let status = match error.kind {
        ErrorKind::UpstreamFailed => StatusCode::BAD_GATEWAY,
        kind => status_of(kind),
    };
    trouble(status, &error.detail)
}

/// A readable page with a way back to the sign-in page.
fn trouble(status: StatusCode, message: &str) -> Response {
    let title = "Signing in did not work";
    let body = html! {
        div.card role="alert" {
            h1 { (title) }
            p { (message) }
            p { a href="/login" { "Back to sign in" } }
        }
    };
    let clear = set_cookie(&HeaderMap::new(), OIDC_COOKIE, "", 0);
    (status, [(header::SET_COOKIE, clear)], Html(page(title, None, body).into_string())).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callback_url_comes_from_the_host() {
        let mut h = HeaderMap::new();
        assert_eq!(callback_url(&h), None);
        h.insert(header::HOST, "photos.example:8080".parse().unwrap());
        assert_eq!(callback_url(&h).unwrap(), "http://photos.example:8080/login/oidc/callback");
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        assert_eq!(callback_url(&h).unwrap(), "https://photos.example:8080/login/oidc/callback");
        for bad in ["evil.example/path", "a@evil.example", "a b"] {
            h.insert(header::HOST, bad.parse().unwrap());
            assert_eq!(callback_url(&h), None, "{bad}");
        }
    }
}
