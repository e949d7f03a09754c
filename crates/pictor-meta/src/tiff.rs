//! TIFF (and DNG, BigTIFF): the file itself is the EXIF structure.
//!
//! The stored size is IFD0's ImageWidth/ImageLength and the ICC profile its
//! InterColorProfile tag, read here directly so that BigTIFF (which the
//! EXIF reader does not parse) still has them.

use crate::{Parts, corrupt};

const IMAGE_WIDTH: u16 = 0x0100;
const IMAGE_LENGTH: u16 = 0x0101;
const ICC_PROFILE: u16 = 0x8773;

pub fn parts(b: &[u8]) -> Result<Parts, crate::MetaError> {
    let ifd0 = read_ifd0(b).unwrap_or_default();
    let (Some(width), Some(height)) = (ifd0.width, ifd0.height) else {
        return Err(corrupt("TIFF", "IFD0 has no readable ImageWidth/ImageLength"));
    };
    Ok(Parts { width, height, exif: Some(b.to_vec()), icc: ifd0.icc, ..Parts::default() })
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

#[derive(Default)]
struct Ifd0 {
    width: Option<u32>,
    height: Option<u32>,
    icc: Option<Vec<u8>>,
}

/// IFD0's ImageWidth and ImageLength (SHORT or LONG) and ICC profile, in classic or BigTIFF.
fn read_ifd0(b: &[u8]) -> Option<Ifd0> {
    let order = Order(b.starts_with(b"II"));
    let big = order.u16(b, 2)? == 43;
    // Classic: offset u32 at 4, count u16, 12-byte entries with 4-byte values.
    // BigTIFF: offset u64 at 8, count u64, 20-byte entries with 8-byte values.
    let (ifd, entry_len) = if big { (order.u64(b, 8)?, 20) } else { (u64::from(order.u32(b, 4)?), 12) };
    let ifd = usize::try_from(ifd).ok()?;
    let (count, first) = if big { (order.u64(b, ifd)?, ifd + 8) } else { (u64::from(order.u16(b, ifd)?), ifd + 2) };
    let mut out = Ifd0::default();
    for i in 0..count.min(4096) as usize {
        let at = first + i * entry_len;
        let tag = order.u16(b, at)?;
        let kind = order.u16(b, at + 2)?;
        let (count_at, value_at) = if big { (at + 4, at + 12) } else { (at + 4, at + 8) };
        let value = match kind {
            3 => order.u16(b, value_at).map(u32::from),
            4 => order.u32(b, value_at),
            _ => None,
        };
        match tag {
            IMAGE_WIDTH => out.width = value,
            IMAGE_LENGTH => out.height = value,
            ICC_PROFILE => out.icc = blob(b, order, big, count_at, value_at),
            _ => {}
        }
    }
    Some(out)
}

/// A byte array entry's data: inline when it fits the value field, else at its offset.
fn blob(b: &[u8], order: Order, big: bool, count_at: usize, value_at: usize) -> Option<Vec<u8>> {
    let (len, inline, offset) = if big {
        (order.u64(b, count_at)?, 8, order.u64(b, value_at)?)
    } else {
        (u64::from(order.u32(b, count_at)?), 4, u64::from(order.u32(b, value_at)?))
    };
    let start = if len <= inline { value_at as u64 } else { offset };
    let start = usize::try_from(start).ok()?;
    b.get(start..start.checked_add(usize::try_from(len).ok()?)?).map(<[u8]>::to_vec)
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
        let ifd0 = read_ifd0(&t).unwrap();
        assert_eq!((ifd0.width, ifd0.height), (Some(8), Some(9)));
    }

    #[test]
    fn icc_profile_tag() {
        let base = crate::exif::tests::after_ifd(3);
        let t = tiff(
            &[(IMAGE_WIDTH, 3, 1, 1 << 16), (IMAGE_LENGTH, 3, 1, 1 << 16), (ICC_PROFILE, 7, 6, base)],
            0,
            b"icc!!!",
        );
        assert_eq!(parts(&t).unwrap().icc.as_deref(), Some(&b"icc!!!"[..]));
    }

    #[test]
    fn no_ifd_is_corrupt() {
        assert!(parts(b"II*\0\xff\xff\xff\x7f").is_err());
    }
}
