//! Signing up, in and out with a name and password (and the way to the
//! OIDC provider, when one is set up: `oidc.rs`).

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, Html, IntoResponse, Redirect, Response};
use maud::html;
use pictor_jobs::Runtime;
use serde::Deserialize;

use super::layout::{error_page, failed, page, status_of};
use crate::session::{LOGIN_COOKIE, SESSION_COOKIE, SignedIn, check_csrf, cookie, encode, safe_next, set_cookie};

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// The two forms that take a name and a password.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    SignIn,
    SignUp,
}

impl Kind {
    fn title(self) -> &'static str {
        if self == Kind::SignIn { "Sign in" } else { "Create an account" }
    }
}

/// `GET /login`: the form, with a fresh double-submit token.
pub async fn show(State(state): State<Arc<Runtime>>, headers: HeaderMap, Query(q): Query<Next>) -> Response {
    form(&headers, Kind::SignIn, provider(&state), q.next.as_deref(), None, StatusCode::OK)
}

/// The OIDC provider's name for the "Sign in with …" button, if one is set up.
fn provider(state: &Runtime) -> Option<&str> {
    state.oidc.as_ref().map(|oidc| oidc.name())
}

/// `GET /signup`: the form, or a page saying sign-up is closed.
pub async fn show_signup(State(state): State<Arc<Runtime>>, headers: HeaderMap) -> Response {
    match pictor_core::accounts::signup_open(&state.db, state.config.auth.signup).await {
        Ok(true) => form(&headers, Kind::SignUp, provider(&state), None, None, StatusCode::OK),
        Ok(false) => error_page(StatusCode::FORBIDDEN, "Sign-up is closed here: ask an admin for an account."),
        Err(e) => failed(e),
    }
}

fn form(
    headers: &HeaderMap,
    kind: Kind,
    provider: Option<&str>,
    next: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let token = pictor_core::accounts::random_token();
    let (action, autocomplete) =
        if kind == Kind::SignIn { ("/login", "current-password") } else { ("/signup", "new-password") };
    let body = html! {
        div.card {
            h1 { (kind.title()) }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(token);
                input type="hidden" name="next" value=(safe_next(next));
                label for="name" { "User name" }
                input #name type="text" name="name" autocomplete="username" required autofocus;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete=(autocomplete) required;
                p { button type="submit" { (kind.title()) } }
            }
            @if let Some(name) = provider {
                p.or.muted { "or" }
                p { a.provider href={ "/login/oidc?next=" (encode(safe_next(next))) } { "Sign in with " (name) } }
            }
            @if kind == Kind::SignIn { p.muted { "New here? " a href="/signup" { "Create an account" } } }
        }
    };
    let cookie = set_cookie(headers, LOGIN_COOKIE, &token, 3600);
    (status, [(header::SET_COOKIE, cookie)], Html(page(kind.title(), None, body).into_string())).into_response()
}

#[derive(Deserialize)]
pub struct Credentials {
    name: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

/// `POST /login`: signs in and goes back where the visitor was headed.
pub async fn submit(State(state): State<Arc<Runtime>>, headers: HeaderMap, Form(f): Form<Credentials>) -> Response {
    let started = match forged(&headers, Kind::SignIn, provider(&state), &f) {
        Some(refused) => return refused,
        None => pictor_core::accounts::sign_in(&state.db, &f.name, &f.password).await,
    };
    signed_in(&headers, Kind::SignIn, provider(&state), &f, started)
}

/// `POST /signup`: makes the account (as `auth.signup` allows), signs it in.
pub async fn submit_signup(
    State(state): State<Arc<Runtime>>,
    headers: HeaderMap,
    Form(f): Form<Credentials>,
) -> Response {
    let started = match forged(&headers, Kind::SignUp, provider(&state), &f) {
        Some(refused) => return refused,
        None => pictor_core::accounts::sign_up(&state.db, state.config.auth.signup, &f.name, &f.password).await,
    };
    if started.is_ok() {
        state.auth.close_now().await;
    }
    signed_in(&headers, Kind::SignUp, provider(&state), &f, started)
}

/// The form again with 403 when its double-submit token does not match.
fn forged(headers: &HeaderMap, kind: Kind, provider: Option<&str>, f: &Credentials) -> Option<Response> {
    if !f.csrf.is_empty() && cookie(headers, LOGIN_COOKIE) == Some(f.csrf.as_str()) {
        return None;
    }
    let expired = Some("This form expired. Please try again.");
    Some(form(headers, kind, provider, f.next.as_deref(), expired, StatusCode::FORBIDDEN))
}

/// Sets the session cookie and redirects, or shows the form with the error.
fn signed_in(
    headers: &HeaderMap,
    kind: Kind,
    provider: Option<&str>,
    f: &Credentials,
    started: pictor_core::error::Result<pictor_core::accounts::NewSession>,
) -> Response {
    match started {
        Ok(session) => {
            let max_age = pictor_core::accounts::SESSION_LIFETIME.as_secs();
            // Appended, not inserted: two `Set-Cookie` headers.
            let cookies = AppendHeaders([
                (header::SET_COOKIE, set_cookie(headers, SESSION_COOKIE, &session.token, max_age)),
                (header::SET_COOKIE, set_cookie(headers, LOGIN_COOKIE, "", 0)),
            ]);
            (cookies, Redirect::to(safe_next(f.next.as_deref()))).into_response()
        }
        // What the visitor can fix is shown on the form; the rest on its own page.
        Err(e) => match status_of(e.kind) {
            status if status.is_client_error() => {
                form(headers, kind, provider, f.next.as_deref(), Some(&e.detail), status)
            }
            _ => failed(e),
        },
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// `POST /logout`: ends the session here and in the database.
pub async fn sign_out(
    State(state): State<Arc<Runtime>>,
    headers: HeaderMap,
    signed_in: SignedIn,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if let Err(refused) = check_csrf(&signed_in.session, &f.csrf) {
        return refused;
    }
    let token = crate::session::session_token(&headers).unwrap_or("");
    if let Err(e) = pictor_core::accounts::sign_out(&state.db, &state.sessions, token).await {
        return failed(e);
    }
    ([(header::SET_COOKIE, set_cookie(&headers, SESSION_COOKIE, "", 0))], Redirect::to("/login")).into_response()
}
