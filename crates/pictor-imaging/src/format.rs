//! Image formats: recognising them from their first bytes, and naming them.
//!
//! Formats are always sniffed from content, never trusted from a file name
//! or a client's `Content-Type`: a PNG called `photo.jpg` is a PNG.

use std::fmt;
use std::str::FromStr;

use crate::error::{ImagingError, Result};

/// A container format the engine knows by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Gif,
    Webp,
    Tiff,
    Bmp,
    Avif,
    Heic,
}

impl ImageFormat {
    /// Recognises a format from the start of a file, or `None`.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        let starts = |magic: &[u8]| bytes.starts_with(magic);
        if starts(b"\xFF\xD8\xFF") {
            Some(Self::Jpeg)
        } else if starts(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if starts(b"GIF87a") || starts(b"GIF89a") {
            Some(Self::Gif)
        } else if starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
            Some(Self::Webp)
        } else if starts(b"II*\0") || starts(b"MM\0*") || starts(b"II+\0") || starts(b"MM\0+") {
            Some(Self::Tiff)
        } else if starts(b"BM") && bytes.len() >= 26 {
            Some(Self::Bmp)
        } else {
            sniff_isobmff(bytes)
        }
    }

    /// Sniffs, or explains what the bytes look like instead.
    pub fn detect(bytes: &[u8]) -> Result<Self> {
        Self::sniff(bytes).ok_or_else(|| {
            ImagingError::UnsupportedFormat(match describe_non_image(bytes) {
                Some(kind) => {
                    format!("{kind}, not an image Pictor reads (JPEG, PNG, GIF, WebP, TIFF, BMP, HEIC, AVIF)")
                }
                None => "unrecognised data: expected JPEG, PNG, GIF, WebP, TIFF, BMP, HEIC or AVIF".into(),
            })
        })
    }

    /// Every format, in no particular order.
    pub const ALL: [Self; 8] =
        [Self::Jpeg, Self::Png, Self::Gif, Self::Webp, Self::Tiff, Self::Bmp, Self::Avif, Self::Heic];

    /// The format whose [`name`](Self::name) this is.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The canonical lower-case name, also used as a file extension.
    pub fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::Gif => "gif",
            Self::Webp => "webp",
            Self::Tiff => "tiff",
            Self::Bmp => "bmp",
            Self::Avif => "avif",
            Self::Heic => "heic",
        }
    }

    /// The registered media type.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
            Self::Tiff => "image/tiff",
            Self::Bmp => "image/bmp",
            Self::Avif => "image/avif",
            Self::Heic => "image/heic",
        }
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An ISO-BMFF file (`ftyp` box) whose brands say AVIF or HEIF.
fn sniff_isobmff(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.get(4..8) != Some(b"ftyp") {
        return None;
    }
    let size = u32::from_be_bytes(bytes[0..4].try_into().ok()?) as usize;
    let brands = bytes.get(8..size.clamp(16, 64).min(bytes.len()))?;
    let has = |b: &[u8]| brands.chunks(4).any(|c| c == b);
    if has(b"avif") || has(b"avis") {
        Some(ImageFormat::Avif)
    } else if ["heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"].iter().any(|b| has(b.as_bytes())) {
        Some(ImageFormat::Heic)
    } else {
        None
    }
}

/// Names common non-image files, so an error can say what was sent instead.
fn describe_non_image(bytes: &[u8]) -> Option<&'static str> {
    const KNOWN: &[(&[u8], &str)] = &[
        (b"%PDF", "a PDF document"),
        (b"PK\x03\x04", "a ZIP archive"),
        (b"\x1f\x8b", "gzip data"),
        (b"8BPS", "a Photoshop document"),
        (b"\0\0\x01\0", "an ICO icon"),
        (b"\0\0\0\x0cjP  ", "a JPEG 2000 image"),
        (b"\xff\x4f\xff\x51", "a JPEG 2000 codestream"),
        (b"v/1\x01", "an OpenEXR image"),
        (b"ID3", "an MP3 file"),
        (b"OggS", "an Ogg file"),
        (b"\x7fELF", "an executable"),
    ];
    if let Some((_, name)) = KNOWN.iter().find(|(magic, _)| bytes.starts_with(magic)) {
        return Some(name);
    }
    if bytes.get(4..8) == Some(b"ftyp") {
        return Some("a video or other ISO media file");
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
    if head.contains("<svg") {
        Some("an SVG drawing (vector images are not decoded)")
    } else if head.contains("<html") || head.contains("<!doctype") {
        Some("an HTML page")
    } else {
        None
    }
}

/// A format the encoder writes, or `Auto` to negotiate one per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    Jpeg,
    Png,
    Webp,
    Avif,
    Gif,
    Auto,
}

impl OutputFormat {
    pub fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Avif => "avif",
            Self::Gif => "gif",
            Self::Auto => "auto",
        }
    }

    /// The conventional file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            other => other.name(),
        }
    }

    /// The media type of the encoded bytes (`None` for `Auto`).
    pub fn mime(self) -> Option<&'static str> {
        Some(match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Avif => "image/avif",
            Self::Gif => "image/gif",
            Self::Auto => return None,
        })
    }

    /// Picks a concrete format for a client.
    ///
    /// `accept` is an HTTP `Accept` header value. AVIF is chosen only when
    /// `allow_avif` (it costs hundreds of JPEG encodes), then WebP; otherwise
    /// PNG for images with transparency and JPEG for opaque ones.
    pub fn negotiate(accept: &str, has_alpha: bool, allow_avif: bool) -> OutputFormat {
        let accepts = |mime: &str| {
            accept.split(',').any(|item| {
                let mut parts = item.split(';').map(str::trim);
                let is_mime = parts.next().is_some_and(|m| m.eq_ignore_ascii_case(mime));
                let refused =
                    parts.any(|p| p.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()).is_some_and(|q| q <= 0.0));
                is_mime && !refused
            })
        };
        if allow_avif && accepts("image/avif") {
            Self::Avif
        } else if accepts("image/webp") {
            Self::Webp
        } else if has_alpha {
            Self::Png
        } else {
            Self::Jpeg
        }
    }
}

impl FromStr for OutputFormat {
    type Err = ImagingError;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "jpeg" | "jpg" => Self::Jpeg,
            "png" => Self::Png,
            "webp" => Self::Webp,
            "avif" => Self::Avif,
            "gif" => Self::Gif,
            "auto" => Self::Auto,
            other => {
                return Err(ImagingError::UnsupportedFormat(format!(
                    "cannot write '{other}': choose jpeg, png, webp, avif, gif or auto"
                )));
            }
        })
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for format in ImageFormat::ALL {
            assert_eq!(ImageFormat::from_name(format.name()), Some(format));
        }
        assert_eq!(ImageFormat::from_name("jpg"), None);
    }

    #[test]
    fn sniffs_magic_bytes_not_names() {
        assert_eq!(ImageFormat::sniff(b"\xFF\xD8\xFF\xE0rest"), Some(ImageFormat::Jpeg));
        assert_eq!(ImageFormat::sniff(b"\x89PNG\r\n\x1a\n...."), Some(ImageFormat::Png));
        assert_eq!(ImageFormat::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(ImageFormat::Webp));
        assert_eq!(ImageFormat::sniff(b"RIFF\0\0\0\0WAVEfmt "), None);
        assert_eq!(ImageFormat::sniff(b"\0\0\0\x1cftypavif\0\0\0\0mif1miaf"), Some(ImageFormat::Avif));
        assert_eq!(ImageFormat::sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1"), Some(ImageFormat::Heic));
        assert_eq!(ImageFormat::sniff(b"\0\0\0\x18ftypisom\0\0\0\0mp41"), None);
    }

    #[test]
    fn detect_names_what_was_sent() {
        let err = ImageFormat::detect(b"%PDF-1.4 ...").unwrap_err();
        assert!(err.to_string().contains("PDF"), "{err}");
        let err = ImageFormat::detect(b"<?xml version='1.0'?><svg xmlns=...").unwrap_err();
        assert!(err.to_string().contains("SVG"), "{err}");
        assert_eq!(err.code(), "unsupported_format");
    }

    #[test]
    fn negotiation_follows_accept_and_alpha() {
        let chrome = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8";
        assert_eq!(OutputFormat::negotiate(chrome, false, true), OutputFormat::Avif);
        assert_eq!(OutputFormat::negotiate(chrome, false, false), OutputFormat::Webp);
        assert_eq!(OutputFormat::negotiate("image/webp;q=0, */*", true, true), OutputFormat::Png);
        assert_eq!(OutputFormat::negotiate("*/*", false, true), OutputFormat::Jpeg);
        assert_eq!(OutputFormat::negotiate("", true, true), OutputFormat::Png);
    }

    #[test]
    fn parses_output_names() {
        assert_eq!("JPG".parse::<OutputFormat>().unwrap(), OutputFormat::Jpeg);
        assert!("bad".parse::<OutputFormat>().is_err());
    }
}
