//! The core's error: a stable kind (what went wrong, as clients match on it)
//! and a detail that says what to do about it.
//!
//! The core knows no HTTP. `pictor-server` maps each [`ErrorKind`] to a
//! status and answers it as problem+json; jobs map it to a States Language
//! error name.

use pictor_imaging::ImagingError;

use crate::throttle::WarnThrottle;

/// What went wrong, as a stable code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    UnsupportedFormat,
    CorruptImage,
    ImageTooLarge,
    PayloadTooLarge,
    InvalidFilter,
    InvalidRequest,
    NotFound,
    /// The request's premise no longer holds: e.g. a resumable upload's
    /// offset moved on (another request landed first).
    Conflict,
    /// It existed, but no longer does: e.g. an expired resumable upload.
    Gone,
    Unauthorized,
    Forbidden,
    /// A presigned URL's or form's signature does not match (tampered, or
    /// signed with another key).
    SignatureMismatch,
    RateLimited,
    /// The client sent its request body too slowly
    /// (`limits.body_min_bytes_per_sec`).
    RequestTimeout,
    Overloaded,
    UpstreamFailed,
    ImageFlagged,
    /// The original is in the archive tier: restore it first.
    ImageArchived,
    ModelsNotInstalled,
    DatabaseUnavailable,
    /// The blob store did not answer (S3 down or frozen): retry shortly.
    StoreUnavailable,
    /// The blob store's disk is full: nothing was kept; the operator must
    /// free space.
    StorageFull,
    Internal,
}

impl ErrorKind {
    /// Whether trying again later may succeed: a backend or a neighbour
    /// failed, not the request.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            Self::DatabaseUnavailable
                | Self::StoreUnavailable
                | Self::StorageFull
                | Self::Internal
                | Self::UpstreamFailed
                | Self::Overloaded
        )
    }

    /// The code clients see (`problem.code`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnsupportedFormat => "unsupported_format",
            Self::CorruptImage => "corrupt_image",
            Self::ImageTooLarge => "image_too_large",
            Self::PayloadTooLarge => "payload_too_large",
            Self::InvalidFilter => "invalid_filter",
            Self::InvalidRequest => "invalid_request",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::Gone => "gone",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::SignatureMismatch => "signature_mismatch",
            Self::RateLimited => "rate_limited",
            Self::RequestTimeout => "request_timeout",
            Self::Overloaded => "overloaded",
            Self::UpstreamFailed => "upstream_failed",
            Self::ImageFlagged => "image_flagged",
            Self::ImageArchived => "image_archived",
            Self::ModelsNotInstalled => "models_not_installed",
            Self::DatabaseUnavailable => "database_unavailable",
            Self::StoreUnavailable => "store_unavailable",
            Self::StorageFull => "storage_full",
            Self::Internal => "internal",
        }
    }
}

/// An error with a stable kind and a detail for the person who caused it.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub detail: String,
    /// Seconds after which trying again may succeed.
    pub retry_after: Option<u64>,
}

/// The `Retry-After` of a `database_unavailable` error, in seconds.
pub const DATABASE_RETRY_AFTER_SECS: u64 = 2;

/// The `Retry-After` of a `store_unavailable` error, in seconds.
pub const STORE_RETRY_AFTER_SECS: u64 = 5;

/// The core's result.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self { kind, detail: detail.into(), retry_after: None }
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(ErrorKind::NotFound, format!("{what} does not exist or was deleted"))
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, detail)
    }

    /// The original is only in the archive tier.
    pub fn archived() -> Self {
        Self::new(
            ErrorKind::ImageArchived,
            "the original is in the archive tier: request a restore (POST …/restore), then retry once it is restored",
        )
    }

    pub fn overloaded() -> Self {
        Self::new(ErrorKind::Overloaded, "too many image jobs are waiting; retry shortly").with_retry_after(1)
    }

    /// The database is down or did not hand out a connection in time
    /// (`limits.database_acquire_timeout_secs`): worth retrying shortly.
    pub fn database_unavailable(err: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %err, "database unavailable");
        Self::new(ErrorKind::DatabaseUnavailable, "the database did not answer in time (down or busy); retry shortly")
            .with_retry_after(DATABASE_RETRY_AFTER_SECS)
    }

    /// An unexpected failure: logged in full, reported without internals.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::new(ErrorKind::Internal, "the server failed to handle this request; it has been logged")
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.detail)
    }
}

impl std::error::Error for Error {}

impl From<ImagingError> for Error {
    fn from(e: ImagingError) -> Self {
        let kind = match &e {
            ImagingError::UnsupportedFormat(_) => ErrorKind::UnsupportedFormat,
            ImagingError::Corrupt(_) => ErrorKind::CorruptImage,
            ImagingError::TooLarge(_) => ErrorKind::ImageTooLarge,
            ImagingError::InvalidOperation(_) => ErrorKind::InvalidFilter,
            ImagingError::Unavailable(_) => ErrorKind::ModelsNotInstalled,
        };
        Self::new(kind, e.to_string())
    }
}

impl From<pictor_vision::VisionError> for Error {
    fn from(e: pictor_vision::VisionError) -> Self {
        match e {
            pictor_vision::VisionError::Models(_) => Self::new(ErrorKind::ModelsNotInstalled, e.to_string()),
            other => Self::internal(other),
        }
    }
}

impl From<pictor_db::DbError> for Error {
    /// A database that cannot be reached (connection refused or lost, pool
    /// timeout) is worth retrying; a full disk is named (one rate-limited
    /// warning); anything else is a bug to log.
    fn from(e: pictor_db::DbError) -> Self {
        if e.is_unavailable() {
            Self::database_unavailable(e)
        } else if e.is_disk_full() {
            warn_now_and_then(&DB_FULL_WARNED, "the database", &e);
            Self::new(
                ErrorKind::StorageFull,
                "the database's disk is full: nothing was kept; try again once the operator has freed space",
            )
        } else {
            Self::internal(e)
        }
    }
}

impl From<pictor_store::StoreError> for Error {
    /// An archived original is the caller's to restore; a full disk and a
    /// store that does not answer are named (one rate-limited warning each,
    /// not an error per request); anything else is a failure to log.
    fn from(e: pictor_store::StoreError) -> Self {
        match e {
            pictor_store::StoreError::Archived(_) => Self::archived(),
            full if full.is_storage_full() => {
                warn_now_and_then(&STORE_FULL_WARNED, "the blob store", &full);
                Self::new(
                    ErrorKind::StorageFull,
                    "the image store's disk is full: nothing was kept; try again once the operator has freed space",
                )
            }
            down if down.is_unavailable() => {
                warn_now_and_then(&STORE_DOWN_WARNED, "the blob store", &down);
                Self::new(ErrorKind::StoreUnavailable, "the image store did not answer in time; retry shortly")
                    .with_retry_after(STORE_RETRY_AFTER_SECS)
            }
            other => Self::internal(other),
        }
    }
}

static STORE_FULL_WARNED: WarnThrottle = WarnThrottle::new();
static STORE_DOWN_WARNED: WarnThrottle = WarnThrottle::new();
static DB_FULL_WARNED: WarnThrottle = WarnThrottle::new();

/// Logs `err` as a warning, at most once a minute per `throttle`: a full
/// disk or a store outage fails every request until it ends.
fn warn_now_and_then(throttle: &WarnThrottle, what: &str, err: &dyn std::fmt::Display) {
    if throttle.due() {
        tracing::warn!(error = %err, "{what} is failing requests (repeats are not logged for a minute)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imaging_errors_map_to_kinds() {
        let e: Error = ImagingError::TooLarge("big".into()).into();
        assert_eq!(e.kind, ErrorKind::ImageTooLarge);
        assert_eq!(Error::overloaded().retry_after, Some(1));
    }
}
