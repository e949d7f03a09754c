//! Shared plumbing for the ONNX models: pixels in, tensors out, plans run.
//!
//! Every model needs the same few steps — read an 8-bit image, resize it,
//! lay it out as an `N×C×H×W` or `N×H×W×C` float tensor with a per-model
//! normalisation, run a tract plan, read the outputs back — so they live here
//! once instead of in each model module.
//!
//! Resizing is a separable triangle (bilinear) filter whose support widens
//! when shrinking, as Pillow's `BILINEAR` does: open-nsfw's reference code
//! resizes with Pillow, and without the widening a 4× shrink would only look
//! at a quarter of the pixels (aliasing). When enlarging it is plain bilinear
//! interpolation with pixel centres at +0.5, like OpenCV's `INTER_LINEAR`.

use std::path::Path;
use std::sync::{Arc, Mutex};

use pictor_imaging::{Channels, Image};
use tract_onnx::prelude::*;

use crate::{Result, VisionError};

/// An optimised, runnable tract plan; cheap to share between threads.
pub(crate) type Plan = Arc<TypedRunnableModel>;

/// A source of RGB pixels with values 0–255.
pub(crate) trait Pixels: Sync {
    fn width(&self) -> usize;
    fn height(&self) -> usize;
    /// The pixel at column `x`, row `y` (both in range).
    fn rgb(&self, x: usize, y: usize) -> [f32; 3];

    /// Row `y` into `out` (`width × 3` values, R, G, B): one call per row
    /// instead of one per pixel, which is what makes resizing fast.
    fn row(&self, y: usize, out: &mut [f32]) {
        for (x, px) in out.chunks_exact_mut(3).enumerate() {
            px.copy_from_slice(&self.rgb(x, y));
        }
    }
}

/// An [`Image`] read as RGB; transparent pixels are composited onto white,
/// so a logo on a transparent background is seen as a logo on paper.
pub(crate) struct ImagePixels<'a> {
    image: &'a Image,
    alpha: bool,
}

impl<'a> ImagePixels<'a> {
    pub(crate) fn new(image: &'a Image) -> Self {
        Self { image, alpha: image.channels() == Channels::Rgba }
    }
}

impl Pixels for ImagePixels<'_> {
    fn width(&self) -> usize {
        self.image.width() as usize
    }

    fn height(&self) -> usize {
        self.image.height() as usize
    }

    fn rgb(&self, x: usize, y: usize) -> [f32; 3] {
        let n = if self.alpha { 4 } else { 3 };
        let i = (y * self.width() + x) * n;
        let p = &self.image.data()[i..i + n];
        let rgb = [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])];
        if !self.alpha {
            return rgb;
        }
        let a = f32::from(p[3]) / 255.0;
        rgb.map(|v| v * a + 255.0 * (1.0 - a))
    }

    fn row(&self, y: usize, out: &mut [f32]) {
        if self.alpha {
            return (0..self.width()).for_each(|x| out[x * 3..][..3].copy_from_slice(&self.rgb(x, y)));
        }
        let bytes = &self.image.data()[y * self.width() * 3..][..self.width() * 3];
        out.iter_mut().zip(bytes).for_each(|(o, &b)| *o = f32::from(b));
    }
}

/// An RGB float image (0–255, interleaved): the result of a resize or crop.
#[derive(Debug, Clone)]
pub(crate) struct Rgb {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl Pixels for Rgb {
    fn width(&self) -> usize {
        self.width
    }

    fn height(&self) -> usize {
        self.height
    }

    fn rgb(&self, x: usize, y: usize) -> [f32; 3] {
        let i = (y * self.width + x) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    fn row(&self, y: usize, out: &mut [f32]) {
        out.copy_from_slice(&self.data[y * self.width * 3..][..self.width * 3]);
    }
}

/// The source pixels (first index and weights) that make one output pixel.
struct Taps {
    start: usize,
    weights: Vec<f32>,
}

/// Triangle-filter taps mapping `src` pixels onto `dst` pixels along one axis.
fn taps(src: usize, dst: usize) -> Vec<Taps> {
    let scale = src as f32 / dst as f32;
    // The filter's radius in source pixels: 1 when enlarging, `scale` when shrinking.
    let support = scale.max(1.0);
    (0..dst)
        .map(|i| {
            let centre = (i as f32 + 0.5) * scale;
            let lo = ((centre - support).floor().max(0.0) as usize).min(src - 1);
            let hi = ((centre + support).ceil() as usize).clamp(lo + 1, src);
            let mut weights: Vec<f32> =
                (lo..hi).map(|j| (1.0 - ((j as f32 + 0.5 - centre) / support).abs()).max(0.0)).collect();
            let sum: f32 = weights.iter().sum();
            if sum > 0.0 {
                weights.iter_mut().for_each(|w| *w /= sum);
            } else {
                // Only when the centre falls outside every tap: take the nearest pixel.
                weights.iter_mut().for_each(|w| *w = 0.0);
                weights[((centre as usize).clamp(lo, hi - 1)) - lo] = 1.0;
            }
            Taps { start: lo, weights }
        })
        .collect()
}

/// Resizes `src` to `width × height` (aspect ratio not kept; callers choose).
pub(crate) fn resize(src: &dyn Pixels, width: usize, height: usize) -> Rgb {
    let (sw, sh) = (src.width(), src.height());
    let columns = taps(sw, width);
    // Horizontal pass: every source row, output width.
    let mut wide = vec![0.0f32; width * sh * 3];
    let mut row = vec![0.0f32; sw * 3];
    for (y, out) in wide.chunks_exact_mut(width * 3).enumerate() {
        src.row(y, &mut row);
        for (o, t) in out.chunks_exact_mut(3).zip(&columns) {
            let taps = &row[t.start * 3..(t.start + t.weights.len()) * 3];
            let mut acc = [0.0f32; 3];
            for (p, w) in taps.chunks_exact(3).zip(&t.weights) {
                (0..3).for_each(|c| acc[c] += w * p[c]);
            }
            o.copy_from_slice(&acc);
        }
    }
    // Vertical pass.
    let mut data = vec![0.0f32; width * height * 3];
    for (y, t) in taps(sh, height).iter().enumerate() {
        let out = &mut data[y * width * 3..(y + 1) * width * 3];
        for (k, w) in t.weights.iter().enumerate() {
            let row = &wide[(t.start + k) * width * 3..(t.start + k + 1) * width * 3];
            out.iter_mut().zip(row).for_each(|(o, v)| *o += w * v);
        }
    }
    Rgb { width, height, data }
}

/// The size that fits `width × height` into `max_side` on its longer side
/// (never enlarging), at least 1×1.
pub(crate) fn fit_within(width: usize, height: usize, max_side: usize) -> (usize, usize) {
    let scale = (max_side as f64 / width.max(height) as f64).min(1.0);
    let side = |v: usize| ((v as f64 * scale).round() as usize).max(1);
    (side(width), side(height))
}

impl Rgb {
    /// The `width × height` window whose top-left corner is `(x, y)`.
    pub(crate) fn crop(&self, x: usize, y: usize, width: usize, height: usize) -> Rgb {
        let mut data = Vec::with_capacity(width * height * 3);
        for row in y..y + height {
            let start = (row * self.width + x) * 3;
            data.extend_from_slice(&self.data[start..start + width * 3]);
        }
        Rgb { width, height, data }
    }

    /// Turned half a turn: upside down.
    pub(crate) fn rotate_half(&self) -> Rgb {
        let mut data = Vec::with_capacity(self.data.len());
        for pixel in self.data.chunks_exact(3).rev() {
            data.extend_from_slice(pixel);
        }
        Rgb { width: self.width, height: self.height, data }
    }

    /// Turned a quarter turn anticlockwise (`np.rot90`): the top row becomes the left column.
    pub(crate) fn rotate_anticlockwise(&self) -> Rgb {
        let (w, h) = (self.height, self.width);
        let mut data = Vec::with_capacity(self.data.len());
        for y in 0..h {
            for x in 0..w {
                data.extend_from_slice(&self.rgb(self.width - 1 - y, x));
            }
        }
        Rgb { width: w, height: h, data }
    }
}

/// Samples the parallelogram with corners `quad[0]` (top-left), `quad[1]`
/// (top-right) and `quad[3]` (bottom-left) into a `width × height` upright
/// image, bilinearly, repeating the border for points outside `src`.
/// Corners are pixel indices and output pixel `(x, y)` samples the point
/// `x / width` along the top edge and `y / height` down the left one, as
/// OpenCV's `getPerspectiveTransform` + `warpPerspective` do for PP-OCR crops.
pub(crate) fn sample_quad(src: &dyn Pixels, quad: &[[f32; 2]; 4], width: usize, height: usize) -> Rgb {
    let [tl, tr, _, bl] = *quad;
    let mut data = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        let v = y as f32 / height as f32;
        for x in 0..width {
            let u = x as f32 / width as f32;
            let px = tl[0] + u * (tr[0] - tl[0]) + v * (bl[0] - tl[0]);
            let py = tl[1] + u * (tr[1] - tl[1]) + v * (bl[1] - tl[1]);
            data.extend_from_slice(&bilinear(src, px, py));
        }
    }
    Rgb { width, height, data }
}

/// The colour at pixel coordinates `(x, y)` (pixel centres on integers).
fn bilinear(src: &dyn Pixels, x: f32, y: f32) -> [f32; 3] {
    let clamp = |v: f32, n: usize| v.clamp(0.0, (n - 1) as f32);
    let (x, y) = (clamp(x, src.width()), clamp(y, src.height()));
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(src.width() - 1), (y0 + 1).min(src.height() - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let [a, b, c, d] = [src.rgb(x0, y0), src.rgb(x1, y0), src.rgb(x0, y1), src.rgb(x1, y1)];
    std::array::from_fn(|i| (a[i] * (1.0 - fx) + b[i] * fx) * (1.0 - fy) + (c[i] * (1.0 - fx) + d[i] * fx) * fy)
}

/// How a model wants its input tensor laid out and scaled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    /// `N×C×H×W` (PyTorch, Paddle) rather than `N×H×W×C` (TensorFlow).
    pub channels_first: bool,
    /// Channels in OpenCV's B, G, R order rather than R, G, B.
    pub bgr: bool,
    /// Subtracted from each channel (in the tensor's channel order, 0–255 scale)…
    pub mean: [f32; 3],
    /// …then multiplied by this.
    pub scale: f32,
}

impl Layout {
    /// Writes `image` into the top-left corner of a `1 × canvas` tensor whose
    /// other values are 0 (padding, after normalisation). Returns the data and
    /// its shape.
    pub(crate) fn tensor(&self, image: &Rgb, canvas: (usize, usize)) -> (Vec<f32>, [usize; 4]) {
        let (cw, ch) = canvas;
        let mut data = vec![0.0f32; cw * ch * 3];
        for y in 0..image.height.min(ch) {
            for x in 0..image.width.min(cw) {
                let p = image.rgb(x, y);
                for c in 0..3 {
                    let v = (p[if self.bgr { 2 - c } else { c }] - self.mean[c]) * self.scale;
                    let i = if self.channels_first { (c * ch + y) * cw + x } else { (y * cw + x) * 3 + c };
                    data[i] = v;
                }
            }
        }
        let shape = if self.channels_first { [1, 3, ch, cw] } else { [1, ch, cw, 3] };
        (data, shape)
    }
}

/// Rounds `v` up to a multiple of `m`.
pub(crate) fn round_up(v: usize, m: usize) -> usize {
    v.div_ceil(m) * m
}

/// Reads an ONNX file into tract's inference model.
pub(crate) fn read_model(path: &Path, name: &'static str) -> Result<InferenceModel> {
    tract_onnx::onnx().model_for_path(path).map_err(|e| VisionError::load(name, format!("{e:#}")))
}

/// Fixes input 0 to a concrete f32 `shape`, optimises and plans the model.
pub(crate) fn plan(model: InferenceModel, name: &'static str, shape: &[usize]) -> Result<Plan> {
    plan_inputs(model, name, &[shape])
}

/// Fixes input `i` to the concrete f32 `shapes[i]`, optimises and plans.
pub(crate) fn plan_inputs(model: InferenceModel, name: &'static str, shapes: &[&[usize]]) -> Result<Plan> {
    let build = || -> TractResult<Plan> {
        let mut model = model;
        for (i, shape) in shapes.iter().enumerate() {
            model = model.with_input_fact(i, f32::fact(*shape).into())?;
        }
        model.into_optimized()?.into_runnable()
    };
    build().map_err(|e| VisionError::load(name, format!("{e:#}")))
}

/// Runs `plan` on one f32 input and returns every output.
pub(crate) fn run(plan: &Plan, name: &'static str, data: Vec<f32>, shape: &[usize]) -> Result<TVec<TValue>> {
    run_inputs(plan, name, vec![(data, shape.to_vec())])
}

/// Runs `plan` on f32 inputs given as (data, shape), in input order.
pub(crate) fn run_inputs(plan: &Plan, name: &'static str, inputs: Vec<(Vec<f32>, Vec<usize>)>) -> Result<TVec<TValue>> {
    let mut values = TVec::new();
    for (data, shape) in inputs {
        let input = tract_ndarray::ArrayD::from_shape_vec(shape, data).map_err(|e| VisionError::run(name, e))?;
        values.push(Tensor::from(input).into_tvalue());
    }
    plan.run(values).map_err(|e| VisionError::run(name, format!("{e:#}")))
}

/// Output `index` as a flat f32 slice with its shape.
pub(crate) fn output<'a>(
    outputs: &'a TVec<TValue>,
    index: usize,
    name: &'static str,
) -> Result<(&'a [f32], &'a [usize])> {
    let t = outputs.get(index).ok_or_else(|| VisionError::run(name, format!("no output {index}")))?;
    let data = t.try_as_plain_ram().and_then(|v| v.as_slice::<f32>()).map_err(|e| VisionError::run(name, e))?;
    Ok((data, t.shape()))
}

/// Plans for a model whose input size varies per image (faces, text,
/// style), built on first use of each input shape and kept: tract plans
/// fastest when every dimension is concrete. The least recently used plan
/// is dropped past `capacity`.
pub(crate) struct PlanCache {
    model: InferenceModel,
    name: &'static str,
    capacity: usize,
    /// The fixed shapes of inputs 1, 2, … (the style weights, say).
    others: Vec<Vec<usize>>,
    plans: Mutex<Vec<(Vec<usize>, Plan)>>,
}

impl PlanCache {
    pub(crate) fn new(model: InferenceModel, name: &'static str, capacity: usize) -> Self {
        Self { model, name, capacity, others: Vec::new(), plans: Mutex::new(Vec::new()) }
    }

    /// The model's further inputs, whose shapes never change.
    pub(crate) fn with_inputs(mut self, others: Vec<Vec<usize>>) -> Self {
        self.others = others;
        self
    }

    /// The plan for input `shape`, building it (outside the lock) if needed.
    pub(crate) fn get(&self, shape: &[usize]) -> Result<Plan> {
        {
            let mut plans = self.lock();
            if let Some(i) = plans.iter().position(|(s, _)| s == shape) {
                // Most recently used last.
                let hit = plans.remove(i);
                let p = hit.1.clone();
                plans.push(hit);
                return Ok(p);
            }
        }
        let shapes: Vec<&[usize]> = std::iter::once(shape).chain(self.others.iter().map(Vec::as_slice)).collect();
        let p = plan_inputs(self.model.clone(), self.name, &shapes)?;
        let mut plans = self.lock();
        if let Some(i) = plans.iter().position(|(s, _)| s == shape) {
            // Built meanwhile by another thread: keep one.
            plans.remove(i);
        }
        if plans.len() >= self.capacity {
            plans.remove(0);
        }
        plans.push((shape.to_vec(), p.clone()));
        Ok(p)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Vec<usize>, Plan)>> {
        // A panic while holding the lock leaves a valid list; keep using it.
        self.plans.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A model string property (ONNX `metadata_props`), e.g. PP-OCR's `character`.
pub(crate) fn metadata(model: &InferenceModel, key: &str) -> Option<String> {
    let t = model.properties.get(&format!("onnx.metadata_props.{key}"))?;
    t.try_as_plain_ram().ok()?.to_scalar::<String>().ok().cloned()
}

/// Greedy non-maximum suppression: indices of the boxes (`[x1, y1, x2, y2]`)
/// kept, best score first; a box is dropped when it overlaps a kept one by
/// `iou` or more.
pub(crate) fn nms(boxes: &[[f32; 4]], scores: &[f32], iou: f32) -> Vec<usize> {
    let mut order: Vec<usize> = (0..boxes.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        if kept.iter().all(|&k| overlap(&boxes[k], &boxes[i]) < iou) {
            kept.push(i);
        }
    }
    kept
}

/// Intersection over union of two `[x1, y1, x2, y2]` boxes.
fn overlap(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let area = |r: &[f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    let union = area(a) + area(b) - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: usize, h: usize) -> Rgb {
        let data = (0..h).flat_map(|y| (0..w).flat_map(move |x| [x as f32, y as f32, 7.0])).collect();
        Rgb { width: w, height: h, data }
    }

    #[test]
    fn resize_keeps_flat_colour_and_linear_ramps() {
        let g = gradient(8, 4);
        let r = resize(&g, 4, 2);
        // Shrinking by 2 widens the triangle to 2 source pixels each side: inside a
        // linear ramp that gives the mean of each pixel pair (0.5, 2.5, 4.5, …).
        assert!((r.rgb(1, 0)[0] - 2.5).abs() < 1e-4, "{:?}", r.rgb(1, 0));
        assert!((r.rgb(2, 1)[0] - 4.5).abs() < 1e-4);
        assert!(r.data.chunks(3).all(|p| (p[2] - 7.0).abs() < 1e-4));
        // Enlarging by 2 interpolates between neighbours, pixel centres at +0.5.
        let up = resize(&g, 16, 8);
        assert!((up.rgb(5, 0)[0] - 2.25).abs() < 1e-4, "{:?}", up.rgb(5, 0));
    }

    #[test]
    fn taps_sum_to_one_and_stay_inside() {
        for (src, dst) in [(4000, 256), (300, 256), (10, 256), (385, 385), (1, 7)] {
            for t in taps(src, dst) {
                assert!(t.start + t.weights.len() <= src);
                assert!((t.weights.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn layout_pads_and_orders_channels() {
        let g = gradient(2, 1);
        let l = Layout { channels_first: true, bgr: true, mean: [1.0, 0.0, 0.0], scale: 2.0 };
        let (d, s) = l.tensor(&g, (3, 2));
        assert_eq!(s, [1, 3, 2, 3]);
        assert_eq!(&d[0..3], &[12.0, 12.0, 0.0]); // B = 7, minus 1, times 2; padding 0
        assert_eq!(&d[12..15], &[0.0, 2.0, 0.0]); // R = x
    }

    #[test]
    fn rotate_and_sample() {
        let g = gradient(3, 2);
        let r = g.rotate_anticlockwise();
        assert_eq!((r.width, r.height), (2, 3));
        assert_eq!(r.rgb(0, 0)[0], 2.0); // the top-right pixel comes to the top-left
        let q = sample_quad(&g, &[[0.0, 0.0], [3.0, 0.0], [3.0, 2.0], [0.0, 2.0]], 3, 2);
        assert!(q.data.iter().zip(&g.data).all(|(a, b)| (a - b).abs() < 1e-4));
    }

    #[test]
    fn nms_drops_overlaps() {
        let boxes = [[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [20.0, 20.0, 30.0, 30.0]];
        assert_eq!(nms(&boxes, &[0.8, 0.9, 0.5], 0.3), vec![1, 2]);
    }
}
