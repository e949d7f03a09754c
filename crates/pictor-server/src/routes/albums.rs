//! Albums over the API: list, create, read, change, delete, and the photos
//! in one (`GET /api/v1/img?album=…` lists them). The rules are the core's
//! (`pictor_core::albums`): another's album does not exist (404).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pictor_core::albums::{self, AlbumName};
use pictor_db::AlbumRecord;
use pictor_jobs::Runtime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Authed, PathId, Read, Upload};

/// An album as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct AlbumView {
    pub id: String,
    pub owner: Option<String>,
    pub name: String,
    pub description: String,
    /// The photo shown for it: the chosen cover, else the latest added.
    pub cover: Option<String>,
    /// Whether `cover` was chosen (else it follows the latest added).
    pub cover_chosen: bool,
    pub photos: i64,
    /// Unix time in milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<AlbumRecord> for AlbumView {
    fn from(a: AlbumRecord) -> Self {
        Self {
            cover_chosen: a.cover_image_id.is_some(),
            id: a.id,
            owner: a.owner,
            name: a.name,
            description: a.description,
            cover: a.cover,
            photos: a.photos,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AlbumList {
    pub albums: Vec<AlbumView>,
}

/// `POST /api/v1/albums`, and `PATCH` (every field optional there).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlbumFields {
    pub name: Option<String>,
    pub description: Option<String>,
    /// `PATCH` only: one of its photos as the cover; `""` goes back to the latest added.
    pub cover: Option<String>,
}

/// `POST /api/v1/albums/{id}/images`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddImages {
    /// Ids of the caller's images (at most 1,000).
    pub images: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Added {
    /// How many were not in the album yet.
    pub added: u64,
}

fn json<T>(body: Result<Json<T>, JsonRejection>) -> ApiResult<T> {
    body.map(|Json(t)| t).map_err(|e| ApiError::bad_request(e.body_text()))
}

/// `GET /api/v1/albums`: the caller's albums, most recently changed first.
#[utoipa::path(get, operation_id = "list_albums", path = "/api/v1/albums", tag = "albums",
    responses((status = 200, description = "The caller's albums", body = AlbumList)))]
pub async fn list(State(state): State<Arc<Runtime>>, caller: Authed<Read>) -> ApiResult<Json<AlbumList>> {
    let albums = albums::list(&state.db, &caller).await?;
    Ok(Json(AlbumList { albums: albums.into_iter().map(AlbumView::from).collect() }))
}

/// `POST /api/v1/albums`: a new, empty album.
#[utoipa::path(post, operation_id = "create_album", path = "/api/v1/albums", tag = "albums", request_body = AlbumFields,
    responses((status = 201, description = "Created", body = AlbumView),
              (status = 400, description = "No name, or too long (problem+json)")))]
pub async fn create(
    State(state): State<Arc<Runtime>>,
    caller: Authed<Upload>,
    body: Result<Json<AlbumFields>, JsonRejection>,
) -> ApiResult<Response> {
    let fields = json(body)?;
    if fields.cover.is_some() {
        return Err(ApiError::bad_request("a new album has no photos to make its cover: add them first"));
    }
    let name = AlbumName::parse(fields.name.as_deref().unwrap_or(""))?;
    let description = albums::description(fields.description.as_deref().unwrap_or(""))?;
    let album = albums::create(&state.db, &caller, &name, &description).await?;
    let location = HeaderValue::from_str(&format!("/api/v1/albums/{}", album.id)).expect("a uuid");
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(AlbumView::from(album))).into_response())
}

/// `GET /api/v1/albums/{id}`.
#[utoipa::path(get, operation_id = "get_album", path = "/api/v1/albums/{id}", tag = "albums",
    params(("id" = String, Path, description = "Album id")),
    responses((status = 200, description = "The album", body = AlbumView),
              (status = 404, description = "Not found, or not the caller's")))]
pub async fn get(
    State(state): State<Arc<Runtime>>,
    caller: Authed<Read>,
    PathId(id): PathId,
) -> ApiResult<Json<AlbumView>> {
    Ok(Json(albums::album_for(&state.db, &caller, &id).await?.into()))
}

/// `PATCH /api/v1/albums/{id}`: name, description, cover.
#[utoipa::path(patch, operation_id = "update_album", path = "/api/v1/albums/{id}", tag = "albums",
    params(("id" = String, Path, description = "Album id")), request_body = AlbumFields,
    responses((status = 200, description = "The album as changed", body = AlbumView),
              (status = 400, description = "Invalid field, or a cover not in the album"),
              (status = 404, description = "Not found, or not the caller's")))]
pub async fn update(
    State(state): State<Arc<Runtime>>,
    caller: Authed<Upload>,
    PathId(id): PathId,
    body: Result<Json<AlbumFields>, JsonRejection>,
) -> ApiResult<Json<AlbumView>> {
    let fields = json(body)?;
    let album = albums::album_for(&state.db, &caller, &id).await?;
    if fields.name.is_some() || fields.description.is_some() {
        let name = AlbumName::parse(fields.name.as_deref().unwrap_or(&album.name))?;
        let description = albums::description(fields.description.as_deref().unwrap_or(&album.description))?;
        albums::update(&state.db, &caller, &id, &name, &description).await?;
    }
    if let Some(cover) = &fields.cover {
        albums::set_cover(&state.db, &caller, &id, Some(cover.as_str()).filter(|c| !c.is_empty())).await?;
    }
    Ok(Json(albums::album_for(&state.db, &caller, &id).await?.into()))
}

/// `DELETE /api/v1/albums/{id}`: the album; its photos stay.
#[utoipa::path(delete, operation_id = "delete_album", path = "/api/v1/albums/{id}", tag = "albums",
    params(("id" = String, Path, description = "Album id")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "Not found, or not the caller's")))]
pub async fn delete(
    State(state): State<Arc<Runtime>>,
    caller: Authed<Upload>,
    PathId(id): PathId,
) -> ApiResult<StatusCode> {
    albums::delete(&state.db, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/albums/{id}/images`: adds the caller's photos.
#[utoipa::path(post, operation_id = "add_album_images", path = "/api/v1/albums/{id}/images", tag = "albums",
    params(("id" = String, Path, description = "Album id")), request_body = AddImages,
    responses((status = 200, description = "How many were new", body = Added),
              (status = 404, description = "The album or an image is not the caller's")))]
pub async fn add_images(
    State(state): State<Arc<Runtime>>,
    caller: Authed<Upload>,
    PathId(id): PathId,
    body: Result<Json<AddImages>, JsonRejection>,
) -> ApiResult<Json<Added>> {
    let request = json(body)?;
    Ok(Json(Added { added: albums::add(&state, &caller, &id, &request.images).await? }))
}

/// `DELETE /api/v1/albums/{id}/images/{image}`: takes a photo out (it stays in the library).
#[utoipa::path(delete, operation_id = "remove_album_image", path = "/api/v1/albums/{id}/images/{image}", tag = "albums",
    params(("id" = String, Path, description = "Album id"), ("image" = String, Path, description = "Image id")),
    responses((status = 204, description = "Removed"), (status = 404, description = "Not in the album, or not the caller's")))]
pub async fn remove_image(
    State(state): State<Arc<Runtime>>,
    caller: Authed<Upload>,
    axum::extract::Path((id, image)): axum::extract::Path<(String, String)>,
) -> ApiResult<StatusCode> {
    albums::remove(&state.db, &caller, &id, &image).await?;
    Ok(StatusCode::NO_CONTENT)
}
