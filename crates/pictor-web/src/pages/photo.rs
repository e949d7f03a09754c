//! `GET /photos/{id}`: one photo with what Pictor knows about it: its live
//! status, metadata (camera, lens, exposure, date taken, size, place),
//! labels with confidences, faces, recognised text, moderation, the
//! workflow executions that processed it with each step's timing, and the
//! albums it is in. The details reload whenever its status changes
//! (`/photos/{id}/details`, on the `/live` feed's `photo-{id}` event).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use pictor_core::error::ErrorKind;
use pictor_db::{AlbumRecord, ExecutionRecord, HistoryRow, ImageLabel, ImageRecord, ImageState, SessionRecord};
use pictor_jobs::Runtime;
use serde_json::Value;

use super::layout::{error_page, failed, page};
use super::tiles::status_badge;
use crate::session::{SignedIn, encode};

/// The photo, if the signed-in account may see it; otherwise the page to show.
async fn visible(state: &Runtime, session: &SessionRecord, id: &str) -> Result<Arc<ImageRecord>, Response> {
    let caller = pictor_core::accounts::principal(&session.user);
    match state.image_for(&caller, id).await {
        Ok(record) => Ok(record),
        Err(e) if e.kind == ErrorKind::NotFound => {
            Err(error_page(StatusCode::NOT_FOUND, "There is no such photo in your library."))
        }
        Err(e) => Err(failed(e)),
    }
}

pub async fn show(State(state): State<Arc<Runtime>>, signed_in: SignedIn, Path(id): Path<String>) -> Response {
    let session = &signed_in.session;
    let record = match visible(&state, session, &id).await {
        Ok(record) => record,
        Err(page) => return page,
    };
    let after = match state.db.latest_event_id().await {
        Ok(after) => after,
        Err(e) => return failed(e),
    };
    let loaded =
        tokio::try_join!(details(&state, &record), async { Ok(state.db.albums_of_image(&record.id).await?) }, async {
            Ok(state.db.list_albums(record.owner.as_deref()).await?)
        },);
    let ((details, alt), in_albums, all_albums) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return failed(e),
    };
    let body = html! {
        div.photo-page {
            figure.photo {
                img src=(format!("/api/v1/img/{}.webp?thumbnail=1024", record.id)) alt=(alt)
                    width=(record.width.min(1024)) height=(scaled_height(record.width, record.height, 1024));
            }
            div.info {
                h1 { (record.name.as_deref().unwrap_or("Photo")) }
                div hx-ext="sse" sse-connect=(format!("/live?after={}", encode(&after))) {
                    div #details hx-get=(format!("/photos/{}/details", record.id))
                        hx-trigger=(format!("sse:photo-{}", record.id)) { (details) }
                }
                (albums_section(session, &record, &in_albums, &all_albums))
                p { a href=(format!("/api/v1/img/{}/original", record.id)) download { "Download the original" } }
                (super::shares::form(session, pictor_core::shares::ShareKind::Photo, &record.id))
            }
        }
    };
    Html(page("Photo", Some(session), body).into_string()).into_response()
}

/// `GET /photos/{id}/{part}`: a part of the page alone: `details` (what
/// changes as the photo is processed) or `status` (the badge, which the
/// upload page asks for once a file has landed; later changes arrive live).
pub async fn fragment(
    State(state): State<Arc<Runtime>>,
    signed_in: SignedIn,
    Path((id, part)): Path<(String, String)>,
) -> Response {
    let record = match visible(&state, &signed_in.session, &id).await {
        Ok(record) => record,
        Err(page) => return page,
    };
    let markup = match part.as_str() {
        "details" => details(&state, &record).await.map(|(details, _)| details),
        "status" => state
            .db
            .image_statuses(&[record.id.as_str()])
            .await
            .map_err(Into::into)
            .map(|statuses| status_badge(statuses.get(&record.id).map_or("pending", String::as_str), None)),
        _ => return error_page(StatusCode::NOT_FOUND, "There is no such page."),
    };
    match markup {
        Ok(markup) => Html(markup.into_string()).into_response(),
        Err(e) => failed(e),
    }
}

/// The details, and alt text from the best labels.
async fn details(state: &Runtime, record: &ImageRecord) -> pictor_core::Result<(Markup, String)> {
    let (processing, labels, executions) = tokio::try_join!(
        state.db.image_state(&record.id),
        state.db.image_labels(&record.id),
        state.db.executions_for_image(&record.id)
    )?;
    let mut histories = Vec::with_capacity(executions.len());
    for execution in executions.iter().take(5) {
        histories.push(state.db.history(&execution.id).await?);
    }
    let best: Vec<String> = labels.iter().filter(|l| l.direct).take(3).map(|l| l.name.clone()).collect();
    let alt = super::alt_text(record.name.as_deref(), &best);
    let processing = processing.unwrap_or_default();
    let status = if processing.status.is_empty() { "pending" } else { processing.status.as_str() };
    let metadata =
        processing.metadata.as_ref().and_then(|m| serde_json::from_value::<pictor_meta::Metadata>(m.clone()).ok());
    let markup = html! {
        dl.facts {
            dt { "Status" } dd { span.live sse-swap=(format!("status-{}", record.id)) { (status_badge(status, None)) } }
            dt { "Size" } dd { (record.width) " × " (record.height) " · " (record.format) " · " (kib(record.bytes)) }
            @if let Some(moderation) = &record.moderation { dt { "Moderation" } dd data-moderation { (moderation) } }
            @if let Some(metadata) = &metadata { (camera_facts(metadata)) }
        }
        (labels_section(&labels))
        (faces_section(processing.faces.as_ref()))
        (text_section(&processing))
        h2 { "Executions" }
        @if executions.is_empty() { p.muted { "None yet." } }
        ul.executions { @for (execution, history) in executions.iter().zip(&histories) { (execution_item(execution, history)) } }
    };
    Ok((markup, alt))
}

/// Camera, lens, exposure, date taken and place, where the file says.
pub(crate) fn camera_facts(m: &pictor_meta::Metadata) -> Markup {
    let exif = &m.exif;
    let camera = [exif.make.as_deref(), exif.model.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let exposure = [
        exif.exposure_time.map(shutter),
        exif.f_number.map(|f| format!("f/{f:.1}")),
        exif.iso.map(|iso| format!("ISO {iso}")),
        exif.focal_length.map(|mm| format!("{mm:.0} mm")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    html! {
        @if !camera.is_empty() { dt { "Camera" } dd data-camera { (camera) } }
        @if let Some(lens) = &exif.lens_model { dt { "Lens" } dd data-lens { (lens) } }
        @if !exposure.is_empty() { dt { "Exposure" } dd data-exposure { (exposure) } }
        @if let Some(taken) = &exif.date_time_original {
            dt { "Taken" } dd data-taken { (taken_at(taken, exif.offset_time_original.as_deref())) }
        }
        @if let Some(gps) = &m.gps { dt { "Place" } dd data-place { (place(gps)) } }
    }
}

/// "1/250 s" or "2 s".
fn shutter(seconds: f64) -> String {
    if seconds > 0.0 && seconds < 1.0 { format!("1/{:.0} s", 1.0 / seconds) } else { format!("{seconds} s") }
}

/// EXIF's "2026:05:01 14:03:00" as "2026-05-01 14:03:00 +02:00".
fn taken_at(raw: &str, offset: Option<&str>) -> String {
    let mut taken = raw.replacen(':', "-", 2);
    if let Some(offset) = offset {
        taken.push(' ');
        taken.push_str(offset);
    }
    taken
}

/// "46.5592° N, 7.9792° E".
fn place(gps: &pictor_meta::Gps) -> String {
    let ns = if gps.latitude >= 0.0 { 'N' } else { 'S' };
    let ew = if gps.longitude >= 0.0 { 'E' } else { 'W' };
    format!("{:.4}° {ns}, {:.4}° {ew}", gps.latitude.abs(), gps.longitude.abs())
}

fn labels_section(labels: &[ImageLabel]) -> Markup {
    html! {
        h2 { "Labels" }
        @if labels.is_empty() { p.muted { "No labels yet." } }
        ul.labels {
            @for label in labels.iter().filter(|l| l.direct) {
                li { a href=(format!("/?label={}", encode(&label.name))) { (label.name) }
                     " " span.muted { (format!("{:.0}%", label.confidence * 100.0)) } }
            }
        }
    }
}

fn faces_section(faces: Option<&Value>) -> Markup {
    let count = faces.and_then(Value::as_array).map(Vec::len);
    html! {
        @if let Some(count) = count {
            h2 { "Faces" }
            p data-faces=(count) { (match count { 0 => "No faces found.".to_string(), 1 => "1 face".to_string(), n => format!("{n} faces") }) }
        }
    }
}

fn text_section(processing: &ImageState) -> Markup {
    let lines: Vec<&str> = processing
        .text_lines
        .as_ref()
        .and_then(Value::as_array)
        .map(|lines| lines.iter().filter_map(|l| l.get("text").and_then(Value::as_str)).collect())
        .unwrap_or_default();
    html! {
        @if processing.text_lines.is_some() {
            h2 { "Text" }
            @if lines.is_empty() { p.muted { "No text found." } }
            @else { blockquote.text { @for line in &lines { (line) br; } } }
        }
    }
}

fn execution_item(execution: &ExecutionRecord, history: &[HistoryRow]) -> Markup {
    html! {
        li {
            a href=(format!("/api/v1/executions/{}", execution.id)) { code { (execution.id) } }
            " " (execution.workflow) " · " strong { (execution.status) }
            @let steps = step_times(history);
            @if !steps.is_empty() {
                ol.steps { @for (state, ms) in &steps { li { (state) " " span.muted { (ms) " ms" } } } }
            }
        }
    }
}

/// Each state's time from entered to exited, in the order entered.
fn step_times(history: &[HistoryRow]) -> Vec<(String, i64)> {
    let mut steps: Vec<(String, i64, Option<i64>)> = Vec::new();
    for row in history {
        let Some(state) = &row.state else { continue };
        if row.kind.ends_with("StateEntered") {
            steps.push((state.clone(), row.at, None));
        } else if row.kind.ends_with("StateExited")
            && let Some(step) = steps.iter_mut().rev().find(|(s, _, end)| s == state && end.is_none())
        {
            step.2 = Some(row.at);
        }
    }
    steps.into_iter().filter_map(|(state, start, end)| Some((state, end? - start))).collect()
}

fn albums_section(
    session: &SessionRecord,
    record: &ImageRecord,
    in_albums: &[AlbumRecord],
    all: &[AlbumRecord],
) -> Markup {
    let back = format!("/photos/{}", record.id);
    let others: Vec<&AlbumRecord> = all.iter().filter(|a| !in_albums.iter().any(|b| b.id == a.id)).collect();
    html! {
        h2 { "Albums" }
        @if in_albums.is_empty() { p.muted { "In no album." } }
        ul.in-albums {
            @for album in in_albums {
                li {
                    a href=(format!("/albums/{}", album.id)) { (album.name) }
                    @if album.cover_image_id.as_deref() == Some(record.id.as_str()) { " " span.muted { "(its cover)" } }
                    @else {
                        form.inline method="post" action=(format!("/albums/{}/cover", album.id)) {
                            input type="hidden" name="csrf" value=(session.csrf);
                            input type="hidden" name="image" value=(record.id);
                            input type="hidden" name="back" value=(back);
                            button.link type="submit" { "Make cover" }
                        }
                    }
                }
            }
        }
        @if !others.is_empty() {
            form.inline method="post" action="/albums/add" {
                input type="hidden" name="csrf" value=(session.csrf);
                input type="hidden" name="image" value=(record.id);
                input type="hidden" name="back" value=(back);
                label.inline for="add-album" { "Add to" }
                select #add-album name="album" { @for album in &others { option value=(album.id) { (album.name) } } }
                button type="submit" { "Add" }
            }
        }
    }
}

pub(crate) fn scaled_height(width: i64, height: i64, max: i64) -> i64 {
    if width <= max || width == 0 { height } else { height * max / width }
}

fn kib(bytes: i64) -> String {
    if bytes < 1024 * 1024 { format!("{} KiB", bytes / 1024) } else { format!("{:.1} MiB", bytes as f64 / 1048576.0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposure_and_place_read_as_photographers_write_them() {
        assert_eq!(shutter(0.004), "1/250 s");
        assert_eq!(shutter(2.0), "2 s");
        assert_eq!(taken_at("2026:05:01 14:03:00", Some("+02:00")), "2026-05-01 14:03:00 +02:00");
        let gps = pictor_meta::Gps { latitude: -33.8568, longitude: 151.2153, altitude: None };
        assert_eq!(place(&gps), "33.8568° S, 151.2153° E");
    }

    #[test]
    fn steps_are_timed_from_entered_to_exited() {
        let row = |kind: &str, state: &str, at: i64| HistoryRow {
            id: String::new(),
            key: String::new(),
            kind: kind.into(),
            state: Some(state.into()),
            details: Value::Null,
            at,
        };
        let history = [
            row("TaskStateEntered", "Metadata", 10),
            row("TaskStateExited", "Metadata", 25),
            row("ParallelStateEntered", "Vision", 25),
            row("TaskStateEntered", "Labels", 26),
        ];
        assert_eq!(step_times(&history), [("Metadata".to_string(), 15)]);
    }
}
