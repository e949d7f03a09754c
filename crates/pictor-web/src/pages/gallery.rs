//! `GET /`: the signed-in account's photos, newest first, by month;
//! `?label=a&label=b` keeps those with any of the tags (`&match=all`: all).
//!
//! A page holds one batch of photos; the next batch loads as its sentinel
//! nears the screen (htmx `revealed`), or through a plain "Older photos"
//! link without JavaScript; `app.js` lets the newest go so that the page
//! never holds more than three batches. The month index ("Jump to a
//! month", each month with its count, from one GROUP BY over the
//! `(owner, created_at)` index) links to any month, the oldest included:
//! `?before=` the first instant after it. Statuses update live over `/live`.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use pictor_db::{AlbumRecord, ImageFilter, SessionRecord};
use pictor_jobs::Runtime;

use super::layout::{failed, page};
use super::tiles::{Grid, first_day, month_name, year_month};
use crate::session::{SignedIn, encode};

/// Photos per batch: a page holds three at most (300 images) once
/// scrolled (`MAX_TILES` in `app.js`).
const BATCH: i64 = 100;

/// What the query string asks for.
#[derive(Default)]
struct Query {
    filter: ImageFilter,
    /// The cursor of the batch to show (older than the previous one).
    before: Option<String>,
    /// The month the previous batch ended in (its heading is not repeated).
    continues: Option<String>,
    /// Only the batch, for htmx to append.
    fragment: bool,
}

pub async fn show(State(state): State<Arc<Runtime>>, signed_in: SignedIn, RawQuery(query): RawQuery) -> Response {
    let session = &signed_in.session;
    let q = parse(query.as_deref().unwrap_or(""));
    // Read before the photos, so that no change after them is missed live.
    let after = match state.db.latest_event_id().await {
        Ok(id) => id,
        Err(e) => return failed(e),
    };
    let owner = Some(session.user.name.as_str());
    let listed = state.db.list_images(owner, &q.filter, q.before.as_deref(), BATCH).await;
    let (grid, next) = match listed {
        Ok(page) => match Grid::load(&state.db, page.images).await {
            Ok(grid) => (grid, page.next),
            Err(e) => return failed(e),
        },
        Err(e) => return failed(e),
    };
    let batch = html! {
        (grid.months(q.continues.as_deref()))
        @if let Some(next) = &next { (more("/", &filter_query(&q.filter), next, grid.last_month().as_deref())) }
    };
    if q.fragment {
        return Html(batch.into_string()).into_response();
    }
    let (albums, days) = match tokio::try_join!(state.db.list_albums(owner), state.db.day_counts(&session.user.name)) {
        Ok(read) => read,
        Err(e) => return failed(e),
    };
    let body = html! {
        (heading(&q.filter))
        @if q.filter.labels.is_empty() { (month_index(&months(&days))) }
        @if q.before.is_some() { p { a href=(format!("/?{}", filter_query(&q.filter).trim_start_matches('&'))) { "Newest photos" } } }
        div hx-ext="sse" sse-connect=(format!("/live?after={}", encode(&after))) {
            (selection_bar(session, &albums))
            @if grid.images.is_empty() {
                p.muted {
                    @if q.filter.labels.is_empty() { "No photos yet. " a href="/upload" { "Upload some" } "." }
                    @else { "No photos with these tags." }
                }
            }
            div #photos { (batch) }
        }
    };
    Html(page("Photos", Some(session), body).into_string()).into_response()
}

fn heading(filter: &ImageFilter) -> Markup {
    html! {
        @if filter.labels.is_empty() {
            h1 { "Photos" }
        } @else {
            h1 { "Photos tagged " (filter.labels.join(if filter.match_all { " and " } else { " or " })) }
            p { a href="/" { "All photos" } " · " a href="/tags" { "Tags" } }
        }
    }
}

/// The form the tiles' checkboxes belong to: add the selected photos to an album.
pub fn selection_bar(session: &SessionRecord, albums: &[AlbumRecord]) -> Markup {
    html! {
        form #selection.selection method="post" action="/albums/add" {
            input type="hidden" name="csrf" value=(session.csrf);
            span.count aria-live="polite" { "Select photos to add them to an album." }
            @if !albums.is_empty() {
                label.inline for="album" { "Album" }
                select #album name="album" {
                    @for album in albums { option value=(album.id) { (album.name) } }
                }
                button type="submit" { "Add selected" }
            }
            a href="/albums" { "New album" }
        }
    }
}

/// A month of the index: its name, its photos, and the cursor just past
/// its end (its newest photo comes first).
struct Month {
    name: String,
    count: i64,
    before: String,
}

/// Folds photos per day (newest first) into months.
fn months(days: &[(i64, i64)]) -> Vec<Month> {
    let mut months: Vec<((i64, i64), i64)> = Vec::new();
    for &(day, count) in days {
        let month = year_month(day);
        match months.last_mut() {
            Some((last, n)) if *last == month => *n += count,
            _ => months.push((month, count)),
        }
    }
    let next = |(year, month): (i64, i64)| if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    let month_of = |((year, month), count): ((i64, i64), i64)| {
        let start = first_day(year, month) * 86_400_000;
        let (ny, nm) = next((year, month));
        Month { name: month_name(start), count, before: format!("{}_", first_day(ny, nm) * 86_400_000) }
    };
    months.into_iter().map(month_of).collect()
}

/// "Jump to a month": every month with photos, the oldest last.
fn month_index(months: &[Month]) -> Markup {
    html! {
        @if months.len() > 1 {
            details.months {
                summary { "Jump to a month" }
                nav aria-label="Months" {
                    ol {
                        @for m in months {
                            li { a href=(format!("/?before={}", encode(&m.before))) { (m.name) } " " span.count { "(" (m.count) ")" } }
                        }
                    }
                }
            }
        }
    }
}

/// The sentinel that loads the batch after `next` of the page at `path`
/// (with `query`, `&`-separated) when it nears the screen.
pub fn more(path: &str, query: &str, next: &str, month: Option<&str>) -> Markup {
    let mut query = format!("{query}&before={}", encode(next));
    if let Some(month) = month {
        query.push_str(&format!("&continues={}", encode(month)));
    }
    html! {
        div.more hx-get=(format!("{path}?{query}&fragment=1")) hx-trigger="revealed" hx-swap="outerHTML" {
            a href=(format!("{path}?{query}")) { "Older photos" }
        }
    }
}

fn filter_query(filter: &ImageFilter) -> String {
    let mut query = String::new();
    for label in &filter.labels {
        query.push_str(&format!("&label={}", encode(label)));
    }
    if filter.match_all {
        query.push_str("&match=all");
    }
    query
}

fn parse(query: &str) -> Query {
    let mut q = Query::default();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let value = value.trim();
        match key.as_ref() {
            "label" if !value.is_empty() && !q.filter.labels.iter().any(|l| l == value) => {
                q.filter.labels.push(value.to_string())
            }
            "match" => q.filter.match_all = value == "all",
            "before" if !value.is_empty() => q.before = Some(value.to_string()),
            "continues" => q.continues = Some(value.to_string()),
            "fragment" => q.fragment = true,
            _ => {}
        }
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_keeps_tags_once_and_the_cursor() {
        let q = parse("label=lake&label=lake&label=%20&match=all&before=1_a&continues=May%202026&fragment=1");
        assert_eq!(q.filter.labels, ["lake"]);
        assert!(q.filter.match_all && q.fragment);
        assert_eq!((q.before.as_deref(), q.continues.as_deref()), (Some("1_a"), Some("May 2026")));
        assert_eq!(filter_query(&q.filter), "&label=lake&match=all");
    }

    #[test]
    fn days_fold_into_months_whose_cursor_ends_them() {
        let day = |ms: i64| ms / 86_400_000;
        // 2024-03-31, 2024-03-01, 2024-02-29, 2023-12-31
        let days = [(day(1_711_843_200_000), 2), (day(1_709_251_200_000), 3), (day(1_709_164_800_000), 1), (19_722, 4)];
        let months = months(&days);
        let names: Vec<(&str, i64)> = months.iter().map(|m| (m.name.as_str(), m.count)).collect();
        assert_eq!(names, [("March 2024", 5), ("February 2024", 1), ("December 2023", 4)]);
        assert_eq!(months[0].before, "1711929600000_", "2024-04-01T00:00Z");
        assert_eq!(months[1].before, "1709251200000_", "2024-03-01T00:00Z");
        assert_eq!(months[2].before, "1704067200000_", "2024-01-01T00:00Z");
    }
}
