//! Turns an image into the network's input: shorter side to 256 with a
//! bilinear (triangle) filter, centre 224x224 crop, RGB scaled as
//! (x - 127) / 128, NCHW.
//!
//! Choices, since the weights' training pipeline is not in the package:
//! - The filter is bilinear with antialiasing when shrinking (its support
//!   widens with the scale, as Pillow's BILINEAR does), so big photos do not
//!   alias; when enlarging it is plain bilinear. Pixel centres are at +0.5.
//! - Only the 224 rows and columns of the crop are computed.
//! - Transparent pixels are flattened onto white (what a viewer shows on a
//!   light page), not dropped, so a logo on transparency is not judged by
//!   whatever colour its invisible pixels happen to hold.
//! - Values stay in f32 between the passes (no rounding back to 8 bits).
//! - The crop offset is floor((size - 224) / 2).

use pictor_imaging::{Channels, Image};

use super::network::INPUT_SIZE;

/// Size of the shorter side before cropping.
pub const RESIZE_TO: usize = 256;

/// The NCHW input tensor's values (3 x 224 x 224, channel-major).
pub fn preprocess(image: &Image) -> Vec<f32> {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let (resized_w, resized_h) = resized_size(width, height);
    let columns = axis_weights(width, resized_w, (resized_w - INPUT_SIZE) / 2);
    let rows = axis_weights(height, resized_h, (resized_h - INPUT_SIZE) / 2);

    // Horizontal pass over just the source rows the crop's rows touch.
    let first_row = rows.iter().map(|t| t.first).min().unwrap_or(0);
    let last_row = rows.iter().map(|t| t.first + t.weights.len()).max().unwrap_or(0);
    let mut horizontal = vec![0f32; (last_row - first_row) * INPUT_SIZE * 3];
    for y in first_row..last_row {
        let source = flattened_row(image, y);
        let target = &mut horizontal[(y - first_row) * INPUT_SIZE * 3..][..INPUT_SIZE * 3];
        for (x, taps) in columns.iter().enumerate() {
            for c in 0..3 {
                target[x * 3 + c] =
                    taps.weights.iter().enumerate().map(|(i, w)| w * source[(taps.first + i) * 3 + c]).sum();
            }
        }
    }

    // Vertical pass, writing planar normalised output.
    let plane = INPUT_SIZE * INPUT_SIZE;
    let mut output = vec![0f32; 3 * plane];
    for (y, taps) in rows.iter().enumerate() {
        for x in 0..INPUT_SIZE {
            for c in 0..3 {
                let value: f32 = taps
                    .weights
                    .iter()
                    .enumerate()
                    .map(|(i, w)| w * horizontal[((taps.first + i - first_row) * INPUT_SIZE + x) * 3 + c])
                    .sum();
                output[c * plane + y * INPUT_SIZE + x] = (value - 127.0) / 128.0;
            }
        }
    }
    output
}

/// The size with the shorter side at [`RESIZE_TO`], the other rounded.
fn resized_size(width: usize, height: usize) -> (usize, usize) {
    let scale = |long: usize, short: usize| ((long * RESIZE_TO) as f64 / short as f64).round() as usize;
    if width <= height { (RESIZE_TO, scale(height, width)) } else { (scale(width, height), RESIZE_TO) }
}

/// The source pixels (and weights, summing to 1) of one output pixel.
#[derive(Debug)]
struct Taps {
    first: usize,
    weights: Vec<f32>,
}

/// Triangle-filter taps for output pixels `offset..offset + 224` of a
/// `source` -> `target` resize of one axis.
fn axis_weights(source: usize, target: usize, offset: usize) -> Vec<Taps> {
    let scale = source as f64 / target as f64;
    let support = scale.max(1.0); // the triangle's half-width in source pixels
    (offset..offset + INPUT_SIZE)
        .map(|out| {
            let centre = (out as f64 + 0.5) * scale;
            let first = ((centre - support).floor().max(0.0)) as usize;
            let end = ((centre + support).ceil() as usize).min(source);
            let raw: Vec<f64> =
                (first..end).map(|i| (1.0 - ((i as f64 + 0.5 - centre) / support).abs()).max(0.0)).collect();
            let total: f64 = raw.iter().sum();
            Taps { first, weights: raw.iter().map(|w| (w / total) as f32).collect() }
        })
        .collect()
}

/// Row `y` of the image as packed f32 RGB, alpha flattened onto white.
fn flattened_row(image: &Image, y: usize) -> Vec<f32> {
    let row = &image.data()[y * image.stride()..(y + 1) * image.stride()];
    match image.channels() {
        Channels::Rgb => row.iter().map(|&v| f32::from(v)).collect(),
        Channels::Rgba => row
            .chunks_exact(4)
            .flat_map(|p| {
                let alpha = f32::from(p[3]) / 255.0;
                [0, 1, 2].map(|c| f32::from(p[c]) * alpha + 255.0 * (1.0 - alpha))
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pictor_imaging::Rgba;

    #[test]
    fn shorter_side_goes_to_256() {
        assert_eq!(resized_size(451, 300), (385, 256));
        assert_eq!(resized_size(300, 451), (256, 385));
        assert_eq!(resized_size(10, 10), (256, 256));
    }

    #[test]
    fn taps_sum_to_one_and_stay_inside() {
        for (source, target) in [(4000, 256), (300, 256), (10, 256), (385, 385)] {
            for taps in axis_weights(source, target.max(INPUT_SIZE), 0) {
                assert!(taps.first + taps.weights.len() <= source);
                assert!((taps.weights.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn flat_colours_stay_flat_and_alpha_goes_to_white() {
        let grey = Image::filled(500, 300, Rgba { r: 127, g: 255, b: 0, a: 255 });
        let input = preprocess(&grey);
        assert_eq!(input.len(), 3 * 224 * 224);
        let plane = 224 * 224;
        assert!(input[..plane].iter().all(|v| v.abs() < 1e-5));
        assert!(input[plane..2 * plane].iter().all(|v| (v - 1.0).abs() < 1e-5));
        assert!(input[2 * plane..].iter().all(|v| (v + 127.0 / 128.0).abs() < 1e-5));

        let clear = Image::filled(20, 30, Rgba { r: 0, g: 0, b: 0, a: 0 });
        assert!(preprocess(&clear).iter().all(|v| (v - 1.0).abs() < 1e-5));
    }
}
