//! Turns an image into the network's input: shorter side to 256 with a
//! bilinear (triangle) filter, centre 224x224 crop, RGB scaled as
//! (x - 127) / 128, NCHW.
//!
//! Choices, since the weights' training pipeline is not in the package:
//! - The resize is [`crate::tensor::resize`], shared with the other models:
//!   bilinear, widening when shrinking as Pillow's BILINEAR does, so big
//!   photos do not alias. Transparent pixels are flattened onto white.
//! - Values stay in f32 between the passes (no rounding back to 8 bits).
//! - The crop offset is floor((size - 224) / 2).

use pictor_imaging::Image;

use super::network::INPUT_SIZE;
use crate::tensor::{self, ImagePixels, Layout};

/// Size of the shorter side before cropping.
pub const RESIZE_TO: usize = 256;

/// RGB, (x - 127) / 128, channels first.
const LAYOUT: Layout = Layout { channels_first: true, bgr: false, mean: [127.0; 3], scale: 1.0 / 128.0 };

/// The NCHW input tensor's values (3 x 224 x 224, channel-major).
pub fn preprocess(image: &Image) -> Vec<f32> {
    let (width, height) = resized_size(image.width() as usize, image.height() as usize);
    let resized = tensor::resize(&ImagePixels::new(image), width, height);
    let crop = resized.crop((width - INPUT_SIZE) / 2, (height - INPUT_SIZE) / 2, INPUT_SIZE, INPUT_SIZE);
    LAYOUT.tensor(&crop, (INPUT_SIZE, INPUT_SIZE)).0
}

/// The size with the shorter side at [`RESIZE_TO`], the other rounded.
fn resized_size(width: usize, height: usize) -> (usize, usize) {
    let scale = |long: usize, short: usize| ((long * RESIZE_TO) as f64 / short as f64).round() as usize;
    if width <= height { (RESIZE_TO, scale(height, width)) } else { (scale(width, height), RESIZE_TO) }
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
