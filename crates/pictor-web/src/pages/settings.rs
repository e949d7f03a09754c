//! `GET /settings`: the account's API keys, made and revoked here. A new
//! key's secret is shown once, on the page that answers its form (never
//! stored, so never shown again).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use pictor_db::{ApiKeySummary, SessionRecord};
use pictor_jobs::Runtime;

use super::layout::{error_page, failed, page};
use crate::form::Fields;
use crate::session::SignedIn;

pub async fn show(State(state): State<Arc<Runtime>>, signed_in: SignedIn) -> Response {
    render(&state, &signed_in.session, None).await
}

async fn render(state: &Runtime, session: &SessionRecord, new_key: Option<(&str, &str)>) -> Response {
    let keys = match state.db.list_api_keys(&session.user.name).await {
        Ok(keys) => keys,
        Err(e) => return failed(e),
    };
    let body = html! {
        h1 { "Settings" }
        p.muted { "Signed in as " strong { (session.user.name) } @if session.user.admin { " (admin)" } "." }
        h2 { "API keys" }
        p.muted { "A key lets a script or app use Pictor's API as you: send it as " code { "X-API-Key" } "." }
        @if let Some((name, secret)) = new_key {
            div.card.wide.new-key role="status" {
                p { "Your new key " strong { (name) } ". Copy it now: it is not shown again." }
                p { code #new-key { (secret) } }
            }
        }
        @if keys.is_empty() { p.muted { "No keys yet." } }
        @else { table.keys { thead { tr { th { "Name" } th { "Scopes" } th { "Created" } th {} } }
            tbody { @for key in &keys { (key_row(session, key)) } } } }
        (new_key_form(session))
    };
    Html(page("Settings", Some(session), body).into_string()).into_response()
}

fn key_row(session: &SessionRecord, key: &ApiKeySummary) -> Markup {
    html! {
        tr data-key=(key.id) {
            td { (key.name.as_deref().unwrap_or("(unnamed)")) }
            td { (key.scopes) }
            td { (pictor_db::rfc3339_ms(key.created_at).get(..10).unwrap_or("")) }
            td {
                form method="post" action=(format!("/settings/keys/{}/revoke", key.id)) {
                    input type="hidden" name="csrf" value=(session.csrf);
                    button.link type="submit" { "Revoke" }
                }
            }
        }
    }
}

fn new_key_form(session: &SessionRecord) -> Markup {
    html! {
        form.card.wide method="post" action="/settings/keys" {
            h3 { "New key" }
            input type="hidden" name="csrf" value=(session.csrf);
            label for="key-name" { "Name" }
            input #key-name type="text" name="name" required maxlength="100" placeholder="backup script";
            fieldset {
                legend { "It may" }
                label { input type="checkbox" name="scope" value="read" checked; " read your photos" }
                label { input type="checkbox" name="scope" value="upload" checked; " upload and delete photos" }
                @if session.user.admin { label { input type="checkbox" name="scope" value="admin"; " administer the server" } }
            }
            p { button type="submit" { "Create key" } }
        }
    }
}

/// `POST /settings/keys`: makes a key and shows its secret once.
pub async fn create(State(state): State<Arc<Runtime>>, signed_in: SignedIn, body: Bytes) -> Response {
    let session = &signed_in.session;
    let f = match Fields::checked(&body, session) {
        Ok(f) => f,
        Err(refused) => return refused,
    };
    let name = f.get("name").trim();
    let scopes: Vec<String> = f.all("scope").into_iter().filter(|s| s != "admin" || session.user.admin).collect();
    if name.is_empty() || name.chars().count() > 100 || scopes.is_empty() {
        return error_page(
            StatusCode::BAD_REQUEST,
            "A key needs a name (at most 100 characters) and at least one scope.",
        );
    }
    let owner = &session.user.name;
    match pictor_core::auth::create_api_key(&state.db, owner, &scopes.join(" "), Some(name.to_string())).await {
        Ok(key) => render(&state, session, Some((name, &key.secret))).await,
        Err(e) => error_page(StatusCode::INTERNAL_SERVER_ERROR, &format!("The key could not be made: {e}")),
    }
}

/// `POST /settings/keys/{id}/revoke`
pub async fn revoke(
    State(state): State<Arc<Runtime>>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(refused) = Fields::checked(&body, &signed_in.session) {
        return refused;
    }
    match state.auth.revoke_key(&signed_in.session.user.name, &id).await {
        Ok(true) => Redirect::to("/settings").into_response(),
        Ok(false) => error_page(StatusCode::NOT_FOUND, "You have no such key."),
        Err(e) => failed(e),
    }
}
