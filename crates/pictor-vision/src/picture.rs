//! The picture of a photo the models look at, decoded once for all of them.
//!
//! The text reader looks at up to 2000 px; the others at 224–640 px. A
//! JPEG's entropy decoding costs as much at 1/8 scale as at full, and each
//! model scaling a 2000 px picture down costs more than its own network
//! (labels), so a photo is decoded once, at the text reader's size, and
//! scaled once more to what the other models need.

use pictor_imaging::{Image, ImagingError, Limits};

/// The large picture's longer side, at least (the text reader's).
pub const LARGE_SIDE: u32 = crate::text::MAX_SIDE as u32;
/// The small picture's longer side (the faces model's) and shorter side
/// (the labels model's), at least.
const SMALL_SIDES: (f64, f64) = (640.0, 256.0);

/// An upright photo at the two sizes the models need.
pub struct Picture {
    /// At least [`LARGE_SIDE`] on its longer side (unless the photo is
    /// smaller): for the text reader.
    pub large: Image,
    /// For labels, moderation and faces: `large` scaled down to 640 px on
    /// its longer side, or 256 on its shorter side if that is larger.
    pub small: Image,
    /// The upright photo's width.
    pub full_width: u32,
}

impl Picture {
    /// Decodes `bytes` (shrinking on load where the format can).
    pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Self, ImagingError> {
        // Decoders keep twice the pixels a caller asks for, for a resize
        // filter's sake; the models' own resizing filters properly at any
        // scale, so asking for half gives the smallest decode of at least
        // LARGE_SIDE (a 4000 px JPEG decodes at 1/2, not in full).
        let decoded = pictor_imaging::decode::decode_with(bytes, limits, &|header| {
            let (w, h) = header.upright_size();
            (2.0 * f64::from(w.max(h)) / f64::from(LARGE_SIDE)).max(1.0)
        })?;
        let large = decoded.image;
        let (w, h) = (f64::from(large.width()), f64::from(large.height()));
        let ratio = (SMALL_SIDES.0 / w.max(h)).max(SMALL_SIDES.1 / w.min(h));
        let small = if ratio < 1.0 {
            let side = |v: f64| ((v * ratio).round() as u32).max(1);
            pictor_imaging::ops::resize_exact(&large, side(w), side(h))
        } else {
            large.clone()
        };
        Ok(Self { large, small, full_width: decoded.header.upright_size().0 })
    }

    /// How many of the photo's pixels one pixel of `image` spans.
    pub fn scale(&self, image: &Image) -> f32 {
        self.full_width as f32 / image.width() as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pictor_imaging::encode::{EncodeOptions, encode};
    use pictor_imaging::{Channels, OutputFormat};

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let image = Image::from_raw(width, height, Channels::Rgb, vec![128; (width * height * 3) as usize]).unwrap();
        encode(&image, OutputFormat::Jpeg, &EncodeOptions::default(), None).unwrap()
    }

    #[test]
    fn a_large_photo_gives_a_large_and_a_small_picture() {
        let picture = Picture::decode(&jpeg(4000, 3000), &Limits::default()).unwrap();
        assert_eq!((picture.large.width(), picture.large.height()), (2000, 1500), "1/2 on load");
        assert_eq!((picture.small.width(), picture.small.height()), (640, 480));
        assert_eq!((picture.scale(&picture.large), picture.scale(&picture.small)), (2.0, 6.25));
    }

    #[test]
    fn a_panorama_keeps_256_px_on_its_shorter_side() {
        let picture = Picture::decode(&jpeg(3000, 600), &Limits::default()).unwrap();
        assert_eq!((picture.small.width(), picture.small.height()), (1280, 256));
    }

    #[test]
    fn a_small_photo_is_not_enlarged() {
        let picture = Picture::decode(&jpeg(300, 200), &Limits::default()).unwrap();
        assert_eq!((picture.large.width(), picture.small.width()), (300, 300));
    }
}
