//! What the vision models found, as the API shows it: the label index, one
//! image's labels, and the admin's moderation queue.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use pictor_db::{Audience, ImageLabel, LabelCount, Review};
use serde::Serialize;
use utoipa::ToSchema;

use super::images::ImageView;
use pictor_jobs::Runtime;

use crate::error::ApiResult;
use crate::extract::{Admin, Authed, ImagePath, Read};

/// A label of the index.
#[derive(Serialize, ToSchema)]
pub struct LabelView {
    pub name: String,
    /// How many of the caller's images carry it (each once).
    pub count: i64,
    /// Its WordNet parents, nearest first.
    pub parents: Vec<String>,
}

impl From<LabelCount> for LabelView {
    fn from(l: LabelCount) -> Self {
        Self { name: l.name, count: l.count, parents: l.parents }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LabelIndex {
    pub labels: Vec<LabelView>,
}

/// `GET /api/v1/labels`: every label of the caller's images with its count.
#[utoipa::path(
    get, path = "/api/v1/labels", tag = "vision",
    responses((status = 200, description = "The label index, most common first", body = LabelIndex))
)]
pub async fn index(State(state): State<Arc<Runtime>>, principal: Authed<Read>) -> ApiResult<Json<LabelIndex>> {
    let counts = state.db.label_counts(Audience::Owner(principal.owner.as_deref())).await?;
    Ok(Json(LabelIndex { labels: counts.into_iter().map(LabelView::from).collect() }))
}

/// One label of one image.
#[derive(Serialize, ToSchema)]
pub struct ImageLabelView {
    pub name: String,
    /// 0–1; a parent has the confidence of its best child.
    pub confidence: f64,
    /// Given by the model (true) or a parent of such a label (false).
    pub direct: bool,
    pub parents: Vec<String>,
}

impl From<ImageLabel> for ImageLabelView {
    fn from(l: ImageLabel) -> Self {
        Self { name: l.name, confidence: l.confidence, direct: l.direct, parents: l.parents }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ImageLabels {
    pub id: String,
    pub labels: Vec<ImageLabelView>,
}

/// `GET /api/v1/img/{id}/labels`.
#[utoipa::path(
    get, path = "/api/v1/img/{id}/labels", tag = "vision",
    params(("id" = String, Path, description = "Image id")),
    responses((status = 200, description = "The image's labels, the model's own first", body = ImageLabels),
              (status = 404, description = "Not found"))
)]
pub async fn of_image(
    State(state): State<Arc<Runtime>>,
    caller: Authed<Read>,
    ImagePath(id): ImagePath,
) -> ApiResult<Json<ImageLabels>> {
    let record = state.image_for(&caller, &id).await?;
    let labels = state.db.image_labels(&record.id).await?;
    Ok(Json(ImageLabels { id: record.id.clone(), labels: labels.into_iter().map(ImageLabelView::from).collect() }))
}

#[derive(Serialize, ToSchema)]
pub struct FlaggedList {
    pub images: Vec<ImageView>,
}

/// `GET /api/v1/admin/flagged`: images moderation holds back, oldest first.
#[utoipa::path(
    get, path = "/api/v1/admin/flagged", tag = "moderation",
    responses((status = 200, description = "Flagged images with their scores", body = FlaggedList),
              (status = 403, description = "Not an admin"))
)]
pub async fn flagged(State(state): State<Arc<Runtime>>, _caller: Authed<Admin>) -> ApiResult<Json<FlaggedList>> {
    let images = state
        .db
        .flagged_images(1000)
        .await?
        .into_iter()
        .map(|(record, score)| ImageView { nsfw_score: score, ..ImageView::from(&record) })
        .collect();
    Ok(Json(FlaggedList { images }))
}

/// `POST /api/v1/admin/flagged/{id}/approve`: serve the image again.
#[utoipa::path(
    post, path = "/api/v1/admin/flagged/{id}/approve", tag = "moderation",
    params(("id" = String, Path, description = "Image id")),
    responses((status = 200, description = "The approved image", body = ImageView),
              (status = 404, description = "No such image was flagged"), (status = 403, description = "Not an admin"))
)]
pub async fn approve(
    State(state): State<Arc<Runtime>>,
    admin: Authed<Admin>,
    ImagePath(id): ImagePath,
) -> ApiResult<Json<ImageView>> {
    review(&state, &admin, &id, Review::Approved).await
}

/// `POST /api/v1/admin/flagged/{id}/reject`: keep it held back for good.
#[utoipa::path(
    post, path = "/api/v1/admin/flagged/{id}/reject", tag = "moderation",
    params(("id" = String, Path, description = "Image id")),
    responses((status = 200, description = "The rejected image", body = ImageView),
              (status = 404, description = "No such image was flagged"), (status = 403, description = "Not an admin"))
)]
pub async fn reject(
    State(state): State<Arc<Runtime>>,
    admin: Authed<Admin>,
    ImagePath(id): ImagePath,
) -> ApiResult<Json<ImageView>> {
    review(&state, &admin, &id, Review::Rejected).await
}

async fn review(
    state: &Runtime,
    admin: &pictor_core::auth::Principal,
    id: &str,
    decision: Review,
) -> ApiResult<Json<ImageView>> {
    let record = pictor_core::admin::review(state, id, decision, admin.owner.as_deref()).await?;
    Ok(Json(ImageView::from(&record)))
}
