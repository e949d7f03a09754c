//! What HEIC and AVIF share: the HEIF container (ISO/IEC 23008-12), read
//! with `heifer-isobmff` for both, so one parser decides sizes, transforms
//! and limits before either codec runs.
//!
//! The container, not EXIF, says how a HEIF picture is turned upright: a
//! crop (`clap`), then a rotation (`irot`), then a mirror (`imir`). Phones
//! write an EXIF orientation as well, describing the same turn, so applying
//! both would turn the picture twice; the EXIF orientation is only used when
//! the container has no `irot`/`imir` at all.

use heifer::heifer_isobmff::boxes::Property;
use heifer::heifer_isobmff::{HeifFile, ItemId};

use super::metadata::exif_orientation;
use super::{Header, Limits, check_limits};
use crate::error::{ImagingError, Result};
use crate::format::ImageFormat;
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
    let header = Header { format, width, height, orientation, frames: 1 };
    Ok(Container { file, primary, header, transformed: container_turn.is_some(), exif, icc })
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

/// The size of an item once cropped by its `clap`, before rotation.
fn cropped_size(file: &HeifFile<'_>, id: ItemId, format: ImageFormat) -> Result<(u32, u32)> {
    let (width, height) = file
        .image_size(id)
        .map_err(|e| container_error(format, e))?
        .ok_or_else(|| ImagingError::Corrupt(format!("{format} primary image has no size (`ispe`)")))?;
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
