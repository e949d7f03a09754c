//! API errors as RFC 9457 `application/problem+json`, each with a stable
//! `code` that clients can match on. The `detail` says what to do about it.
//!
//! The codes are the core's [`pictor_core::ErrorKind`]s; this module adds
//! only what HTTP needs: a status and a title for each, and the response.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pictor_imaging::ImagingError;
use serde::Serialize;

/// The stable error codes: the core's kinds.
pub use pictor_core::ErrorKind as Code;

/// The HTTP side of a [`Code`]: its status and title.
trait CodeHttp {
    fn status(self) -> StatusCode;
    fn title(self) -> &'static str;
}

impl CodeHttp for Code {
    fn status(self) -> StatusCode {
        match self {
            Self::UnsupportedFormat => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::CorruptImage => StatusCode::UNPROCESSABLE_ENTITY,
            Self::ImageTooLarge | Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InvalidFilter | Self::InvalidRequest => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict => StatusCode::CONFLICT,
            Self::Gone => StatusCode::GONE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::SignatureMismatch => StatusCode::FORBIDDEN,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Self::UpstreamFailed => StatusCode::BAD_GATEWAY,
            Self::ImageFlagged => StatusCode::FORBIDDEN,
            Self::ImageArchived => StatusCode::CONFLICT,
            Self::ModelsNotInstalled => StatusCode::SERVICE_UNAVAILABLE,
            Self::DatabaseUnavailable | Self::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::UnsupportedFormat => "Unsupported image format",
            Self::CorruptImage => "Corrupt image",
            Self::ImageTooLarge => "Image too large",
            Self::PayloadTooLarge => "Payload too large",
            Self::InvalidFilter => "Invalid transform",
            Self::InvalidRequest => "Invalid request",
            Self::NotFound => "Not found",
            Self::Conflict => "Conflict",
            Self::Gone => "Gone",
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden => "Forbidden",
            Self::SignatureMismatch => "Signature does not match",
            Self::RateLimited => "Rate limited",
            Self::RequestTimeout => "Request body too slow",
            Self::Overloaded => "Server busy",
            Self::UpstreamFailed => "Fetching the image failed",
            Self::ImageFlagged => "Image held for moderation",
            Self::ImageArchived => "Original archived",
            Self::ModelsNotInstalled => "Vision models not installed",
            Self::DatabaseUnavailable => "Database unavailable",
            Self::StoreUnavailable => "Image store unavailable",
            Self::StorageFull => "Storage full",
            Self::Internal => "Internal error",
        }
    }
}

/// An error answered to a client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: Code,
    pub detail: String,
    /// Overrides the code's usual status (e.g. 400 for a bad output format).
    pub status: Option<StatusCode>,
    pub retry_after: Option<u64>,
    /// Links for what to do next, by name (`restore`: where to ask for an
    /// archived original), answered as the problem's `links`.
    pub links: Vec<(&'static str, String)>,
}

impl ApiError {
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Self { code, detail: detail.into(), status: None, retry_after: None, links: Vec::new() }
    }

    pub fn with_link(mut self, name: &'static str, href: String) -> Self {
        self.links.push((name, href));
        self
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(Code::NotFound, format!("{what} does not exist or was deleted"))
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(Code::InvalidRequest, detail)
    }

    pub fn overloaded() -> Self {
        pictor_core::Error::overloaded().into()
    }

    /// An unexpected failure: logged in full, answered without internals.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        pictor_core::Error::internal(err).into()
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status.unwrap_or_else(|| self.code.status())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.detail)
    }
}

impl std::error::Error for ApiError {}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    links: std::collections::BTreeMap<&'a str, &'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let problem = Problem {
            kind: format!("https://pictor.dev/problems/{}", self.code.as_str()),
            title: self.code.title(),
            status: status.as_u16(),
            detail: &self.detail,
            code: self.code.as_str(),
            links: self.links.iter().map(|(name, href)| (*name, href.as_str())).collect(),
        };
        let body = serde_json::to_vec(&problem).expect("problem serialises");
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<pictor_core::Error> for ApiError {
    fn from(e: pictor_core::Error) -> Self {
        Self { code: e.kind, detail: e.detail, status: None, retry_after: e.retry_after, links: Vec::new() }
    }
}

/// The lower layers' errors reach HTTP through the core's mapping.
macro_rules! via_core {
    ($($error:ty),+) => {$(
        impl From<$error> for ApiError {
            fn from(e: $error) -> Self {
                pictor_core::Error::from(e).into()
            }
        }
    )+};
}

via_core!(ImagingError, pictor_vision::VisionError, pictor_db::DbError, pictor_store::StoreError);

pub type ApiResult<T> = Result<T, ApiError>;

/// The answer for routes that don't exist.
pub async fn fallback() -> ApiError {
    ApiError::new(Code::NotFound, "no such route; see /api/openapi.json")
}

/// The answer for a route that exists, asked with another method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(Code::InvalidRequest, "this route does not take that method; see /api/openapi.json")
        .with_status(StatusCode::METHOD_NOT_ALLOWED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn problems_are_json_with_code_and_retry_after() {
        let response = ApiError::overloaded().into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["code"], "overloaded");
        assert_eq!(json["status"], 503);
    }

    #[tokio::test]
    async fn unreachable_database_is_503_with_retry_after_and_other_errors_500() {
        let down: ApiError = pictor_db::DbError::Sql(sqlx::Error::PoolTimedOut).into();
        let response = down.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["code"], "database_unavailable");
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let lost: ApiError = pictor_db::DbError::Sql(sqlx::Error::Io(reset)).into();
        assert_eq!((lost.code, lost.status()), (Code::DatabaseUnavailable, StatusCode::SERVICE_UNAVAILABLE));
        let bug: ApiError = pictor_db::DbError::Sql(sqlx::Error::RowNotFound).into();
        assert_eq!(
            (bug.code, bug.status(), bug.retry_after),
            (Code::Internal, StatusCode::INTERNAL_SERVER_ERROR, None)
        );
        let conflict: ApiError = pictor_db::DbError::Conflict("x".into()).into();
        assert_eq!(conflict.code, Code::Internal);
    }

    #[test]
    fn imaging_errors_map_to_codes() {
        let e: ApiError = ImagingError::TooLarge("big".into()).into();
        assert_eq!((e.code, e.status()), (Code::ImageTooLarge, StatusCode::PAYLOAD_TOO_LARGE));
    }
}
