//! TIFF (and DNG, BigTIFF): the file itself is the EXIF structure.
//!
//! The stored size is IFD0's ImageWidth/ImageLength, read here directly so
//! that BigTIFF (which the EXIF reader does not parse) still has a size.

use crate::{Parts, corrupt};

const IMAGE_WIDTH: u16 = 0x0100;
const IMAGE_LENGTH: u16 = 0x0101;

pub fn parts(b: &[u8]) -> Result<Parts, crate::MetaError> {
    let (width, height) = ifd0_size(b).ok_or_else(|| corrupt("TIFF", "IFD0 has no readable ImageWidth/ImageLength"))?;
    Ok(Parts { width, height, exif: Some(b.to_vec()), ..Parts::default() })
}

/// Byte order of a TIFF header.
#[derive(Clone, Copy)]
struct Order(bool);

impl Order {
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        if self.0 { crate::read::le16(b, at) } else { crate::read::be16(b, at) }
    }
    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        if self.0 { crate::read::le32(b, at) } else { crate::read::be32(b, at) }
    }
    fn u64(self, b: &[u8], at: usize) -> Option<u64> {
        let bytes: [u8; 8] = b.get(at..at.checked_add(8)?)?.try_into().ok()?;
        Some(if self.0 { u64::from_le_bytes(bytes) } else { u64::from_be_bytes(bytes) })
    }
}

/// IFD0's ImageWidth and ImageLength (SHORT or LONG) in classic or BigTIFF.
fn ifd0_size(b: &[u8]) -> Option<(u32, u32)> {
    let order = Order(b.starts_with(b"II"));
    let big = order.u16(b, 2)? == 43;
    // Classic: offset u32 at 4, count u16, 12-byte entries with 4-byte values.
    // BigTIFF: offset u64 at 8, count u64, 20-byte entries with 8-byte values.
    let (ifd, entry_len) = if big { (order.u64(b, 8)?, 20) } else { (u64::from(order.u32(b, 4)?), 12) };
    let ifd = usize::try_from(ifd).ok()?;
    let (count, first) = if big { (order.u64(b, ifd)?, ifd + 8) } else { (u64::from(order.u16(b, ifd)?), ifd + 2) };
    let (mut width, mut height) = (None, None);
    for i in 0..count.min(4096) as usize {
        let at = first + i * entry_len;
        let tag = order.u16(b, at)?;
        let kind = order.u16(b, at + 2)?;
        let value_at = at + if big { 12 } else { 8 };
        let value = match kind {
            3 => order.u16(b, value_at).map(u32::from),
            4 => order.u32(b, value_at),
            _ => None,
        };
        match tag {
            IMAGE_WIDTH => width = value,
            IMAGE_LENGTH => height = value,
            _ => {}
        }
    }
    Some((width?, height?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exif::tests::tiff;

    #[test]
    fn classic_size() {
        let t = tiff(&[(IMAGE_WIDTH, 3, 1, 17 << 16), (IMAGE_LENGTH, 4, 1, 11)], 0, &[]);
        let p = parts(&t).unwrap();
        assert_eq!((p.width, p.height), (17, 11));
        assert!(p.exif.is_some());
    }

    #[test]
    fn big_tiff_size() {
        let mut t = b"II+\0\x08\0\0\0\x10\0\0\0\0\0\0\0".to_vec();
        t.extend(2u64.to_le_bytes());
        for (tag, v) in [(IMAGE_WIDTH, 8u64), (IMAGE_LENGTH, 9)] {
            t.extend(tag.to_le_bytes());
            t.extend(4u16.to_le_bytes());
            t.extend(1u64.to_le_bytes());
            t.extend(v.to_le_bytes());
        }
        assert_eq!(ifd0_size(&t), Some((8, 9)));
    }

    #[test]
    fn no_ifd_is_corrupt() {
        assert!(parts(b"II*\0\xff\xff\xff\x7f").is_err());
    }
}
