//! The five ways imaging can fail. Callers map them to their own surfaces
//! (HTTP problem codes, CLI exit codes); the variants never change meaning.

/// Every fallible call in this crate returns this error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImagingError {
    /// The bytes are not an image format this engine reads or writes.
    #[error("unsupported format: {0}")]
    UnsupportedFormat(String),
    /// The bytes claim a supported format but cannot be decoded.
    #[error("corrupt image: {0}")]
    Corrupt(String),
    /// The image (or the requested output) exceeds a configured limit.
    #[error("image too large: {0}")]
    TooLarge(String),
    /// An operation or encode option is malformed or out of range.
    #[error("invalid operation: {0}")]
    InvalidOperation(String),
    /// A step needs something the caller did not give (the face model).
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl ImagingError {
    /// A stable, machine-readable code, as used in API problem documents.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedFormat(_) => "unsupported_format",
            Self::Corrupt(_) => "corrupt_image",
            Self::TooLarge(_) => "image_too_large",
            Self::InvalidOperation(_) => "invalid_filter",
            Self::Unavailable(_) => "models_not_installed",
        }
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = ImagingError> = std::result::Result<T, E>;

pub(crate) fn invalid(msg: impl Into<String>) -> ImagingError {
    ImagingError::InvalidOperation(msg.into())
}

pub(crate) fn corrupt(msg: impl Into<String>) -> ImagingError {
    ImagingError::Corrupt(msg.into())
}

impl From<image::ImageError> for ImagingError {
    fn from(err: image::ImageError) -> Self {
        use image::ImageError as E;
        match err {
            E::Unsupported(e) => Self::UnsupportedFormat(e.to_string()),
            E::Limits(e) => Self::TooLarge(e.to_string()),
            E::Decoding(e) => Self::Corrupt(e.to_string()),
            E::IoError(e) => Self::Corrupt(format!("truncated or unreadable data: {e}")),
            E::Parameter(e) => Self::Corrupt(e.to_string()),
            E::Encoding(e) => Self::InvalidOperation(format!("encoding failed: {e}")),
        }
    }
}
