//! Albums: the list (`/albums`, with a form to make one), an album's page
//! with its photos, and the forms that change them. Every form posts and
//! redirects, so they work without JavaScript; the rules are the core's
//! (`pictor_core::albums`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use pictor_core::albums::{self, AlbumName};
use pictor_core::auth::Principal;
use pictor_core::error::{ErrorKind, Result};
use pictor_db::{AlbumRecord, ImageFilter, SessionRecord};
use pictor_jobs::Runtime;

use super::layout::{error_page, failed, page};
use super::tiles::Grid;
use crate::form::Fields;
use crate::session::{SignedIn, encode, safe_next};

/// Most photos an album page shows at once.
const SHOWN: i64 = 300;

fn caller(session: &SessionRecord) -> Principal {
    pictor_core::accounts::principal(&session.user)
}

/// A failure as a page: another's album is simply not there.
fn refused(e: pictor_core::Error) -> Response {
    if e.kind == ErrorKind::NotFound {
        error_page(StatusCode::NOT_FOUND, "There is no such album in your library.")
    } else {
        failed(e)
    }
}

/// `GET /albums`
pub async fn list(State(state): State<Arc<Runtime>>, signed_in: SignedIn) -> Response {
    let session = &signed_in.session;
    let albums = match albums::list(&state.db, &caller(session)).await {
        Ok(albums) => albums,
        Err(e) => return failed(e),
    };
    let body = html! {
        h1 { "Albums" }
        @if albums.is_empty() { p.muted { "No albums yet." } }
        ul.albums { @for album in &albums { li { (card(album)) } } }
        form.card.wide method="post" action="/albums" {
            h2 { "New album" }
            input type="hidden" name="csrf" value=(session.csrf);
            (details_fields(None))
            p { button type="submit" { "Create album" } }
        }
    };
    Html(page("Albums", Some(session), body).into_string()).into_response()
}

fn card(album: &AlbumRecord) -> Markup {
    html! {
        a.album href=(format!("/albums/{}", album.id)) {
            @if let Some(cover) = &album.cover {
                img src=(format!("/api/v1/img/{cover}.webp?thumbnail=256")) width="256" height="256" loading="lazy" alt="";
            } @else { span.empty {} }
            strong { (album.name) }
            span.muted { (album.photos) (if album.photos == 1 { " photo" } else { " photos" }) }
        }
    }
}

/// The name and description fields, filled in when editing.
fn details_fields(album: Option<&AlbumRecord>) -> Markup {
    html! {
        label for="album-name" { "Name" }
        input #album-name type="text" name="name" required maxlength="120" value=[album.map(|a| &a.name)];
        label for="album-description" { "Description" }
        textarea #album-description name="description" rows="3" maxlength="2000" {
            (album.map_or("", |a| a.description.as_str()))
        }
    }
}

/// `POST /albums`: makes an album and opens it.
pub async fn create(State(state): State<Arc<Runtime>>, signed_in: SignedIn, body: Bytes) -> Response {
    let f = match Fields::checked(&body, &signed_in.session) {
        Ok(f) => f,
        Err(refused) => return refused,
    };
    let made = async {
        let name = AlbumName::parse(f.get("name"))?;
        albums::create(&state.db, &caller(&signed_in.session), &name, &albums::description(f.get("description"))?).await
    };
    match made.await {
        Ok(album) => Redirect::to(&format!("/albums/{}", album.id)).into_response(),
        Err(e) => failed(e),
    }
}

/// `GET /albums/{id}`
pub async fn show(State(state): State<Arc<Runtime>>, signed_in: SignedIn, Path(id): Path<String>) -> Response {
    let session = &signed_in.session;
    let album = match albums::album_for(&state.db, &caller(session), &id).await {
        Ok(album) => album,
        Err(e) => return refused(e),
    };
    let after = state.db.latest_event_id().await;
    let filter = ImageFilter { album: Some(album.id.clone()), ..Default::default() };
    let listed = state.db.list_images(album.owner.as_deref(), &filter, None, SHOWN).await;
    let (after, grid) = match (after, listed) {
        (Ok(after), Ok(listed)) => match Grid::load(&state.db, listed.images).await {
            Ok(grid) => (after, grid),
            Err(e) => return failed(e),
        },
        (Err(e), _) | (_, Err(e)) => return failed(e),
    };
    let body = html! {
        h1 { (album.name) }
        @if !album.description.is_empty() { p.description { (album.description) } }
        p.actions {
            a.button href=(format!("/upload?album={}", album.id)) { "Upload into this album" }
            " " a href="/albums" { "All albums" }
        }
        div hx-ext="sse" sse-connect=(format!("/live?after={}", encode(&after))) {
            form #selection.selection method="post" action=(format!("/albums/{}/remove", album.id)) {
                input type="hidden" name="csrf" value=(session.csrf);
                span.count aria-live="polite" { (album.photos) (if album.photos == 1 { " photo" } else { " photos" }) }
                @if album.photos > 0 { button type="submit" { "Remove selected from album" } }
            }
            @if grid.images.is_empty() { p.muted { "No photos in this album yet." } }
            (grid.months(None))
        }
        (super::shares::form(session, pictor_core::shares::ShareKind::Album, &album.id))
        (edit_forms(session, &album))
    };
    Html(page(&album.name, Some(session), body).into_string()).into_response()
}

fn edit_forms(session: &SessionRecord, album: &AlbumRecord) -> Markup {
    html! {
        details.edit {
            summary { "Edit album" }
            form method="post" action=(format!("/albums/{}", album.id)) {
                input type="hidden" name="csrf" value=(session.csrf);
                (details_fields(Some(album)))
                p { button type="submit" { "Save" } }
            }
            form method="post" action=(format!("/albums/{}/delete", album.id)) {
                input type="hidden" name="csrf" value=(session.csrf);
                p { button.danger type="submit" { "Delete album" } " " span.muted { "Its photos stay in your library." } }
            }
        }
    }
}

/// Runs a change posted by a form of the album's page, then goes `back`
/// (the form's `back` field if local, else `default_back`).
async fn change<F, Fut>(signed_in: &SignedIn, default_back: String, body: &Bytes, act: F) -> Response
where
    F: FnOnce(Principal, Fields) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let f = match Fields::checked(body, &signed_in.session) {
        Ok(f) => f,
        Err(refused) => return refused,
    };
    let back = match f.get("back") {
        "" => default_back,
        back => safe_next(Some(back)).to_string(),
    };
    match act(caller(&signed_in.session), f).await {
        Ok(()) => Redirect::to(&back).into_response(),
        Err(e) => refused(e),
    }
}

/// `POST /albums/{id}`: new name and description.
pub async fn update(
    State(state): State<Arc<Runtime>>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let id = id.as_str();
    change(&signed_in, format!("/albums/{id}"), &body, |caller, f| async move {
        let name = AlbumName::parse(f.get("name"))?;
        albums::update(&state.db, &caller, id, &name, &albums::description(f.get("description"))?).await
    })
    .await
}

/// `POST /albums/{id}/{action}`: `delete` (its photos stay), `cover` (field
/// `image`), or `remove` (fields `image`, repeated).
pub async fn act(
    State(state): State<Arc<Runtime>>,
    signed_in: SignedIn,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (id, db) = (id.as_str(), &state.db);
    let back = if action == "delete" { "/albums".to_string() } else { format!("/albums/{id}") };
    change(&signed_in, back, &body, |caller, f| async move {
        match action.as_str() {
            "delete" => albums::delete(db, &caller, id).await,
            "cover" => albums::set_cover(db, &caller, id, Some(f.get("image"))).await,
            "remove" => {
                for image in f.all("image") {
                    albums::remove(db, &caller, id, &image).await?;
                }
                Ok(())
            }
            other => Err(pictor_core::Error::not_found(format_args!("album action {other}"))),
        }
    })
    .await
}

/// `POST /albums/add`: fields `album` and `image` (repeated), from the
/// gallery's selection or a photo's page.
pub async fn add(State(state): State<Arc<Runtime>>, signed_in: SignedIn, body: Bytes) -> Response {
    let album = Fields::parse(&body).get("album").to_string();
    change(&signed_in, format!("/albums/{album}"), &body, |caller, f| async move {
        albums::add(&state, &caller, &album, &f.all("image")).await.map(|_| ())
    })
    .await
}
