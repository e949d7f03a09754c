//! The preview: a small copy with a visible "PREVIEW" watermark.
//!
//! The shop shows a style on a 512-pixel copy before anyone pays for the
//! full resolution, so the copy must be marked in a way a crop cannot
//! remove: the word is repeated over the whole picture in staggered rows,
//! white at half opacity over a darker offset shadow (readable on light and
//! dark areas alike). It is drawn from a built-in 5×7 bitmap of the six
//! letters needed, so no font file or text renderer is involved.

use pictor_imaging::{Channels, Image};

use crate::tensor::{self, ImagePixels};

/// The longest side of a preview, in pixels.
pub const PREVIEW_SIDE: u32 = 512;

/// "PREVIEW" in a 5×7 bitmap: one byte per row, the low five bits the
/// columns, the highest of them on the left.
const WORD: [[u8; 7]; 7] = [P, R, E, V, I, E, W];
const P: [u8; 7] = [0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000];
const R: [u8; 7] = [0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001];
const E: [u8; 7] = [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111];
const V: [u8; 7] = [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100];
const I: [u8; 7] = [0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110];
const W: [u8; 7] = [0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010];

/// Opacity of the white letters and of their shadow.
const INK: f32 = 0.5;
const SHADOW: f32 = 0.35;

/// `image` fitted into [`PREVIEW_SIDE`] (never enlarged) and watermarked.
/// Transparency is flattened onto white; the result is RGB.
pub fn preview(image: &Image) -> Image {
    let (w, h) = tensor::fit_within(image.width() as usize, image.height() as usize, PREVIEW_SIDE as usize);
    let small = tensor::resize(&ImagePixels::new(image), w, h);
    let mut out = super::to_image(&small);
    watermark(&mut out);
    out
}

/// Whether the watermark's letter covers pixel `(x, y)`, for a glyph pixel
/// of `scale` image pixels; also the pattern's period, for tests.
fn ink(x: usize, y: usize, scale: usize) -> bool {
    let (glyph_w, glyph_h) = (6 * scale, 7 * scale); // 5 columns and a space
    let (period_x, period_y) = (WORD.len() * glyph_w + 8 * scale, glyph_h + 10 * scale);
    let row = y / period_y;
    // Every other row is shifted by half a word, so no band is left clear.
    let x = x + row % 2 * (period_x / 2);
    let (px, py) = (x % period_x, y % period_y);
    if px >= WORD.len() * glyph_w || py >= glyph_h {
        return false;
    }
    let (letter, col, line) = (px / glyph_w, px % glyph_w / scale, py / scale);
    col < 5 && WORD[letter][line] >> (4 - col) & 1 == 1
}

/// The glyph pixel size for an image: about 128 glyph pixels across the
/// longest side (4 at the preview's 512).
fn scale_for(image: &Image) -> usize {
    (image.width().max(image.height()) as usize / 128).max(1)
}

/// Draws the tiled "PREVIEW" mark over `image` in place.
pub fn watermark(image: &mut Image) {
    let scale = scale_for(image);
    let shadow = scale.div_ceil(2);
    let (w, h, n) = (image.width() as usize, image.height() as usize, image.channels().count());
    debug_assert!(matches!(image.channels(), Channels::Rgb | Channels::Rgba));
    let data = image.data_mut();
    for y in 0..h {
        for x in 0..w {
            let letter = ink(x, y, scale);
            let shade = !letter && x >= shadow && y >= shadow && ink(x - shadow, y - shadow, scale);
            let (target, alpha) = match (letter, shade) {
                (true, _) => (255.0, INK),
                (false, true) => (0.0, SHADOW),
                _ => continue,
            };
            let p = &mut data[(y * w + x) * n..][..3];
            p.iter_mut().for_each(|v| *v = (f32::from(*v) * (1.0 - alpha) + target * alpha).round() as u8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pictor_imaging::Rgba;

    fn grey(w: u32, h: u32) -> Image {
        Image::filled(w, h, Rgba { r: 128, g: 128, b: 128, a: 255 })
    }

    #[test]
    fn preview_is_512_on_the_longest_side() {
        let p = preview(&grey(2000, 1500));
        assert_eq!((p.width(), p.height()), (512, 384));
        let p = preview(&grey(900, 3000));
        assert_eq!(p.height(), 512);
        // Small pictures are not enlarged.
        let p = preview(&grey(300, 200));
        assert_eq!((p.width(), p.height()), (300, 200));
    }

    #[test]
    fn the_mark_is_visible_everywhere() {
        let plain = grey(512, 384);
        let p = preview(&plain);
        let changed: Vec<bool> = p.data().chunks(3).zip(plain.data().chunks(3)).map(|(a, b)| a != b).collect();
        let share = changed.iter().filter(|&&c| c).count() as f64 / changed.len() as f64;
        assert!((0.05..0.4).contains(&share), "{:.1}% of the pixels changed", share * 100.0);
        // Every 128-pixel block carries some of it: cropping cannot escape it.
        for by in 0..3 {
            for bx in 0..4 {
                let n = (by * 128..by * 128 + 128)
                    .flat_map(|y| (bx * 128..bx * 128 + 128).map(move |x| (x, y)))
                    .filter(|&(x, y)| changed[y * 512 + x])
                    .count();
                assert!(n > 300, "block {bx},{by}: {n} marked pixels");
            }
        }
        // Letters lighten and shadows darken, by a visible amount.
        let max = p.data().iter().copied().max().unwrap();
        let min = p.data().iter().copied().min().unwrap();
        assert!(max >= 185 && min <= 90, "{min}..{max}");
    }

    #[test]
    fn the_word_reads_preview() {
        // The first glyph row at scale 1: P, R, E, V, I, E, W's top lines.
        let top: String = (0..42).map(|x| if ink(x, 0, 1) { '#' } else { '.' }).collect();
        assert_eq!(top, "####..####..#####.#...#..###..#####.#...#.");
    }

    #[test]
    fn alpha_is_flattened_and_kept_out_of_the_mark() {
        let clear = Image::filled(64, 64, Rgba { r: 0, g: 0, b: 0, a: 0 });
        let p = preview(&clear);
        assert_eq!(p.channels(), Channels::Rgb);
        let mut rgba = Image::filled(256, 256, Rgba { r: 10, g: 10, b: 10, a: 200 });
        watermark(&mut rgba);
        assert!(rgba.data().chunks(4).all(|p| p[3] == 200));
        assert!(rgba.data().chunks(4).any(|p| p[0] > 100));
    }
}
