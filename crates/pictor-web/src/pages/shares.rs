//! The owner's side of sharing: the "Share" form on an album's and a
//! photo's page, and `/shares`, the account's links with their settings,
//! use and access log, each revocable. A new link is shown once, on the
//! page that answers the form (only its hash is kept). The rules are the
//! core's (`pictor_core::shares`).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use pictor_core::error::ErrorKind;
use pictor_core::shares::{self, ShareKind, ShareOptions};
use pictor_db::{SessionRecord, ShareAccess, ShareSummary, now_ms, rfc3339_ms};
use pictor_jobs::Runtime;

use super::layout::{error_page, failed, page};
use super::shared::base;
use crate::form::Fields;
use crate::session::{SignedIn, over_tls};

/// Visits shown per share in its access log.
const LOGGED: i64 = 20;

/// The "Share" form for an album or a photo (`kind`, `target`).
pub fn form(session: &SessionRecord, kind: ShareKind, target: &str) -> Markup {
    let id = |name: &str| format!("share-{name}");
    html! {
        details.edit.share {
            summary { "Share" }
            form method="post" action="/shares" {
                input type="hidden" name="csrf" value=(session.csrf);
                input type="hidden" name="kind" value=(kind.as_str());
                input type="hidden" name="target" value=(target);
                label for=(id("password")) { "Password " span.muted { "(optional)" } }
                input id=(id("password")) type="password" name="password" autocomplete="new-password" minlength="4" maxlength="1024";
                label for=(id("expires")) { "Expires" }
                select id=(id("expires")) name="expires" {
                    option value="1" { "after 1 day" }
                    option value="7" selected { "after 7 days" }
                    option value="30" { "after 30 days" }
                    option value="never" { "never" }
                }
                label { input type="checkbox" name="show_metadata" value="1"; " Show the camera and place, and give the originals with their metadata" }
                p { button type="submit" { "Create link" } }
            }
        }
    }
}

/// `GET /shares`
pub async fn list(State(state): State<Arc<Runtime>>, headers: HeaderMap, signed_in: SignedIn) -> Response {
    render(&state, &headers, &signed_in.session, None).await
}

async fn render(state: &Runtime, headers: &HeaderMap, session: &SessionRecord, new: Option<&str>) -> Response {
    let caller = pictor_core::accounts::principal(&session.user);
    let listed = match shares::list(&state.db, &caller).await {
        Ok(listed) => listed,
        Err(e) => return failed(e),
    };
    let mut logs = Vec::with_capacity(listed.len());
    for summary in &listed {
        match state.db.share_access(&summary.share.id, LOGGED).await {
            Ok(log) => logs.push(log),
            Err(e) => return failed(e),
        }
    }
    let body = html! {
        h1 { "Shares" }
        @if let Some(token) = new {
            div.card.wide.new-link role="status" {
                p { "Your new link. Copy it now: it is not shown again." }
                @let url = absolute(headers, &base(token));
                p { label for="new-link" { "Link" } input #new-link type="text" readonly value=(url); }
                p { a href=(base(token)) target="_blank" rel="noopener noreferrer" { "Open it" } }
            }
        }
        @if listed.is_empty() { p.muted { "You have shared nothing yet: use Share on an album or a photo." } }
        @else {
            table.shares {
                thead { tr { th { "Shared" } th { "Created" } th { "Expires" } th { "Password" } th { "Views" } th { "Last visit" } th { "State" } th {} } }
                tbody { @for (summary, log) in listed.iter().zip(&logs) { (row(session, summary, log)) } }
            }
        }
    };
    Html(page("Shares", Some(session), body).into_string()).into_response()
}

/// The link's full URL, as the browser reached this server.
fn absolute(headers: &HeaderMap, path: &str) -> String {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    format!("{}://{host}{path}", if over_tls(headers) { "https" } else { "http" })
}

fn row(session: &SessionRecord, summary: &ShareSummary, log: &[ShareAccess]) -> Markup {
    let share = &summary.share;
    let target = match share.kind.as_str() {
        "album" => format!("/albums/{}", share.target),
        _ => format!("/photos/{}", share.target),
    };
    let state = match (share.revoked_at, share.expires_at) {
        (Some(_), _) => "revoked",
        (None, Some(at)) if at <= now_ms() => "expired",
        _ => "live",
    };
    html! {
        tr data-share=(share.id) data-state=(state) {
            td { (share.kind) ": " a href=(target) { (summary.target_name.as_deref().unwrap_or("(unnamed)")) }
                 @if share.show_metadata { br; span.muted { "with camera and place" } } }
            td { (day(share.created_at)) }
            td { (share.expires_at.map_or("never".to_string(), day)) }
            td { (if share.password_hash.is_some() { "yes" } else { "no" }) }
            td data-views { (summary.views) }
            td { (summary.last_access.map_or("never".to_string(), minute)) }
            td { (state) }
            td {
                @if state != "revoked" {
                    form method="post" action=(format!("/shares/{}/revoke", share.id)) {
                        input type="hidden" name="csrf" value=(session.csrf);
                        button.link type="submit" { "Revoke" }
                    }
                }
            }
        }
        @if !log.is_empty() {
            tr.log { td colspan="8" { details {
                summary { "Access log" }
                ul.access-log { @for visit in log { li data-outcome=(visit.outcome) {
                    (minute(visit.at)) " · " strong { (visit.outcome.replace('_', " ")) }
                    @if let Some(network) = &visit.network { " · " (network) }
                    @if let Some(agent) = &visit.user_agent { " · " span.muted { (agent) } }
                } } }
            } } }
        }
    }
}

fn day(ms: i64) -> String {
    rfc3339_ms(ms).get(..10).unwrap_or("").to_string()
}

/// `YYYY-MM-DD HH:MM` (UTC).
pub(crate) fn minute(ms: i64) -> String {
    rfc3339_ms(ms).get(..16).unwrap_or("").replace('T', " ")
}

/// Reads the Share form: its kind, target and options.
fn options(f: &Fields) -> pictor_core::Result<(ShareKind, String, ShareOptions)> {
    let kind = ShareKind::parse(f.get("kind"))?;
    let expires_in = match f.get("expires") {
        "never" | "" => None,
        days => {
            let days: u64 = days.parse().map_err(|_| pictor_core::Error::bad_request("expires: days, or never"))?;
            Some(Duration::from_secs(days * 86_400))
        }
    };
    let password = Some(f.get("password").to_string()).filter(|p| !p.is_empty());
    Ok((
        kind,
        f.get("target").to_string(),
        ShareOptions { password, expires_in, show_metadata: f.get("show_metadata") == "1" },
    ))
}

/// `POST /shares`: makes a link and shows it once.
pub async fn create(
    State(state): State<Arc<Runtime>>,
    headers: HeaderMap,
    signed_in: SignedIn,
    body: Bytes,
) -> Response {
    let session = &signed_in.session;
    let made = match Fields::checked(&body, session) {
        Ok(f) => match options(&f) {
            Ok((kind, target, options)) => {
                let caller = pictor_core::accounts::principal(&session.user);
                shares::create(&state, &caller, kind, &target, &options).await
            }
            Err(e) => Err(e),
        },
        Err(refused) => return refused,
    };
    match made {
        Ok(link) => render(&state, &headers, session, Some(&link.token)).await,
        Err(e) => refused(e, "There is no such album or photo in your library."),
    }
}

/// `POST /shares/{id}/revoke`: the link dies at once, images included.
pub async fn revoke(
    State(state): State<Arc<Runtime>>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let caller = pictor_core::accounts::principal(&signed_in.session.user);
    let revoked = match Fields::checked(&body, &signed_in.session) {
        Ok(_) => shares::revoke(&state.db, &caller, &id).await,
        Err(refused) => return refused,
    };
    revoked.map_or_else(|e| refused(e, "You have no such share."), |()| Redirect::to("/shares").into_response())
}

/// A failure as a page: what is not the caller's is simply not there.
fn refused(e: pictor_core::Error, not_found: &str) -> Response {
    if e.kind == ErrorKind::NotFound { error_page(StatusCode::NOT_FOUND, not_found) } else { failed(e) }
}
