//! Face-aware steps: `crop=W:H:face` keeps the faces in the window, and
//! `blur_faces` hides them.
//!
//! Finding faces is a model's job, not this crate's: the caller hands a
//! [`FaceFinder`] in through [`super::Ctx`], and it runs on the picture as it
//! is at that step, so earlier steps (resize, rotate, crop) need no
//! coordinate bookkeeping.

use super::Ctx;
use super::canvas::cut;
use super::filters::blur;
use crate::error::{ImagingError, Result};
use crate::image::Image;

/// A rectangle in pixels of the picture it was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// Finds faces in a picture (the server's CenterFace model).
pub trait FaceFinder: Sync {
    fn find(&self, img: &Image) -> Result<Vec<Region>>;
}

/// The faces of `img`, from the caller's finder.
fn faces(img: &Image, ctx: &Ctx) -> Result<Vec<Region>> {
    let finder = ctx.faces.ok_or_else(|| {
        ImagingError::Unavailable("face steps need the face model; run them through the server or `pictor get`".into())
    })?;
    Ok(finder.find(img)?.into_iter().filter_map(|r| clip(r, img.width(), img.height())).collect())
}

/// `r` clipped to a `w`×`h` picture, or `None` when nothing is left.
fn clip(r: Region, w: u32, h: u32) -> Option<Region> {
    let (x, y) = (r.x.min(w), r.y.min(h));
    let (right, bottom) = (r.x.saturating_add(r.width).min(w), r.y.saturating_add(r.height).min(h));
    (right > x && bottom > y).then(|| Region { x, y, width: right - x, height: bottom - y })
}

/// Where a `cw`×`ch` window goes to hold the faces: centred on the box
/// around them all, kept inside the picture; centred on the picture when it
/// has no faces.
pub(crate) fn face_offset(img: &Image, cw: u32, ch: u32, ctx: &Ctx) -> Result<(u32, u32)> {
    let (w, h) = (img.width(), img.height());
    let found = faces(img, ctx)?;
    let (cx, cy) = match bounding_box(&found) {
        Some(b) => (u64::from(b.x) * 2 + u64::from(b.width), u64::from(b.y) * 2 + u64::from(b.height)),
        None => (u64::from(w), u64::from(h)),
    };
    let place = |centre2: u64, window: u32, side: u32| {
        (centre2 / 2).saturating_sub(u64::from(window) / 2).min(u64::from(side - window)) as u32
    };
    Ok((place(cx, cw, w), place(cy, ch, h)))
}

fn bounding_box(regions: &[Region]) -> Option<Region> {
    let first = regions.first()?;
    let (mut x0, mut y0, mut x1, mut y1) = (first.x, first.y, first.x + first.width, first.y + first.height);
    for r in &regions[1..] {
        (x0, y0) = (x0.min(r.x), y0.min(r.y));
        (x1, y1) = (x1.max(r.x + r.width), y1.max(r.y + r.height));
    }
    Some(Region { x: x0, y: y0, width: x1 - x0, height: y1 - y0 })
}

/// Blurs each face, grown by a fifth on every side so hair and chin go too,
/// with `sigma` relative to the face: 0 picks one that leaves nothing
/// recognisable.
pub(crate) fn blur_faces(mut img: Image, sigma: f32, ctx: &Ctx) -> Result<Image> {
    for face in faces(&img, ctx)? {
        let grown = grow(face, img.width(), img.height());
        let strength = if sigma > 0.0 { sigma } else { (grown.width.max(grown.height) as f32 / 8.0).clamp(2.0, 50.0) };
        let blurred = blur(cut(&img, grown.x, grown.y, grown.width, grown.height), strength);
        paste(&mut img, &blurred, grown.x, grown.y);
    }
    Ok(img)
}

fn grow(r: Region, w: u32, h: u32) -> Region {
    let (dx, dy) = (r.width / 5, r.height / 5);
    let (x, y) = (r.x.saturating_sub(dx), r.y.saturating_sub(dy));
    let right = (r.x + r.width + dx).min(w);
    let bottom = (r.y + r.height + dy).min(h);
    Region { x, y, width: right - x, height: bottom - y }
}

/// Copies `patch` (same channels) onto `img` at `(x, y)`; it fits.
fn paste(img: &mut Image, patch: &Image, x: u32, y: u32) {
    let n = img.channels().count();
    let (stride, patch_stride) = (img.stride(), patch.stride());
    let data = img.data_mut();
    for row in 0..patch.height() as usize {
        let start = (y as usize + row) * stride + x as usize * n;
        data[start..start + patch_stride].copy_from_slice(&patch.data()[row * patch_stride..(row + 1) * patch_stride]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Channels, Rgba};
    use crate::ops::{Fit, Gravity, Resize};

    /// Finds one fixed face.
    struct Fixed(Vec<Region>);

    impl FaceFinder for Fixed {
        fn find(&self, _: &Image) -> Result<Vec<Region>> {
            Ok(self.0.clone())
        }
    }

    fn ctx(finder: &Fixed) -> Ctx<'_> {
        Ctx { max_pixels: 1 << 24, faces: Some(finder) }
    }

    #[test]
    fn windows_centre_on_the_faces_and_stay_inside() {
        let img = Image::filled(100, 50, Rgba::BLACK);
        let face = Fixed(vec![Region { x: 80, y: 10, width: 10, height: 10 }]);
        assert_eq!(face_offset(&img, 50, 50, &ctx(&face)).unwrap(), (50, 0), "clamped at the right edge");
        let two =
            Fixed(vec![Region { x: 30, y: 0, width: 10, height: 10 }, Region { x: 50, y: 0, width: 10, height: 10 }]);
        assert_eq!(face_offset(&img, 20, 50, &ctx(&two)).unwrap(), (35, 0), "centred on both");
        let none = Fixed(vec![]);
        assert_eq!(face_offset(&img, 50, 50, &ctx(&none)).unwrap(), (25, 0), "no face: centre");
        let outside = Fixed(vec![Region { x: 500, y: 500, width: 10, height: 10 }]);
        assert_eq!(face_offset(&img, 50, 50, &ctx(&outside)).unwrap(), (25, 0), "a box off the picture is ignored");
    }

    #[test]
    fn a_cover_resize_keeps_the_faces() {
        // Black, then white from x = 80 on. Covering 50x50 halves the
        // 200x100 picture first; the finder sees that copy, the face at its
        // right edge, so the kept window is its right 50x50.
        let mut img = Image::filled(200, 100, Rgba::BLACK);
        paste(&mut img, &Image::filled(120, 100, Rgba::WHITE), 80, 0);
        let face = Fixed(vec![Region { x: 85, y: 20, width: 10, height: 10 }]);
        let mut cover = Resize::new(Some(50), Some(50), Fit::Cover);
        cover.gravity = Gravity::Face;
        let out = cover.apply(img.clone(), &ctx(&face)).unwrap();
        assert_eq!((out.width(), out.height()), (50, 50));
        assert!(out.data().iter().all(|&v| v > 200), "only the white half is kept");
        cover.gravity = Gravity::Centre;
        let centred = cover.apply(img, &ctx(&face)).unwrap();
        assert!(centred.data()[..3].iter().all(|&v| v < 50), "the centred window starts in the black half");
    }

    #[test]
    fn blurring_changes_the_faces_and_nothing_else() {
        // Stripes, so a blur visibly changes them.
        let data: Vec<u8> = (0..40 * 40).flat_map(|i| if (i % 40) % 2 == 0 { [255; 3] } else { [0; 3] }).collect();
        let img = Image::from_raw(40, 40, Channels::Rgb, data).unwrap();
        let face = Fixed(vec![Region { x: 10, y: 10, width: 10, height: 10 }]);
        let out = blur_faces(img.clone(), 0.0, &ctx(&face)).unwrap();
        let at = |im: &Image, x: usize, y: usize| im.data()[(y * 40 + x) * 3];
        assert_ne!(at(&out, 15, 15), at(&img, 15, 15), "inside the face");
        assert_eq!(at(&out, 1, 1), at(&img, 1, 1), "outside the grown box");
        assert_eq!(at(&out, 35, 35), at(&img, 35, 35));
    }

    #[test]
    fn without_a_finder_face_steps_say_so() {
        let err = face_offset(&Image::filled(4, 4, Rgba::BLACK), 2, 2, &Ctx::new(100)).unwrap_err();
        assert!(matches!(err, ImagingError::Unavailable(_)), "{err}");
    }
}
