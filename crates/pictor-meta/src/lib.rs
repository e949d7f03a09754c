//! Metadata extraction: what a picture says about itself, read from its bytes.
//!
//! Pictor shows camera, date, exposure and place next to each original, and
//! keeps a summary in the shape of the AWS image-recognition reference
//! architecture ([`reference_shape`]). None of that needs pixels, so this
//! crate never decodes an image: it walks container structure (JPEG
//! markers, PNG chunks, RIFF chunks, ISO-BMFF boxes, TIFF IFDs) to find the
//! EXIF block, the ICC profile and the stored size, then reads the EXIF
//! fields with `kamadak-exif`. That keeps metadata available for formats the
//! imaging engine cannot decode (HEIC, AVIF) and for files whose pixel data
//! is damaged but whose headers are intact.
//!
//! Everything is pure: bytes in, [`Metadata`] out, no I/O. Input is
//! untrusted, so every read is bounds-checked and the one third-party
//! parser runs under `catch_unwind`; [`extract`] returns a typed
//! [`MetaError`] and never panics.
//!
//! Values follow ExifTool's reading of the same fields, which is the
//! acceptance bar (see `tests/exiftool_agreement.rs`).

mod bmff;
mod exif;
mod icc;
mod jpeg;
mod png;
mod shape;
mod simple;
mod summary;
mod tiff;
mod webp;

use pictor_imaging::ImageFormat;
use serde::{Deserialize, Serialize};

pub use shape::reference_shape;
pub use summary::utc_ms;

/// Everything Pictor records about an original.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Metadata {
    /// Upper-case GraphicsMagick `identify` name: JPEG, PNG, WEBP, GIF, TIFF, BMP, AVIF, HEIC.
    pub format: String,
    pub mime: String,
    /// Size as stored, before any orientation; 0×0 when the file carries
    /// metadata but no readable size (e.g. a JPEG cut short after its EXIF).
    pub width: u32,
    pub height: u32,
    /// Size once displayed upright: EXIF orientation 5–8 swap the axes
    /// (for HEIC/AVIF the container's `irot` decides instead).
    pub upright_width: u32,
    pub upright_height: u32,
    pub file_size: u64,
    /// Animation frames (GIF, WebP, APNG), else 1.
    pub frames: u32,
    /// The ICC profile's description (`desc` tag, v2 text or v4 `mluc`).
    pub icc_description: Option<String>,
    pub exif: Exif,
    /// Present when latitude and longitude are both given with their N/S, E/W references.
    pub gps: Option<Gps>,
}

/// The EXIF fields Pictor shows; each is absent when the file does not carry it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Exif {
    pub make: Option<String>,
    pub model: Option<String>,
    /// `"YYYY:MM:DD HH:MM:SS"`, exactly as EXIF stores it.
    pub date_time_original: Option<String>,
    /// The UTC offset of `date_time_original`, e.g. `"+02:00"`.
    pub offset_time_original: Option<String>,
    /// Seconds.
    pub exposure_time: Option<f64>,
    pub f_number: Option<f64>,
    pub iso: Option<u32>,
    /// Millimetres.
    pub focal_length: Option<f64>,
    pub lens_model: Option<String>,
    /// 1–8 from IFD0, or from IFD1 (the thumbnail's) when IFD0 has none.
    pub orientation: Option<u16>,
}

/// Where the picture was taken.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Gps {
    /// Signed decimal degrees, north positive.
    pub latitude: f64,
    /// Signed decimal degrees, east positive.
    pub longitude: f64,
    /// Metres; negative below sea level.
    pub altitude: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetaError {
    /// Not an image format Pictor knows.
    #[error("unsupported format: {0}")]
    UnsupportedFormat(String),
    /// A known format whose structure is broken where it matters.
    #[error("corrupt file: {0}")]
    Corrupt(String),
}

/// What a container walk finds, before the EXIF block is interpreted.
#[derive(Debug, Default)]
struct Parts {
    width: u32,
    height: u32,
    /// A TIFF structure (starting `II*\0` or `MM\0*`, `Exif\0\0` already stripped).
    exif: Option<Vec<u8>>,
    icc: Option<Vec<u8>>,
    xmp: Option<Vec<u8>>,
    /// HEIC/AVIF only: the size the decoder gives (crop, `irot`/`imir`,
    /// EXIF only without those), from pictor-imaging's reading.
    upright: Option<(u32, u32)>,
}

/// Reads the metadata of an image held in memory.
pub fn extract(bytes: &[u8]) -> Result<Metadata, MetaError> {
    let format = ImageFormat::sniff(bytes).ok_or_else(|| unsupported(bytes))?;
    let parts = match format {
        ImageFormat::Jpeg => jpeg::parts(bytes)?,
        ImageFormat::Png => png::parts(bytes)?,
        ImageFormat::Webp => webp::parts(bytes)?,
        ImageFormat::Tiff => tiff::parts(bytes)?,
        ImageFormat::Gif => simple::gif(bytes)?,
        ImageFormat::Bmp => simple::bmp(bytes)?,
        ImageFormat::Avif | ImageFormat::Heic => bmff::parts(bytes)?,
    };
    let fields = parts.exif.as_deref().map(exif::read).unwrap_or_default();
    // EXIF's orientation if it has one, else XMP's, read as the decoder reads it.
    let swaps = || match fields.exif.orientation {
        Some(o) => (5..=8).contains(&o),
        None => parts.xmp.as_deref().and_then(pictor_imaging::decode::xmp_orientation).is_some_and(|o| o.swaps_axes()),
    };
    let (upright_width, upright_height) = match parts.upright {
        Some(size) => size,
        None if swaps() => (parts.height, parts.width),
        None => (parts.width, parts.height),
    };
    Ok(Metadata {
        format: format.name().to_ascii_uppercase(),
        mime: format.mime().to_string(),
        width: parts.width,
        height: parts.height,
        upright_width,
        upright_height,
        file_size: bytes.len() as u64,
        frames: pictor_imaging::decode::frame_count(bytes, format),
        icc_description: parts.icc.as_deref().and_then(icc::description),
        exif: fields.exif,
        gps: fields.gps,
    })
}

/// The error for bytes that are no known image, saying what they look like.
fn unsupported(bytes: &[u8]) -> MetaError {
    match ImageFormat::detect(bytes) {
        Err(e) => MetaError::UnsupportedFormat(e.to_string()),
        Ok(_) => MetaError::UnsupportedFormat("unrecognised data".into()),
    }
}

fn corrupt(format: &str, what: &str) -> MetaError {
    MetaError::Corrupt(format!("{format}: {what}"))
}

/// Bounds-checked big- and little-endian reads shared by the container walkers.
pub(crate) mod read {
    pub fn be16(b: &[u8], at: usize) -> Option<u16> {
        Some(u16::from_be_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
    }
    pub fn be32(b: &[u8], at: usize) -> Option<u32> {
        Some(u32::from_be_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
    }
    pub fn be64(b: &[u8], at: usize) -> Option<u64> {
        Some(u64::from_be_bytes(b.get(at..at.checked_add(8)?)?.try_into().ok()?))
    }
    pub fn le16(b: &[u8], at: usize) -> Option<u16> {
        Some(u16::from_le_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
    }
    pub fn le32(b: &[u8], at: usize) -> Option<u32> {
        Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
    }
    /// Reads a `size`-byte big-endian unsigned integer (0, 4 or 8 bytes; 0 reads as 0).
    pub fn be_sized(b: &[u8], at: usize, size: usize) -> Option<u64> {
        match size {
            0 => Some(0),
            4 => be32(b, at).map(u64::from),
            8 => be64(b, at),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_images_are_unsupported_not_panics() {
        assert!(matches!(extract(b"%PDF-1.4"), Err(MetaError::UnsupportedFormat(m)) if m.contains("PDF")));
        assert!(matches!(extract(b""), Err(MetaError::UnsupportedFormat(_))));
    }

    #[test]
    fn truncated_headers_are_corrupt() {
        assert!(matches!(extract(b"\xFF\xD8\xFF\xE1\x00"), Err(MetaError::Corrupt(_))));
        assert!(matches!(extract(b"\x89PNG\r\n\x1a\n\0\0"), Err(MetaError::Corrupt(_))));
    }

    #[test]
    fn orientation_six_swaps_upright_size() {
        let exif = crate::exif::tests::tiff_with_orientation(6);
        let jpeg = crate::jpeg::tests::jpeg_with_app1(&exif, 40, 30);
        let m = extract(&jpeg).unwrap();
        assert_eq!((m.width, m.height, m.upright_width, m.upright_height), (40, 30, 30, 40));
        assert_eq!(m.exif.orientation, Some(6));
        assert_eq!(m.format, "JPEG");
        assert_eq!(m.file_size, jpeg.len() as u64);
    }
}
