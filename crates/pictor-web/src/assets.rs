//! Static assets, embedded in the binary and served with a long cache
//! life: their URLs carry the build's version.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const APP_CSS: &str = include_str!("../assets/app.css");
/// htmx 2 and its server-sent-events extension (see `assets/PROVENANCE.md`).
pub const HTMX: &str = "htmx-2.0.11.min.js";
pub const HTMX_SSE: &str = "htmx-ext-sse-2.2.4.min.js";
const HTMX_JS: &str = include_str!("../assets/htmx-2.0.11.min.js");
const HTMX_SSE_JS: &str = include_str!("../assets/htmx-ext-sse-2.2.4.min.js");
/// tus-js-client 4, the browser's side of resumable uploads (`window.tus`).
pub const TUS: &str = "tus-js-client-4.3.1.min.js";
const TUS_JS: &str = include_str!("../assets/tus-js-client-4.3.1.min.js");

/// The stylesheet's URL, versioned so that a new build is fetched anew.
pub fn css_url() -> String {
    format!("/assets/app.css?v={}", env!("CARGO_PKG_VERSION"))
}

pub async fn serve(Path(name): Path<String>) -> Response {
    let (content_type, body, cache) = match name.as_str() {
        "app.css" => ("text/css; charset=utf-8", APP_CSS, "public, max-age=86400"),
        // Versioned names: cached for good.
        HTMX => ("text/javascript; charset=utf-8", HTMX_JS, "public, max-age=31536000, immutable"),
        HTMX_SSE => ("text/javascript; charset=utf-8", HTMX_SSE_JS, "public, max-age=31536000, immutable"),
        TUS => ("text/javascript; charset=utf-8", TUS_JS, "public, max-age=31536000, immutable"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, cache)], body).into_response()
}
