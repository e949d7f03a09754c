//! Static assets, embedded in the binary and served with a long cache
//! life: their URLs carry the build's version.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const APP_CSS: &str = include_str!("../assets/app.css");

/// The stylesheet's URL, versioned so that a new build is fetched anew.
pub fn css_url() -> String {
    format!("/assets/app.css?v={}", env!("CARGO_PKG_VERSION"))
}

pub async fn serve(Path(name): Path<String>) -> Response {
    match name.as_str() {
        "app.css" => (
            [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=86400")],
            APP_CSS,
        )
            .into_response(),
        _ => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
