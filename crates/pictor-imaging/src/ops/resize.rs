//! Resizing: `thumbnail` and `resize` with sharp's five fit modes.
//! Lanczos-3 through fast_image_resize (SIMD), alpha premultiplied.

use super::Ctx;
use super::canvas::{self, resize_exact};
use super::crop::{Gravity, window};
use crate::error::Result;
use crate::image::{Image, Rgba};

/// How the picture meets a box of the requested size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fit {
    /// Fill the box, cropping what overflows (where `gravity` says).
    Cover,
    /// Fit inside the box, then pad to the box's exact size.
    Contain,
    /// Stretch to the box, ignoring the aspect ratio.
    Fill,
    /// Fit inside the box; the result may be smaller on one side.
    #[default]
    Inside,
    /// Cover the box without cropping; the result may be larger on one side.
    Outside,
}

impl Fit {
    pub fn name(self) -> &'static str {
        match self {
            Self::Cover => "cover",
            Self::Contain => "contain",
            Self::Fill => "fill",
            Self::Inside => "inside",
            Self::Outside => "outside",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Cover, Self::Contain, Self::Fill, Self::Inside, Self::Outside].into_iter().find(|f| f.name() == s)
    }
}

/// Scale to a box. A missing side follows the aspect ratio.
#[derive(Debug, Clone, PartialEq)]
pub struct Resize {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub fit: Fit,
    /// Allow making the picture bigger (off by default).
    pub enlarge: bool,
    /// Padding colour for `Contain`.
    pub background: Rgba,
    /// What `Cover` keeps of the overflow (centred by default).
    pub gravity: Gravity,
}

impl Resize {
    /// A box with a fit, never enlarging, padding white, cover centred.
    pub fn new(width: Option<u32>, height: Option<u32>, fit: Fit) -> Self {
        Self { width, height, fit, enlarge: false, background: Rgba::WHITE, gravity: Gravity::Centre }
    }

    /// A thumbnail: fit inside the box, never enlarge.
    pub fn thumbnail(width: u32, height: u32) -> Self {
        Self::new(Some(width), Some(height), Fit::Inside)
    }

    /// Per-axis scale factors for a source of this size.
    fn scales(&self, w: u32, h: u32) -> (f64, f64) {
        let sx = self.width.map(|t| f64::from(t) / f64::from(w));
        let sy = self.height.map(|t| f64::from(t) / f64::from(h));
        let (sx, sy) = match (sx, sy, self.fit) {
            (Some(x), None, _) => (x, x),
            (None, Some(y), _) => (y, y),
            (None, None, _) => (1.0, 1.0),
            (Some(x), Some(y), Fit::Fill) => (x, y),
            (Some(x), Some(y), Fit::Inside | Fit::Contain) => (x.min(y), x.min(y)),
            (Some(x), Some(y), Fit::Cover | Fit::Outside) => (x.max(y), x.max(y)),
        };
        if self.enlarge { (sx, sy) } else { (sx.min(1.0), sy.min(1.0)) }
    }

    /// Size after scaling, before any crop or pad.
    fn scaled_size(&self, w: u32, h: u32) -> (u32, u32) {
        let (sx, sy) = self.scales(w, h);
        let side = |len: u32, s: f64| ((f64::from(len) * s).round() as u32).max(1);
        (side(w, sx), side(h, sy))
    }

    pub fn shrink_factor(&self, w: u32, h: u32) -> f64 {
        let (sx, sy) = self.scales(w, h);
        1.0 / sx.max(sy)
    }

    pub fn apply(&self, img: Image, ctx: &Ctx) -> Result<Image> {
        let (rw, rh) = self.scaled_size(img.width(), img.height());
        ctx.check_output(u64::from(rw), u64::from(rh))?;
        let scaled = resize_exact(&img, rw, rh);
        let (bw, bh) = (self.width.unwrap_or(rw), self.height.unwrap_or(rh));
        match self.fit {
            Fit::Cover if rw > bw || rh > bh => window(&scaled, rw.min(bw), rh.min(bh), self.gravity, ctx),
            Fit::Contain if rw < bw || rh < bh => {
                ctx.check_output(u64::from(bw), u64::from(bh))?;
                let (left, top) = ((bw - rw) / 2, (bh - rh) / 2);
                canvas::pad(scaled, [top, bw - rw - left, bh - rh - top, left], self.background, ctx)
            }
            _ => Ok(scaled),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sized(r: &Resize, w: u32, h: u32) -> (u32, u32) {
        let img = Image::filled(w, h, Rgba::BLACK);
        let out = r.apply(img, &Ctx::new(1 << 30)).unwrap();
        (out.width(), out.height())
    }

    fn resize(w: u32, h: u32, fit: Fit) -> Resize {
        Resize::new(Some(w), Some(h), fit)
    }

    #[test]
    fn fit_modes_follow_sharp() {
        assert_eq!(sized(&resize(200, 200, Fit::Inside), 400, 300), (200, 150));
        assert_eq!(sized(&resize(200, 200, Fit::Contain), 400, 300), (200, 200));
        assert_eq!(sized(&resize(200, 200, Fit::Cover), 400, 300), (200, 200));
        assert_eq!(sized(&resize(200, 200, Fit::Outside), 400, 300), (267, 200));
        assert_eq!(sized(&resize(200, 100, Fit::Fill), 400, 300), (200, 100));
    }

    #[test]
    fn never_enlarges_unless_asked() {
        assert_eq!(sized(&Resize::thumbnail(500, 500), 400, 300), (400, 300));
        let mut r = resize(800, 800, Fit::Inside);
        r.enlarge = true;
        assert_eq!(sized(&r, 400, 300), (800, 600));
    }

    #[test]
    fn one_side_keeps_aspect() {
        let r = Resize::new(Some(100), None, Fit::Cover);
        assert_eq!(sized(&r, 400, 300), (100, 75));
    }

    #[test]
    fn contain_pads_with_background() {
        let mut r = resize(4, 4, Fit::Contain);
        r.background = Rgba::WHITE;
        let out = r.apply(Image::filled(8, 4, Rgba::BLACK), &Ctx::new(100)).unwrap();
        assert_eq!((out.width(), out.height()), (4, 4));
        assert_eq!(&out.data()[..3], &[255, 255, 255], "top row is padding");
        assert_eq!(&out.data()[4 * 3 + 4 * 3..][..3], &[0, 0, 0], "middle is picture");
    }

    #[test]
    fn shrink_factor_reports_reduction() {
        let r = Resize::thumbnail(256, 256);
        assert!((r.shrink_factor(6000, 4000) - 6000.0 / 256.0).abs() < 1e-9);
        assert_eq!(r.shrink_factor(100, 100), 1.0);
    }

    #[test]
    fn output_limit_is_checked_before_allocating() {
        let mut r = resize(100_000, 100_000, Fit::Fill);
        r.enlarge = true;
        let err = r.apply(Image::filled(2, 2, Rgba::BLACK), &Ctx::new(1_000_000)).unwrap_err();
        assert_eq!(err.code(), "image_too_large");
    }
}
