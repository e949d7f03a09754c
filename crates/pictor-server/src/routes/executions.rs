//! Workflow executions: their status and history, an image's executions,
//! and reprocessing an image.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use pictor_db::{ExecutionRecord, HistoryRow, rfc3339_ms};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::http::{page_limit, path_segment, query};
use crate::AppState;
use crate::auth::{Principal, Scope};
use crate::error::{ApiError, ApiResult, Code};

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

/// Owners see their own executions; admins see all.
fn check_owner(principal: &Principal, owner: Option<&str>, what: &str) -> ApiResult<()> {
    if principal.may_manage(owner) || principal.is_admin() {
        Ok(())
    } else {
        Err(ApiError::new(Code::Forbidden, format!("{what} belongs to another owner")))
    }
}

/// `GET /api/v1/executions/{id}`: status, input, output, error, cause and history.
#[utoipa::path(
    get, operation_id = "get_execution", path = "/api/v1/executions/{id}", tag = "workflow",
    params(("id" = String, Path, description = "Execution id")),
    responses((status = 200, body = ExecutionView), (status = "4XX", description = "Problem (application/problem+json)"))
)]
pub async fn get(
    State(state): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> ApiResult<Json<ExecutionView>> {
    let id = path_segment(id)?;
    let principal = state.auth.require(&headers, Scope::Read).await?;
    let execution = state.db.get_execution(&id).await?.ok_or_else(|| ApiError::not_found(format!("execution {id}")))?;
    check_owner(&principal, execution.owner.as_deref(), "this execution")?;
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
    State(state): State<Arc<AppState>>,
    q: Result<Query<ListQuery>, QueryRejection>,
    headers: HeaderMap,
) -> ApiResult<Json<ExecutionList>> {
    let limit = page_limit(query(q)?.limit, 50)?;
    let principal = state.auth.require(&headers, Scope::Read).await?;
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
    State(state): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> ApiResult<Json<ExecutionList>> {
    let id = path_segment(id)?;
    let principal = state.auth.require(&headers, Scope::Read).await?;
    let image = state.records.get(&state, &id).await?;
    check_owner(&principal, image.owner.as_deref(), "this image")?;
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
    State(state): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, Json<ExecutionView>)> {
    let id = path_segment(id)?;
    let principal = state.auth.require(&headers, Scope::Upload).await?;
    let image = state.records.get(&state, &id).await?;
    if !principal.may_manage(image.owner.as_deref()) {
        return Err(ApiError::new(Code::Forbidden, "only the image's owner may reprocess it"));
    }
    let cause = format!("reprocess:{}", uuid::Uuid::new_v4());
    let started = crate::jobs::execution::start_for_image(&state, &id, &cause).await.map_err(ApiError::internal)?;
    let execution = started.ok_or_else(|| ApiError::not_found(format!("image {id}")))?;
    Ok((StatusCode::ACCEPTED, Json(ExecutionView::new(execution, None))))
}
