//! `GET /`: the signed-in account's photos, newest first, by month;
//! `?label=a&label=b` keeps those with any of the tags (`&match=all`: all).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use pictor_db::{ImageFilter, ImageRecord};
use pictor_jobs::Runtime;

use super::alt_text;
use super::layout::{failed, page};
use crate::session::SignedIn;

/// At most this many photos on the page (later months load as they near
/// the screen: issue 12's next step).
const PAGE: i64 = 300;

pub async fn show(State(state): State<Arc<Runtime>>, signed_in: SignedIn, RawQuery(query): RawQuery) -> Response {
    let owner = signed_in.session.user.name.as_str();
    let filter = filter(query.as_deref().unwrap_or(""));
    let listed = state.db.list_images(Some(owner), &filter, None, PAGE).await;
    let images = match listed {
        Ok(page) => page.images,
        Err(e) => return failed(e),
    };
    let ids: Vec<&str> = images.iter().map(|i| i.id.as_str()).collect();
    let labels = match state.db.top_labels(&ids, 3).await {
        Ok(labels) => labels,
        Err(e) => return failed(e),
    };
    let body = html! {
        @if filter.labels.is_empty() {
            h1 { "Photos" }
        } @else {
            h1 { "Photos tagged " (filter.labels.join(if filter.match_all { " and " } else { " or " })) }
            p { a href="/" { "All photos" } " · " a href="/tags" { "Tags" } }
        }
        @if images.is_empty() {
            p.muted { (if filter.labels.is_empty() { "No photos yet." } else { "No photos with these tags." }) }
        }
        @for (month, photos) in by_month(&images) {
            section.month aria-label=(month) {
                h2 { (month) }
                div.grid { @for image in photos { (tile(image, labels.get(&image.id))) } }
            }
        }
    };
    Html(page("Photos", Some(&signed_in.session), body).into_string()).into_response()
}

/// The tags asked for in the query string (repeated `label`, and `match`).
fn filter(query: &str) -> ImageFilter {
    let mut filter = ImageFilter::default();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "label" if !value.trim().is_empty() && !filter.labels.contains(&value.to_string()) => {
                filter.labels.push(value.trim().to_string())
            }
            "match" => filter.match_all = value == "all",
            _ => {}
        }
    }
    filter
}

/// A square tile: the thumbnail with explicit sizes, so nothing jumps.
fn tile(image: &ImageRecord, labels: Option<&Vec<String>>) -> Markup {
    let alt = alt_text(image.name.as_deref(), labels.map_or(&[][..], Vec::as_slice));
    html! {
        a href=(format!("/photos/{}", image.id)) data-id=(image.id) {
            img src=(format!("/api/v1/img/{}.webp?thumbnail=256", image.id)) width="256" height="256"
                loading="lazy" decoding="async" alt=(alt);
        }
    }
}

/// Photos grouped by the month they were added, in the order given.
fn by_month(images: &[ImageRecord]) -> Vec<(String, Vec<&ImageRecord>)> {
    let mut months: Vec<(String, Vec<&ImageRecord>)> = Vec::new();
    for image in images {
        let month = month_name(image.created_at);
        match months.last_mut() {
            Some((last, photos)) if *last == month => photos.push(image),
            _ => months.push((month, vec![image])),
        }
    }
    months
}

/// "March 2026" for a Unix time in milliseconds (UTC).
fn month_name(unix_ms: i64) -> String {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let (year, month) = year_month(unix_ms.div_euclid(86_400_000));
    format!("{} {year}", NAMES[(month - 1) as usize])
}

/// The civil year and month (1-12) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn year_month(days: i64) -> (i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_named_in_utc() {
        assert_eq!(month_name(0), "January 1970");
        assert_eq!(month_name(1_709_251_200_000), "March 2024"); // 2024-03-01T00:00Z
        assert_eq!(month_name(1_709_251_199_999), "February 2024");
        assert_eq!(month_name(1_796_256_000_000), "December 2026");
    }
}
