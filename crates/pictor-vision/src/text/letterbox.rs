//! rapidocr's letterbox (`maybe_add_letterbox`, `min_height` 30 and
//! `width_height_ratio` 8): a very short or very wide picture (a banner, a
//! receipt's single line, a cropped caption) gets black bands above and
//! below before detection, so that the detector, which enlarges the shorter
//! side, does not stretch one line into a blur. The lines' boxes are then
//! moved back up by the band's height.

use pictor_imaging::Image;

use super::TextLine;

/// Pictures this short or shorter are padded (rapidocr's `min_height`).
const MIN_HEIGHT: u32 = 30;
/// …and so are pictures wider than this many times their height.
const MAX_WIDTH_PER_HEIGHT: u32 = 8;

/// `image` with the bands added, and the band's height; `None` when it needs none.
pub(crate) fn pad(image: &Image) -> Option<(Image, u32)> {
    let (width, height) = (image.width(), image.height());
    if height > MIN_HEIGHT && width <= height * MAX_WIDTH_PER_HEIGHT {
        return None;
    }
    let padded_height = (width / MAX_WIDTH_PER_HEIGHT).max(MIN_HEIGHT) * 2;
    let band = padded_height.abs_diff(height) / 2;
    let black: &[u8] = match image.channels() {
        pictor_imaging::Channels::Rgb => &[0, 0, 0],
        // Opaque, as rapidocr's three-channel border.
        pictor_imaging::Channels::Rgba => &[0, 0, 0, 255],
    };
    let band_bytes: Vec<u8> = black.repeat((width * band) as usize);
    let mut data = Vec::with_capacity(band_bytes.len() * 2 + image.data().len());
    data.extend_from_slice(&band_bytes);
    data.extend_from_slice(image.data());
    data.extend_from_slice(&band_bytes);
    let padded = Image::from_raw(width, height + 2 * band, image.channels(), data).ok()?;
    Some((padded, band))
}

/// `lines` found in the padded picture, in the pixels of the original one
/// (`height` high, under a band of `band`).
pub(crate) fn unpad(lines: Vec<TextLine>, band: u32, height: u32) -> Vec<TextLine> {
    let (band, height) = (band as f32, height as f32);
    lines
        .into_iter()
        .map(|mut line| {
            for corner in &mut line.quad {
                corner[1] = (corner[1] - band).clamp(0.0, height);
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pictor_imaging::{Channels, Rgba};

    #[test]
    fn only_short_or_very_wide_pictures_are_padded() {
        let image = |w, h| Image::filled(w, h, Rgba { r: 200, g: 200, b: 200, a: 255 });
        assert!(pad(&image(800, 600)).is_none());
        assert!(pad(&image(800, 100)).is_none(), "8 times as wide: not yet");
        let (wide, band) = pad(&image(900, 100)).expect("wider than 8:1");
        // rapidocr: new_h = max(900 / 8, 30) * 2 = 224, band (224 - 100) / 2 = 62.
        assert_eq!((wide.width(), wide.height(), band), (900, 224, 62));
        let (short, band) = pad(&image(100, 20)).expect("shorter than 30");
        assert_eq!((short.height(), band), (20 + 2 * 20, 20));
        // The picture sits between the bands; the bands are black (opaque
        // where there is alpha).
        let at = |img: &Image, x: usize, y: usize| {
            let n = img.channels().count();
            img.data()[y * img.stride() + x * n..][..n].to_vec()
        };
        let grey = at(&image(900, 100), 0, 0);
        let black = if grey.len() == 4 { vec![0, 0, 0, 255] } else { vec![0, 0, 0] };
        assert_eq!(at(&wide, 10, 0), black);
        assert_eq!(at(&wide, 10, 62), grey);
        assert_eq!(at(&wide, 10, 161), grey);
        assert_eq!(at(&wide, 10, 162), black);
        let rgba = Image::from_raw(900, 100, Channels::Rgba, vec![9; 900 * 100 * 4]).unwrap();
        let (padded, _) = pad(&rgba).unwrap();
        assert_eq!(at(&padded, 0, 0), [0, 0, 0, 255]);
        assert_eq!(padded.channels(), Channels::Rgba);
    }

    #[test]
    fn boxes_move_back_into_the_original() {
        let line =
            TextLine { text: "a".into(), confidence: 0.9, quad: [[0.0, 60.0], [9.0, 70.0], [9.0, 90.0], [0.0, 300.0]] };
        let moved = unpad(vec![line], 62, 100);
        assert_eq!(moved[0].quad, [[0.0, 0.0], [9.0, 8.0], [9.0, 28.0], [0.0, 100.0]]);
    }
}
