//! Extractors that open every handler: the caller with a scope, and ids
//! from the path, so a handler reads like the use case it serves.
//!
//! `Authed<Read>` reads the credential (`Authorization: Bearer …` or
//! `X-API-Key`) and asks the core's [`pictor_core::auth::Auth`] for a
//! principal that holds the scope; `ImagePath` is an image id from the
//! path, answered 404 when it cannot be one. [`pam_caller`] is the asset
//! manager's: the same, and a JWT of the OIDC sign-in's provider too.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use pictor_core::auth::{Principal, Scope};
use pictor_core::domain::ImageId;
use pictor_jobs::Runtime;

use crate::error::ApiError;

/// A scope, as a type: `Authed<Upload>`.
pub trait ScopeMarker: Send + Sync + 'static {
    const SCOPE: Scope;
}

/// The `upload` scope (upload, delete, reprocess, manage webhooks).
pub struct Upload;
/// The `read` scope.
pub struct Read;
/// The `admin` scope.
pub struct Admin;

impl ScopeMarker for Upload {
    const SCOPE: Scope = Scope::Upload;
}
impl ScopeMarker for Read {
    const SCOPE: Scope = Scope::Read;
}
impl ScopeMarker for Admin {
    const SCOPE: Scope = Scope::Admin;
}

/// The caller, who holds scope `S` (401 without credentials, 403 without
/// the scope). Dereferences to the [`Principal`].
pub struct Authed<S> {
    principal: Principal,
    scope: PhantomData<S>,
}

impl<S> std::ops::Deref for Authed<S> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.principal
    }
}

impl<S> Authed<S> {
    pub fn into_inner(self) -> Principal {
        self.principal
    }
}

impl<S: ScopeMarker> FromRequestParts<Arc<Runtime>> for Authed<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<Runtime>) -> Result<Self, ApiError> {
        let principal = caller(state, &parts.headers, &parts.method, S::SCOPE).await?;
        Ok(Self { principal, scope: PhantomData })
    }
}

/// The caller, who must hold `scope`: from `Authorization` or `X-API-Key`,
/// or from the web app's session cookie: alone for reads (GET, HEAD), so
/// that the pages' `<img>` tags work; for writes only with the session's
/// CSRF token in a header, since a cross-site form could send the cookie.
pub async fn caller(
    state: &Runtime,
    headers: &HeaderMap,
    method: &Method,
    scope: Scope,
) -> Result<Principal, ApiError> {
    if credential(headers).is_none()
        && let Some(token) = pictor_web::session_token(headers)
        && let Some(principal) = session_caller(state, headers, method, token).await?
        && principal.has(scope)
    {
        state.requests.check(&credential_key(token))?;
        return Ok(principal);
    }
    let principal = state.auth.require(credential(headers), scope).await?;
    if let Some(credential) = credential(headers) {
        state.requests.check(&credential_key(credential))?;
    }
    Ok(principal)
}

/// A credential's bucket in `limits.requests_per_minute`: a hash, so that
/// the limiter's table holds no secrets.
fn credential_key(credential: &str) -> String {
    use sha2::Digest as _;
    hex::encode(&sha2::Sha256::digest(credential.as_bytes())[..16])
}

/// The asset manager's caller (`/pam`), who must hold `scope`: as
/// [`caller`], and also a JWT from the web app's OIDC provider
/// (`auth.oidc.issuer`: an ID token, as the original's Cognito clients
/// send), verified by the core and signed in as its identity's account.
pub struct PamCaller {
    pub principal: Principal,
    /// The provider's token's `email` claim, and its `email_verified`.
    pub email: Option<(String, Option<bool>)>,
}

pub async fn pam_caller(
    state: &Runtime,
    headers: &HeaderMap,
    method: &Method,
    scope: Scope,
) -> Result<PamCaller, ApiError> {
    if let (Some(token), Some(oidc)) = (credential(headers), state.oidc.as_ref())
        && !token.starts_with("pk_")
        && oidc.issued_here(token)
    {
        let bearer = oidc.bearer(&state.db, state.config.auth.signup, token).await?;
        let principal = pictor_core::accounts::principal(&bearer.user);
        if !principal.has(scope) {
            let lacks = format!("this account lacks the {scope:?} scope").to_lowercase();
            return Err(ApiError::new(crate::error::Code::Forbidden, lacks));
        }
        return Ok(PamCaller { principal, email: bearer.email.map(|e| (e, bearer.email_verified)) });
    }
    Ok(PamCaller { principal: caller(state, headers, method, scope).await?, email: None })
}

/// The web session's account as an API caller: for reads, the cookie
/// alone; for writes (the upload page's resumable uploads), the cookie and
/// the session's CSRF token in `X-CSRF-Token`, which another site cannot read.
async fn session_caller(
    state: &Runtime,
    headers: &HeaderMap,
    method: &Method,
    token: &str,
) -> Result<Option<Principal>, ApiError> {
    if *method == Method::GET || *method == Method::HEAD {
        return Ok(state.sessions.principal(&state.db, token).await?);
    }
    let Some(csrf) = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()) else { return Ok(None) };
    let session = pictor_core::accounts::session(&state.db, token).await?;
    Ok(session
        .filter(|s| pictor_core::accounts::csrf_matches(s, csrf))
        .map(|s| pictor_core::accounts::principal(&s.user)))
}

/// The credential in `Authorization: Bearer …` or `X-API-Key`.
pub fn credential(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, token) = value.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| token.trim());
    }
    headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim)
}

/// The `{id}` path segment, decoded; 400 if it is not valid UTF-8.
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(segment) =
            Path::<String>::from_request_parts(parts, state).await.map_err(|e| ApiError::bad_request(e.body_text()))?;
        Ok(Self(segment))
    }
}

/// An image id from the `{id}` path segment; 404 when it cannot be one
/// (no image has such an id).
pub struct ImagePath(pub ImageId);

impl<S: Send + Sync> FromRequestParts<S> for ImagePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let PathId(segment) = PathId::from_request_parts(parts, state).await?;
        ImageId::parse(segment.as_str()).map(Self).map_err(|_| ApiError::not_found(format!("image {segment}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_is_read_from_either_header() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "Bearer  pk_x ".parse().unwrap());
        assert_eq!(credential(&h), Some("pk_x"));
        let mut h = HeaderMap::new();
        h.insert("x-api-key", "pk_y".parse().unwrap());
        assert_eq!(credential(&h), Some("pk_y"));
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(credential(&h), None);
    }
}
