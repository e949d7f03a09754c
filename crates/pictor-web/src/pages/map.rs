//! `GET /map`: the account's photos that carry a place, as numbered dots on
//! an offline world map (Natural Earth's land, `assets/world.svg`, drawn in
//! degrees: x = longitude, y = −latitude). The server groups the photos in
//! a grid of cells ([`pictor_db::Db::clusters`]) and draws one dot per cell,
//! a link that zooms into that cell (`?bbox=south,west,north,east`); the
//! photos in view are listed below as the shared grid. Plain SVG and
//! links: it works without JavaScript, and asks nothing of anyone else.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use pictor_db::{Area, Cluster, ImageFilter};
use pictor_jobs::Runtime;

use super::gallery::more;
use super::layout::{failed, page};
use super::tiles::Grid;
use crate::assets;
use crate::session::{SignedIn, encode};

/// Photos per batch, as in the gallery.
const BATCH: i64 = 120;
/// Cells across the longer side of a view.
const CELLS: f64 = 24.0;

/// What the map shows, in degrees; it never crosses the antimeridian.
#[derive(Clone, Copy, Debug, PartialEq)]
struct View {
    south: f64,
    west: f64,
    north: f64,
    east: f64,
}

impl View {
    const WORLD: View = View { south: -90.0, west: -180.0, north: 90.0, east: 180.0 };

    /// `south,west,north,east`, clamped to the world; `None` unless it is a box.
    fn parse(bbox: &str) -> Option<View> {
        let numbers: Vec<f64> = bbox.split(',').map(|n| n.trim().parse().ok()).collect::<Option<_>>()?;
        let [south, west, north, east] = numbers[..] else { return None };
        View { south, west, north, east }.clamped()
    }

    fn clamped(self) -> Option<View> {
        let view = View {
            south: self.south.max(-90.0),
            west: self.west.max(-180.0),
            north: self.north.min(90.0),
            east: self.east.min(180.0),
        };
        (view.south < view.north && view.west < view.east).then_some(view)
    }

    fn is_world(&self) -> bool {
        *self == View::WORLD
    }

    /// The view in microdegrees, rounded outwards.
    fn area(&self) -> Area {
        let e6 = |degrees: f64, round: fn(f64) -> f64| round(degrees * 1e6) as i64;
        Area {
            south: e6(self.south, f64::floor),
            west: e6(self.west, f64::floor),
            north: e6(self.north, f64::ceil),
            east: e6(self.east, f64::ceil),
        }
    }

    /// The side of a cell in microdegrees: about [`CELLS`] across the view.
    fn cell(&self) -> i64 {
        let side = (self.north - self.south).max(self.east - self.west);
        ((side / CELLS * 1e6).ceil() as i64).max(1)
    }

    /// The part of this view that cell (`row`, `col`) covers.
    fn of_cell(&self, row: i64, col: i64, cell: i64) -> View {
        let edge = |index: i64, origin: f64| (index * cell) as f64 / 1e6 + origin;
        let cell = View {
            south: edge(row, -90.0),
            west: edge(col, -180.0),
            north: edge(row + 1, -90.0),
            east: edge(col + 1, -180.0),
        };
        let inside = View {
            south: cell.south.max(self.south),
            west: cell.west.max(self.west),
            north: cell.north.min(self.north),
            east: cell.east.min(self.east),
        };
        inside.clamped().unwrap_or(*self)
    }

    /// Four times as wide and high around the same centre.
    fn zoomed_out(&self) -> View {
        let (height, width) = (self.north - self.south, self.east - self.west);
        let out = View {
            south: self.south - 1.5 * height,
            west: self.west - 1.5 * width,
            north: self.north + 1.5 * height,
            east: self.east + 1.5 * width,
        };
        out.clamped().unwrap_or(View::WORLD)
    }

    fn bbox(&self) -> String {
        [self.south, self.west, self.north, self.east].map(degrees).join(",")
    }

    /// The SVG view box: the view with a small margin, y pointing south.
    fn view_box(&self) -> String {
        let margin = 0.03 * (self.east - self.west).max(self.north - self.south);
        let (x, y) = (self.west - margin, -self.north - margin);
        let (w, h) = (self.east - self.west + 2.0 * margin, self.north - self.south + 2.0 * margin);
        [x, y, w, h].map(degrees).join(" ")
    }
}

/// Degrees with at most six decimals, trailing zeros dropped.
fn degrees(value: f64) -> String {
    let text = format!("{value:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// "48.86° N, 2.32° E".
fn place(latitude: f64, longitude: f64) -> String {
    let (ns, ew) = (if latitude < 0.0 { "S" } else { "N" }, if longitude < 0.0 { "W" } else { "E" });
    format!("{:.2}° {ns}, {:.2}° {ew}", latitude.abs(), longitude.abs())
}

/// What the query string asks for.
struct Query {
    view: View,
    before: Option<String>,
    continues: Option<String>,
    fragment: bool,
}

fn parse(query: &str) -> Query {
    let mut q = Query { view: View::WORLD, before: None, continues: None, fragment: false };
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "bbox" => q.view = View::parse(&value).unwrap_or(View::WORLD),
            "before" if !value.is_empty() => q.before = Some(value.into_owned()),
            "continues" => q.continues = Some(value.into_owned()),
            "fragment" => q.fragment = true,
            _ => {}
        }
    }
    q
}

pub async fn show(State(state): State<Arc<Runtime>>, signed_in: SignedIn, RawQuery(query): RawQuery) -> Response {
    let session = &signed_in.session;
    let owner = Some(session.user.name.as_str());
    let q = parse(query.as_deref().unwrap_or(""));
    let filter = ImageFilter { area: Some(q.view.area()), ..Default::default() };
    let db = &state.db;
    let listed = db.list_images(owner, &filter, q.before.as_deref(), BATCH).await;
    let grid = match listed {
        Ok(page) => Grid::load(db, page.images).await.map(|grid| (grid, page.next)),
        Err(e) => Err(e),
    };
    let (grid, next) = match grid {
        Ok(grid) => grid,
        Err(e) => return failed(e),
    };
    let batch = html! {
        (grid.months(q.continues.as_deref()))
        @if let Some(next) = &next {
            (more("/map", &format!("&bbox={}", encode(&q.view.bbox())), next, grid.last_month().as_deref()))
        }
    };
    if q.fragment {
        return Html(batch.into_string()).into_response();
    }
    let cell = q.view.cell();
    let clusters = match db.clusters(owner, &filter, cell).await {
        Ok(clusters) => clusters,
        Err(e) => return failed(e),
    };
    let body = html! {
        h1 { "Map" }
        @if !q.view.is_world() {
            p { a href="/map" { "Whole world" } " · " a href=(format!("/map?bbox={}", encode(&q.view.zoomed_out().bbox()))) { "Zoom out" } }
        }
        (map(&q.view, &clusters, cell))
        @if clusters.is_empty() {
            p.muted role="status" {
                @if q.view.is_world() { "No photos with a place yet: photos taken with GPS on appear here." }
                @else { "No photos in this part of the map." }
            }
        } @else {
            h2 { @if q.view.is_world() { "Photos with a place" } @else { "Photos in this part of the map" } }
            div #photos { (batch) }
        }
    };
    Html(page("Map", Some(session), body).into_string()).into_response()
}

/// The world with a dot per cluster, each a link into its cell.
fn map(view: &View, clusters: &[Cluster], cell: i64) -> Markup {
    let width = view.east - view.west;
    let total: i64 = clusters.iter().map(|c| c.count).sum();
    let world = View::WORLD;
    html! {
        figure.map {
            svg viewBox=(view.view_box()) role="group" aria-labelledby="map-title" data-clusters=(clusters.len()) {
                title #map-title { (total) " photos on the map" }
                rect.sea x=(world.west) y=(-world.north) width="360" height="180" {}
                image href=(assets::url(assets::WORLD)) x="-180" y="-90" width="360" height="180" preserveAspectRatio="none" {}
                @for cluster in clusters {
                    @let (radius, font) = dot(cluster.count, width, cell);
                    @let zoom = view.of_cell(cluster.row, cluster.col, cell);
                    @let words = if cluster.count == 1 { "1 photo".to_string() } else { format!("{} photos", cluster.count) };
                    a.cluster href=(format!("/map?bbox={}", encode(&zoom.bbox())))
                        aria-label=(format!("{words} near {}", place(cluster.latitude, cluster.longitude))) {
                        circle cx=(degrees(cluster.longitude)) cy=(degrees(-cluster.latitude)) r=(degrees(radius)) {}
                        text x=(degrees(cluster.longitude)) y=(degrees(-cluster.latitude)) font-size=(degrees(font))
                            text-anchor="middle" dominant-baseline="central" aria-hidden="true" { (cluster.count) }
                    }
                }
            }
            figcaption.muted { "Land: Natural Earth. A dot is a group of photos; open one to zoom in." }
        }
    }
}

/// A dot's radius and its number's size, in degrees: growing with the
/// count, but never wider than its cell (so dense views do not pile up),
/// and the number shrunk to fit inside however many digits it has.
fn dot(count: i64, view_width: f64, cell: i64) -> (f64, f64) {
    let radius = (view_width * (0.012 + 0.005 * (count.max(1) as f64).ln())).min(0.45 * cell as f64 / 1e6);
    let digits = count.max(1).to_string().len().max(2) as f64;
    (radius, radius * 1.8 / digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_stay_inside_their_cells_and_numbers_inside_their_dots() {
        let cell = View::WORLD.cell();
        let (small, small_font) = dot(1, 360.0, cell);
        let (large, large_font) = dot(40_000, 360.0, cell);
        assert!(small < large && large <= 0.45 * 15.0, "{small} {large}");
        assert!((small_font - small * 0.9).abs() < 1e-9);
        assert!(large_font * 5.0 * 0.6 < 2.0 * large, "five digits fit the dot's width");
    }

    #[test]
    fn the_world_uses_the_indexed_cells() {
        assert_eq!(View::WORLD.cell(), pictor_db::WORLD_CELL);
    }

    #[test]
    fn views_parse_clamp_and_zoom() {
        assert_eq!(View::parse("-100,-200,100,200"), Some(View::WORLD));
        assert_eq!(View::parse("10,10,5,20"), None);
        assert_eq!(View::parse("1,2,3"), None);
        let paris = View::parse("48.5,2,49.25,2.75").unwrap();
        assert_eq!(paris.bbox(), "48.5,2,49.25,2.75");
        assert_eq!(View::WORLD.cell(), 15_000_000);
        assert_eq!(paris.cell(), 31_250);
        // Cell (row 9, col 12) of the world's 15° grid: 45–60° N, 0–15° E.
        assert_eq!(View::WORLD.of_cell(9, 12, 15_000_000).bbox(), "45,0,60,15");
        // Only the part inside the view.
        assert_eq!(paris.of_cell(9, 12, 15_000_000), paris);
        assert_eq!(paris.zoomed_out().bbox(), "47.375,0.875,50.375,3.875");
        assert_eq!(View::parse("-80,-170,80,170").unwrap().zoomed_out(), View::WORLD);
        assert_eq!(View::WORLD.area(), Area::WORLD);
        assert_eq!(place(-33.86, 151.2), "33.86° S, 151.20° E");
    }
}
