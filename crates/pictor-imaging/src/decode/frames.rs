//! Counting animation frames by walking container structure, without
//! decompressing anything: a 40,000-frame GIF is refused in microseconds.

use crate::format::ImageFormat;

/// Frames in an animated GIF, APNG or WebP; 1 for still images.
/// Malformed structure ends the walk early; the decoder reports it later.
pub fn frame_count(bytes: &[u8], format: ImageFormat) -> u32 {
    match format {
        ImageFormat::Gif => gif_walk(bytes).0,
        ImageFormat::Png => apng_frames(bytes),
        ImageFormat::Webp => webp_frames(bytes),
        _ => 1,
    }
    .max(1)
}

/// The canvas a GIF's frames reach: a frame placed far outside the
/// logical screen makes players allocate that much.
pub fn gif_extent(bytes: &[u8]) -> (u64, u64) {
    gif_walk(bytes).1
}

/// Frame count and the furthest right and bottom edge of any frame.
fn gif_walk(b: &[u8]) -> (u32, (u64, u64)) {
    let u16_at = |i: usize| b.get(i..i + 2).map_or(0, |s| u64::from(u16::from_le_bytes([s[0], s[1]])));
    let mut extent = (u16_at(6), u16_at(8));
    let Some(&flags) = b.get(10) else {
        return (1, extent);
    };
    let mut pos = 13;
    if flags & 0x80 != 0 {
        pos += 3 << ((flags & 7) + 1);
    }
    let mut frames = 0u32;
    while let Some(&block) = b.get(pos) {
        match block {
            0x21 => pos = skip_sub_blocks(b, pos + 2),
            0x2C => {
                frames += 1;
                extent.0 = extent.0.max(u16_at(pos + 1) + u16_at(pos + 5));
                extent.1 = extent.1.max(u16_at(pos + 3) + u16_at(pos + 7));
                let Some(&local) = b.get(pos + 9) else { break };
                pos += 10;
                if local & 0x80 != 0 {
                    pos += 3 << ((local & 7) + 1);
                }
                pos = skip_sub_blocks(b, pos + 1); // + LZW minimum code size
            }
            _ => break, // 0x3B trailer, or garbage
        }
    }
    (frames, extent)
}

/// Skips a chain of length-prefixed sub-blocks ending in a zero length.
fn skip_sub_blocks(b: &[u8], mut pos: usize) -> usize {
    while let Some(&len) = b.get(pos) {
        pos += 1 + len as usize;
        if len == 0 {
            return pos;
        }
    }
    usize::MAX
}

fn apng_frames(b: &[u8]) -> u32 {
    let mut pos = 8;
    while pos + 8 <= b.len() {
        let len = u32::from_be_bytes(b[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &b[pos + 4..pos + 8];
        if kind == b"acTL" {
            return b.get(pos + 8..pos + 12).map_or(1, |n| u32::from_be_bytes(n.try_into().unwrap()));
        }
        if kind == b"IDAT" {
            break;
        }
        pos = pos.saturating_add(12).saturating_add(len);
    }
    1
}

fn webp_frames(b: &[u8]) -> u32 {
    let mut pos = 12;
    let mut frames = 0;
    while pos + 8 <= b.len() {
        let len = u32::from_le_bytes(b[pos + 4..pos + 8].try_into().unwrap()) as usize;
        if &b[pos..pos + 4] == b"ANMF" {
            frames += 1;
        }
        pos = pos.saturating_add(8).saturating_add(len + (len & 1));
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_gif_frames_without_decoding() {
        let mut gif = b"GIF89a\x01\0\x01\0\0\0\0".to_vec(); // no global palette
        for _ in 0..3 {
            gif.extend_from_slice(b"\x21\xF9\x04\0\0\0\0\0"); // graphic control
            gif.extend_from_slice(b"\x2C\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\0");
        }
        gif.push(0x3B);
        assert_eq!(frame_count(&gif, ImageFormat::Gif), 3);
        assert_eq!(frame_count(&gif[..20], ImageFormat::Gif), 1);
        assert_eq!(gif_extent(&gif), (1, 1));
        // A second frame placed at (65535, 65535) stretches the canvas.
        gif.pop();
        gif.extend_from_slice(b"\x2C\xff\xff\xff\xff\x01\0\x01\0\0\x02\x02\x44\x01\0\x3B");
        assert_eq!(gif_extent(&gif), (65536, 65536));
    }

    #[test]
    fn still_formats_have_one_frame() {
        assert_eq!(frame_count(b"\xFF\xD8\xFF", ImageFormat::Jpeg), 1);
        assert_eq!(frame_count(b"\x89PNG\r\n\x1a\n", ImageFormat::Png), 1);
    }
}
