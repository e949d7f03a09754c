//! HEIC: HEVC pictures in a HEIF container, decoded by `heifer` (pure
//! Rust, no libheif). heifer assembles grids, attaches alpha and applies
//! the container's crop, rotation and mirror, so its pixels come out
//! upright; colour stays in the file's space for [`crate::color`] to convert.
//!
//! Phones store a ~320 px thumbnail item (`thmb`) beside the 12 MP grid.
//! When the caller shrinks to no more pixels than it holds, that item is
//! decoded instead: one small HEVC picture rather than dozens of tiles.

use super::heif::{self, Container, Thumbnail};
use super::{Decoded, Header, Limits};
use crate::error::{ImagingError, Result};
use crate::format::ImageFormat;
use crate::image::{Channels, Image};

/// Decodes the primary image, upright, or its thumbnail when `shrink_for`
/// leaves no more pixels than the thumbnail has.
pub fn decode(bytes: &[u8], limits: &Limits, shrink_for: &dyn Fn(&Header) -> f64) -> Result<Decoded> {
    let container = heif::open(bytes, ImageFormat::Heic)?;
    heif::check(&container, limits, bytes.len())?;
    if let Some(thumbnail) = heif::thumbnail(&container, shrink_for(&container.header)) {
        return decode_thumbnail(container, &thumbnail);
    }
    let options = heifer::Options { max_threads: 0, max_pixels: limits.max_pixels.saturating_mul(2) };
    let picture = heifer::decode_rgba8(bytes, &options).map_err(heic_error)?;
    let mut image = upright(into_image(picture)?, &container);
    container.nclx_to_srgb(&mut image);
    let Container { header, exif, icc, .. } = container;
    Ok(Decoded { image, header, exif, icc, shrink: 1 })
}

/// Decodes the thumbnail item; heifer applies its own `clap`/`irot`/`imir`.
fn decode_thumbnail(container: Container<'_>, thumbnail: &Thumbnail) -> Result<Decoded> {
    let wide = heifer::decode_item(&container.file, thumbnail.id, 0).map_err(heic_error)?;
    let (width, height, has_alpha) = (wide.width, wide.height, wide.has_alpha);
    let picture = heifer::Image { width, height, bit_depth: 8, has_alpha, data: wide.to_rgba8() };
    let mut image = thumbnail.exif_turn.apply(into_image(picture)?);
    container.nclx_to_srgb(&mut image);
    let icc = thumbnail.icc.clone().or(container.icc);
    Ok(Decoded { image, header: container.header, exif: container.exif, icc, shrink: thumbnail.shrink })
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
