//! The 0°/180° direction classifier (PP-OCR's mobile v2.0 `cls` model, in
//! the same rapidocr package): a line photographed upside down is turned
//! before it is read, as rapidocr does with `use_cls`.
//!
//! Input: the line crop scaled to 48 pixels high keeping its aspect ratio,
//! at most 192 wide, normalised like the recogniser's input, padded with
//! zeros to 48×192. Output: the probabilities of `0` and `180`; a line is
//! turned when `180` wins with at least [`TURN_AT`] (rapidocr's
//! `cls_thresh`).

use crate::tensor::{self, Layout, Rgb};

/// The classifier's input height and width.
pub(crate) const HEIGHT: usize = 48;
pub(crate) const WIDTH: usize = 192;
/// Least probability of `180` that turns a line.
pub(crate) const TURN_AT: f32 = 0.9;
/// `(x / 255 − 0.5) / 0.5` in B, G, R order, as rapidocr feeds OpenCV images.
const LAYOUT: Layout = Layout { channels_first: true, bgr: true, mean: [127.5; 3], scale: 1.0 / 127.5 };

/// The classifier's input for one crop (`1×3×48×192`).
pub(crate) fn input_tensor(line: &Rgb) -> (Vec<f32>, [usize; 4]) {
    let ratio = line.width as f32 / line.height.max(1) as f32;
    let width = ((HEIGHT as f32 * ratio).ceil() as usize).clamp(1, WIDTH);
    LAYOUT.tensor(&tensor::resize(line, width, HEIGHT), (WIDTH, HEIGHT))
}

/// Whether the classifier's output (`[p0, p180]`) says the line is upside down.
pub(crate) fn upside_down(output: &[f32]) -> bool {
    matches!(output, [p0, p180] if p180 > p0 && *p180 >= TURN_AT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_confident_180_turns_a_line() {
        assert!(upside_down(&[0.05, 0.95]));
        assert!(!upside_down(&[0.15, 0.85]), "under rapidocr's threshold");
        assert!(!upside_down(&[0.97, 0.03]));
        assert!(!upside_down(&[1.0]), "a malformed output turns nothing");
    }

    #[test]
    fn crops_are_fitted_into_48_by_192() {
        let wide = Rgb { width: 1000, height: 50, data: vec![255.0; 1000 * 50 * 3] };
        assert_eq!(input_tensor(&wide).1, [1, 3, 48, 192]);
        let short = Rgb { width: 40, height: 40, data: vec![255.0; 40 * 40 * 3] };
        let (data, shape) = input_tensor(&short);
        assert_eq!(shape, [1, 3, 48, 192]);
        // 48 columns of white, then zero padding.
        assert_eq!((data[47], data[48]), (1.0, 0.0));
    }
}
