//! The upload page's "Import from a bucket" part: a form that starts an
//! import of an S3 prefix (or, where the server allows, one of its folders)
//! through `pictor_jobs::jobs::import_run::start`, as the API does, and the
//! account's imports with their counters. While one is queued or running,
//! the list asks for itself again every 3 s (htmx, as the admin's counts
//! do) and stops once none is; a running one has a Cancel button. Bad
//! sources get a readable error page.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use pictor_core::import;
use pictor_db::{ImportRecord, SessionRecord};
use pictor_jobs::Runtime;

use super::layout::{error_page, failed, status_of};
use crate::form::Fields;
use crate::session::SignedIn;

/// The form and the list, for the upload page.
pub fn section(state: &Runtime, session: &SessionRecord, imports: &[ImportRecord]) -> Markup {
    let folders = !state.config.import.local_roots.is_empty();
    html! {
        section.card.wide aria-labelledby="import-title" {
            h2 #import-title { "Import from a bucket" }
            form method="post" action="/upload/import" {
                input type="hidden" name="csrf" value=(session.csrf);
                label for="import-source" { "Source" }
                input #import-source type="text" name="source" required autocomplete="off" spellcheck="false"
                    inputmode="url" aria-describedby="import-help"
                    placeholder="s3://bucket/prefix?endpoint=https://…&region=…&access_key_id=…&secret_access_key=…";
                div #import-help.muted {
                    p { "Every image under the prefix is added to your photos, the same way as an upload. "
                        "Images you already have are counted as duplicates, other files are skipped, "
                        "and an import that is interrupted continues where it stopped." }
                    p { "Leave out the keys for a public bucket. They are kept encrypted for the import's "
                        "job only and never shown again." }
                    @if folders { p { "A folder on the server (an absolute path under one the operator allows) works too." } }
                }
                p { button type="submit" { "Import" } }
            }
            (list(session, imports))
        }
    }
}

/// The account's imports; it refreshes itself while one is in progress.
fn list(session: &SessionRecord, imports: &[ImportRecord]) -> Markup {
    let active = imports.iter().any(import::is_active);
    html! {
        div #imports hx-get=[active.then_some("/upload/imports")] hx-trigger=[active.then_some("every 3s")]
            hx-swap=[active.then_some("outerHTML")] aria-live="polite" {
            @if !imports.is_empty() {
                table.imports {
                    caption.visually-hidden { "Your imports" }
                    thead { tr {
                        th scope="col" { "Source" } th scope="col" { "Files" } th scope="col" { "Result" }
                        th scope="col" { "State" }
                    } }
                    tbody { @for i in imports {
                        tr data-import=(i.id) data-state=(i.state) {
                            td.name { (i.source) }
                            td { (i.seen) }
                            td {
                                (i.imported) " imported, " (i.duplicates) " duplicates, " (i.skipped) " skipped"
                                @if i.failed > 0 { ", " (i.failed) " failed" }
                                @let problems = import::problems(i);
                                @if let Some(last) = problems.last() {
                                    br; small.muted { (last.key) ": " (last.reason) }
                                }
                            }
                            td {
                                (i.state)
                                @if let Some(error) = &i.error { br; small { (error) } }
                                @if import::is_active(i) {
                                    form.inline method="post" action=(format!("/upload/imports/{}/cancel", i.id)) {
                                        input type="hidden" name="csrf" value=(session.csrf);
                                        button.link type="submit" aria-label=(format!("Cancel the import of {}", i.source)) { "Cancel" }
                                    }
                                }
                            }
                        }
                    } }
                }
            }
        }
    }
}

/// `GET /upload/imports`: the list alone (what the page refreshes).
pub async fn fragment(State(state): State<Arc<Runtime>>, signed_in: SignedIn) -> Response {
    let caller = pictor_core::accounts::principal(&signed_in.session.user);
    match import::list(&state.db, &caller).await {
        Ok(imports) => Html(list(&signed_in.session, &imports).into_string()).into_response(),
        Err(e) => failed(e),
    }
}

/// `POST /upload/import`: starts an import, then back to the upload page.
pub async fn start(State(state): State<Arc<Runtime>>, signed_in: SignedIn, body: Bytes) -> Response {
    let session = &signed_in.session;
    let fields = match Fields::checked(&body, session) {
        Ok(fields) => fields,
        Err(refused) => return refused,
    };
    let caller = pictor_core::accounts::principal(&session.user);
    match pictor_jobs::jobs::import_run::start(&state, &caller, fields.get("source")).await {
        Ok(_) => Redirect::to("/upload#imports").into_response(),
        Err(e) if matches!(status_of(e.kind), StatusCode::INTERNAL_SERVER_ERROR) => failed(e),
        Err(e) => error_page(status_of(e.kind), &format!("This import cannot start: {}", e.detail)),
    }
}

/// `POST /upload/imports/{id}/cancel`: cancels one of the account's imports.
pub async fn cancel(
    State(state): State<Arc<Runtime>>,
    signed_in: SignedIn,
    axum::extract::Path(id): axum::extract::Path<String>,
    body: Bytes,
) -> Response {
    if let Err(refused) = Fields::checked(&body, &signed_in.session) {
        return refused;
    }
    let caller = pictor_core::accounts::principal(&signed_in.session.user);
    match import::cancel(&state.db, &caller, &id).await {
        Ok(_) => Redirect::to("/upload#imports").into_response(),
        Err(e) => failed(e),
    }
}
