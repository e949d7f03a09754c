//! What HEIC and AVIF share: the HEIF container (ISO/IEC 23008-12), read
//! with `heifer-isobmff` for both, so one parser decides sizes, transforms
//! and limits before either codec runs.
//!
//! The container, not EXIF, says how a HEIF picture is turned upright: a
//! crop (`clap`), then a rotation (`irot`), then a mirror (`imir`). Phones
//! write an EXIF orientation as well, describing the same turn, so applying
//! both would turn the picture twice; the EXIF orientation is only used when
//! the container has no `irot`/`imir` at all.

use heifer::heifer_isobmff::boxes::{ColorInfo, Property};
use heifer::heifer_isobmff::{HeifFile, ItemId};

use super::metadata::exif_orientation;
use super::{Header, Limits, check_limits};
use crate::error::{ImagingError, Result};
use crate::format::ImageFormat;
use crate::image::Image;
use crate::orient::Orientation;

/// More tiles than any camera writes (a 200 MP phone photo has ~800).
const MAX_GRID_TILES: u32 = 4096;

/// The primary image of a HEIF file, as the header describes it.
pub struct Container<'a> {
    pub file: HeifFile<'a>,
    pub primary: ItemId,
    pub header: Header,
    /// True when `irot`/`imir` gave the orientation (and EXIF was ignored).
    pub transformed: bool,
    pub exif: Option<Vec<u8>>,
    pub icc: Option<Vec<u8>>,
    /// The `nclx` colour of the primary image (or of its first tile).
    pub nclx: Option<Nclx>,
}

/// Coded colour parameters (ITU-T H.273 code points) from a `colr` box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nclx {
    pub primaries: u16,
    pub transfer: u16,
    pub matrix: u16,
    pub full_range: bool,
}

impl Container<'_> {
    /// Converts a picture tagged by its `nclx` alone (Display P3, BT.2020)
    /// to sRGB; an ICC profile wins, and is applied by `decode_with`.
    pub fn nclx_to_srgb(&self, image: &mut Image) {
        if let (None, Some(nclx)) = (&self.icc, self.nclx) {
            crate::color::cicp_to_srgb(image, nclx.primaries, nclx.transfer);
        }
    }
}

/// Parses the container and reads the header of its primary image.
pub fn open(bytes: &[u8], format: ImageFormat) -> Result<Container<'_>> {
    let file = HeifFile::parse(bytes).map_err(|e| container_error(format, e))?;
    let primary = file.primary_id;
    let (width, height) = cropped_size(&file, primary, format)?;
    let exif = file.exif(primary).ok().flatten();
    let container_turn = transforms(&file, primary, format)?;
    let orientation = container_turn.or_else(|| exif.as_deref().and_then(exif_orientation)).unwrap_or_default();
    let icc = file.icc_profile(primary).ok().flatten().map(<[u8]>::to_vec);
    let nclx = nclx(&file, primary);
    let header = Header { format, width, height, orientation, frames: 1 };
    Ok(Container { file, primary, header, transformed: container_turn.is_some(), exif, icc, nclx })
}

/// Refuses, before decoding, a primary image that breaks `limits`: its
/// size, and for a grid its tile count and the pixels of all its tiles.
pub fn check(container: &Container<'_>, limits: &Limits, file_len: usize) -> Result<()> {
    check_limits(&container.header, limits, file_len, None)?;
    let (file, primary) = (&container.file, container.primary);
    if file.item(primary).map_err(|e| container_error(container.header.format, e))?.item_type.0 != *b"grid" {
        return Ok(());
    }
    let grid = file.grid(primary).map_err(|e| container_error(container.header.format, e))?;
    let tiles = u32::from(grid.rows) * u32::from(grid.columns);
    if tiles > MAX_GRID_TILES {
        return Err(ImagingError::TooLarge(format!(
            "a grid of {tiles} tiles, over the limit of {MAX_GRID_TILES}; this file cannot be a photo"
        )));
    }
    let tile = file.referenced_items(primary, b"dimg").first().copied();
    let tile_size = tile.and_then(|t| file.image_size(t).ok().flatten()).unwrap_or((0, 0));
    let tile_pixels = u64::from(tile_size.0) * u64::from(tile_size.1) * u64::from(tiles);
    if tile_pixels > limits.max_pixels.saturating_mul(2) {
        return Err(ImagingError::TooLarge(format!(
            "the grid's {tiles} tiles of {}x{} hold {:.1} megapixels, over twice the limit of {:.1}; raise the pixel limit to accept it",
            tile_size.0,
            tile_size.1,
            tile_pixels as f64 / 1e6,
            limits.max_pixels as f64 / 1e6
        )));
    }
    Ok(())
}

/// A `thmb` item that can stand in for the primary image.
pub struct Thumbnail {
    pub id: ItemId,
    /// The EXIF orientation left to apply after the item's own `irot`/`imir`.
    pub exif_turn: Orientation,
    pub icc: Option<Vec<u8>>,
    /// The full upright width over the thumbnail's, rounded (see [`super::Decoded::shrink`]).
    pub shrink: u32,
}

/// The smallest thumbnail of the primary image, of its upright aspect, that
/// holds at least the pixels left after the caller shrinks by `shrink`.
pub fn thumbnail(container: &Container<'_>, shrink: f64) -> Option<Thumbnail> {
    let (w, h) = container.header.upright_size();
    let (need_w, need_h) = (f64::from(w) / shrink, f64::from(h) / shrink);
    let file = &container.file;
    let fits = |&(_, (tw, th), _): &(ItemId, (u32, u32), Orientation)| {
        let enough = f64::from(tw) + 0.5 >= need_w && f64::from(th) + 0.5 >= need_h;
        let same_aspect = (f64::from(tw) * f64::from(h) - f64::from(th) * f64::from(w)).abs() <= 1.5 * f64::from(h);
        enough && same_aspect && u64::from(tw) * u64::from(th) < u64::from(w) * u64::from(h)
    };
    let (id, (tw, _), exif_turn) = file
        .referencing_items(container.primary, b"thmb")
        .into_iter()
        .filter_map(|id| upright_thumbnail(container, id))
        .filter(fits)
        .min_by_key(|&(_, (tw, th), _)| u64::from(tw) * u64::from(th))?;
    let icc = file.icc_profile(id).ok().flatten().map(<[u8]>::to_vec);
    Some(Thumbnail { id, exif_turn, icc, shrink: (f64::from(w) / f64::from(tw)).round() as u32 })
}

/// A thumbnail's upright size, and the EXIF turn left once its own
/// `irot`/`imir` are applied: the primary's, when neither has those.
fn upright_thumbnail(container: &Container<'_>, id: ItemId) -> Option<(ItemId, (u32, u32), Orientation)> {
    let format = container.header.format;
    let stored = cropped_size(&container.file, id, format).ok()?;
    let own = transforms(&container.file, id, format).ok()?;
    let exif_turn =
        if own.is_none() && !container.transformed { container.header.orientation } else { Orientation::default() };
    Some((id, own.unwrap_or(exif_turn).upright_size(stored), exif_turn))
}

/// The `nclx` of an item, else of its first source (a grid's tiles carry it).
fn nclx(file: &HeifFile<'_>, id: ItemId) -> Option<Nclx> {
    let own = |id| {
        file.item_properties(id).ok()?.find_map(|p| match *p {
            Property::Color(ColorInfo::Nclx { primaries, transfer, matrix, full_range }) => {
                Some(Nclx { primaries, transfer, matrix, full_range })
            }
            _ => None,
        })
    };
    own(id).or_else(|| own(*file.referenced_items(id, b"dimg").first()?))
}

/// A HEIF picture's size as stored (its `ispe`, which exiftool reports)
/// and as decoded (cropped, then turned upright).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub stored: (u32, u32),
    pub upright: (u32, u32),
}

/// The sizes of the primary image, read as the decoders read them.
pub fn sizes(bytes: &[u8], format: ImageFormat) -> Result<Sizes> {
    let container = open(bytes, format)?;
    let stored = stored_size(&container.file, container.primary, format)?;
    Ok(Sizes { stored, upright: container.header.upright_size() })
}

/// The size of an item as coded (`ispe`).
fn stored_size(file: &HeifFile<'_>, id: ItemId, format: ImageFormat) -> Result<(u32, u32)> {
    file.image_size(id)
        .map_err(|e| container_error(format, e))?
        .ok_or_else(|| ImagingError::Corrupt(format!("{format} primary image has no size (`ispe`)")))
}

/// The size of an item once cropped by its `clap`, before rotation.
fn cropped_size(file: &HeifFile<'_>, id: ItemId, format: ImageFormat) -> Result<(u32, u32)> {
    let (width, height) = stored_size(file, id, format)?;
    let crop = file.item_properties(id).map_err(|e| container_error(format, e))?.find_map(|p| match *p {
        Property::CleanAperture { width: (wn, wd), height: (hn, hd), .. } if wd != 0 && hd != 0 => {
            Some(((wn / wd).min(width), (hn / hd).min(height)))
        }
        _ => None,
    });
    Ok(crop.unwrap_or((width, height)))
}

/// The `irot` and `imir` properties of an item, in order, as one
/// orientation; `None` when it has neither.
fn transforms(file: &HeifFile<'_>, id: ItemId, format: ImageFormat) -> Result<Option<Orientation>> {
    let turns = file.item_properties(id).map_err(|e| container_error(format, e))?.filter_map(|p| match *p {
        Property::Rotation(quarters) => Some(Orientation::anticlockwise_quarters(quarters)),
        // heifer's reading of `imir`: `true` exchanges top and bottom.
        Property::Mirror(top_bottom) => Some(if top_bottom { Orientation::FlipV } else { Orientation::FlipH }),
        _ => None,
    });
    Ok(turns.reduce(Orientation::then))
}

/// A container the parser refused.
pub fn container_error(format: ImageFormat, err: heifer::heifer_isobmff::Error) -> ImagingError {
    ImagingError::Corrupt(format!("{format} container is damaged ({err}); re-export the picture from its source"))
}
