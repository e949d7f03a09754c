//! Imports over the API: start one from an S3 prefix or a server folder,
//! follow its counters, list them, cancel one. The rules (which sources,
//! sealed credentials, resumable pages) are `pictor_core::import`'s; the
//! job that runs one is `pictor_jobs::jobs::import_run`. Another's import
//! does not exist (404); a source is only ever shown without credentials.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pictor_core::import;
use pictor_db::ImportRecord;
use pictor_jobs::Runtime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Authed, PathId, Read, Upload};

/// `POST /api/v1/imports`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// `s3://bucket/prefix?endpoint=…&region=…&access_key_id=…&secret_access_key=…`
    /// (credentials optional: without them the bucket is read anonymously),
    /// or an absolute folder path on the server under `import.local_roots`.
    pub source: String,
}

/// An import and its progress.
#[derive(Serialize, ToSchema)]
pub struct ImportView {
    pub id: String,
    pub owner: Option<String>,
    /// `s3://bucket/prefix` or the folder: never credentials.
    pub source: String,
    /// `queued`, `running`, `done`, `failed` or `cancelled`.
    pub state: String,
    /// Objects looked at so far.
    pub seen: i64,
    /// New images.
    pub imported: i64,
    /// Content the owner had already (no new image).
    pub duplicates: i64,
    /// Not images, or too large (see `problems`).
    pub skipped: i64,
    /// Could not be read.
    pub failed: i64,
    /// Bytes of the new images.
    pub bytes: i64,
    /// The last key done, in lexical order: where a resumed import goes on.
    pub cursor: String,
    /// The latest skipped or failed keys, with why.
    pub problems: Vec<ImportProblem>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Unix time in milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
    pub links: ImportLinks,
}

#[derive(Serialize, ToSchema)]
pub struct ImportProblem {
    pub key: String,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct ImportLinks {
    #[serde(rename = "self")]
    pub this: String,
    /// The owner's images (newest first), where imported ones land.
    pub images: String,
}

impl From<ImportRecord> for ImportView {
    fn from(i: ImportRecord) -> Self {
        let problems =
            import::problems(&i).into_iter().map(|p| ImportProblem { key: p.key, reason: p.reason }).collect();
        Self {
            links: ImportLinks { this: format!("/api/v1/imports/{}", i.id), images: "/api/v1/img".into() },
            id: i.id,
            owner: i.owner,
            source: i.source,
            state: i.state,
            seen: i.seen,
            imported: i.imported,
            duplicates: i.duplicates,
            skipped: i.skipped,
            failed: i.failed,
            bytes: i.bytes,
            cursor: i.cursor_key,
            problems,
            error: i.error,
            created_at: i.created_at,
            updated_at: i.updated_at,
            finished_at: i.finished_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ImportList {
    pub imports: Vec<ImportView>,
}

/// `POST /api/v1/imports`: starts importing every image under the source.
#[utoipa::path(post, operation_id = "create_import", path = "/api/v1/imports", tag = "imports", request_body = ImportRequest,
    responses((status = 202, description = "Queued; follow `links.self`", body = ImportView),
              (status = 400, description = "The source does not parse, or an unknown option (problem+json)"),
              (status = 403, description = "A folder outside import.local_roots, or an endpoint on a private address"),
              (status = 429, description = "Too many imports queued or running for this account")))]
pub async fn create(
    State(state): State<Arc<Runtime>>,
    caller: Authed<Upload>,
    body: Result<Json<ImportRequest>, JsonRejection>,
) -> ApiResult<Response> {
    let request = body.map(|Json(r)| r).map_err(|e| ApiError::bad_request(e.body_text()))?;
    let import = pictor_jobs::jobs::import_run::start(&state, &caller, &request.source).await?;
    let location = HeaderValue::from_str(&format!("/api/v1/imports/{}", import.id)).expect("a uuid");
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(ImportView::from(import))).into_response())
}

/// `GET /api/v1/imports`: the caller's imports, newest first.
#[utoipa::path(get, operation_id = "list_imports", path = "/api/v1/imports", tag = "imports",
    responses((status = 200, description = "The caller's imports (the latest 100)", body = ImportList)))]
pub async fn list(State(state): State<Arc<Runtime>>, caller: Authed<Read>) -> ApiResult<Json<ImportList>> {
    let imports = import::list(&state.db, &caller).await?;
    Ok(Json(ImportList { imports: imports.into_iter().map(ImportView::from).collect() }))
}

/// `GET /api/v1/imports/{id}`: its state and counters.
#[utoipa::path(get, operation_id = "get_import", path = "/api/v1/imports/{id}", tag = "imports",
    params(("id" = String, Path, description = "Import id")),
    responses((status = 200, description = "The import", body = ImportView),
              (status = 404, description = "Not found, or not the caller's")))]
pub async fn get(
    State(state): State<Arc<Runtime>>,
    caller: Authed<Read>,
    PathId(id): PathId,
) -> ApiResult<Json<ImportView>> {
    Ok(Json(import::import_for(&state.db, &caller, &id).await?.into()))
}

/// `DELETE /api/v1/imports/{id}`: cancels it (images already imported stay).
#[utoipa::path(delete, operation_id = "cancel_import", path = "/api/v1/imports/{id}", tag = "imports",
    params(("id" = String, Path, description = "Import id")),
    responses((status = 200, description = "The import, cancelled unless it had ended", body = ImportView),
              (status = 404, description = "Not found, or not the caller's")))]
pub async fn cancel(
    State(state): State<Arc<Runtime>>,
    caller: Authed<Upload>,
    PathId(id): PathId,
) -> ApiResult<Json<ImportView>> {
    Ok(Json(import::cancel(&state.db, &caller, &id).await?.into()))
}
