//! GIF and BMP: a fixed header gives the size; neither carries EXIF.
//! A GIF may carry an ICC profile in an `ICCRGBG1012` application extension.

use crate::read::{le16, le32};
use crate::{Parts, corrupt};

/// The logical screen size follows the 6-byte signature.
pub fn gif(b: &[u8]) -> Result<Parts, crate::MetaError> {
    let (Some(w), Some(h)) = (le16(b, 6), le16(b, 8)) else {
        return Err(corrupt("GIF", "header is cut short"));
    };
    Ok(Parts { width: u32::from(w), height: u32::from(h), icc: gif_icc(b), ..Parts::default() })
}

/// Walks the blocks up to the first image for an `ICCRGBG1012` application
/// extension, whose sub-blocks joined are the profile.
fn gif_icc(b: &[u8]) -> Option<Vec<u8>> {
    let flags = *b.get(10)?;
    let mut pos = 13 + if flags & 0x80 != 0 { 3 << ((flags & 7) + 1) } else { 0 };
    while *b.get(pos)? == 0x21 {
        let label = *b.get(pos + 1)?;
        let (data, next) = sub_blocks(b, pos + 2)?;
        if label == 0xFF && data.starts_with(b"ICCRGBG1012") {
            // The first sub-block is the 11-byte application identifier.
            return Some(data[11..].to_vec());
        }
        pos = next;
    }
    None
}

/// Joins length-prefixed sub-blocks up to the zero terminator; returns them and the position after it.
fn sub_blocks(b: &[u8], mut pos: usize) -> Option<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    loop {
        let len = usize::from(*b.get(pos)?);
        if len == 0 {
            return Some((out, pos + 1));
        }
        out.extend_from_slice(b.get(pos + 1..pos + 1 + len)?);
        pos += 1 + len;
    }
}

/// The DIB header follows the 14-byte file header; OS/2 core headers (12
/// bytes) hold 16-bit sizes, later ones signed 32-bit (negative height
/// means top-down rows).
pub fn bmp(b: &[u8]) -> Result<Parts, crate::MetaError> {
    let size = match le32(b, 14) {
        Some(12) => le16(b, 18).zip(le16(b, 20)).map(|(w, h)| (u32::from(w), u32::from(h))),
        Some(_) => le32(b, 18).zip(le32(b, 22)).map(|(w, h)| ((w as i32).unsigned_abs(), (h as i32).unsigned_abs())),
        None => None,
    };
    let (width, height) = size.ok_or_else(|| corrupt("BMP", "header is cut short"))?;
    Ok(Parts { width, height, ..Parts::default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gif_screen_size() {
        let p = gif(b"GIF89a\x0a\x00\x05\x00").unwrap();
        assert_eq!((p.width, p.height), (10, 5));
        assert!(gif(b"GIF89a\x0a").is_err());
    }

    #[test]
    fn gif_icc_extension() {
        let mut g = b"GIF89a\x01\x00\x01\x00\x00\x00\x00".to_vec();
        g.extend(b"\x21\xFF\x0BICCRGBG1012\x03abc\x02de\x00\x2C");
        assert_eq!(gif(&g).unwrap().icc.as_deref(), Some(&b"abcde"[..]));
    }

    #[test]
    fn bmp_top_down_height() {
        let mut b = vec![0u8; 26];
        b[..2].copy_from_slice(b"BM");
        b[14..18].copy_from_slice(&40u32.to_le_bytes());
        b[18..22].copy_from_slice(&4i32.to_le_bytes());
        b[22..26].copy_from_slice(&(-3i32).to_le_bytes());
        let p = bmp(&b).unwrap();
        assert_eq!((p.width, p.height), (4, 3));
    }
}
