//! `GET /photos/{id}`: one photo with what Pictor knows about it: its
//! status, camera and size, labels with confidences, moderation, and the
//! workflow executions that processed it.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use pictor_core::error::ErrorKind;
use pictor_db::{ExecutionRecord, ImageState};
use pictor_jobs::Runtime;
use serde_json::Value;

use super::layout::{error_page, failed, page};
use crate::session::SignedIn;

pub async fn show(State(state): State<Arc<Runtime>>, signed_in: SignedIn, Path(id): Path<String>) -> Response {
    let caller = pictor_core::accounts::principal(&signed_in.session.user);
    let record = match state.image_for(&caller, &id).await {
        Ok(record) => record,
        Err(e) if e.kind == ErrorKind::NotFound => {
            return error_page(StatusCode::NOT_FOUND, "There is no such photo in your library.");
        }
        Err(e) => return failed(e),
    };
    let loaded = tokio::try_join!(
        state.db.image_state(&record.id),
        state.db.image_labels(&record.id),
        state.db.executions_for_image(&record.id)
    );
    let (processing, labels, executions) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return failed(e),
    };
    let best: Vec<String> = labels.iter().filter(|l| l.direct).take(3).map(|l| l.name.clone()).collect();
    let alt = super::alt_text(record.name.as_deref(), &best);
    let body = html! {
        figure.photo {
            img src=(format!("/api/v1/img/{}.webp?thumbnail=1024", record.id)) alt=(alt)
                width=(record.width.min(1024)) height=(scaled_height(record.width, record.height, 1024));
        }
        h1 { (record.name.as_deref().unwrap_or("Photo")) }
        dl.facts {
            dt { "Status" } dd data-status { (processing.as_ref().map_or("pending", |s| s.status.as_str())) }
            dt { "Size" } dd { (record.width) " × " (record.height) " · " (record.format) " · " (kib(record.bytes)) }
            @if let Some(moderation) = &record.moderation { dt { "Moderation" } dd { (moderation) } }
            (camera_facts(processing.as_ref()))
        }
        h2 { "Labels" }
        @if labels.is_empty() { p.muted { "No labels yet." } }
        ul.labels {
            @for label in labels.iter().filter(|l| l.direct) {
                li { a href=(format!("/?label={}", crate::session::encode(&label.name))) { (label.name) }
                     " " span.muted { (format!("{:.0}%", label.confidence * 100.0)) } }
            }
        }
        h2 { "Executions" }
        @if executions.is_empty() { p.muted { "None yet." } }
        ul { @for execution in &executions { (execution_item(execution)) } }
    };
    Html(page("Photo", Some(&signed_in.session), body).into_string()).into_response()
}

/// Camera, lens-free facts from the metadata, in the reference shape.
fn camera_facts(processing: Option<&ImageState>) -> Markup {
    let shape = processing.and_then(|s| s.metadata.as_ref()).and_then(pictor_jobs::tasks::reference_shape);
    let field = |name: &str| shape.as_ref().and_then(|s| s.get(name)).and_then(Value::as_str).map(str::to_string);
    let camera = [field("exifMake"), field("exifModel")].into_iter().flatten().collect::<Vec<_>>().join(" ");
    html! {
        @if !camera.is_empty() { dt { "Camera" } dd data-camera { (camera) } }
        @if let Some(taken) = field("creationTime") { dt { "Taken" } dd { (taken) } }
    }
}

fn execution_item(execution: &ExecutionRecord) -> Markup {
    html! {
        li {
            a href=(format!("/api/v1/executions/{}", execution.id)) { code { (execution.id) } }
            " " (execution.workflow) " · " strong { (execution.status) }
        }
    }
}

fn scaled_height(width: i64, height: i64, max: i64) -> i64 {
    if width <= max || width == 0 { height } else { height * max / width }
}

fn kib(bytes: i64) -> String {
    if bytes < 1024 * 1024 { format!("{} KiB", bytes / 1024) } else { format!("{:.1} MiB", bytes as f64 / 1048576.0) }
}
