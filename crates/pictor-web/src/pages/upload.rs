//! `GET /upload`: many files or whole folders, dropped or chosen, each sent
//! with the tus resumable-upload protocol (`/api/v1/uploads`, in chunks, so
//! a dropped connection or a reload resumes instead of starting over), a
//! row per file with its progress, duplicate or error, then its live status.
//! `?album=` uploads straight into that album. The script is `upload.js`.
//! Below, "Import from a bucket" (`imports.rs`): the form and the imports.

use std::sync::Arc;

use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::html;
use pictor_core::error::ErrorKind;
use pictor_jobs::Runtime;
use serde::Deserialize;

use super::layout::{error_page, failed, page};
use crate::session::{SignedIn, encode};

#[derive(Deserialize)]
pub struct UploadQuery {
    album: Option<String>,
}

pub async fn show(State(state): State<Arc<Runtime>>, signed_in: SignedIn, Query(q): Query<UploadQuery>) -> Response {
    let session = &signed_in.session;
    let caller = pictor_core::accounts::principal(&session.user);
    let album = match q.album.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(id) => match pictor_core::albums::album_for(&state.db, &caller, id).await {
            Ok(album) => Some(album),
            Err(e) if e.kind == ErrorKind::NotFound => {
                return error_page(StatusCode::NOT_FOUND, "There is no such album in your library.");
            }
            Err(e) => return failed(e),
        },
    };
    let after = match state.db.latest_event_id().await {
        Ok(after) => after,
        Err(e) => return failed(e),
    };
    let imports = match pictor_core::import::list(&state.db, &caller).await {
        Ok(imports) => imports,
        Err(e) => return failed(e),
    };
    let limits = &state.config.limits;
    let body = html! {
        h1 { "Upload" @if let Some(album) = &album { " into " a href=(format!("/albums/{}", album.id)) { (album.name) } } }
        div #uploader hx-ext="sse" sse-connect=(format!("/live?after={}", encode(&after)))
            data-csrf=(session.csrf) data-album=[album.as_ref().map(|a| &a.id)]
            data-max-bytes=(limits.max_upload_bytes) data-chunk-bytes=(limits.upload_chunk_bytes) {
            div.drop #drop tabindex="0" {
                p { strong { "Drop photos or folders here" } }
                p {
                    label.button for="files" { "Choose photos" } " "
                    label.button for="folder" { "Choose a folder" }
                }
                input #files.visually-hidden type="file" multiple accept="image/*";
                input #folder.visually-hidden type="file" webkitdirectory;
                p.muted { "Large files go up in chunks and resume after a dropped connection; "
                          "after a reload, drop the same files again to continue." }
            }
            p #summary aria-live="polite" {}
            p { button #retry type="button" hidden { "Retry all failed" } }
            table #uploads.uploads hidden {
                thead { tr { th { "File" } th { "Size" } th { "Progress" } th { "State" } } }
                tbody {}
            }
            noscript {
                // Without JavaScript: a plain form, the files in one post.
                form method="post" action="/upload" enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(session.csrf);
                    @if let Some(album) = &album { input type="hidden" name="album" value=(album.id); }
                    label for="plain-files" { "Photos" }
                    input #plain-files type="file" name="file" multiple accept="image/*";
                    p { button type="submit" { "Upload" } }
                }
            }
        }
        (super::imports::section(&state, session, &imports))
        script src=(format!("/assets/{}", crate::assets::TUS)) defer {}
        script src=(format!("/assets/{}", crate::assets::UPLOAD_JS)) defer {}
    };
    Html(page("Upload", Some(session), body).into_string()).into_response()
}

/// `POST /upload`: the form without JavaScript. Files land one at a time
/// through the same ingest as the API, into the album if one was chosen;
/// then the album (or the gallery), or a page listing what failed.
pub async fn submit(State(state): State<Arc<Runtime>>, signed_in: SignedIn, mut form: Multipart) -> Response {
    let session = &signed_in.session;
    let caller = pictor_core::accounts::principal(&session.user);
    let (mut csrf, mut album, mut failures, mut landed) = (String::new(), None::<String>, Vec::new(), Vec::new());
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return error_page(StatusCode::BAD_REQUEST, &format!("The form could not be read: {e}")),
        };
        match field.name() {
            Some("csrf") => csrf = pictor_multipart::text(&mut field).await.unwrap_or_default(),
            Some("album") => album = pictor_multipart::text(&mut field).await.ok().filter(|a| !a.is_empty()),
            Some("file") => {
                if let Err(refused) = crate::session::check_csrf(session, &csrf) {
                    return refused;
                }
                let name = field.file_name().unwrap_or("photo").to_string();
                match one_file(&state, &caller, field, album.as_deref()).await {
                    Ok(id) => landed.push(id),
                    Err(e) => failures.push((name, e.detail)),
                }
            }
            _ => {}
        }
    }
    if failures.is_empty() {
        let back = album.map_or_else(|| "/".to_string(), |a| format!("/albums/{a}"));
        return Redirect::to(&back).into_response();
    }
    let body = maud::html! {
        h1 { "Some photos did not land" }
        p { (landed.len()) " uploaded." }
        ul { @for (name, why) in &failures { li { strong { (name) } ": " (why) } } }
        p { a href="/upload" { "Upload more" } " · " a href="/" { "Your photos" } }
    };
    (StatusCode::UNPROCESSABLE_ENTITY, Html(page("Upload", Some(session), body).into_string())).into_response()
}

/// Reads one file (bounded by `limits.max_upload_bytes`), lands it, and
/// adds it to `album`.
async fn one_file(
    state: &Runtime,
    caller: &pictor_core::auth::Principal,
    mut field: axum::extract::multipart::Field<'_>,
    album: Option<&str>,
) -> pictor_core::Result<String> {
    use pictor_core::error::Error;
    let limit = state.config.limits.max_upload_bytes;
    let _slot = state.upload_slots.clone().try_acquire_owned().map_err(|_| Error::overloaded())?;
    let name = field.file_name().map(str::to_string);
    let bytes = pictor_multipart::bytes(&mut field, limit).await.map_err(|e| match e {
        pictor_multipart::FieldError::TooLarge { .. } => {
            Error::new(ErrorKind::PayloadTooLarge, format!("larger than {limit} bytes (limits.max_upload_bytes)"))
        }
        malformed => Error::new(ErrorKind::InvalidRequest, malformed.to_string()),
    })?;
    let upload =
        pictor_core::ingest::Upload { bytes, source: "web", owner: caller.owner.clone(), name, description: None };
    let record = pictor_core::ingest::ingest(state, upload).await?;
    if let Some(album) = album {
        pictor_core::albums::add(state, caller, album, std::slice::from_ref(&record.id)).await?;
    }
    Ok(record.id)
}
