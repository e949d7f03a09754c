//! Tiny placeholders: the ThumbHash of a picture (about 25 bytes, with its
//! colours, a blur of its shapes and its aspect ratio), and the small PNG it
//! decodes to, which pages inline so that something shows before the
//! thumbnail has loaded, without JavaScript.

use crate::encode::{EncodeOptions, encode};
use crate::error::Result;
use crate::format::OutputFormat;
use crate::image::{Channels, Image};
use crate::ops::{Ctx, Resize};

/// ThumbHash's own bound on the picture it summarises.
const MAX_SIDE: u32 = 100;

/// The ThumbHash of `image`, scaled down first to fit 100×100.
pub fn thumbhash(image: Image) -> Result<Vec<u8>> {
    let small = Resize::thumbnail(MAX_SIDE, MAX_SIDE).apply(image, &Ctx::new(u64::MAX))?.into_rgba();
    Ok(thumbhash::rgba_to_thumb_hash(small.width() as usize, small.height() as usize, small.data()))
}

/// The placeholder a ThumbHash stands for, as a PNG of at most 32×32;
/// `None` when the hash is not one.
pub fn thumbhash_png(hash: &[u8]) -> Option<Vec<u8>> {
    let (width, height, rgba) = thumbhash::thumb_hash_to_rgba(hash).ok()?;
    let image = Image::from_raw(width as u32, height as u32, Channels::Rgba, rgba).ok()?;
    encode(&image, OutputFormat::Png, &EncodeOptions::default(), None).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Rgba;

    #[test]
    fn a_placeholder_keeps_colour_and_aspect_ratio() {
        let red = Image::filled(400, 200, Rgba::parse("ff0000").unwrap());
        let hash = thumbhash(red).unwrap();
        assert!(hash.len() < 40, "{} bytes", hash.len());
        let png = thumbhash_png(&hash).unwrap();
        let decoded = crate::decode::decode(&png, &Default::default()).unwrap().image;
        assert!(decoded.width() > decoded.height(), "{decoded:?}");
        let px = &decoded.data()[..3];
        assert!(px[0] > 200 && px[1] < 60 && px[2] < 60, "{px:?}");
    }

    #[test]
    fn garbage_is_no_placeholder() {
        assert!(thumbhash_png(b"").is_none());
        assert!(thumbhash_png(&[0xff; 3]).is_none());
    }
}
