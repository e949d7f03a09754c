//! `GET /search`: the account's photos by tag, recognised text, camera,
//! date taken and album, from a plain GET form (datalists offer the
//! account's tags and cameras); the results are the shared photo grid,
//! paged like the gallery, and the page works without JavaScript.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use pictor_db::{AlbumRecord, Audience, ImageFilter};
use pictor_jobs::Runtime;

use super::gallery::{more, selection_bar};
use super::layout::{failed, page};
use super::tiles::Grid;
use crate::session::{SignedIn, encode};

/// Photos per batch, as in the gallery.
const BATCH: i64 = 120;
const DAY_MS: i64 = 86_400_000;

/// The form's fields as typed, and the filter they make.
#[derive(Default)]
struct Search {
    label: String,
    text: String,
    camera: String,
    from: String,
    to: String,
    album: String,
    before: Option<String>,
    continues: Option<String>,
    fragment: bool,
}

impl Search {
    fn parse(query: &str) -> Self {
        let mut search = Search::default();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let value = value.trim().to_string();
            match key.as_ref() {
                "label" => search.label = value,
                "text" => search.text = value,
                "camera" => search.camera = value,
                "from" => search.from = value,
                "to" => search.to = value,
                "album" => search.album = value,
                "before" if !value.is_empty() => search.before = Some(value),
                "continues" => search.continues = Some(value),
                "fragment" => search.fragment = true,
                _ => {}
            }
        }
        search
    }

    /// Whether anything was asked: an empty form shows no results.
    fn asked(&self) -> bool {
        [&self.label, &self.text, &self.camera, &self.from, &self.to, &self.album].iter().any(|f| !f.is_empty())
    }

    fn filter(&self) -> ImageFilter {
        let some = |field: &str| Some(field.to_string()).filter(|f| !f.is_empty());
        ImageFilter {
            labels: some(&self.label).into_iter().collect(),
            match_all: true,
            album: some(&self.album),
            text: some(&self.text),
            camera: some(&self.camera),
            taken_after: day_ms(&self.from),
            taken_before: day_ms(&self.to).map(|to| to + DAY_MS),
            area: None,
        }
    }

    /// The fields again, for the next batch's URL.
    fn query(&self) -> String {
        let fields = [
            ("label", &self.label),
            ("text", &self.text),
            ("camera", &self.camera),
            ("from", &self.from),
            ("to", &self.to),
            ("album", &self.album),
        ];
        fields.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("&{k}={}", encode(v))).collect()
    }
}

/// The start of a day given as `YYYY-MM-DD` (UTC), as Unix ms.
fn day_ms(date: &str) -> Option<i64> {
    (date.len() == 10).then(|| pictor_meta::utc_ms(&format!("{date} 00:00:00"))).flatten()
}

pub async fn show(State(state): State<Arc<Runtime>>, signed_in: SignedIn, RawQuery(query): RawQuery) -> Response {
    let session = &signed_in.session;
    let owner = Some(session.user.name.as_str());
    let search = Search::parse(query.as_deref().unwrap_or(""));
    let results = if search.asked() { Some(results(&state, owner, &search).await) } else { None };
    let results = match results.transpose() {
        Ok(results) => results,
        Err(e) => return failed(e),
    };
    if search.fragment {
        return Html(results.unwrap_or_default().into_string()).into_response();
    }
    let db = &state.db;
    let options =
        tokio::try_join!(db.label_counts(Audience::Owner(owner)), db.cameras(owner, 200), db.list_albums(owner));
    let (labels, cameras, albums) = match options {
        Ok(options) => options,
        Err(e) => return failed(e),
    };
    let labels: Vec<String> = labels.into_iter().map(|l| l.name).collect();
    let body = html! {
        h1 { "Search" }
        (form(&search, &labels, &cameras, &albums))
        @if let Some(results) = results {
            (selection_bar(session, &albums))
            div #photos { (results) }
        }
    };
    Html(page("Search", Some(session), body).into_string()).into_response()
}

/// A batch of results with the sentinel for the next, or a note that none matched.
async fn results(state: &Runtime, owner: Option<&str>, search: &Search) -> pictor_db::Result<Markup> {
    let listed = state.db.list_images(owner, &search.filter(), search.before.as_deref(), BATCH).await?;
    let grid = Grid::load(&state.db, listed.images).await?;
    Ok(html! {
        @if grid.images.is_empty() && search.before.is_none() { p.muted role="status" { "No photos match." } }
        (grid.months(search.continues.as_deref()))
        @if let Some(next) = &listed.next { (more("/search", &search.query(), next, grid.last_month().as_deref())) }
    })
}

fn form(search: &Search, labels: &[String], cameras: &[String], albums: &[AlbumRecord]) -> Markup {
    let field = |id: &str, name: &str, value: &str, list: Option<&str>| {
        html! {
            div.field {
                label for=(id) { (name) }
                input id=(id) type="text" name=(id.trim_start_matches("q-")) value=(value) list=[list];
            }
        }
    };
    html! {
        form.search method="get" action="/search" role="search" aria-label="Photos" {
            (field("q-label", "Tag", &search.label, Some("labels")))
            datalist #labels { @for label in labels { option value=(label) {} } }
            (field("q-text", "Text in the photo", &search.text, None))
            (field("q-camera", "Camera", &search.camera, Some("cameras")))
            datalist #cameras { @for camera in cameras { option value=(camera) {} } }
            div.field { label for="q-from" { "Taken from" } input #q-from type="date" name="from" value=(search.from); }
            div.field { label for="q-to" { "Taken until" } input #q-to type="date" name="to" value=(search.to); }
            div.field {
                label for="q-album" { "Album" }
                select #q-album name="album" {
                    option value="" { "Any album" }
                    @for album in albums { option value=(album.id) selected[album.id == search.album] { (album.name) } }
                }
            }
            div.field { button type="submit" { "Search" } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_becomes_a_filter_and_a_query_again() {
        let search =
            Search::parse("label=lake&text=%20Hello&camera=canon&from=2024-03-01&to=2024-03-01&album=&before=1_a");
        let filter = search.filter();
        assert_eq!(filter.labels, ["lake"]);
        assert_eq!((filter.text.as_deref(), filter.camera.as_deref()), (Some("Hello"), Some("canon")));
        assert_eq!((filter.taken_after, filter.taken_before), (Some(1_709_251_200_000), Some(1_709_337_600_000)));
        assert_eq!(filter.album, None);
        assert_eq!(search.query(), "&label=lake&text=Hello&camera=canon&from=2024-03-01&to=2024-03-01");
        assert!(search.asked() && !Search::parse("album=&before=x").asked());
        assert_eq!(day_ms("2024-3-1"), None);
    }
}
