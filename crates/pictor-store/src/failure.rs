//! What kind of failure a [`StoreError`] is, for the layers above: a full
//! disk is the operator's to fix (`507`), a store that does not answer is
//! worth retrying shortly (`503`), anything else is a bug or a
//! misconfiguration to log.
//!
//! Both are found by walking the error's sources: `object_store` wraps the
//! `std::io::Error` of a local write, and the `HttpError` or `reqwest`
//! error of an S3 request, a few layers down.

use std::io::ErrorKind;

use object_store::client::{HttpError, HttpErrorKind};

use crate::StoreError;

impl StoreError {
    /// The store's disk (or the user's quota) is full: ENOSPC, EDQUOT.
    pub fn is_storage_full(&self) -> bool {
        self.io_kinds().any(|kind| matches!(kind, ErrorKind::StorageFull | ErrorKind::QuotaExceeded))
    }

    /// The store did not answer: refused, reset, cut off or timed out
    /// (after object_store's own retries).
    pub fn is_unavailable(&self) -> bool {
        let io = self.io_kinds().any(|kind| {
            matches!(
                kind,
                ErrorKind::ConnectionRefused
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::NotConnected
                    | ErrorKind::BrokenPipe
                    | ErrorKind::TimedOut
                    | ErrorKind::UnexpectedEof
            )
        });
        let http = self.sources().filter_map(|e| e.downcast_ref::<HttpError>()).any(|e| {
            matches!(
                e.kind(),
                HttpErrorKind::Connect | HttpErrorKind::Request | HttpErrorKind::Timeout | HttpErrorKind::Interrupted
            )
        });
        // object_store's retry error is transparent over its HttpError, so
        // the chain may go straight to reqwest's.
        let reqwest = self
            .sources()
            .filter_map(|e| e.downcast_ref::<reqwest::Error>())
            .any(|e| e.is_connect() || e.is_timeout() || e.is_request());
        io || http || reqwest
    }

    /// This error and everything it wraps.
    fn sources(&self) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
        std::iter::successors(Some(self as &(dyn std::error::Error + 'static)), |&e| e.source())
    }

    fn io_kinds(&self) -> impl Iterator<Item = ErrorKind> + '_ {
        self.sources().filter_map(|e| e.downcast_ref::<std::io::Error>()).map(std::io::Error::kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_told_apart_from_other_io_errors() {
        let full = StoreError::Io(std::io::Error::from_raw_os_error(28)); // ENOSPC
        assert!(full.is_storage_full() && !full.is_unavailable());
        let denied = StoreError::Io(std::io::Error::from(ErrorKind::PermissionDenied));
        assert!(!denied.is_storage_full() && !denied.is_unavailable());
        let wrapped = StoreError::Backend(object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(std::io::Error::from_raw_os_error(28)),
        });
        assert!(wrapped.is_storage_full(), "found under object_store's wrapping");
    }

    #[test]
    fn a_refused_connection_is_unavailable() {
        let refused = StoreError::Backend(object_store::Error::Generic {
            store: "S3",
            source: Box::new(std::io::Error::from(ErrorKind::ConnectionRefused)),
        });
        assert!(refused.is_unavailable() && !refused.is_storage_full());
        assert!(!StoreError::NotFound("x".into()).is_unavailable());
    }
}
