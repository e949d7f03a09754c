//! `GET /upload`: many files or whole folders, dropped or chosen, each sent
//! with the tus resumable-upload protocol (`/api/v1/uploads`, in chunks, so
//! a dropped connection or a reload resumes instead of starting over), a
//! row per file with its progress, duplicate or error, then its live status.
//! `?album=` uploads straight into that album. The script is `upload.js`.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
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
    let limits = &state.config.limits;
    let body = html! {
        h1 { "Upload" @if let Some(album) = &album { " into " a href=(format!("/albums/{}", album.id)) { (album.name) } } }
        div #uploader hx-ext="sse" sse-connect=(format!("/live?after={}", encode(&after)))
            data-csrf=(session.csrf) data-album=[album.as_ref().map(|a| &a.id)]
            data-max-bytes=(limits.max_upload_bytes) {
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
            noscript { p.error { "Uploading from this page needs JavaScript; the API and "
                                 code { "pictor upload" } " work without it." } }
        }
        script src=(format!("/assets/{}", crate::assets::TUS)) defer {}
        script src=(format!("/assets/{}", crate::assets::UPLOAD_JS)) defer {}
    };
    Html(page("Upload", Some(session), body).into_string()).into_response()
}
