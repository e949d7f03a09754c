//! AVIF: AV1 pictures in a HEIF container. The container is read by the
//! same parser as HEIC ([`super::heif`]); each `av01` item's data is an AV1
//! bitstream for [`super::av1`]. Here the pieces are put together: grid
//! tiles, the alpha plane (un-premultiplied when flagged `prem`), then the
//! container's crop, rotation and mirror, so the picture comes out upright.

use heifer::heifer_isobmff::boxes::Property;
use heifer::heifer_isobmff::{HeifFile, ItemId};

use super::av1;
use super::heif::{self, Container, container_error};
use super::{Decoded, Limits};
use crate::error::{ImagingError, Result};
use crate::format::ImageFormat;
use crate::image::{Channels, Image};

/// Decodes the primary image, upright.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Decoded> {
    let container = heif::open(bytes, ImageFormat::Avif)?;
    heif::check(&container, limits, bytes.len())?;
    let max_pixels = limits.max_pixels.saturating_mul(2);
    let (file, primary) = (&container.file, container.primary);
    let signal = container.nclx.map(|n| av1::Signal { matrix: n.matrix, full_range: n.full_range });
    let colour = |obus: &[u8], max| av1::decode_rgb(obus, max, signal);
    let (width, height, rgb) = Plane { file, max_pixels, decode: &colour, channels: 3 }.item(primary)?;
    let mut image = Image::from_raw(width, height, Channels::Rgb, rgb)?;
    if let Some(alpha) = alpha_item(file, primary)? {
        let (w, h, luma) = Plane { file, max_pixels, decode: &av1::decode_luma, channels: 1 }.item(alpha)?;
        let premultiplied = file.referenced_items(primary, b"prem").contains(&alpha);
        image = with_alpha(image, (w, h), &luma, premultiplied)?;
    }
    // The header's orientation is the container's `irot`/`imir`, else EXIF's.
    let mut image = container.header.orientation.apply(clean_aperture(image, file, primary)?);
    container.nclx_to_srgb(&mut image);
    let Container { header, exif, icc, .. } = container;
    Ok(Decoded { image, header, exif, icc, shrink: 1 })
}

/// A decoder of one AV1 bitstream: `(width, height, samples)`.
type PlaneDecoder<'a> = &'a dyn Fn(&[u8], u64) -> Result<(u32, u32, Vec<u8>)>;

/// How one plane (colour or alpha) is decoded from a file's items.
struct Plane<'a> {
    file: &'a HeifFile<'a>,
    max_pixels: u64,
    decode: PlaneDecoder<'a>,
    /// Samples a pixel.
    channels: usize,
}

impl Plane<'_> {
    /// Decodes a coded (`av01`) or `grid` item.
    fn item(&self, id: ItemId) -> Result<(u32, u32, Vec<u8>)> {
        let item_type = self.file.item(id).map_err(|e| container_error(ImageFormat::Avif, e))?.item_type;
        match &item_type.0 {
            b"av01" => (self.decode)(&bitstream(self.file, id)?, self.max_pixels),
            b"grid" => self.grid(id),
            other => Err(ImagingError::UnsupportedFormat(format!(
                "this AVIF's picture is a `{}` item, which Pictor does not decode; convert the file to PNG first",
                String::from_utf8_lossy(other)
            ))),
        }
    }

    /// Assembles a grid's tiles, row by row, cropped to its output size.
    fn grid(&self, id: ItemId) -> Result<(u32, u32, Vec<u8>)> {
        let grid = self.file.grid(id).map_err(|e| container_error(ImageFormat::Avif, e))?;
        let tiles = self.file.referenced_items(id, b"dimg");
        let (width, height) = (grid.output_width as usize, grid.output_height as usize);
        if tiles.len() != usize::from(grid.rows) * usize::from(grid.columns) {
            return Err(ImagingError::Corrupt(format!(
                "AVIF grid of {}x{} tiles lists {} of them; re-export the picture from its source",
                grid.columns,
                grid.rows,
                tiles.len()
            )));
        }
        let channels = self.channels;
        let mut canvas = vec![0u8; width * height * channels];
        let (mut tile_w, mut tile_h) = (0, 0);
        for (index, &tile) in tiles.iter().enumerate() {
            let (w, h, samples) = self.item(tile)?;
            if index == 0 {
                (tile_w, tile_h) = (w as usize, h as usize);
            }
            let (column, row) = (index % usize::from(grid.columns), index / usize::from(grid.columns));
            let at = (column * tile_w, row * tile_h);
            paste(&mut canvas, (width, height), &samples, (w as usize, h as usize), at, channels);
        }
        Ok((grid.output_width, grid.output_height, canvas))
    }
}

/// The AV1 bitstream of an item: the configuration OBUs of its `av1C`
/// (a sequence header, when the encoder put it there), then its data.
fn bitstream(file: &HeifFile<'_>, id: ItemId) -> Result<Vec<u8>> {
    let properties = file.item_properties(id).map_err(|e| container_error(ImageFormat::Avif, e))?;
    let config_obus = properties
        .filter_map(|p| match p {
            Property::Unknown(kind, data) if kind.0 == *b"av1C" => data.get(4..),
            _ => None,
        })
        .next()
        .unwrap_or_default();
    let data = file.item_data(id).map_err(|e| container_error(ImageFormat::Avif, e))?;
    Ok([config_obus, &data].concat())
}

/// Copies a `size` tile into `canvas` at `at`, clipped to the canvas.
fn paste(
    canvas: &mut [u8],
    (width, height): (usize, usize),
    tile: &[u8],
    (tile_w, tile_h): (usize, usize),
    (x0, y0): (usize, usize),
    channels: usize,
) {
    let copy_w = tile_w.min(width.saturating_sub(x0));
    for y in 0..tile_h.min(height.saturating_sub(y0)) {
        let src = &tile[y * tile_w * channels..][..copy_w * channels];
        canvas[((y0 + y) * width + x0) * channels..][..copy_w * channels].copy_from_slice(src);
    }
}

/// The alpha plane of an item: an auxiliary (`auxl`) item typed as alpha.
fn alpha_item(file: &HeifFile<'_>, id: ItemId) -> Result<Option<ItemId>> {
    for aux in file.referencing_items(id, b"auxl") {
        let is_alpha = file
            .item_properties(aux)
            .map_err(|e| container_error(ImageFormat::Avif, e))?
            .any(|p| matches!(p, Property::AuxiliaryType(urn) if urn.ends_with(":alpha") || urn.ends_with("auxid:1")));
        if is_alpha {
            return Ok(Some(aux));
        }
    }
    Ok(None)
}

/// Adds the alpha plane as a fourth channel, dividing colour back out when
/// the encoder stored it premultiplied.
fn with_alpha(image: Image, size: (u32, u32), alpha: &[u8], premultiplied: bool) -> Result<Image> {
    if size != (image.width(), image.height()) {
        return Err(ImagingError::Corrupt(format!(
            "AVIF alpha plane is {}x{} for a {}x{} picture; re-export the picture from its source",
            size.0,
            size.1,
            image.width(),
            image.height()
        )));
    }
    let (width, height) = (image.width(), image.height());
    let mut rgba = Vec::with_capacity(alpha.len() * 4);
    for (rgb, &a) in image.data().chunks_exact(3).zip(alpha) {
        let colour = rgb.iter().map(|&c| if premultiplied { unpremultiply(c, a) } else { c });
        rgba.extend(colour.chain([a]));
    }
    Image::from_raw(width, height, Channels::Rgba, rgba)
}

fn unpremultiply(c: u8, a: u8) -> u8 {
    if a == 0 { 0 } else { ((u32::from(c) * 255 + u32::from(a) / 2) / u32::from(a)).min(255) as u8 }
}

/// Crops to the item's clean aperture (`clap`), if it has one.
fn clean_aperture(image: Image, file: &HeifFile<'_>, id: ItemId) -> Result<Image> {
    let properties = file.item_properties(id).map_err(|e| container_error(ImageFormat::Avif, e))?;
    let window = properties.into_iter().find_map(|p| match *p {
        Property::CleanAperture { width, height, horiz_offset, vert_offset } => {
            Some(aperture_window((image.width(), image.height()), width, height, horiz_offset, vert_offset))
        }
        _ => None,
    });
    match window {
        Some(Some((x, y, w, h))) => Ok(crate::ops::cut(&image, x, y, w, h)),
        Some(None) => Err(ImagingError::Corrupt(
            "AVIF clean aperture (`clap`) lies outside the picture; re-export the picture from its source".into(),
        )),
        None => Ok(image),
    }
}

/// The `(x, y, width, height)` a `clap` keeps of a `(w, h)` picture: a
/// window of the given size centred at the centre plus the offsets.
fn aperture_window(
    (w, h): (u32, u32),
    (cw_n, cw_d): (u32, u32),
    (ch_n, ch_d): (u32, u32),
    (ho_n, ho_d): (i32, u32),
    (vo_n, vo_d): (i32, u32),
) -> Option<(u32, u32, u32, u32)> {
    if cw_d == 0 || ch_d == 0 || ho_d == 0 || vo_d == 0 {
        return None;
    }
    let (cw, ch) = (cw_n / cw_d, ch_n / ch_d);
    let left = (f64::from(w) - f64::from(cw)) / 2.0 + f64::from(ho_n) / f64::from(ho_d);
    let top = (f64::from(h) - f64::from(ch)) / 2.0 + f64::from(vo_n) / f64::from(vo_d);
    let (x, y) = (left.round(), top.round());
    let fits = cw > 0
        && ch > 0
        && x >= 0.0
        && y >= 0.0
        && x + f64::from(cw) <= f64::from(w)
        && y + f64::from(ch) <= f64::from(h);
    fits.then_some((x as u32, y as u32, cw, ch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_aperture_is_centred_plus_offset() {
        assert_eq!(aperture_window((100, 50), (60, 1), (30, 1), (0, 1), (0, 1)), Some((20, 10, 60, 30)));
        assert_eq!(aperture_window((100, 50), (60, 1), (30, 1), (-20, 1), (10, 1)), Some((0, 20, 60, 30)));
        assert_eq!(aperture_window((100, 50), (60, 1), (30, 1), (-21, 1), (0, 1)), None);
        assert_eq!(aperture_window((100, 50), (60, 0), (30, 1), (0, 1), (0, 1)), None);
    }

    #[test]
    fn premultiplied_colour_is_divided_back_out() {
        assert_eq!(unpremultiply(64, 128), 128);
        assert_eq!(unpremultiply(10, 0), 0);
        assert_eq!(unpremultiply(255, 255), 255);
    }
}
