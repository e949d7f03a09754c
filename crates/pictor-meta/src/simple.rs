//! GIF and BMP: a fixed header gives the size; neither carries EXIF.

use crate::read::{le16, le32};
use crate::{Parts, corrupt};

/// The logical screen size follows the 6-byte signature.
pub fn gif(b: &[u8]) -> Result<Parts, crate::MetaError> {
    let (Some(w), Some(h)) = (le16(b, 6), le16(b, 8)) else {
        return Err(corrupt("GIF", "header is cut short"));
    };
    Ok(Parts { width: u32::from(w), height: u32::from(h), ..Parts::default() })
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
