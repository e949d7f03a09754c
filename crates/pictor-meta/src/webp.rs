//! WebP: a RIFF file of chunks.
//!
//! The canvas size is in `VP8X` for extended files, else in the `VP8 `
//! (lossy) or `VP8L` (lossless) bitstream header. EXIF is the `EXIF` chunk;
//! some writers (older ImageMagick, some phones) put an `Exif\0\0` prefix in
//! front of the TIFF header, which is stripped. ICC is `ICCP`, XMP `XMP `.

use crate::read::{le16, le32};
use crate::{Parts, corrupt};

pub fn parts(b: &[u8]) -> Result<Parts, crate::MetaError> {
    let mut parts = Parts::default();
    let mut size = None;
    let mut pos = 12;
    while let (Some(len), Some(kind)) = (le32(b, pos + 4), b.get(pos..pos + 4)) {
        let len = len as usize;
        let Some(data) = b.get(pos + 8..(pos + 8).saturating_add(len).min(b.len())) else { break };
        match kind {
            b"VP8X" => size = size.or(vp8x_size(data)),
            b"VP8 " => size = size.or(vp8_size(data)),
            b"VP8L" => size = size.or(vp8l_size(data)),
            b"EXIF" if parts.exif.is_none() => parts.exif = Some(strip_exif_prefix(data).to_vec()),
            b"ICCP" if parts.icc.is_none() => parts.icc = Some(data.to_vec()),
            b"XMP " if parts.xmp.is_none() => parts.xmp = Some(data.to_vec()),
            _ => {}
        }
        pos = pos.saturating_add(8).saturating_add(len).saturating_add(len & 1); // chunks are padded to even sizes
    }
    (parts.width, parts.height) = size.ok_or_else(|| corrupt("WebP", "no VP8X, VP8 or VP8L header with a size"))?;
    Ok(parts)
}

fn strip_exif_prefix(data: &[u8]) -> &[u8] {
    data.strip_prefix(b"Exif\0\0").unwrap_or(data)
}

/// Flags (4 bytes), then canvas width − 1 and height − 1 as 24-bit little-endian.
fn vp8x_size(d: &[u8]) -> Option<(u32, u32)> {
    let u24 = |at: usize| Some(u32::from_le_bytes([*d.get(at)?, *d.get(at + 1)?, *d.get(at + 2)?, 0]));
    Some((u24(4)? + 1, u24(7)? + 1))
}

/// Frame tag (3 bytes), start code 9D 01 2A, then 14-bit width and height.
fn vp8_size(d: &[u8]) -> Option<(u32, u32)> {
    if d.get(3..6)? != [0x9D, 0x01, 0x2A] {
        return None;
    }
    Some((u32::from(le16(d, 6)? & 0x3FFF), u32::from(le16(d, 8)? & 0x3FFF)))
}

/// Signature 0x2F, then width − 1 and height − 1 in 14 bits each.
fn vp8l_size(d: &[u8]) -> Option<(u32, u32)> {
    if *d.first()? != 0x2F {
        return None;
    }
    let bits = le32(d, 1)?;
    Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
        let mut out = [kind, &(data.len() as u32).to_le_bytes()[..], data].concat();
        if data.len() % 2 == 1 {
            out.push(0);
        }
        out
    }

    fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = chunks.concat();
        [&b"RIFF"[..], &((body.len() + 4) as u32).to_le_bytes(), b"WEBP", &body].concat()
    }

    #[test]
    fn extended_file_with_prefixed_exif() {
        let vp8x = [0x08, 0, 0, 0, 99, 0, 0, 49, 0, 0];
        let w = riff(&[chunk(b"VP8X", &vp8x), chunk(b"EXIF", b"Exif\0\0MM\0*\0\0\0\x08")]);
        let p = parts(&w).unwrap();
        assert_eq!((p.width, p.height), (100, 50));
        assert_eq!(p.exif.as_deref(), Some(&b"MM\0*\0\0\0\x08"[..]));
    }

    #[test]
    fn lossy_and_lossless_sizes() {
        assert_eq!(vp8_size(&[0, 0, 0, 0x9D, 0x01, 0x2A, 0x40, 0x01, 0xF0, 0x00]), Some((320, 240)));
        let bits: u32 = 99 | (49 << 14);
        assert_eq!(vp8l_size(&[&[0x2F][..], &bits.to_le_bytes()].concat()), Some((100, 50)));
    }

    #[test]
    fn no_bitstream_is_corrupt() {
        assert!(parts(&riff(&[chunk(b"EXIF", b"MM")])).is_err());
    }
}
