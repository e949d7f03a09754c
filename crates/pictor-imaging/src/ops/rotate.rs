//! Rotation: exact quarter turns by moving pixels, any other angle by
//! bilinear resampling onto a canvas of the given background colour.

use super::Ctx;
use crate::error::{Result, invalid};
use crate::image::{Channels, Image, Rgba};
use crate::orient::remap;

/// A clockwise rotation.
#[derive(Debug, Clone, PartialEq)]
pub struct Rotate {
    degrees: f64,
    pub background: Rgba,
}

impl Rotate {
    /// Any finite angle; it is normalised into [0, 360).
    pub fn new(degrees: f64, background: Rgba) -> Result<Self> {
        if !degrees.is_finite() {
            return Err(invalid("rotate: the angle must be a number of degrees"));
        }
        Ok(Self { degrees: degrees.rem_euclid(360.0), background })
    }

    pub fn degrees(&self) -> f64 {
        self.degrees
    }

    pub fn apply(&self, img: Image, ctx: &Ctx) -> Result<Image> {
        Ok(match self.degrees {
            0.0 => img,
            90.0 => remap(&img, true, false, true),
            180.0 => remap(&img, false, true, true),
            270.0 => remap(&img, true, true, false),
            _ => rotate_any(img, self.degrees, self.background, ctx)?,
        })
    }
}

fn rotate_any(img: Image, degrees: f64, background: Rgba, ctx: &Ctx) -> Result<Image> {
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (w, h) = (f64::from(img.width()), f64::from(img.height()));
    let out_w = (w * cos.abs() + h * sin.abs()).round().max(1.0);
    let out_h = (w * sin.abs() + h * cos.abs()).round().max(1.0);
    ctx.check_output(out_w as u64, out_h as u64)?;
    let alpha = img.has_alpha_channel() || background.a != 255;
    let src = if alpha { img.into_rgba() } else { img };
    let n = src.channels().count();
    let bg = &background.as_array()[..n];
    let (sw, sh) = (src.width() as i64, src.height() as i64);
    let texel = |x: i64, y: i64| -> &[u8] {
        if x < 0 || y < 0 || x >= sw || y >= sh { bg } else { &src.data()[((y * sw + x) as usize) * n..][..n] }
    };
    let mut out = Vec::with_capacity(out_w as usize * out_h as usize * n);
    let (cx, cy, ocx, ocy) = (w / 2.0, h / 2.0, out_w / 2.0, out_h / 2.0);
    for oy in 0..out_h as usize {
        for ox in 0..out_w as usize {
            // Inverse rotation of the output pixel centre into the source.
            let (dx, dy) = (ox as f64 + 0.5 - ocx, oy as f64 + 0.5 - ocy);
            let sx = dx * cos + dy * sin + cx - 0.5;
            let sy = -dx * sin + dy * cos + cy - 0.5;
            let (x0, y0) = (sx.floor() as i64, sy.floor() as i64);
            let (fx, fy) = (sx - x0 as f64, sy - y0 as f64);
            let (a, b, c, d) = (texel(x0, y0), texel(x0 + 1, y0), texel(x0, y0 + 1), texel(x0 + 1, y0 + 1));
            for i in 0..n {
                let top = f64::from(a[i]) * (1.0 - fx) + f64::from(b[i]) * fx;
                let bottom = f64::from(c[i]) * (1.0 - fx) + f64::from(d[i]) * fx;
                out.push((top * (1.0 - fy) + bottom * fy).round() as u8);
            }
        }
    }
    let channels = if alpha { Channels::Rgba } else { Channels::Rgb };
    Image::from_raw(out_w as u32, out_h as u32, channels, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: Ctx<'static> = Ctx::new(1 << 24);

    #[test]
    fn quarter_turns_are_exact() {
        let img = Image::from_raw(2, 1, Channels::Rgb, vec![1, 1, 1, 2, 2, 2]).unwrap();
        let r90 = Rotate::new(90.0, Rgba::BLACK).unwrap().apply(img.clone(), &CTX).unwrap();
        assert_eq!((r90.width(), r90.height()), (1, 2));
        assert_eq!(r90.data(), &[1, 1, 1, 2, 2, 2]);
        let r270 = Rotate::new(-90.0, Rgba::BLACK).unwrap().apply(img.clone(), &CTX).unwrap();
        assert_eq!(r270.data(), &[2, 2, 2, 1, 1, 1]);
        let r180 = Rotate::new(540.0, Rgba::BLACK).unwrap().apply(img, &CTX).unwrap();
        assert_eq!(r180.data(), &[2, 2, 2, 1, 1, 1]);
    }

    #[test]
    fn any_angle_grows_canvas_and_fills_corners() {
        let img = Image::filled(100, 100, Rgba::BLACK);
        let out = Rotate::new(45.0, Rgba::WHITE).unwrap().apply(img, &CTX).unwrap();
        assert_eq!((out.width(), out.height()), (141, 141));
        assert_eq!(&out.data()[..3], &[255, 255, 255], "corner is background");
        let centre = (70 * 141 + 70) * 3;
        assert_eq!(&out.data()[centre..centre + 3], &[0, 0, 0], "centre is picture");
    }

    #[test]
    fn transparent_background_adds_alpha() {
        let out =
            Rotate::new(30.0, Rgba::TRANSPARENT).unwrap().apply(Image::filled(10, 10, Rgba::BLACK), &CTX).unwrap();
        assert_eq!(out.channels(), Channels::Rgba);
        assert_eq!(out.data()[3], 0);
        assert!(Rotate::new(f64::NAN, Rgba::WHITE).is_err());
    }
}
