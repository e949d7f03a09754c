//! HEIC and AVIF: ISO base media file format (ISO/IEC 14496-12) boxes,
//! read with the HEIF item model (ISO/IEC 23008-12).
//!
//! The imaging engine cannot decode these, but their metadata is plain box
//! structure. Inside the top-level `meta` box:
//! - `pitm` names the primary item (the picture);
//! - `iinf` lists items; the one of type `Exif` holds EXIF, a `mime` item
//!   of type `application/rdf+xml` holds XMP;
//! - `iloc` says where each item's bytes are (file offsets, or inside `idat`);
//! - `iprp` holds properties (`ipco`) and which items they belong to
//!   (`ipma`): `colr` of type `prof`/`rICC` is the ICC profile.
//!
//! An `Exif` item starts with a 4-byte big-endian offset to the TIFF header
//! (normally 6, skipping `Exif\0\0`).
//!
//! Sizes are not read here: pictor-imaging's HEIF reader, which the
//! decoders use, gives the stored size (`ispe`) and the upright one (`clap`,
//! `irot`/`imir`, EXIF only without those), so the two crates cannot differ.

use crate::read::{be_sized, be16, be32, be64};
use crate::{MetaError, Parts, corrupt};

pub fn parts(b: &[u8]) -> Result<Parts, MetaError> {
    let meta =
        children(b).find(|x| matches!(&x.kind, b"meta" | b"mini")).ok_or_else(|| corrupt("HEIF", "no 'meta' box"))?;
    if &meta.kind == b"mini" {
        return Err(MetaError::UnsupportedFormat(
            "compact HEIF (a `mini` box, brand mif3) is not read yet; convert the file to a classic HEIF or JPEG"
                .into(),
        ));
    }
    let meta = Meta::parse(meta.body.get(4..).unwrap_or_default());
    let primary = meta.primary.ok_or_else(|| corrupt("HEIF", "no primary item ('pitm')"))?;
    let sizes = pictor_imaging::decode::heif_sizes(b).map_err(|e| corrupt("HEIF", &e.to_string()))?;
    let props = meta.properties_of(primary);
    // Grid pictures may leave the profile on their tiles: any `prof` will do then.
    let icc = props.iter().find_map(icc_of_colr).or_else(|| meta.properties.iter().find_map(icc_of_colr));
    let exif = meta.items_of_type(b"Exif").find_map(|id| meta.item_data(b, id)).and_then(|d| tiff_of_exif_item(&d));
    let xmp = meta.xmp_item().and_then(|id| meta.item_data(b, id));
    let (width, height) = sizes.stored;
    Ok(Parts { width, height, exif, icc, xmp, upright: Some(sizes.upright) })
}

/// A box: its four-character type and its body (after the header).
#[derive(Clone, Copy)]
struct Bx<'a> {
    kind: [u8; 4],
    body: &'a [u8],
}

/// The boxes laid end to end in `b`; stops at one whose size does not fit.
fn children(b: &[u8]) -> impl Iterator<Item = Bx<'_>> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let size = be32(b, pos)? as u64;
        let kind: [u8; 4] = b.get(pos + 4..pos + 8)?.try_into().ok()?;
        let (header, size) = match size {
            0 => (8, (b.len() - pos) as u64), // extends to the end
            1 => (16, be64(b, pos + 8)?),     // 64-bit size follows
            n => (8, n),
        };
        let end = pos.checked_add(usize::try_from(size).ok()?)?;
        let body = b.get(pos + header..end)?;
        pos = end;
        Some(Bx { kind, body })
    })
}

/// A full box's body without its version and flags.
fn full_body<'a>(bx: &Bx<'a>) -> (u8, u32, &'a [u8]) {
    let version = bx.body.first().copied().unwrap_or(0);
    let flags = be32(bx.body, 0).unwrap_or(0) & 0x00FF_FFFF;
    (version, flags, bx.body.get(4..).unwrap_or_default())
}

/// Where an item's bytes are: `(construction method, extents as (offset, length))`.
struct Location {
    id: u32,
    in_idat: bool,
    extents: Vec<(u64, u64)>,
}

/// A HEIF item: its id, type and (for `mime` items) content type.
struct Item {
    id: u32,
    kind: [u8; 4],
    content_type: Vec<u8>,
}

#[derive(Default)]
struct Meta<'a> {
    primary: Option<u32>,
    items: Vec<Item>,
    locations: Vec<Location>,
    properties: Vec<Bx<'a>>,
    /// `(item id, 1-based property indices)`.
    associations: Vec<(u32, Vec<u16>)>,
    idat: &'a [u8],
}

impl<'a> Meta<'a> {
    fn parse(body: &'a [u8]) -> Self {
        let mut meta = Meta::default();
        for bx in children(body) {
            match &bx.kind {
                b"pitm" => meta.primary = pitm(&bx),
                b"iinf" => meta.items = iinf(&bx),
                b"iloc" => meta.locations = iloc(&bx).unwrap_or_default(),
                b"idat" => meta.idat = bx.body,
                b"iprp" => {
                    for inner in children(bx.body) {
                        match &inner.kind {
                            b"ipco" => meta.properties = children(inner.body).collect(),
                            b"ipma" => meta.associations.extend(ipma(&inner).unwrap_or_default()),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        meta
    }

    fn properties_of(&self, item: u32) -> Vec<Bx<'a>> {
        let indices = self.associations.iter().filter(|(id, _)| *id == item).flat_map(|(_, ix)| ix.iter());
        indices.filter_map(|&i| self.properties.get(usize::from(i).checked_sub(1)?).copied()).collect()
    }

    fn items_of_type<'s>(&'s self, kind: &'s [u8; 4]) -> impl Iterator<Item = u32> + 's {
        self.items.iter().filter(move |i| &i.kind == kind).map(|i| i.id)
    }

    fn xmp_item(&self) -> Option<u32> {
        let is_xmp = |i: &&Item| &i.kind == b"mime" && i.content_type == b"application/rdf+xml";
        self.items.iter().find(is_xmp).map(|i| i.id)
    }

    /// An item's bytes, its extents joined; `None` if any extent lies outside
    /// the data, or if the extents add up to more than the file (a hostile
    /// file could repeat one large extent thousands of times).
    fn item_data(&self, file: &[u8], id: u32) -> Option<Vec<u8>> {
        let loc = self.locations.iter().find(|l| l.id == id)?;
        let source = if loc.in_idat { self.idat } else { file };
        let mut out = Vec::new();
        for &(offset, length) in &loc.extents {
            let start = usize::try_from(offset).ok()?;
            let end = if length == 0 { source.len() } else { start.checked_add(usize::try_from(length).ok()?)? };
            let extent = source.get(start..end)?;
            if out.len() + extent.len() > file.len() {
                return None;
            }
            out.extend_from_slice(extent);
        }
        Some(out)
    }
}

fn pitm(bx: &Bx<'_>) -> Option<u32> {
    let (version, _, body) = full_body(bx);
    if version == 0 { be16(body, 0).map(u32::from) } else { be32(body, 0) }
}

fn iinf(bx: &Bx<'_>) -> Vec<Item> {
    let (version, _, body) = full_body(bx);
    let skip = if version == 0 { 2 } else { 4 };
    children(body.get(skip..).unwrap_or_default()).filter(|c| &c.kind == b"infe").filter_map(|c| infe(&c)).collect()
}

/// Item info entry, versions 2 and 3 (the ones HEIF uses).
fn infe(bx: &Bx<'_>) -> Option<Item> {
    let (version, _, body) = full_body(bx);
    let (id, at) = match version {
        2 => (u32::from(be16(body, 0)?), 2),
        3 => (be32(body, 0)?, 4),
        _ => return None,
    };
    let kind: [u8; 4] = body.get(at + 2..at + 6)?.try_into().ok()?;
    // mime items: item_name\0 content_type\0
    let strings = body.get(at + 6..).unwrap_or_default();
    let content_type = strings.split(|&c| c == 0).nth(1).unwrap_or_default().to_vec();
    Some(Item { id, kind, content_type })
}

fn iloc(bx: &Bx<'_>) -> Option<Vec<Location>> {
    let (version, _, b) = full_body(bx);
    let sizes = be16(b, 0)?;
    let offset_size = usize::from(sizes >> 12);
    let length_size = usize::from((sizes >> 8) & 0xF);
    let base_offset_size = usize::from((sizes >> 4) & 0xF);
    let index_size = if version >= 1 { usize::from(sizes & 0xF) } else { 0 };
    let (count, mut p) = if version < 2 { (u32::from(be16(b, 2)?), 4) } else { (be32(b, 2)?, 6) };
    let mut out = Vec::new();
    for _ in 0..count {
        let id = if version < 2 {
            p += 2;
            u32::from(be16(b, p - 2)?)
        } else {
            p += 4;
            be32(b, p - 4)?
        };
        let mut method = 0;
        if version >= 1 {
            method = be16(b, p)? & 0xF;
            p += 2;
        }
        p += 2; // data_reference_index
        let base = be_sized(b, p, base_offset_size)?;
        p += base_offset_size;
        let extent_count = be16(b, p)?;
        p += 2;
        let mut extents = Vec::new();
        for _ in 0..extent_count {
            p += index_size;
            let offset = be_sized(b, p, offset_size)?;
            p += offset_size;
            let length = be_sized(b, p, length_size)?;
            p += length_size;
            extents.push((base.checked_add(offset)?, length));
        }
        // Method 2 (item references) is not used for metadata items.
        if method <= 1 {
            out.push(Location { id, in_idat: method == 1, extents });
        }
    }
    Some(out)
}

fn ipma(bx: &Bx<'_>) -> Option<Vec<(u32, Vec<u16>)>> {
    let (version, flags, b) = full_body(bx);
    let count = be32(b, 0)?;
    let mut p = 4;
    let mut out = Vec::new();
    for _ in 0..count {
        let id = if version < 1 {
            p += 2;
            u32::from(be16(b, p - 2)?)
        } else {
            p += 4;
            be32(b, p - 4)?
        };
        let n = *b.get(p)?;
        p += 1;
        let mut indices = Vec::new();
        for _ in 0..n {
            if flags & 1 == 1 {
                indices.push(be16(b, p)? & 0x7FFF);
                p += 2;
            } else {
                indices.push(u16::from(*b.get(p)? & 0x7F));
                p += 1;
            }
        }
        out.push((id, indices));
    }
    Some(out)
}

fn icc_of_colr(p: &Bx<'_>) -> Option<Vec<u8>> {
    let is_icc = &p.kind == b"colr" && matches!(p.body.get(..4), Some(b"prof" | b"rICC"));
    is_icc.then(|| p.body[4..].to_vec())
}

/// The TIFF structure inside an `Exif` item.
fn tiff_of_exif_item(data: &[u8]) -> Option<Vec<u8>> {
    let offset = usize::try_from(be32(data, 0)?).ok()?;
    let tiff = data.get(4usize.checked_add(offset)?..).filter(|t| is_tiff(t));
    // Some writers get the offset wrong: look for the header near the start.
    let tiff = tiff.or_else(|| {
        let window = data.get(..data.len().min(64))?;
        (0..window.len()).map(|i| &data[i..]).find(|t| is_tiff(t))
    })?;
    Some(tiff.to_vec())
}

fn is_tiff(b: &[u8]) -> bool {
    b.starts_with(b"II*\0") || b.starts_with(b"MM\0*")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(kind: &[u8], body: &[u8]) -> Vec<u8> {
        [&((body.len() + 8) as u32).to_be_bytes()[..], kind, body].concat()
    }

    fn full(kind: &[u8], version: u8, flags: u32, body: &[u8]) -> Vec<u8> {
        let vf = (u32::from(version) << 24) | flags;
        bx(kind, &[&vf.to_be_bytes()[..], body].concat())
    }

    /// A HEIC with primary item 1 (`ispe` 64×48, `irot` 90°) and Exif item 2 in `idat`.
    fn heic(exif_payload: &[u8]) -> Vec<u8> {
        let ftyp = bx(b"ftyp", b"heic\0\0\0\0mif1heic");
        let pitm = full(b"pitm", 0, 0, &1u16.to_be_bytes());
        let infe1 = full(b"infe", 2, 0, &[&1u16.to_be_bytes()[..], &[0, 0], b"hvc1", b"\0"].concat());
        let infe2 = full(b"infe", 2, 0, &[&2u16.to_be_bytes()[..], &[0, 0], b"Exif", b"\0"].concat());
        let iinf = full(b"iinf", 0, 0, &[&2u16.to_be_bytes()[..], &infe1, &infe2].concat());
        // v1: offset_size 4, length_size 4, base 0, index 0; one item (2), method 1, one extent.
        let mut loc = vec![0x44, 0x00];
        loc.extend(1u16.to_be_bytes());
        loc.extend(2u16.to_be_bytes());
        loc.extend(1u16.to_be_bytes()); // construction method 1: idat
        loc.extend(0u16.to_be_bytes());
        loc.extend(1u16.to_be_bytes());
        loc.extend(0u32.to_be_bytes());
        loc.extend((exif_payload.len() as u32).to_be_bytes());
        let iloc = full(b"iloc", 1, 0, &loc);
        let ispe = full(b"ispe", 0, 0, &[&64u32.to_be_bytes()[..], &48u32.to_be_bytes()].concat());
        let irot = bx(b"irot", &[1]);
        let ipco = bx(b"ipco", &[ispe, irot].concat());
        let ipma_body = [&1u32.to_be_bytes()[..], &1u16.to_be_bytes(), &[2, 0x81, 0x02]].concat();
        let ipma = full(b"ipma", 0, 0, &ipma_body);
        let iprp = bx(b"iprp", &[ipco, ipma].concat());
        let idat = bx(b"idat", exif_payload);
        let hdlr = full(b"hdlr", 0, 0, b"\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0");
        let meta = full(b"meta", 0, 0, &[hdlr, pitm, iinf, iloc, iprp, idat].concat());
        [ftyp, meta].concat()
    }

    #[test]
    fn finds_exif_item_size_and_rotation() {
        let payload = [&6u32.to_be_bytes()[..], b"Exif\0\0", b"MM\0*\0\0\0\x08"].concat();
        let p = parts(&heic(&payload)).unwrap();
        assert_eq!((p.width, p.height), (64, 48));
        assert_eq!(p.upright, Some((48, 64)));
        assert_eq!(p.exif.as_deref(), Some(&b"MM\0*\0\0\0\x08"[..]));
    }

    #[test]
    fn wrong_exif_offset_is_tolerated() {
        let payload = [&0u32.to_be_bytes()[..], b"Exif\0\0", b"II*\0\x08\0\0\0"].concat();
        assert_eq!(parts(&heic(&payload)).unwrap().exif.as_deref(), Some(&b"II*\0\x08\0\0\0"[..]));
    }

    #[test]
    fn no_meta_is_corrupt() {
        assert!(parts(&bx(b"ftyp", b"avif\0\0\0\0")).is_err());
    }
}
