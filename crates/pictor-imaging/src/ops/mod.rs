//! Operations: one typed, validated transform each, one file each.
//!
//! An [`Operation`] is built by parsing ([`crate::pipeline`]) and applied to
//! an [`Image`] in the order the user gave. Each knows how much it shrinks
//! the picture so the decoder can shrink on load.

mod canvas;
mod crop;
mod faces;
mod filters;
mod resize;
mod rotate;

pub use canvas::{cut, resize_exact};
pub use crop::{Crop, Gravity};
pub use faces::{FaceFinder, Region};
pub use resize::{Fit, Resize};
pub use rotate::Rotate;

use crate::error::{ImagingError, Result};
use crate::image::{Image, Rgba};

/// What every step may consult: the output size limit, and the face finder
/// the face steps use (none outside the server).
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub max_pixels: u64,
    pub faces: Option<&'a dyn FaceFinder>,
}

impl Ctx<'_> {
    pub const fn new(max_pixels: u64) -> Self {
        Self { max_pixels, faces: None }
    }

    /// Refuses an output size over the pixel limit, before allocating it.
    pub(crate) fn check_output(&self, width: u64, height: u64) -> Result<()> {
        if width * height > self.max_pixels || width == 0 || height == 0 {
            return Err(ImagingError::TooLarge(format!(
                "the operations would make a {width}x{height} image, outside 1 pixel to {:.0} megapixels",
                self.max_pixels as f64 / 1e6
            )));
        }
        Ok(())
    }
}

/// One step of a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    Resize(Resize),
    Crop(Crop),
    Rotate(Rotate),
    /// Mirror top to bottom.
    Flip,
    /// Mirror left to right.
    Flop,
    /// Gaussian blur with this sigma, in pixels.
    Blur(f32),
    /// Unsharp mask with this sigma, in pixels.
    Sharpen(f32),
    Grayscale,
    /// Composite transparency onto a colour.
    Flatten(Rgba),
    /// Blur every face with this sigma (0: strong enough to hide it).
    BlurFaces(f32),
    /// Add borders: top, right, bottom, left, and their colour.
    Pad {
        top: u32,
        right: u32,
        bottom: u32,
        left: u32,
        color: Rgba,
    },
}

impl Operation {
    pub fn apply(&self, img: Image, ctx: &Ctx) -> Result<Image> {
        match self {
            Self::Resize(r) => r.apply(img, ctx),
            Self::Crop(c) => c.apply(img, ctx),
            Self::Rotate(r) => r.apply(img, ctx),
            Self::Flip => Ok(filters::flip(&img)),
            Self::Flop => Ok(filters::flop(&img)),
            Self::Blur(sigma) => Ok(filters::blur(img, *sigma)),
            Self::Sharpen(sigma) => Ok(filters::sharpen(img, *sigma)),
            Self::Grayscale => Ok(filters::grayscale(img)),
            Self::Flatten(color) => Ok(img.flatten(*color)),
            Self::BlurFaces(sigma) => faces::blur_faces(img, *sigma, ctx),
            Self::Pad { top, right, bottom, left, color } => {
                canvas::pad(img, [*top, *right, *bottom, *left], *color, ctx)
            }
        }
    }

    /// Whether this step looks for faces.
    pub fn needs_faces(&self) -> bool {
        match self {
            Self::BlurFaces(_) | Self::Crop(Crop::Aspect { gravity: Gravity::Face, .. }) => true,
            Self::Resize(r) => r.fit == Fit::Cover && r.gravity == Gravity::Face,
            _ => false,
        }
    }

    /// How many times smaller this step makes a `width`×`height` picture
    /// (1.0 when it does not shrink it).
    pub fn shrink_factor(&self, width: u32, height: u32) -> f64 {
        match self {
            Self::Resize(r) => r.shrink_factor(width, height),
            _ => 1.0,
        }
    }
}
