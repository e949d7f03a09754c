//! Every format but JPEG, through the pure-Rust decoders of the `image`
//! crate family (png, gif, tiff, bmp, image-webp). Animated files give
//! their first frame; 16-bit, palette and grey images become 8-bit RGB(A).

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader};

use super::metadata::orientation;
use super::{Decoded, Header, Limits, check_limits, frame_count};
use crate::error::{ImagingError, Result};
use crate::format::ImageFormat;
use crate::image::{Channels, Image};
use crate::orient::Orientation;

/// Deflate expands at most 1032:1, and a 1-bit PNG packs 8 pixels a byte.
const PNG_MAX_PIXELS_PER_BYTE: u64 = 1032 * 8 + 8;

pub fn probe(bytes: &[u8], format: ImageFormat) -> Result<Header> {
    let mut decoder = open(bytes, format, &Limits::default())?;
    Ok(read_header(&mut decoder, bytes, format).0)
}

pub fn decode(bytes: &[u8], format: ImageFormat, limits: &Limits) -> Result<Decoded> {
    let mut decoder = open(bytes, format, limits)?;
    let (header, exif) = read_header(&mut decoder, bytes, format);
    let ratio = (format == ImageFormat::Png).then_some(PNG_MAX_PIXELS_PER_BYTE);
    check_limits(&header, limits, bytes.len(), ratio)?;
    if format == ImageFormat::Gif {
        let (w, h) = super::frames::gif_extent(bytes);
        if w * h > limits.max_pixels {
            return Err(ImagingError::TooLarge(format!(
                "GIF frames reach out to a {w}x{h} canvas, over the limit of {:.1} megapixels",
                limits.max_pixels as f64 / 1e6
            )));
        }
    }
    let icc = decoder.icc_profile().ok().flatten();
    let image = into_image(DynamicImage::from_decoder(decoder)?)?;
    Ok(Decoded { image, header, exif, icc, shrink: 1 })
}

fn open<'a>(bytes: &'a [u8], format: ImageFormat, limits: &Limits) -> Result<Box<dyn ImageDecoder + 'a>> {
    let image_format = match format {
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Gif => image::ImageFormat::Gif,
        ImageFormat::Webp => image::ImageFormat::WebP,
        ImageFormat::Tiff => image::ImageFormat::Tiff,
        ImageFormat::Bmp => image::ImageFormat::Bmp,
        other => unreachable!("{other} has its own decoder"),
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format);
    // The decoders check these too, before allocating frame buffers.
    let mut image_limits = image::Limits::default();
    let side = u32::try_from(limits.max_pixels).unwrap_or(u32::MAX);
    image_limits.max_image_width = Some(side);
    image_limits.max_image_height = Some(side);
    image_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8).max(64 << 20));
    reader.limits(image_limits);
    Ok(Box::new(reader.into_decoder()?))
}

fn read_header(
    decoder: &mut Box<dyn ImageDecoder + '_>,
    bytes: &[u8],
    format: ImageFormat,
) -> (Header, Option<Vec<u8>>) {
    let (width, height) = decoder.dimensions();
    let exif = decoder.exif_metadata().ok().flatten();
    let xmp = decoder.xmp_metadata().ok().flatten();
    let header = Header {
        format,
        width,
        height,
        // The decoder knows where its format keeps EXIF (TIFF: in the IFD itself).
        orientation: match decoder.orientation().map(|o| u32::from(o.to_exif())) {
            Ok(n) if n != 1 => Orientation::from_exif(n),
            _ => orientation(exif.as_deref(), xmp.as_deref()),
        },
        frames: frame_count(bytes, format),
    };
    (header, exif)
}

fn into_image(decoded: DynamicImage) -> Result<Image> {
    let (w, h) = (decoded.width(), decoded.height());
    let image = if decoded.color().has_alpha() {
        Image::from_raw(w, h, Channels::Rgba, decoded.into_rgba8().into_raw())?
    } else {
        Image::from_raw(w, h, Channels::Rgb, decoded.into_rgb8().into_raw())?
    };
    Ok(image)
}
