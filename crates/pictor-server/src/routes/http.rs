//! Small HTTP helpers: bounded body reading, conditional requests, ranges
//! and base64 payloads.

use std::ops::Range;
use std::time::Duration;

use axum::body::{Body, BodyDataStream};
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

use crate::error::{ApiError, ApiResult, Code};

/// The query string's parameters, or a problem naming what is wrong.
pub fn query<T>(query: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    query.map(|Query(q)| q).map_err(|e| ApiError::bad_request(e.body_text()))
}

/// A listing's page size: `default` when absent, else 1–1000.
pub fn page_limit(limit: Option<i64>, default: i64) -> ApiResult<i64> {
    let limit = limit.unwrap_or(default);
    if (1..=1000).contains(&limit) { Ok(limit) } else { Err(ApiError::bad_request("limit must be between 1 and 1000")) }
}

/// Reads a body, refusing it with 413 as soon as it passes `limit` bytes.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: u64) -> ApiResult<Bytes> {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let stream = body.into_data_stream();
    if declared.is_some_and(|n| n > limit) {
        return Err(refuse(stream, limit).await);
    }
    read_within(stream, declared.unwrap_or(0), limit, None, |_| too_large(limit)).await
}

/// Reads `stream` (room for `capacity` bytes made first) up to `limit`
/// bytes; past it, drains the rest and answers `over(bytes seen)`. With
/// `idle`, a body that sends nothing for that long is cut with 408.
pub(crate) async fn read_within(
    mut stream: BodyDataStream,
    capacity: u64,
    limit: u64,
    idle: Option<Duration>,
    over: impl FnOnce(u64) -> ApiError,
) -> ApiResult<Bytes> {
    let mut buffer = BytesMut::with_capacity(capacity.min(limit) as usize);
    loop {
        let next = match idle {
            Some(idle) => tokio::time::timeout(idle, stream.next()).await.map_err(|_| {
                ApiError::bad_request("the body stalled: send it again").with_status(StatusCode::REQUEST_TIMEOUT)
            })?,
            None => stream.next().await,
        };
        let Some(chunk) = next else { return Ok(buffer.freeze()) };
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the request body failed: {e}")))?;
        let seen = (buffer.len() + chunk.len()) as u64;
        if seen > limit {
            pictor_multipart::drain(stream).await;
            return Err(over(seen));
        }
        buffer.extend_from_slice(&chunk);
    }
}

/// Drops what is left of a refused body (closing a socket with unread
/// data resets it, and the client would lose the 413), then the 413.
async fn refuse(stream: BodyDataStream, limit: u64) -> ApiError {
    pictor_multipart::drain(stream).await;
    too_large(limit)
}

pub fn too_large(limit: u64) -> ApiError {
    ApiError::new(Code::PayloadTooLarge, format!("the upload is over the {limit}-byte limit (limits.max_upload_bytes)"))
}

const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const LENIENT_URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes bare base64 or a `data:…;base64,` URL (whitespace ignored).
pub fn decode_base64(text: &str) -> ApiResult<Bytes> {
    let payload = match text.trim_start().strip_prefix("data:") {
        Some(rest) => {
            let (meta, data) = rest.split_once(',').ok_or_else(|| ApiError::bad_request("data URL without a comma"))?;
            if !meta.ends_with(";base64") {
                return Err(ApiError::bad_request("data URLs must be base64-encoded (`;base64,`)"));
            }
            data
        }
        None => text,
    };
    // Copy a (possibly 66 MB) payload only when it has line breaks to drop.
    let compact: std::borrow::Cow<str> = if payload.bytes().any(|b| b.is_ascii_whitespace()) {
        payload.chars().filter(|c| !c.is_ascii_whitespace()).collect::<String>().into()
    } else {
        payload.into()
    };
    LENIENT
        .decode(compact.as_bytes())
        .or_else(|_| LENIENT_URL.decode(compact.as_bytes()))
        .map(Bytes::from)
        .map_err(|e| ApiError::bad_request(format!("data is not valid base64: {e}")))
}

/// Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks).
pub fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    let Some(value) = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) else { return false };
    value.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

/// The outcome of a `Range` header against a body of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable range: send everything.
    Full,
    Partial(Range<u64>),
    Unsatisfiable,
}

/// Parses a single `bytes=` range; multiple ranges are served in full, which
/// RFC 9110 allows.
pub fn parse_range(headers: &HeaderMap, len: u64) -> RangeRequest {
    let Some(spec) =
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return RangeRequest::Full;
    };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((start, end)) = spec.trim().split_once('-') else { return RangeRequest::Full };
    let parsed = match (start.trim(), end.trim()) {
        ("", "") => return RangeRequest::Full,
        ("", suffix) => suffix.parse::<u64>().ok().map(|n| len.saturating_sub(n)..len),
        (start, "") => start.parse::<u64>().ok().map(|s| s..len),
        (start, end) => match (start.parse::<u64>(), end.parse::<u64>()) {
            (Ok(s), Ok(e)) if e >= s => Some(s..(e + 1).min(len)),
            _ => return RangeRequest::Full,
        },
    };
    match parsed {
        None => RangeRequest::Full,
        Some(r) if r.start >= len || r.is_empty() => RangeRequest::Unsatisfiable,
        Some(r) => RangeRequest::Partial(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, value.parse().unwrap());
        h
    }

    #[test]
    fn ranges() {
        let r = |v: &str| parse_range(&with(header::RANGE, v), 10);
        assert_eq!(r("bytes=0-3"), RangeRequest::Partial(0..4));
        assert_eq!(r("bytes=5-"), RangeRequest::Partial(5..10));
        assert_eq!(r("bytes=-3"), RangeRequest::Partial(7..10));
        assert_eq!(r("bytes=8-100"), RangeRequest::Partial(8..10));
        assert_eq!(r("bytes=10-"), RangeRequest::Unsatisfiable);
        assert_eq!(r("bytes=0-1,3-4"), RangeRequest::Full);
        assert_eq!(r("bytes=x-y"), RangeRequest::Full);
        assert_eq!(r("items=0-1"), RangeRequest::Full);
        assert_eq!(parse_range(&HeaderMap::new(), 10), RangeRequest::Full);
    }

    #[test]
    fn etags_match_weakly_and_in_lists() {
        assert!(not_modified(&with(header::IF_NONE_MATCH, "\"a\", W/\"b\""), "\"b\""));
        assert!(not_modified(&with(header::IF_NONE_MATCH, "*"), "\"b\""));
        assert!(!not_modified(&with(header::IF_NONE_MATCH, "\"a\""), "\"b\""));
        assert!(!not_modified(&HeaderMap::new(), "\"b\""));
    }

    #[test]
    fn base64_forms() {
        assert_eq!(decode_base64("aGk=").unwrap(), "hi");
        assert_eq!(decode_base64("aGk").unwrap(), "hi");
        assert_eq!(decode_base64("data:image/png;base64,aG\nk=").unwrap(), "hi");
        assert_eq!(decode_base64("-_8").unwrap().as_ref(), &[0xfb, 0xff]);
        assert_eq!(decode_base64("data:text/plain,hi").unwrap_err().code, Code::InvalidRequest);
        assert!(decode_base64("!!!").is_err());
    }
}
