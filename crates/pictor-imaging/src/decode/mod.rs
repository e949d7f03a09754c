//! Decoding: bytes in, an upright sRGB [`Image`] out.
//!
//! Every decode runs the same steps, in this order:
//! 1. sniff the format from magic bytes ([`ImageFormat::detect`]);
//! 2. read the header only, and refuse before any pixel is decoded if the
//!    picture breaks a [`Limits`] (pixels, frames, or a size the file's byte
//!    count cannot possibly hold);
//! 3. decode, at 1/2, 1/4 or 1/8 scale for JPEG when the caller will shrink
//!    the picture anyway (shrink-on-load, see [`jpeg`]), or from a HEIC's
//!    embedded thumbnail when it is large enough (see [`heic`]);
//! 4. convert an embedded ICC profile to sRGB and 16-bit samples to 8-bit;
//! 5. apply the EXIF orientation so the picture is upright. HEIC and AVIF
//!    decoders turn their pictures upright themselves, from the container's
//!    `irot`/`imir` (see [`heif`]): the header reports that turn as its
//!    orientation, so that [`Header::upright_size`] is the displayed size.

mod av1;
mod avif;
mod frames;
mod generic;
mod heic;
mod heif;
mod jpeg;
mod jpeg_progressive;
mod metadata;

/// Entry points for `fuzz/` only (cargo-fuzz builds with `--cfg fuzzing`).
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    /// The progressive decoder at 1/`shrink` (8 or 4) alone: any JPEG
    /// reaches it here, not only those large enough to be shrunk that much.
    pub fn jpeg_progressive(bytes: &[u8], shrink: u32) -> crate::Result<Option<crate::Image>> {
        super::jpeg_progressive::decode(bytes, shrink)
    }
}

use crate::error::{ImagingError, Result};
use crate::format::ImageFormat;
use crate::image::Image;
use crate::orient::Orientation;

pub use frames::frame_count;
pub use heif::Sizes as HeifSizes;
#[cfg(test)]
pub(crate) use metadata::exif_orientation;
pub use metadata::xmp_orientation;

/// Refusals made from the header, before decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest width × height accepted (default 100 megapixels).
    pub max_pixels: u64,
    /// Largest number of animation frames accepted (default 1000).
    pub max_frames: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_pixels: 100_000_000, max_frames: 1000 }
    }
}

/// What the header says, read without decoding pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub format: ImageFormat,
    /// Size as stored, before orientation.
    pub width: u32,
    pub height: u32,
    pub orientation: Orientation,
    pub frames: u32,
}

impl Header {
    /// Size once turned upright.
    pub fn upright_size(&self) -> (u32, u32) {
        self.orientation.upright_size((self.width, self.height))
    }
}

/// A decoded picture with what was learnt on the way.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// Upright, 8-bit sRGB pixels.
    pub image: Image,
    pub header: Header,
    /// The raw EXIF block (TIFF structure, without the `Exif\0\0` prefix).
    pub exif: Option<Vec<u8>>,
    /// The embedded ICC profile, already applied to `image`.
    pub icc: Option<Vec<u8>>,
    /// The shrink-on-load denominator used: 1, 2, 4 or 8 for JPEG; for a
    /// HEIC decoded from its embedded thumbnail, the full upright width
    /// over the thumbnail's, rounded (13 for 4032 px from 320 px).
    pub shrink: u32,
}

/// Reads the header only: format, stored size, orientation, frame count.
pub fn probe(bytes: &[u8]) -> Result<Header> {
    let format = ImageFormat::detect(bytes)?;
    match format {
        ImageFormat::Jpeg => jpeg::probe(bytes),
        ImageFormat::Heic | ImageFormat::Avif => guard_panics(|| Ok(heif::open(bytes, format)?.header)),
        _ => guard_panics(|| generic::probe(bytes, format)),
    }
}

/// A HEIC or AVIF picture's size as stored (`ispe`) and as decoded
/// (cropped, upright): the one reading of HEIF geometry, which pictor-meta
/// reports too.
pub fn heif_sizes(bytes: &[u8]) -> Result<HeifSizes> {
    match ImageFormat::detect(bytes)? {
        format @ (ImageFormat::Heic | ImageFormat::Avif) => guard_panics(|| heif::sizes(bytes, format)),
        other => Err(ImagingError::UnsupportedFormat(format!("{other} is not a HEIF picture"))),
    }
}

/// Decodes at full resolution.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Decoded> {
    decode_with(bytes, limits, &|_| 1.0)
}

/// Decodes, letting `shrink_for` say how much the caller will scale the
/// upright picture down (2.0 = to half size), so that a JPEG can be decoded
/// at a reduced scale while leaving at least 2× for the final resize filter.
pub fn decode_with(bytes: &[u8], limits: &Limits, shrink_for: &dyn Fn(&Header) -> f64) -> Result<Decoded> {
    let format = ImageFormat::detect(bytes)?;
    let (mut decoded, upright) = match format {
        ImageFormat::Jpeg => (jpeg::decode(bytes, limits, shrink_for)?, false),
        ImageFormat::Heic => (guard_panics(|| heic::decode(bytes, limits, shrink_for))?, true),
        ImageFormat::Avif => (guard_panics(|| avif::decode(bytes, limits))?, true),
        _ => (guard_panics(|| generic::decode(bytes, format, limits))?, false),
    };
    if let Some(icc) = &decoded.icc {
        crate::color::to_srgb(&mut decoded.image, icc);
    }
    if !upright {
        decoded.image = decoded.header.orientation.apply(decoded.image);
    }
    Ok(decoded)
}

/// A decoder bug on hostile input must cost one request, not the process:
/// a panic inside a third-party decoder becomes `Corrupt`.
fn guard_panics<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
    let was_guarded = GUARDED.replace(true);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
    GUARDED.set(was_guarded);
    outcome.unwrap_or_else(|panic| {
        let msg =
            panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned());
        Err(ImagingError::Corrupt(format!("the decoder failed on this file ({})", msg.unwrap_or_default())))
    })
}

thread_local! {
    /// Set while a decoder runs under [`guard_panics`].
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Keeps panics that [`guard_panics`] turns into `Corrupt` errors from
/// printing a message and backtrace: hostile files are expected, and their
/// error already carries the message. Every other panic reaches the hook
/// that was installed before. Idempotent; call it once at start.
pub fn quiet_guarded_panics() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.get() {
                previous(info);
            }
        }));
    });
}

/// Refuses a header that breaks the limits.
///
/// `max_pixels_per_byte` bounds how many pixels one byte of this format can
/// encode at best; a header claiming more is lying (or the file is cut
/// short), and decoding it would allocate memory the data cannot justify.
fn check_limits(header: &Header, limits: &Limits, file_len: usize, max_pixels_per_byte: Option<u64>) -> Result<()> {
    let pixels = u64::from(header.width) * u64::from(header.height);
    if header.width == 0 || header.height == 0 {
        return Err(ImagingError::Corrupt(format!("{} header gives a zero size", header.format)));
    }
    if pixels > limits.max_pixels {
        return Err(ImagingError::TooLarge(format!(
            "{}x{} is {:.1} megapixels, over the limit of {:.1}; raise the pixel limit to accept it",
            header.width,
            header.height,
            pixels as f64 / 1e6,
            limits.max_pixels as f64 / 1e6
        )));
    }
    if header.frames > limits.max_frames {
        return Err(ImagingError::TooLarge(format!(
            "{} frames, over the limit of {}; raise the frame limit to accept it",
            header.frames, limits.max_frames
        )));
    }
    if let Some(ratio) = max_pixels_per_byte
        && pixels > ratio.saturating_mul(file_len as u64)
    {
        return Err(ImagingError::Corrupt(format!(
            "header claims {}x{} but {} bytes cannot hold that many pixels: the file is truncated or forged",
            header.width, header.height, file_len
        )));
    }
    Ok(())
}
