//! The session cookie and what pages need from it: who is signed in, and
//! whether a form carries that session's CSRF token.
//!
//! The cookie holds only the session's random token (`HttpOnly`,
//! `SameSite=Lax`, `Secure` when the request came over TLS through a
//! proxy); the session itself lives in the database, so signing out
//! revokes it everywhere. The sign-in form, which has no session yet, is
//! guarded by a double-submit token (a cookie and a field that must match).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use pictor_db::SessionRecord;
use pictor_jobs::Runtime;

use crate::pages::layout;

pub const SESSION_COOKIE: &str = "pictor_session";
/// The sign-in form's double-submit token.
pub const LOGIN_COOKIE: &str = "pictor_login";

/// The value of cookie `name`, if the request sent it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// The session token the request's cookie carries.
pub fn session_token(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, SESSION_COOKIE)
}

/// Whether the browser reached us over TLS (directly or through a proxy
/// that says so): cookies are then `Secure`.
pub(crate) fn over_tls(headers: &HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// The server's URL as clients reach it, for links that leave the page
/// (a message, a presigned URL): `direct.public_url` when set, else the
/// request's `Host` (when it is a plain host name) and scheme.
pub fn public_url(config: &pictor_core::Config, headers: &HeaderMap) -> String {
    if !config.direct.public_url.is_empty() {
        return config.direct.public_url.trim_end_matches('/').to_string();
    }
    let host = headers.get(axum::http::header::HOST).and_then(|v| v.to_str().ok()).filter(|h| valid_host(h));
    let host = host.map_or_else(|| config.listen.clone(), str::to_string);
    format!("{}://{host}", if over_tls(headers) { "https" } else { "http" })
}

fn valid_host(host: &str) -> bool {
    !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// A `Set-Cookie` value for `name`; `max_age` 0 deletes it.
pub fn set_cookie(headers: &HeaderMap, name: &str, value: &str, max_age_secs: u64) -> HeaderValue {
    set_cookie_at(headers, name, value, max_age_secs, "/")
}

/// As [`set_cookie`], sent back only to URLs under `path` (a share's).
pub fn set_cookie_at(headers: &HeaderMap, name: &str, value: &str, max_age_secs: u64, path: &str) -> HeaderValue {
    let secure = if over_tls(headers) { "; Secure" } else { "" };
    let cookie = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&cookie).expect("cookie values and paths are URL-safe")
}

/// The signed-in account of a page request; without one, pages redirect
/// to the sign-in page, which sends the visitor back afterwards.
pub struct SignedIn {
    pub session: SessionRecord,
}

impl FromRequestParts<Arc<Runtime>> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<Runtime>) -> Result<Self, Response> {
        let token = session_token(&parts.headers).unwrap_or("");
        match pictor_core::accounts::session(&state.db, token).await {
            Ok(Some(session)) => Ok(Self { session }),
            Ok(None) => {
                let next = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                Err(Redirect::to(&format!("/login?next={}", encode(next))).into_response())
            }
            Err(e) => Err(layout::failed(e)),
        }
    }
}

/// Refuses a form whose CSRF token is not its session's.
pub fn check_csrf(session: &SessionRecord, presented: &str) -> Result<(), Response> {
    if pictor_core::accounts::csrf_matches(session, presented) {
        Ok(())
    } else {
        Err(layout::error_page(
            StatusCode::FORBIDDEN,
            "This form expired or came from another site. Go back, reload the page and try again.",
        ))
    }
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where to go after signing in: a local path only, never another site.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => path,
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_name_from_any_header() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, "a=1; pictor_session=tok".parse().unwrap());
        h.append(header::COOKIE, "pictor_login=x".parse().unwrap());
        assert_eq!(session_token(&h), Some("tok"));
        assert_eq!(cookie(&h, LOGIN_COOKIE), Some("x"));
        assert_eq!(cookie(&h, "b"), None);
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/albums?x=1")), "/albums?x=1");
        for bad in ["https://evil.example/", "//evil.example", "/\\evil", "javascript:alert(1)"] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
    }

    #[test]
    fn cookies_are_secure_behind_tls() {
        let mut h = HeaderMap::new();
        assert!(!set_cookie(&h, "n", "v", 60).to_str().unwrap().contains("Secure"));
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        let value = set_cookie(&h, "n", "v", 60);
        let value = value.to_str().unwrap();
        assert!(value.contains("HttpOnly") && value.contains("SameSite=Lax") && value.contains("Secure"), "{value}");
    }
}
