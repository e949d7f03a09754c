//! Workflow executions: their status and history, an image's executions,
//! and reprocessing an image.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use pictor_db::{ExecutionRecord, HistoryRow, rfc3339_ms};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::http::{page_limit, query};
use pictor_jobs::Runtime;

use crate::error::{ApiError, ApiResult, Code};
use crate::extract::{Authed, ImagePath, PathId, Read, Upload};
use pictor_core::access::{ensure_manages, ensure_sees};

/// An execution, with its history when asked for one.
#[derive(Serialize, ToSchema)]
pub struct ExecutionView {
    pub id: String,
    pub image_id: Option<String>,
    pub owner: Option<String>,
    /// The state machine's name (`default`, or the definition file's stem).
    pub workflow: String,
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
    pub status: String,
    #[schema(value_type = Object)]
    pub input: serde_json::Value,
    #[schema(value_type = Option<Object>)]
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// RFC 3339.
    pub start_date: String,
    pub stop_date: Option<String>,
    /// The history, oldest first (only on `GET /api/v1/executions/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<HistoryView>>,
}

/// One history event, shaped like Step Functions' `GetExecutionHistory`.
#[derive(Serialize, ToSchema)]
pub struct HistoryView {
    /// 1, 2, 3… in the order they happened.
    pub id: usize,
    /// E.g. `TaskStateEntered`, `TaskSucceeded`, `ExecutionSucceeded`.
    #[serde(rename = "type")]
    pub kind: String,
    pub state: Option<String>,
    /// RFC 3339.
    pub timestamp: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl ExecutionView {
    pub fn new(e: ExecutionRecord, history: Option<Vec<HistoryRow>>) -> Self {
        let events = history.map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(|(i, row)| HistoryView {
                    id: i + 1,
                    kind: row.kind,
                    state: row.state,
                    timestamp: rfc3339_ms(row.at),
                    details: row.details,
                })
                .collect()
        });
        Self {
            id: e.id,
            image_id: e.image_id,
            owner: e.owner,
            workflow: e.workflow,
            status: e.status,
            input: e.input,
            output: e.output,
            error: e.error,
            cause: e.cause,
            start_date: rfc3339_ms(e.started_at),
            stop_date: e.stopped_at.map(rfc3339_ms),
            events,
        }
    }
}

/// `GET /api/v1/executions/{id}`: status, input, output, error, cause and history.
#[utoipa::path(
    get, operation_id = "get_execution", path = "/api/v1/executions/{id}", tag = "workflow",
    params(("id" = String, Path, description = "Execution id")),
    responses((status = 200, body = ExecutionView), (status = "4XX", description = "Problem (application/problem+json)"))
)]
pub async fn get(
    State(state): State<Arc<Runtime>>,
    principal: Authed<Read>,
    PathId(id): PathId,
) -> ApiResult<Json<ExecutionView>> {
    let execution = state.db.get_execution(&id).await?.ok_or_else(|| ApiError::not_found(format!("execution {id}")))?;
    ensure_sees(&principal, execution.owner.as_deref(), "this execution")?;
    let history = state.db.history(&id).await?;
    Ok(Json(ExecutionView::new(execution, Some(history))))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// How many, newest first: 1–1000 (default 50).
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ExecutionList {
    pub executions: Vec<ExecutionView>,
}

/// `GET /api/v1/executions`: the caller's newest executions (all for admins).
#[utoipa::path(
    get, operation_id = "list_executions", path = "/api/v1/executions", tag = "workflow", params(ListQuery),
    responses((status = 200, body = ExecutionList))
)]
pub async fn list(
    State(state): State<Arc<Runtime>>,
    principal: Authed<Read>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<ExecutionList>> {
    let limit = page_limit(query(q)?.limit, 50)?;
    let all = principal.is_admin();
    let rows = state.db.list_executions(principal.owner.as_deref(), all, limit).await?;
    Ok(Json(ExecutionList { executions: rows.into_iter().map(|e| ExecutionView::new(e, None)).collect() }))
}

/// `GET /api/v1/img/{id}/executions`: an image's executions, newest first.
#[utoipa::path(
    get, path = "/api/v1/img/{id}/executions", tag = "workflow",
    params(("id" = String, Path, description = "Image id")),
    responses((status = 200, body = ExecutionList), (status = "4XX", description = "Problem (application/problem+json)"))
)]
pub async fn for_image(
    State(state): State<Arc<Runtime>>,
    principal: Authed<Read>,
    ImagePath(id): ImagePath,
) -> ApiResult<Json<ExecutionList>> {
    let image = state.image_for(&principal, &id).await?;
    ensure_sees(&principal, image.owner.as_deref(), "this image")?;
    let rows = state.db.executions_for_image(&id).await?;
    Ok(Json(ExecutionList { executions: rows.into_iter().map(|e| ExecutionView::new(e, None)).collect() }))
}

/// `POST /api/v1/img/{id}/reprocess`: runs the workflow again for an image.
#[utoipa::path(
    post, path = "/api/v1/img/{id}/reprocess", tag = "workflow",
    params(("id" = String, Path, description = "Image id")),
    responses((status = 202, description = "Started", body = ExecutionView), (status = "4XX", description = "Problem (application/problem+json)"))
)]
pub async fn reprocess(
    State(state): State<Arc<Runtime>>,
    principal: Authed<Upload>,
    ImagePath(id): ImagePath,
) -> ApiResult<(StatusCode, Json<ExecutionView>)> {
    let image = state.image_for(&principal, &id).await?;
    ensure_manages(&principal, image.owner.as_deref(), "this image")?;
    let workflow = state.workflows.for_images().ok_or_else(|| {
        ApiError::new(
            Code::InvalidRequest,
            "no workflow runs on image.created here, so there is nothing to reprocess with",
        )
    })?;
    // Its workflow reads the original: an archived one must come back first.
    if !pictor_core::tiers::state(&state, &image.sha256).await?.readable() {
        return Err(super::images::restorable(pictor_core::Error::archived().into(), &id));
    }
    let cause = format!("reprocess:{}", uuid::Uuid::new_v4());
    let started = pictor_jobs::workflows::start_for_image(&state.state, workflow, &id, &cause)
        .await
        .map_err(ApiError::internal)?;
    let execution = started.ok_or_else(|| ApiError::not_found(format!("image {id}")))?;
    Ok((StatusCode::ACCEPTED, Json(ExecutionView::new(execution, None))))
}
