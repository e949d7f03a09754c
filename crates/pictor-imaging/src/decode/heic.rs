//! HEIC: HEVC pictures in a HEIF container, decoded by `heifer` (pure
//! Rust, no libheif). heifer assembles grids, attaches alpha and applies
//! the container's crop, rotation and mirror, so its pixels come out
//! upright; colour stays in the file's space for [`crate::color`] to convert.

use super::heif::{self, Container};
use super::{Decoded, Limits};
use crate::error::{ImagingError, Result};
use crate::format::ImageFormat;
use crate::image::{Channels, Image};

/// Decodes the primary image, upright.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Decoded> {
    let container = heif::open(bytes, ImageFormat::Heic)?;
    heif::check(&container, limits, bytes.len())?;
    let options = heifer::Options { max_threads: 0, max_pixels: limits.max_pixels.saturating_mul(2) };
    let picture = heifer::decode_rgba8(bytes, &options).map_err(heic_error)?;
    let image = upright(into_image(picture)?, &container);
    let Container { header, exif, icc, .. } = container;
    Ok(Decoded { image, header, exif, icc, shrink: 1 })
}

/// heifer applied `irot`/`imir`; only an EXIF orientation is left to do.
fn upright(image: Image, container: &Container<'_>) -> Image {
    if container.transformed { image } else { container.header.orientation.apply(image) }
}

fn into_image(picture: heifer::Image<u8>) -> Result<Image> {
    let (width, height) = (picture.width, picture.height);
    if picture.has_alpha {
        Image::from_raw(width, height, Channels::Rgba, picture.data)
    } else {
        Image::from_raw(width, height, Channels::Rgb, picture.into_rgb8())
    }
}

fn heic_error(err: heifer::Error) -> ImagingError {
    match err {
        heifer::Error::Unsupported(what) => ImagingError::UnsupportedFormat(format!(
            "this HEIC uses {what}, which Pictor's decoder does not read; convert the file to JPEG or PNG first"
        )),
        other => ImagingError::Corrupt(format!("HEIC picture is damaged ({other}); re-export it from its source")),
    }
}
