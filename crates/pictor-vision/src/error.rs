//! What running a model can fail with.

use crate::models::ModelError;

/// A vision task's failure, with a stable code for API problems.
#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    /// The model files are missing or broken: `pictor models install`.
    #[error(transparent)]
    Models(#[from] ModelError),
    /// A model file is there but could not be loaded (wrong or damaged file).
    #[error("loading model {name}: {detail}; run `pictor models verify`")]
    Load { name: &'static str, detail: String },
    /// Running the model failed on this input.
    #[error("running model {name}: {detail}")]
    Run { name: &'static str, detail: String },
}

impl VisionError {
    /// `models_not_installed`, `model_checksum_mismatch`, … for model
    /// files; `model_load_failed` and `model_run_failed` otherwise.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Models(e) => e.code(),
            Self::Load { .. } => "model_load_failed",
            Self::Run { .. } => "model_run_failed",
        }
    }

    pub(crate) fn load(name: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Load { name, detail: detail.to_string() }
    }

    pub(crate) fn run(name: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Run { name, detail: detail.to_string() }
    }
}

pub type Result<T, E = VisionError> = std::result::Result<T, E>;
