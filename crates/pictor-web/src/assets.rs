//! Static assets, embedded in the binary: the stylesheet, Pictor's two
//! small scripts, the map's world (Natural Earth's land as one SVG path),
//! and the pinned libraries (htmx 2 with its SSE extension, tus-js-client;
//! see `assets/PROVENANCE.md`). Libraries have versioned
//! names and are cached for good; Pictor's own files carry a hash of
//! their bytes in their URL, so a changed file is fetched anew and an
//! unchanged one is never fetched twice.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

pub const HTMX: &str = "htmx-2.0.11.min.js";
pub const HTMX_SSE: &str = "htmx-ext-sse-2.2.4.min.js";
pub const TUS: &str = "tus-js-client-4.3.1.min.js";
pub const APP_JS: &str = "app.js";
pub const UPLOAD_JS: &str = "upload.js";
/// The shop's upload form and payment.
pub const SHOP_JS: &str = "shop.js";
/// Natural Earth's land in degrees, for the map page (`tools/world_svg.py`).
pub const WORLD: &str = "world.svg";
/// The tab's icon (so browsers do not ask for a missing `/favicon.ico`).
pub const ICON: &str = "icon.svg";

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
    (SHOP_JS, JS, A_DAY, include_str!("../assets/shop.js")),
    (WORLD, SVG, A_DAY, include_str!("../assets/world.svg")),
    (ICON, SVG, A_DAY, include_str!("../assets/icon.svg")),
    (HTMX, JS, FOREVER, include_str!("../assets/htmx-2.0.11.min.js")),
    (HTMX_SSE, JS, FOREVER, include_str!("../assets/htmx-ext-sse-2.2.4.min.js")),
    (TUS, JS, FOREVER, include_str!("../assets/tus-js-client-4.3.1.min.js")),
];

/// An asset's URL: Pictor's own carry the hash of their bytes.
pub fn url(name: &str) -> String {
    match ASSETS.iter().find(|(n, ..)| *n == name) {
        Some((_, _, A_DAY, body)) => format!("/assets/{name}?v={:016x}", fnv1a(body.as_bytes())),
        _ => format!("/assets/{name}"),
    }
}

/// FNV-1a, 64 bits: a cache key, not a security measure.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

pub async fn serve(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, ..)| *n == name) {
        Some((_, content_type, cache, body)) => {
            ([(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, *cache)], *body).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_files_carry_their_content_hash_and_libraries_their_version() {
        let css = url("app.css");
        assert_eq!(css, format!("/assets/app.css?v={:016x}", fnv1a(include_bytes!("../assets/app.css"))));
        assert_ne!(url(APP_JS).rsplit('=').next(), css.rsplit('=').next());
        assert_eq!(url(HTMX), "/assets/htmx-2.0.11.min.js");
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c); // the published FNV-1a 64 test vector
    }
}
