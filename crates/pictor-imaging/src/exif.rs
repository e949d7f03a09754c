//! Writing EXIF back out: resetting the orientation tag of a kept block,
//! and placing the block into a WebP container.

/// A copy of a raw EXIF (TIFF) block whose IFD0 Orientation reads 1.
/// Blocks that do not parse are returned unchanged.
pub fn with_upright_orientation(exif: &[u8]) -> Vec<u8> {
    let mut out = exif.to_vec();
    if let Some(at) = orientation_value_offset(exif) {
        let one: [u8; 2] = if exif.starts_with(b"MM") { [0, 1] } else { [1, 0] };
        out[at..at + 2].copy_from_slice(&one);
    }
    out
}

/// Byte offset of IFD0's Orientation value, if present and well-formed.
fn orientation_value_offset(b: &[u8]) -> Option<usize> {
    let big = match b.get(..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let u16_at = |i: usize| {
        b.get(i..i + 2).map(|s| if big { u16::from_be_bytes([s[0], s[1]]) } else { u16::from_le_bytes([s[0], s[1]]) })
    };
    let u32_at = |i: usize| {
        b.get(i..i + 4).map(|s| {
            let a = [s[0], s[1], s[2], s[3]];
            if big { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) }
        })
    };
    let ifd = u32_at(4)? as usize;
    let count = u16_at(ifd)? as usize;
    (0..count).map(|i| ifd + 2 + i * 12).find_map(|entry| {
        // Tag 0x0112, type SHORT (3): the value sits in the entry itself.
        (u16_at(entry)? == 0x0112 && u16_at(entry + 2)? == 3 && entry + 10 <= b.len()).then_some(entry + 8)
    })
}

/// Adds an EXIF chunk to a simple WebP file, turning it into the extended
/// (VP8X) layout the format requires for metadata.
pub fn add_to_webp(webp: &[u8], exif: &[u8], width: u32, height: u32) -> Vec<u8> {
    const EXIF_FLAG: u8 = 0x08;
    const ALPHA_FLAG: u8 = 0x10;
    let body = &webp[12..];
    let mut chunks = Vec::with_capacity(webp.len() + exif.len() + 32);
    if body.starts_with(b"VP8X") {
        chunks.extend_from_slice(body);
        chunks[8] |= EXIF_FLAG;
    } else {
        // A lossless bitstream may carry alpha; declaring it is harmless.
        let alpha = if body.starts_with(b"VP8L") { ALPHA_FLAG } else { 0 };
        chunks.extend_from_slice(b"VP8X");
        chunks.extend_from_slice(&10u32.to_le_bytes());
        chunks.extend_from_slice(&[EXIF_FLAG | alpha, 0, 0, 0]);
        chunks.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
        chunks.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
        chunks.extend_from_slice(body);
    }
    chunks.extend_from_slice(b"EXIF");
    chunks.extend_from_slice(&(exif.len() as u32).to_le_bytes());
    chunks.extend_from_slice(exif);
    if exif.len() % 2 == 1 {
        chunks.push(0);
    }
    let mut out = Vec::with_capacity(chunks.len() + 12);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(chunks.len() as u32 + 4).to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&chunks);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian TIFF block with one IFD0 entry: Orientation = 6.
    fn exif_rotated() -> Vec<u8> {
        let mut b = b"II*\0\x08\0\0\0".to_vec();
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
        b.extend_from_slice(&[0; 4]);
        b
    }

    #[test]
    fn orientation_is_reset_to_one() {
        let fixed = with_upright_orientation(&exif_rotated());
        use crate::orient::Orientation;
        assert_eq!(crate::decode::exif_orientation(&exif_rotated()), Some(Orientation::Rotate90));
        assert_eq!(crate::decode::exif_orientation(&fixed), Some(Orientation::Normal));
        assert_eq!(with_upright_orientation(b"junk"), b"junk");
    }
}
