//! A set of thumbnails from one decode, as an upload workflow makes them.
//!
//! Making each size separately would decode the original once per size and
//! format. Here the original is decoded once, shrunk on load for the largest
//! size, and each smaller size is resized from the previous result while
//! that still leaves the resize filter at least 2× to work with. Each size is
//! exactly what `Pipeline::parse("thumbnail=N")` describes, so the results
//! can be stored under that pipeline's canonical cache key.

use crate::encode::encode;
use crate::{Image, ImagingError, Limits, Output, OutputFormat, Pipeline, Result};

/// Renders every `size` (longest side, never enlarging) in every `format`
/// (not `Auto`); the outputs come size by size, formats in the order given.
pub fn thumbnail_set(bytes: &[u8], sizes: &[u32], formats: &[OutputFormat], limits: &Limits) -> Result<Vec<Output>> {
    if formats.contains(&OutputFormat::Auto) {
        return Err(ImagingError::InvalidOperation("thumbnail sets need concrete formats, not auto".into()));
    }
    let pipelines =
        sizes.iter().map(|size| Pipeline::parse(&format!("thumbnail={size}"))).collect::<Result<Vec<_>>>()?;
    let Some(largest) = sizes.iter().enumerate().max_by_key(|(_, size)| **size).map(|(i, _)| i) else {
        return Ok(Vec::new());
    };
    let decoded = pipelines[largest].decode(bytes, limits)?;
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    let mut rendered: Vec<Option<Vec<Output>>> = vec![None; sizes.len()];
    let mut source: Image = decoded.image;
    for i in order {
        let image = pipelines[i].transform(source.clone(), limits)?;
        let outputs = formats
            .iter()
            .map(|&format| {
                let bytes = encode(&image, format, &pipelines[i].encode, decoded.exif.as_deref())?;
                Ok(Output { bytes, format, width: image.width(), height: image.height() })
            })
            .collect::<Result<Vec<_>>>()?;
        rendered[i] = Some(outputs);
        // The next (smaller) size may start from this one if it leaves 2×.
        let next_ok = |next: u32| image.width().max(image.height()) >= next.saturating_mul(2);
        if sizes.iter().filter(|s| **s < sizes[i]).max().is_some_and(|next| next_ok(*next)) {
            source = image;
        }
    }
    Ok(rendered.into_iter().flatten().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Channels, decode};

    fn photo(w: u32, h: u32) -> Vec<u8> {
        let mut raw = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                raw.extend_from_slice(&[(x * 255 / w) as u8, (y * 255 / h) as u8, ((x ^ y) & 0xff) as u8]);
            }
        }
        let image = Image::from_raw(w, h, Channels::Rgb, raw).unwrap();
        encode(&image, OutputFormat::Jpeg, &Default::default(), None).unwrap()
    }

    #[test]
    fn every_size_and_format_from_one_decode() {
        let original = photo(1200, 800);
        let limits = Limits::default();
        let set = thumbnail_set(&original, &[64, 600, 256], &[OutputFormat::Webp, OutputFormat::Png], &limits).unwrap();
        let shapes: Vec<(u32, u32, OutputFormat)> = set.iter().map(|o| (o.width, o.height, o.format)).collect();
        assert_eq!(
            shapes,
            [
                (64, 43, OutputFormat::Webp),
                (64, 43, OutputFormat::Png),
                (600, 400, OutputFormat::Webp),
                (600, 400, OutputFormat::Png),
                (256, 171, OutputFormat::Webp),
                (256, 171, OutputFormat::Png),
            ]
        );
        // Each is what the one-at-a-time pipeline makes, to within resampling.
        for (output, size) in set.iter().step_by(2).zip([64, 600, 256]) {
            let alone = Pipeline::parse(&format!("thumbnail={size}"))
                .unwrap()
                .run(&original, OutputFormat::Webp, "", &limits)
                .unwrap();
            let (ours, theirs) =
                (decode(&output.bytes, &limits).unwrap().image, decode(&alone.bytes, &limits).unwrap().image);
            assert!(ours.psnr(&theirs) > 30.0, "size {size}: {} dB", ours.psnr(&theirs));
        }
    }

    #[test]
    fn small_images_are_not_enlarged_and_auto_is_refused() {
        let set = thumbnail_set(&photo(50, 40), &[128], &[OutputFormat::Jpeg], &Limits::default()).unwrap();
        assert_eq!((set[0].width, set[0].height), (50, 40));
        assert!(thumbnail_set(&photo(50, 40), &[128], &[OutputFormat::Auto], &Limits::default()).is_err());
        assert!(thumbnail_set(b"not an image", &[128], &[OutputFormat::Jpeg], &Limits::default()).is_err());
    }
}
