//! The photo grid that the gallery and albums share: square tiles grouped
//! by month, each with explicit sizes, a ThumbHash placeholder inlined
//! until the thumbnail loads, alt text from its labels, a live status
//! until processed, and a checkbox for selecting (shift-click selects a
//! range, in `app.js`; without JavaScript the boxes still post).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use maud::{Markup, html};
use pictor_db::{Db, ImageRecord};

use super::alt_text;

/// A page of photos with what their tiles show.
pub struct Grid {
    pub images: Vec<ImageRecord>,
    labels: HashMap<String, Vec<String>>,
    statuses: HashMap<String, String>,
}

impl Grid {
    /// Reads the labels and statuses of `images`, two queries in all.
    pub async fn load(db: &Db, images: Vec<ImageRecord>) -> pictor_db::Result<Self> {
        let ids: Vec<&str> = images.iter().map(|i| i.id.as_str()).collect();
        let (labels, statuses) = tokio::try_join!(db.top_labels(&ids, 3), db.image_statuses(&ids))?;
        Ok(Self { images, labels, statuses })
    }

    /// Sections by month. `continues` is the month the previous page ended
    /// in: its heading is not repeated.
    pub fn months(&self, continues: Option<&str>) -> Markup {
        html! {
            @for (month, photos) in by_month(&self.images) {
                section.month aria-label=(month) data-month=(month) {
                    @if continues != Some(month.as_str()) { h2 { (month) } }
                    div.grid { @for image in photos { (self.tile(image)) } }
                }
            }
        }
    }

    /// The month of the last photo, for the next page's `continues`.
    pub fn last_month(&self) -> Option<String> {
        self.images.last().map(|i| month_name(i.created_at))
    }

    fn tile(&self, image: &ImageRecord) -> Markup {
        let labels = self.labels.get(&image.id).map_or(&[][..], Vec::as_slice);
        let status = self.statuses.get(&image.id).map_or("pending", String::as_str);
        tile(image, labels, status)
    }
}

/// One photo's tile.
pub fn tile(image: &ImageRecord, labels: &[String], status: &str) -> Markup {
    let alt = alt_text(image.name.as_deref(), labels);
    html! {
        div.tile data-id=(image.id) {
            a href=(format!("/photos/{}", image.id)) {
                img src=(format!("/api/v1/img/{}.webp?thumbnail=256", image.id)) width="256" height="256"
                    loading="lazy" decoding="async" alt=(alt) style=[placeholder_style(image.thumbhash.as_deref())];
            }
            input.pick type="checkbox" name="image" value=(image.id) form="selection"
                aria-label=(format!("Select {alt}"));
            @if status != "processed" {
                span.live sse-swap=(format!("status-{}", image.id)) { (status_badge(status, None)) }
            }
        }
    }
}

/// A photo's workflow status as words, with its execution once known.
pub fn status_badge(status: &str, execution: Option<&str>) -> Markup {
    let words = match status {
        "pending" => "Uploaded",
        "processing" => "Processing",
        "processed" => "Processed",
        "failed" => "Failed",
        "rejected" => "Rejected",
        other => other,
    };
    html! {
        span.status data-status=(status) role="status" {
            (words)
            @if let Some(execution) = execution {
                " · " a href=(format!("/api/v1/executions/{execution}")) title="Its workflow execution" {
                    code { (execution.get(..8).unwrap_or(execution)) }
                }
            }
        }
    }
}

/// The ThumbHash as an inline background, so something shows at once.
pub(crate) fn placeholder_style(thumbhash: Option<&str>) -> Option<String> {
    let hash = BASE64.decode(thumbhash?).ok()?;
    let png = pictor_imaging::placeholder::thumbhash_png(&hash)?;
    Some(format!("background-image:url(data:image/png;base64,{})", BASE64.encode(png)))
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
pub fn month_name(unix_ms: i64) -> String {
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
pub fn year_month(days: i64) -> (i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month)
}

/// The day count since 1970-01-01 of the first day of `month` (1-12) of
/// `year` (Hinnant's `days_from_civil`).
pub fn first_day(year: i64, month: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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

    #[test]
    fn first_days_of_months_round_trip() {
        for (year, month) in [(1970, 1), (2024, 2), (2024, 3), (2000, 12), (1969, 12)] {
            let day = first_day(year, month);
            assert_eq!(year_month(day), (year, month));
            assert_ne!(year_month(day - 1), (year, month));
        }
        assert_eq!(first_day(2024, 3) * 86_400_000, 1_709_251_200_000);
    }

    #[test]
    fn placeholders_inline_a_png_or_nothing() {
        let style = placeholder_style(Some("1QcSHQRnh493V4dIh4eXh1h4kJUI")).unwrap();
        assert!(style.starts_with("background-image:url(data:image/png;base64,iVBOR"), "{style}");
        assert_eq!(placeholder_style(Some("not base64!")), None);
        assert_eq!(placeholder_style(None), None);
    }
}
