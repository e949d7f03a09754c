//! Static assets, embedded in the binary: the stylesheet, Pictor's two
//! small scripts, the map's world (Natural Earth's land as one SVG path),
//! and the pinned libraries (htmx 2 with its SSE extension, tus-js-client;
//! see `assets/PROVENANCE.md`). Libraries have versioned
//! names and are cached for good; Pictor's own files carry the build's
//! version in their URL.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

pub const HTMX: &str = "htmx-2.0.11.min.js";
pub const HTMX_SSE: &str = "htmx-ext-sse-2.2.4.min.js";
pub const TUS: &str = "tus-js-client-4.3.1.min.js";
pub const APP_JS: &str = "app.js";
pub const UPLOAD_JS: &str = "upload.js";
/// Natural Earth's land in degrees, for the map page (`tools/world_svg.py`).
pub const WORLD: &str = "world.svg";

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";
const FOREVER: &str = "public, max-age=31536000, immutable";
const A_DAY: &str = "public, max-age=86400";

/// Every asset: name, content type, cache policy, bytes.
const ASSETS: &[(&str, &str, &str, &str)] = &[
    ("app.css", CSS, A_DAY, include_str!("../assets/app.css")),
    (APP_JS, JS, A_DAY, include_str!("../assets/app.js")),
    (UPLOAD_JS, JS, A_DAY, include_str!("../assets/upload.js")),
    (WORLD, SVG, A_DAY, include_str!("../assets/world.svg")),
    (HTMX, JS, FOREVER, include_str!("../assets/htmx-2.0.11.min.js")),
    (HTMX_SSE, JS, FOREVER, include_str!("../assets/htmx-ext-sse-2.2.4.min.js")),
    (TUS, JS, FOREVER, include_str!("../assets/tus-js-client-4.3.1.min.js")),
];

/// An asset's URL: Pictor's own carry the version, so a new build is fetched anew.
pub fn url(name: &str) -> String {
    if name.contains(".min.") {
        format!("/assets/{name}")
    } else {
        format!("/assets/{name}?v={}", env!("CARGO_PKG_VERSION"))
    }
}

pub async fn serve(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, ..)| *n == name) {
        Some((_, content_type, cache, body)) => {
            ([(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, *cache)], *body).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
