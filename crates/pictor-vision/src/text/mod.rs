//! Text lines with PP-OCRv4, as packaged by rapidocr-onnxruntime 1.4.4.
//!
//! Two models in sequence, with rapidocr's configuration:
//! - the DB detector gives a text probability map for the image, scaled so
//!   its shorter side is at least [`LIMIT_SIDE`] (`limit_type: min`) and its
//!   longer side at most [`MAX_SIDE`], sides rounded to multiples of 32;
//!   [`detect`] turns the map into rotated line boxes;
//! - the CRNN/SVTR recogniser reads each box, cropped upright and scaled to
//!   48 pixels high ([`recognise`]), with greedy CTC decoding over the 6,623
//!   characters stored in the model's `character` metadata.
//!
//! Most photos hold no text, and the detector at full size is most of the
//! cost of reading one. So the detector first glances at a large picture
//! with its longer side at [`GLANCE_SIDE`] (PaddleOCR's own default size, a
//! quarter of the pixels), and the recogniser reads what it found there:
//! only when a line reads does the full-size pass run, which then finds
//! exactly what it found without the glance.
//!
//! Between them, the 0°/180° direction classifier ([`direction`]) turns a
//! line photographed upside down before it is read.
//!
//! All take B, G, R (rapidocr works on OpenCV images) scaled to −1…1. Lines
//! read with a mean confidence below [`MIN_CONFIDENCE`] are dropped.
//!
//! Input sizes vary per image and per line. Plans are built per concrete
//! input shape and cached (recogniser widths are padded to multiples of 32 to
//! keep their number small): with a symbolic height or width, tract 0.23.9
//! cannot even analyse these Paddle exports (a `Concat` whose input sizes it
//! fails to unify), and for CenterFace a symbolic plan ran 4× slower.

mod detect;
mod direction;
mod geometry;
mod letterbox;
mod recognise;

use std::path::Path;

use pictor_imaging::Image;
use serde::{Deserialize, Serialize};

use crate::models;
use crate::tensor::{self, ImagePixels, Layout, PlanCache, Rgb};
use crate::{Result, VisionError};

/// The detector input's shorter side is enlarged to at least this (rapidocr's `limit_side_len`).
pub const LIMIT_SIDE: usize = 736;
/// …and its longer side kept at most this (rapidocr's `max_side_len`).
pub const MAX_SIDE: usize = 2000;
/// The longer side of the detector's first glance.
pub const GLANCE_SIDE: usize = 960;
/// Lines read with a lower mean character probability are dropped (rapidocr's `text_score`).
pub const MIN_CONFIDENCE: f32 = 0.5;

const DETECTOR: &str = "ocr-det";
const RECOGNISER: &str = "ocr-rec";
const CLASSIFIER: &str = "ocr-cls";
/// Detector inputs' sides are multiples of this.
const ALIGN: usize = 32;
/// Cached plans per model.
const CACHED_PLANS: usize = 8;
const DETECTOR_LAYOUT: Layout = Layout { channels_first: true, bgr: true, mean: [127.5; 3], scale: 1.0 / 127.5 };

/// One line of text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextLine {
    pub text: String,
    /// Mean probability of the line's characters, 0–1.
    pub confidence: f32,
    /// The line's corners in image pixels, clockwise from top-left.
    pub quad: [[f32; 2]; 4],
}

/// A line's corners in image pixels, clockwise from top-left.
type Quad = [[f32; 2]; 4];

/// A detected line's box and the recogniser's input tensor (data, shape) for it.
#[doc(hidden)]
pub type LineInput = (Quad, (Vec<f32>, [usize; 4]));

/// The loaded PP-OCRv4 detector and recogniser; load once, share across threads.
pub struct TextReader {
    detector: PlanCache,
    recogniser: PlanCache,
    /// The direction classifier, planned for its one input size.
    classifier: tensor::Plan,
    /// Class `i ≥ 1` of the recogniser is `charset[i − 1]`; the last is a space.
    charset: Vec<String>,
}

impl TextReader {
    /// Reads both models from `<data_dir>/models/…` and the character set from the recogniser.
    pub fn load(data_dir: &Path) -> Result<Self> {
        let detector = tensor::read_model(&models::path(data_dir, DETECTOR)?, DETECTOR)?;
        let recogniser = tensor::read_model(&models::path(data_dir, RECOGNISER)?, RECOGNISER)?;
        let classifier = tensor::read_model(&models::path(data_dir, CLASSIFIER)?, CLASSIFIER)?;
        let classifier = tensor::plan(classifier, CLASSIFIER, &[1, 3, direction::HEIGHT, direction::WIDTH])?;
        let characters = tensor::metadata(&recogniser, "character")
            .ok_or_else(|| VisionError::load(RECOGNISER, "no `character` metadata"))?;
        let mut charset: Vec<String> = characters.lines().map(String::from).collect();
        charset.push(" ".into());
        let reader = Self {
            detector: PlanCache::new(detector, DETECTOR, CACHED_PLANS),
            recogniser: PlanCache::new(recogniser, RECOGNISER, CACHED_PLANS),
            classifier,
            charset,
        };
        // Plan the recogniser's most common width now, so a broken file fails here.
        reader.recogniser.get(&[1, 3, recognise::HEIGHT, 320])?;
        Ok(reader)
    }

    /// The text lines of `image`, top to bottom, then left to right. A very
    /// short or very wide picture is letterboxed first ([`letterbox`]).
    pub fn read(&self, image: &Image) -> Result<Vec<TextLine>> {
        let Some((padded, band)) = letterbox::pad(image) else { return self.read_unpadded(image) };
        Ok(letterbox::unpad(self.read_unpadded(&padded)?, band, image.height()))
    }

    fn read_unpadded(&self, image: &Image) -> Result<Vec<TextLine>> {
        match self.glance(image)? {
            Some(lines) if lines.is_empty() => Ok(lines),
            _ => self.read_closely(image),
        }
    }

    /// The lines the detector finds at [`GLANCE_SIDE`], read; `None` for a
    /// picture too small to glance at (the detector enlarges it).
    #[doc(hidden)]
    pub fn glance(&self, image: &Image) -> Result<Option<Vec<TextLine>>> {
        let (width, height) = (image.width() as usize, image.height() as usize);
        let full = detection_size(width, height);
        let glance = glance_size(full);
        if width.min(height) < LIMIT_SIDE || glance.0 * glance.1 * 2 > full.0 * full.1 {
            return Ok(None);
        }
        Ok(Some(self.read_boxes(image, self.boxes(image, glance)?)?))
    }

    /// [`Self::read`] without the first glance: the detector runs at full
    /// size whatever the glance would find.
    pub fn read_closely(&self, image: &Image) -> Result<Vec<TextLine>> {
        let full = detection_size(image.width() as usize, image.height() as usize);
        self.read_boxes(image, self.boxes(image, full)?)
    }

    /// The lines read in `quads` with at least [`MIN_CONFIDENCE`].
    fn read_boxes(&self, image: &Image, quads: Vec<Quad>) -> Result<Vec<TextLine>> {
        let mut lines = Vec::new();
        for (quad, (data, shape)) in self.inputs(image, quads)? {
            let (text, confidence) = self.recognise(data, &shape)?;
            if confidence >= MIN_CONFIDENCE {
                lines.push(TextLine { text, confidence, quad });
            }
        }
        Ok(lines)
    }

    /// The detector's input: `1×3×H×W`, B, G, R scaled to −1…1.
    #[doc(hidden)]
    pub fn detection_input(image: &Image) -> (Vec<f32>, [usize; 4]) {
        let (w, h) = detection_size(image.width() as usize, image.height() as usize);
        detector_input(image, (w, h))
    }

    /// The detector's probability map (`H×W`) for a [`Self::detection_input`].
    #[doc(hidden)]
    pub fn detection_map(&self, data: Vec<f32>, shape: &[usize]) -> Result<Vec<f32>> {
        let plan = self.detector.get(shape)?;
        Ok(tensor::output(&tensor::run(&plan, DETECTOR, data, shape)?, 0, DETECTOR)?.0.to_vec())
    }

    /// The line boxes the detector finds in `image` scaled to `w × h`, in pixels of `image`.
    fn boxes(&self, image: &Image, (w, h): (usize, usize)) -> Result<Vec<Quad>> {
        let (data, shape) = detector_input(image, (w, h));
        let map = self.detection_map(data, &shape)?;
        let map = detect::ProbMap { data: &map, width: w, height: h };
        Ok(detect::boxes(&map, image.width() as usize, image.height() as usize))
    }

    /// Each detected line's box and the recogniser's input for it.
    #[doc(hidden)]
    pub fn line_inputs(&self, image: &Image) -> Result<Vec<LineInput>> {
        let full = detection_size(image.width() as usize, image.height() as usize);
        self.inputs(image, self.boxes(image, full)?)
    }

    /// The recogniser's input for each of `quads`.
    fn inputs(&self, image: &Image, quads: Vec<Quad>) -> Result<Vec<LineInput>> {
        let pixels = ImagePixels::new(image);
        quads
            .into_iter()
            .map(|q| Ok((q, recognise::input_tensor(&self.upright(recognise::crop(&pixels, &q))?))))
            .collect()
    }

    /// The line crop, turned if the direction classifier finds it upside down.
    fn upright(&self, line: Rgb) -> Result<Rgb> {
        let (data, shape) = direction::input_tensor(&line);
        let outputs = tensor::run(&self.classifier, CLASSIFIER, data, &shape)?;
        let (probabilities, _) = tensor::output(&outputs, 0, CLASSIFIER)?;
        Ok(if direction::upside_down(probabilities) { line.rotate_half() } else { line })
    }

    /// Reads one line from its recogniser input: text and mean confidence.
    #[doc(hidden)]
    pub fn recognise(&self, data: Vec<f32>, shape: &[usize]) -> Result<(String, f32)> {
        let plan = self.recogniser.get(shape)?;
        let outputs = tensor::run(&plan, RECOGNISER, data, shape)?;
        let (probs, out_shape) = tensor::output(&outputs, 0, RECOGNISER)?;
        let classes = *out_shape.last().ok_or_else(|| VisionError::run(RECOGNISER, "scalar output"))?;
        Ok(recognise::ctc_decode(probs, classes, &self.charset))
    }

    /// The text of a line given the most likely class and its probability per
    /// step (e.g. from onnxruntime), decoded as [`Self::recognise`] does.
    #[doc(hidden)]
    pub fn decode_classes(&self, best: &[(usize, f32)]) -> (String, f32) {
        recognise::collapse(best.iter().copied(), &self.charset)
    }
}

/// The detector's input for `image` scaled to `w × h`.
fn detector_input(image: &Image, (w, h): (usize, usize)) -> (Vec<f32>, [usize; 4]) {
    DETECTOR_LAYOUT.tensor(&tensor::resize(&ImagePixels::new(image), w, h), (w, h))
}

/// The detector's input size for a `width × height` image (rapidocr's
/// `DetPreProcess.resize` with `limit_type: min`, plus the longer-side cap).
fn detection_size(width: usize, height: usize) -> (usize, usize) {
    let (short, long) = (width.min(height) as f64, width.max(height) as f64);
    let ratio = (LIMIT_SIDE as f64 / short).max(1.0).min(MAX_SIDE as f64 / long);
    let side = |v: usize| (((v as f64 * ratio).trunc() / ALIGN as f64).round() as usize * ALIGN).max(ALIGN);
    (side(width), side(height))
}

/// The detector input `full` scaled so its longer side is [`GLANCE_SIDE`].
fn glance_size((width, height): (usize, usize)) -> (usize, usize) {
    let ratio = GLANCE_SIDE as f64 / width.max(height) as f64;
    let side = |v: usize| ((v as f64 * ratio / ALIGN as f64).round() as usize * ALIGN).max(ALIGN);
    (side(width), side(height))
}

#[cfg(test)]
mod tests {
    #[test]
    fn detection_size_follows_rapidocr() {
        // 448×172: shorter side to 736 → 1916×736 → 1920×736.
        assert_eq!(super::detection_size(448, 172), (1920, 736));
        // A large photo is not enlarged; the longer side is capped.
        assert_eq!(super::detection_size(4000, 3000), (2016, 1504));
        assert_eq!(super::detection_size(800, 900), (800, 896));
    }
}
