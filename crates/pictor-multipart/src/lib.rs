//! Reading `multipart/form-data` fields under bounds.
//!
//! axum's `Multipart` (multer underneath) parses the form; what a field
//! holds is read here, and never without a cap: a text field such as a
//! CSRF token or a policy is small, a file is bounded by its upload limit,
//! and a file refused part-way is drained only so far (so that the client
//! still reads the answer) before the connection is given up. Every form
//! in Pictor (the API's uploads, the signed POST policy form, the web
//! app's upload page) goes through these, and `fuzz/` drives them with
//! arbitrary bodies.

use std::time::Duration;

use axum::extract::multipart::{Field, MultipartError};
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt as _};

/// How much of a refused field (or body) is read and dropped: closing a
/// socket with unread data resets it, and the client would lose the
/// answer. Past it, or past [`DRAIN_TIME`], the connection is cut anyway.
pub const DRAIN_BYTES: usize = 4 << 20;

/// How long draining a refused field (or body) may take.
pub const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Bytes a text field (a token, a name, a policy's field) may hold.
pub const TEXT_BYTES: u64 = 64 * 1024;

/// Why a field could not be read.
#[derive(Debug)]
pub enum FieldError {
    /// The field is longer than `max`; at least `seen` bytes were sent.
    TooLarge { seen: u64, max: u64 },
    /// The body is not valid multipart (or the connection broke).
    Malformed(String),
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge { seen, max } => write!(f, "a form field is over {max} bytes ({seen} or more sent)"),
            Self::Malformed(why) => write!(f, "invalid multipart body: {why}"),
        }
    }
}

impl std::error::Error for FieldError {}

impl From<MultipartError> for FieldError {
    fn from(e: MultipartError) -> Self {
        Self::Malformed(e.body_text())
    }
}

/// Reads `field` whole, up to `max` bytes; a longer one is drained (see
/// [`drain`]) and refused.
pub async fn bytes(field: &mut Field<'_>, max: u64) -> Result<Bytes, FieldError> {
    let mut buffer = BytesMut::new();
    while let Some(chunk) = field.chunk().await? {
        let seen = (buffer.len() + chunk.len()) as u64;
        if seen > max {
            drain(field).await;
            return Err(FieldError::TooLarge { seen, max });
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(buffer.freeze())
}

/// Reads a text field of at most [`TEXT_BYTES`]; invalid UTF-8 is
/// replaced, not refused (the caller checks the value anyway).
pub async fn text(field: &mut Field<'_>) -> Result<String, FieldError> {
    let value = bytes(field, TEXT_BYTES).await?;
    Ok(String::from_utf8_lossy(&value).into_owned())
}

/// Reads and drops what is left of a refused field or body (any stream of
/// chunks: `&mut Field`, a body's data stream), at most [`DRAIN_BYTES`]
/// within [`DRAIN_TIME`].
pub async fn drain<E>(mut chunks: impl Stream<Item = Result<Bytes, E>> + Unpin) {
    let drain = async {
        let mut drained = 0;
        while let Some(Ok(chunk)) = chunks.next().await {
            drained += chunk.len();
            if drained > DRAIN_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::extract::{FromRequest as _, Multipart};
    use axum::http::Request;

    async fn form(body: &str) -> Multipart {
        let request = Request::builder()
            .method("POST")
            .header("content-type", "multipart/form-data; boundary=X")
            .body(Body::from(body.replace('\n', "\r\n")))
            .unwrap();
        Multipart::from_request(request, &()).await.unwrap()
    }

    const TWO_FIELDS: &str = "--X\nContent-Disposition: form-data; name=\"csrf\"\n\ntoken\n--X\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\n\n0123456789\n--X--\n";

    #[tokio::test]
    async fn fields_within_their_caps_are_read_whole() {
        let mut form = form(TWO_FIELDS).await;
        let mut csrf = form.next_field().await.unwrap().unwrap();
        assert_eq!(text(&mut csrf).await.unwrap(), "token");
        drop(csrf);
        let mut file = form.next_field().await.unwrap().unwrap();
        assert_eq!(&bytes(&mut file, 10).await.unwrap()[..], b"0123456789");
    }

    #[tokio::test]
    async fn a_field_over_its_cap_is_refused_and_the_form_goes_on() {
        let mut form = form(TWO_FIELDS).await;
        let mut csrf = form.next_field().await.unwrap().unwrap();
        let refused = bytes(&mut csrf, 4).await.unwrap_err();
        assert!(matches!(refused, FieldError::TooLarge { seen: 5, max: 4 }), "{refused:?}");
        drop(csrf);
        // Drained, so the next field is still there.
        let file = form.next_field().await.unwrap().unwrap();
        assert_eq!(file.file_name(), Some("a.jpg"));
    }

    #[tokio::test]
    async fn a_broken_body_is_malformed() {
        let mut form = form("--X\nContent-Disposition: form-data; name=\"file\"\n\nno closing boundary").await;
        let mut field = form.next_field().await.unwrap().unwrap();
        let broken = bytes(&mut field, 1000).await.unwrap_err();
        assert!(matches!(broken, FieldError::Malformed(_)), "{broken:?}");
        assert!(broken.to_string().starts_with("invalid multipart body"), "{broken}");
    }
}
