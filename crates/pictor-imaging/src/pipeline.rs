//! A pipeline: the user's operations in order, plus encoder settings,
//! parsed once from `name=value` pairs and run as a list of small steps:
//!
//! decode (shrink-on-load) → ICC to sRGB → orient → each operation → encode.
//!
//! The same syntax serves URL query strings (`thumbnail=200&rotate=180`) and
//! CLI arguments (`thumbnail=200 rotate=180`). [`Pipeline`]'s `Display` is
//! canonical: equal pipelines print equal strings, fit for cache keys.

use std::fmt;

use crate::decode::{Decoded, Limits, decode_with};
use crate::encode::{EncodeOptions, encode};
use crate::error::{Result, invalid};
use crate::format::OutputFormat;
use crate::image::{Image, Rgba};
use crate::ops::{Crop, Ctx, FaceFinder, Fit, Gravity, Operation, Resize, Rotate};

/// Operations plus encoder settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pipeline {
    pub ops: Vec<Operation>,
    pub encode: EncodeOptions,
}

/// The encoded result.
#[derive(Debug, Clone)]
pub struct Output {
    pub bytes: Vec<u8>,
    pub format: OutputFormat,
    pub width: u32,
    pub height: u32,
}

/// Largest side any operation may ask for.
const MAX_SIDE: u32 = 65_535;
/// Largest blur or sharpen sigma, to bound work per pixel.
const MAX_SIGMA: f32 = 100.0;
/// Most operations in one pipeline, to bound work per request.
const MAX_OPERATIONS: usize = 32;

impl Pipeline {
    /// Parses a query string: `thumbnail=200&rotate=180`.
    pub fn parse(query: &str) -> Result<Self> {
        Self::from_pairs(query.split('&').filter(|s| !s.is_empty()).map(|pair| match pair.split_once('=') {
            Some((k, v)) => (k, v),
            None => (pair, ""),
        }))
    }

    /// Builds from `(name, value)` pairs, in order. Unknown names are errors.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        let mut pipeline = Pipeline::default();
        for (name, value) in pairs {
            pipeline.push(name.trim(), value.trim())?;
            if pipeline.ops.len() > MAX_OPERATIONS {
                return Err(invalid(format!("more than {MAX_OPERATIONS} operations in one request")));
            }
        }
        pipeline.encode.validate()?;
        Ok(pipeline)
    }

    fn push(&mut self, name: &str, value: &str) -> Result<()> {
        let op = match name {
            "thumbnail" | "thumb" => {
                let (w, h) = parse_box(name, value)?;
                let (w, h) = (w.or(h).unwrap(), h.or(w).unwrap());
                Operation::Resize(Resize::thumbnail(w, h))
            }
            "resize" => Operation::Resize(parse_resize(value)?),
            "crop" => Operation::Crop(parse_crop(value)?),
            "rotate" => {
                let (angle, color) = split_color(value)?;
                let degrees = angle.parse().map_err(|_| {
                    invalid(format!("rotate '{value}': give degrees, e.g. rotate=90 or rotate=12.5:ffffff"))
                })?;
                Operation::Rotate(Rotate::new(degrees, color.unwrap_or(Rgba::BLACK))?)
            }
            "flip" | "flop" | "grayscale" | "greyscale" => {
                if !parse_flag(name, value)? {
                    return Ok(());
                }
                match name {
                    "flip" => Operation::Flip,
                    "flop" => Operation::Flop,
                    _ => Operation::Grayscale,
                }
            }
            "blur" => Operation::Blur(parse_sigma(name, value)?),
            "blur_faces" => Operation::BlurFaces(if value.is_empty() { 0.0 } else { parse_sigma(name, value)? }),
            "sharpen" => Operation::Sharpen(parse_sigma(name, value)?),
            "flatten" => Operation::Flatten(if value.is_empty() { Rgba::WHITE } else { Rgba::parse(value)? }),
            "pad" | "extend" => parse_pad(value)?,
            "quality" | "q" => {
                self.encode.quality = Some(parse_num(name, value)?);
                return Ok(());
            }
            "speed" => {
                self.encode.speed = Some(parse_num(name, value)?);
                return Ok(());
            }
            "progressive" => {
                self.encode.progressive = parse_flag(name, value)?;
                return Ok(());
            }
            "lossless" => {
                self.encode.lossless = parse_flag(name, value)?;
                return Ok(());
            }
            "metadata" => {
                self.encode.keep_metadata = match value {
                    "keep" => true,
                    "strip" => false,
                    _ => return Err(invalid("metadata must be 'keep' or 'strip'")),
                };
                return Ok(());
            }
            "strip" => {
                self.encode.keep_metadata = !parse_flag(name, value)?;
                return Ok(());
            }
            other => {
                return Err(invalid(format!(
                    "unknown operation '{other}'; known: thumbnail, resize, crop, rotate, flip, flop, blur, sharpen, \
                     grayscale, flatten, pad, blur_faces, quality, progressive, lossless, speed, metadata"
                )));
            }
        };
        self.ops.push(op);
        Ok(())
    }

    /// How much the first operation shrinks an upright `w`×`h` picture,
    /// which lets the decoder shrink on load.
    pub fn shrink_factor(&self, width: u32, height: u32) -> f64 {
        self.ops.first().map_or(1.0, |op| op.shrink_factor(width, height))
    }

    /// Decodes `bytes` (shrinking on load where the pipeline allows),
    /// returning the upright picture before any operation.
    pub fn decode(&self, bytes: &[u8], limits: &Limits) -> Result<Decoded> {
        decode_with(bytes, limits, &|header| {
            let (w, h) = header.upright_size();
            self.shrink_factor(w, h)
        })
    }

    /// Whether a step looks for faces (and so needs a [`FaceFinder`]).
    pub fn needs_faces(&self) -> bool {
        self.ops.iter().any(Operation::needs_faces)
    }

    /// Applies the operations in order.
    pub fn transform(&self, img: Image, limits: &Limits) -> Result<Image> {
        self.transform_with(img, limits, None)
    }

    /// Applies the operations in order, with `faces` for the face steps.
    pub fn transform_with(&self, mut img: Image, limits: &Limits, faces: Option<&dyn FaceFinder>) -> Result<Image> {
        let ctx = Ctx { max_pixels: limits.max_pixels, faces };
        for op in &self.ops {
            img = op.apply(img, &ctx)?;
        }
        Ok(img)
    }

    /// The whole path: decode, transform, encode. `Auto` is resolved
    /// against `accept` (an HTTP Accept value) and the result's transparency.
    pub fn run(&self, bytes: &[u8], format: OutputFormat, accept: &str, limits: &Limits) -> Result<Output> {
        self.run_with(bytes, format, accept, limits, None)
    }

    /// [`Pipeline::run`], with `faces` for the face steps.
    pub fn run_with(
        &self,
        bytes: &[u8],
        format: OutputFormat,
        accept: &str,
        limits: &Limits,
        faces: Option<&dyn FaceFinder>,
    ) -> Result<Output> {
        let decoded = self.decode(bytes, limits)?;
        let image = self.transform_with(decoded.image, limits, faces)?;
        let format = match format {
            OutputFormat::Auto => OutputFormat::negotiate(accept, image.has_transparency(), true),
            concrete => concrete,
        };
        let bytes = encode(&image, format, &self.encode, decoded.exif.as_deref())?;
        Ok(Output { bytes, format, width: image.width(), height: image.height() })
    }
}

fn parse_num<T: std::str::FromStr>(name: &str, value: &str) -> Result<T> {
    value.parse().map_err(|_| invalid(format!("{name} '{value}' is not a valid number")))
}

fn parse_flag(name: &str, value: &str) -> Result<bool> {
    match value {
        "" | "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(invalid(format!("{name} takes no value, or true/false"))),
    }
}

fn parse_sigma(name: &str, value: &str) -> Result<f32> {
    let sigma: f32 = parse_num(name, value)?;
    if !(sigma > 0.0 && sigma <= MAX_SIGMA) {
        return Err(invalid(format!("{name} sigma must be above 0 and at most {MAX_SIGMA}")));
    }
    Ok(sigma)
}

fn parse_side(name: &str, s: &str) -> Result<u32> {
    let side: u32 = parse_num(name, s)?;
    if side == 0 || side > MAX_SIDE {
        return Err(invalid(format!("{name}: sizes must be between 1 and {MAX_SIDE}")));
    }
    Ok(side)
}

/// `N`, `WxH`, `Wx` or `xH`; at least one side.
fn parse_box(name: &str, value: &str) -> Result<(Option<u32>, Option<u32>)> {
    let side = |s: &str| {
        if s.is_empty() { Ok(None) } else { parse_side(name, s).map(Some) }
    };
    let (w, h) = match value.split_once('x') {
        Some((w, h)) => (side(w)?, side(h)?),
        None => {
            let n = side(value)?;
            (n, n)
        }
    };
    if w.is_none() && h.is_none() {
        return Err(invalid(format!("{name} needs a size, e.g. {name}=200 or {name}=300x200")));
    }
    Ok((w, h))
}

/// `WxH[:fit][:enlarge][:color][:gravity]`.
fn parse_resize(value: &str) -> Result<Resize> {
    let mut parts = value.split(':');
    let (width, height) = parse_box("resize", parts.next().unwrap_or(""))?;
    let mut resize = Resize::new(width, height, Fit::Inside);
    let mut gravity = None;
    for part in parts {
        if let Some(fit) = Fit::parse(part) {
            resize.fit = fit;
        } else if part == "enlarge" {
            resize.enlarge = true;
        } else if let Ok(color) = Rgba::parse(part) {
            resize.background = color;
        } else {
            gravity = Some(Gravity::parse(part).map_err(|_| {
                invalid(format!(
                    "resize option '{part}': use cover, contain, fill, inside, outside, enlarge, a colour \
                     or (with cover) a gravity"
                ))
            })?);
        }
    }
    if let Some(gravity) = gravity {
        if resize.fit != Fit::Cover {
            return Err(invalid(format!("resize '{value}': a gravity places the crop of cover; add :cover")));
        }
        resize.gravity = gravity;
    }
    Ok(resize)
}

/// `x,y,w,h` or `W:H[:gravity]`.
fn parse_crop(value: &str) -> Result<Crop> {
    let nums: Vec<&str> = value.split(',').collect();
    if let [x, y, w, h] = nums[..] {
        return Ok(Crop::Rect {
            x: parse_num("crop", x)?,
            y: parse_num("crop", y)?,
            width: parse_side("crop", w)?,
            height: parse_side("crop", h)?,
        });
    }
    let mut parts = value.split(':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(w), Some(h), gravity, None) => Ok(Crop::Aspect {
            ratio_w: parse_side("crop", w)?,
            ratio_h: parse_side("crop", h)?,
            gravity: gravity.map(Gravity::parse).transpose()?.unwrap_or_default(),
        }),
        _ => Err(invalid(format!("crop '{value}': use x,y,width,height or an aspect ratio W:H[:gravity]"))),
    }
}

/// `N`, or `top,right,bottom,left`, then an optional `:color`.
fn parse_pad(value: &str) -> Result<Operation> {
    let (sizes, color) = split_color(value)?;
    let n: Vec<u32> = sizes.split(',').map(|s| parse_num::<u32>("pad", s)).collect::<Result<_>>()?;
    if n.iter().any(|&v| v > MAX_SIDE) {
        return Err(invalid(format!("pad: each border must be at most {MAX_SIDE}")));
    }
    let [top, right, bottom, left] = match n[..] {
        [all] => [all; 4],
        [t, r, b, l] => [t, r, b, l],
        _ => {
            return Err(invalid("pad takes one size or four (top,right,bottom,left)"));
        }
    };
    Ok(Operation::Pad { top, right, bottom, left, color: color.unwrap_or(Rgba::WHITE) })
}

fn split_color(value: &str) -> Result<(&str, Option<Rgba>)> {
    match value.split_once(':') {
        Some((v, c)) => Ok((v, Some(Rgba::parse(c)?))),
        None => Ok((value, None)),
    }
}

impl fmt::Display for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self.ops.iter().map(op_string).collect();
        let e = &self.encode;
        parts.extend(e.quality.map(|q| format!("quality={q}")));
        parts.extend(e.speed.map(|s| format!("speed={s}")));
        parts.extend(e.progressive.then(|| "progressive".to_string()));
        parts.extend(e.lossless.then(|| "lossless".to_string()));
        parts.extend(e.keep_metadata.then(|| "metadata=keep".to_string()));
        f.write_str(&parts.join("&"))
    }
}

fn op_string(op: &Operation) -> String {
    let side = |s: Option<u32>| s.map(|v| v.to_string()).unwrap_or_default();
    match op {
        Operation::Resize(r) => {
            let mut s = format!("resize={}x{}:{}", side(r.width), side(r.height), r.fit.name());
            if r.enlarge {
                s.push_str(":enlarge");
            }
            if r.fit == Fit::Contain {
                s.push_str(&format!(":{}", r.background));
            }
            if r.fit == Fit::Cover && r.gravity != Gravity::Centre {
                s.push_str(&format!(":{}", r.gravity.name()));
            }
            s
        }
        Operation::Crop(Crop::Rect { x, y, width, height }) => format!("crop={x},{y},{width},{height}"),
        Operation::Crop(Crop::Aspect { ratio_w, ratio_h, gravity }) => {
            format!("crop={ratio_w}:{ratio_h}:{}", gravity.name())
        }
        Operation::Rotate(r) => format!("rotate={}:{}", r.degrees(), r.background),
        Operation::Flip => "flip".into(),
        Operation::Flop => "flop".into(),
        Operation::Blur(s) => format!("blur={s}"),
        Operation::Sharpen(s) => format!("sharpen={s}"),
        Operation::Grayscale => "grayscale".into(),
        Operation::Flatten(c) => format!("flatten={c}"),
        Operation::BlurFaces(s) if *s == 0.0 => "blur_faces".into(),
        Operation::BlurFaces(s) => format!("blur_faces={s}"),
        Operation::Pad { top, right, bottom, left, color } => format!("pad={top},{right},{bottom},{left}:{color}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn face_steps_parse_print_and_say_they_need_faces() {
        let p = Pipeline::parse("crop=1:1:face&blur_faces&blur_faces=3").unwrap();
        assert_eq!(p.to_string(), "crop=1:1:face&blur_faces&blur_faces=3");
        assert!(p.needs_faces());
        assert!(!Pipeline::parse("crop=1:1:attention&blur=2").unwrap().needs_faces());
        assert!(Pipeline::parse("blur_faces=0").is_err());
    }

    #[test]
    fn cover_takes_a_gravity_and_nothing_else_does() {
        let p = Pipeline::parse("resize=200x200:face:cover").unwrap();
        assert_eq!(p.to_string(), "resize=200x200:cover:face");
        assert!(p.needs_faces());
        let centre = Pipeline::parse("resize=200x200:cover:centre").unwrap();
        assert_eq!(centre.to_string(), "resize=200x200:cover", "the default keeps the old cache key");
        assert!(!Pipeline::parse("resize=200x200:cover:ne").unwrap().needs_faces());
        let err = Pipeline::parse("resize=200x200:face").unwrap_err().to_string();
        assert!(err.contains("add :cover"), "{err}");
        let err = Pipeline::parse("resize=200x200:cover:up").unwrap_err().to_string();
        assert!(err.contains("gravity"), "{err}");
    }

    #[test]
    fn seed_example_parses_in_order() {
        let p = Pipeline::parse("thumbnail=200&rotate=180").unwrap();
        assert_eq!(p.ops.len(), 2);
        assert_eq!(p.ops[0], Operation::Resize(Resize::thumbnail(200, 200)));
        assert!(matches!(&p.ops[1], Operation::Rotate(r) if r.degrees() == 180.0));
    }

    #[test]
    fn canonical_form_is_stable_and_reparses() {
        let query = "thumb=300x200&crop=16:9:smart&rotate=-90&flop&blur=2&pad=5:ff0000&quality=70&progressive";
        let p = Pipeline::parse(query).unwrap();
        let canonical = p.to_string();
        assert_eq!(
            canonical,
            "resize=300x200:inside&crop=16:9:attention&rotate=270:000000&flop&blur=2&pad=5,5,5,5:ff0000&quality=70&progressive"
        );
        assert_eq!(Pipeline::parse(&canonical).unwrap(), p);
    }

    #[test]
    fn operation_count_is_bounded() {
        assert!(Pipeline::parse(&vec!["flip"; MAX_OPERATIONS].join("&")).is_ok());
        let err = Pipeline::parse(&vec!["flip"; MAX_OPERATIONS + 1].join("&")).unwrap_err();
        assert!(matches!(err, crate::ImagingError::InvalidOperation(_)), "{err}");
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        for bad in [
            "thumbnail=0",
            "thumbnail=abc",
            "resize=x",
            "resize=100x100:sideways",
            "crop=1,2,3",
            "crop=0:1",
            "rotate=left",
            "blur=-1",
            "blur=1000",
            "quality=0",
            "quality=101",
            "speed=11",
            "pad=1,2",
            "nope=1",
            "flip=maybe",
            "metadata=some",
        ] {
            let err = Pipeline::parse(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_filter", "{bad}: {err}");
        }
    }

    #[test]
    fn flags_and_false_values() {
        let p = Pipeline::parse("flip=false&grayscale&metadata=keep&lossless=1").unwrap();
        assert_eq!(p.ops, vec![Operation::Grayscale]);
        assert!(p.encode.keep_metadata && p.encode.lossless);
    }

    #[test]
    fn shrink_factor_comes_from_the_first_step_only() {
        assert!(Pipeline::parse("thumbnail=100").unwrap().shrink_factor(1000, 800) >= 10.0);
        assert_eq!(Pipeline::parse("blur=1&thumbnail=100").unwrap().shrink_factor(1000, 800), 1.0);
    }
}
