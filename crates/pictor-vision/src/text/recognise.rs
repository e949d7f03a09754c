//! Line recognition: crop a detected box upright, scale it to PP-OCRv4's
//! 48-pixel height, and read the CTC output greedily.

use crate::tensor::{self, Layout, Pixels, Rgb};

use super::geometry::{self, Point};

/// The recogniser's input height.
pub(crate) const HEIGHT: usize = 48;
/// The narrowest input (rapidocr's `rec_img_shape` width); shorter lines are padded.
const MIN_WIDTH: usize = 320;
/// The widest input (a 33:1 line); longer lines are squeezed to fit.
const MAX_WIDTH: usize = 1600;
/// Input widths are padded to a multiple of this, so few distinct plans are needed.
const WIDTH_STEP: usize = 32;
/// Crops at least this much taller than wide are vertical text: turn them.
const VERTICAL_RATIO: f32 = 1.5;
/// `(x / 255 − 0.5) / 0.5` in B, G, R order, as rapidocr feeds OpenCV images.
const LAYOUT: Layout = Layout { channels_first: true, bgr: true, mean: [127.5; 3], scale: 1.0 / 127.5 };

/// The upright crop of `quad` (clockwise from top-left) from `image`, turned
/// when it is much taller than wide (rapidocr's `get_rotate_crop_image`).
pub(crate) fn crop(image: &dyn Pixels, quad: &[Point; 4]) -> Rgb {
    let side = |a: usize, b: usize, c: usize, d: usize| {
        (geometry::dist(quad[a], quad[b]).max(geometry::dist(quad[c], quad[d])) as usize).max(1)
    };
    let (w, h) = (side(0, 1, 2, 3), side(0, 3, 1, 2));
    let upright = tensor::sample_quad(image, quad, w, h);
    if h as f32 / w as f32 >= VERTICAL_RATIO { upright.rotate_anticlockwise() } else { upright }
}

/// The recogniser's input for one crop: scaled to height 48 keeping its
/// aspect ratio, normalised, padded with zeros on the right.
pub(crate) fn input_tensor(line: &Rgb) -> (Vec<f32>, [usize; 4]) {
    let ratio = line.width as f32 / line.height as f32;
    let width = ((HEIGHT as f32 * ratio).ceil() as usize).clamp(1, MAX_WIDTH);
    let canvas = tensor::round_up(width.max(MIN_WIDTH), WIDTH_STEP);
    LAYOUT.tensor(&tensor::resize(line, width, HEIGHT), (canvas, HEIGHT))
}

/// Greedy CTC decoding of one line's `steps × classes` probabilities: the most
/// likely class per step, then [`collapse`].
pub(crate) fn ctc_decode(probs: &[f32], classes: usize, charset: &[String]) -> (String, f32) {
    let best = probs
        .chunks_exact(classes)
        .map(|step| step.iter().enumerate().fold((0, f32::MIN), |b, (i, &p)| if p > b.1 { (i, p) } else { b }));
    collapse(best, charset)
}

/// The text of a line's most likely class per step (with its probability):
/// repeats merged, blanks (class 0) dropped, class `i ≥ 1` read as
/// `charset[i − 1]`. Returns the text and the mean probability of the kept
/// steps (0 for an empty line).
pub(crate) fn collapse(best: impl Iterator<Item = (usize, f32)>, charset: &[String]) -> (String, f32) {
    let mut text = String::new();
    let (mut sum, mut kept) = (0.0f32, 0usize);
    let mut previous = 0;
    for (class, p) in best {
        if class != 0 && class != previous {
            if let Some(c) = charset.get(class - 1) {
                text.push_str(c);
            }
            sum += p;
            kept += 1;
        }
        previous = class;
    }
    (text, if kept == 0 { 0.0 } else { sum / kept as f32 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctc_merges_repeats_and_drops_blanks() {
        let charset: Vec<String> = ["a", "b", " "].map(String::from).to_vec();
        let step = |k: usize, p: f32| {
            let mut v = vec![(1.0 - p) / 3.0; 4];
            v[k] = p;
            v
        };
        let probs: Vec<f32> = [step(1, 0.9), step(1, 0.8), step(0, 0.9), step(1, 0.7), step(3, 0.6), step(2, 0.5)]
            .into_iter()
            .flatten()
            .collect();
        let (text, conf) = ctc_decode(&probs, 4, &charset);
        assert_eq!(text, "aa b");
        assert!((conf - (0.9 + 0.7 + 0.6 + 0.5) / 4.0).abs() < 1e-6);
    }

    #[test]
    fn lines_are_padded_to_at_least_320() {
        let line = Rgb { width: 20, height: 10, data: vec![255.0; 600] };
        let (data, shape) = input_tensor(&line);
        assert_eq!(shape, [1, 3, 48, 320]);
        assert_eq!((data[0], data[95], data[96]), (1.0, 1.0, 0.0));
    }
}
