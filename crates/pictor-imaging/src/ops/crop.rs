//! Cropping: an explicit rectangle, or the largest window of an aspect
//! ratio placed by a gravity: a compass point, or `entropy`/`attention`,
//! which slide the window to where the picture has the most detail.

use super::Ctx;
use super::canvas::{cut, resize_exact};
use super::faces::face_offset;
use crate::error::{Result, invalid};
use crate::image::Image;

/// Where an aspect-ratio crop keeps the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gravity {
    #[default]
    Centre,
    North,
    NorthEast,
    East,
    SouthEast,
    South,
    SouthWest,
    West,
    NorthWest,
    /// The window with the richest luminance histogram.
    Entropy,
    /// The window with the most edges and saturated colour.
    Attention,
    /// The window around the faces (from the caller's face finder).
    Face,
}

impl Gravity {
    const ALL: [(Gravity, &'static str); 12] = [
        (Self::Centre, "centre"),
        (Self::North, "north"),
        (Self::NorthEast, "northeast"),
        (Self::East, "east"),
        (Self::SouthEast, "southeast"),
        (Self::South, "south"),
        (Self::SouthWest, "southwest"),
        (Self::West, "west"),
        (Self::NorthWest, "northwest"),
        (Self::Entropy, "entropy"),
        (Self::Attention, "attention"),
        (Self::Face, "face"),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(g, _)| *g == self).map(|(_, n)| *n).expect("every gravity is named")
    }

    /// Accepts the names above, plus `center`, `smart` (= attention) and
    /// compass abbreviations (`n`, `ne`, …).
    pub fn parse(s: &str) -> Result<Self> {
        let short = [("center", "centre"), ("smart", "attention"), ("n", "north"), ("ne", "northeast"), ("e", "east")];
        let short2 = [("se", "southeast"), ("s", "south"), ("sw", "southwest"), ("w", "west"), ("nw", "northwest")];
        let name = short.iter().chain(&short2).find(|(a, _)| *a == s).map_or(s, |(_, full)| *full);
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(g, _)| *g).ok_or_else(|| {
            invalid(format!(
                "gravity '{s}': use centre, n, ne, e, se, s, sw, w, nw, entropy, attention (smart) or face"
            ))
        })
    }

    /// Where along a free axis of `slack` pixels the window starts, for
    /// compass gravities: `x` across, `y` down.
    fn offset(self, slack_x: u32, slack_y: u32) -> (u32, u32) {
        let pick = |slack: u32, low: bool, high: bool| {
            if low {
                0
            } else if high {
                slack
            } else {
                slack / 2
            }
        };
        use Gravity::*;
        let west = matches!(self, West | NorthWest | SouthWest);
        let east = matches!(self, East | NorthEast | SouthEast);
        let north = matches!(self, North | NorthEast | NorthWest);
        let south = matches!(self, South | SouthEast | SouthWest);
        (pick(slack_x, west, east), pick(slack_y, north, south))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Crop {
    /// The rectangle at `x`,`y` of `width`×`height`, clipped to the picture.
    Rect { x: u32, y: u32, width: u32, height: u32 },
    /// The largest `ratio_w`:`ratio_h` window, placed by `gravity`.
    Aspect { ratio_w: u32, ratio_h: u32, gravity: Gravity },
}

impl Crop {
    pub fn apply(&self, img: Image, ctx: &Ctx) -> Result<Image> {
        let (w, h) = (img.width(), img.height());
        match *self {
            Crop::Rect { x, y, width, height } => {
                if x >= w || y >= h {
                    return Err(invalid(format!("crop origin {x},{y} is outside the {w}x{h} image")));
                }
                Ok(cut(&img, x, y, width.min(w - x), height.min(h - y)))
            }
            Crop::Aspect { ratio_w, ratio_h, gravity } => {
                let (cw, ch) = aspect_window(w, h, ratio_w, ratio_h);
                window(&img, cw, ch, gravity, ctx)
            }
        }
    }
}

/// The `cw`×`ch` window of `img` that `gravity` keeps (also the crop of a
/// `cover` resize).
pub(crate) fn window(img: &Image, cw: u32, ch: u32, gravity: Gravity, ctx: &Ctx) -> Result<Image> {
    let (x, y) = match gravity {
        Gravity::Entropy | Gravity::Attention => smart_offset(img, cw, ch, gravity),
        Gravity::Face => face_offset(img, cw, ch, ctx)?,
        compass => compass.offset(img.width() - cw, img.height() - ch),
    };
    Ok(cut(img, x, y, cw, ch))
}

/// The largest window of the ratio that fits in `w`×`h`.
fn aspect_window(w: u32, h: u32, rw: u32, rh: u32) -> (u32, u32) {
    let (w64, h64, rw, rh) = (u64::from(w), u64::from(h), u64::from(rw), u64::from(rh));
    if w64 * rh > h64 * rw {
        (((h64 * rw + rh / 2) / rh).clamp(1, w64) as u32, h)
    } else {
        (w, ((w64 * rh + rw / 2) / rw).clamp(1, h64) as u32)
    }
}

/// Slides the window along the one axis that has slack, scoring each
/// line of a small copy of the picture, and keeps the best-scoring window.
fn smart_offset(img: &Image, cw: u32, ch: u32, gravity: Gravity) -> (u32, u32) {
    let (w, h) = (img.width(), img.height());
    if cw == w && ch == h {
        return (0, 0);
    }
    // Score a copy no larger than 128 px along its long side.
    let scale = (128.0 / f64::from(w.max(h))).min(1.0);
    let (sw, sh) = (((f64::from(w) * scale) as u32).max(1), ((f64::from(h) * scale) as u32).max(1));
    let small = resize_exact(img, sw, sh);
    let horizontal = cw < w;
    let lines = if horizontal { sw } else { sh } as usize;
    let window = ((if horizontal { f64::from(cw) / f64::from(w) } else { f64::from(ch) / f64::from(h) }) * lines as f64)
        .round()
        .clamp(1.0, lines as f64) as usize;
    let best = match gravity {
        Gravity::Entropy => best_entropy_window(&small, horizontal, window),
        _ => best_attention_window(&small, horizontal, window),
    };
    let fraction = best as f64 / lines as f64;
    if horizontal {
        (((fraction * f64::from(w)) as u32).min(w - cw), 0)
    } else {
        (0, ((fraction * f64::from(h)) as u32).min(h - ch))
    }
}

fn luma(p: &[u8]) -> u8 {
    ((u32::from(p[0]) * 54 + u32::from(p[1]) * 183 + u32::from(p[2]) * 19) >> 8) as u8
}

/// Pixels of column `i` (horizontal) or row `i`, as slices.
fn line(img: &Image, horizontal: bool, i: usize) -> Vec<&[u8]> {
    let n = img.channels().count();
    let (w, h) = (img.width() as usize, img.height() as usize);
    if horizontal {
        (0..h).map(|y| &img.data()[(y * w + i) * n..][..n]).collect()
    } else {
        (0..w).map(|x| &img.data()[(i * w + x) * n..][..n]).collect()
    }
}

/// Window start whose luminance histogram has the highest Shannon entropy.
fn best_entropy_window(img: &Image, horizontal: bool, window: usize) -> usize {
    let lines = if horizontal { img.width() } else { img.height() } as usize;
    let hists: Vec<[u32; 64]> = (0..lines)
        .map(|i| {
            let mut hist = [0u32; 64];
            line(img, horizontal, i).iter().for_each(|p| hist[usize::from(luma(p) >> 2)] += 1);
            hist
        })
        .collect();
    let mut sum = [0u32; 64];
    hists[..window].iter().for_each(|h| add(&mut sum, h, true));
    let mut best = (entropy(&sum), 0);
    for start in 1..=lines - window {
        add(&mut sum, &hists[start - 1], false);
        add(&mut sum, &hists[start + window - 1], true);
        let e = entropy(&sum);
        if e > best.0 {
            best = (e, start);
        }
    }
    best.1
}

fn add(sum: &mut [u32; 64], h: &[u32; 64], plus: bool) {
    for (s, v) in sum.iter_mut().zip(h) {
        *s = if plus { *s + v } else { *s - v };
    }
}

fn entropy(hist: &[u32; 64]) -> f64 {
    let total: f64 = hist.iter().map(|&v| f64::from(v)).sum();
    hist.iter().filter(|&&v| v > 0).map(|&v| f64::from(v) / total).map(|p| -p * p.log2()).sum()
}

/// Window start with the most edge energy and colour saturation.
fn best_attention_window(img: &Image, horizontal: bool, window: usize) -> usize {
    let lines = if horizontal { img.width() } else { img.height() } as usize;
    let scores: Vec<f64> = (0..lines)
        .map(|i| {
            let px = line(img, horizontal, i);
            let edges: u32 = px.windows(2).map(|p| u32::from(luma(p[0]).abs_diff(luma(p[1])))).sum();
            let saturation: u32 =
                px.iter().map(|p| u32::from(*p[..3].iter().max().unwrap() - *p[..3].iter().min().unwrap())).sum();
            f64::from(edges) + 0.25 * f64::from(saturation)
        })
        .collect();
    let mut sum: f64 = scores[..window].iter().sum();
    let mut best = (sum, 0);
    for start in 1..=lines - window {
        sum += scores[start + window - 1] - scores[start - 1];
        if sum > best.0 + 1e-9 {
            best = (sum, start);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Channels, Rgba};

    #[test]
    fn rect_is_clipped_to_the_picture() {
        let out = Crop::Rect { x: 2, y: 1, width: 100, height: 100 }
            .apply(Image::filled(4, 3, Rgba::BLACK), &Ctx::new(1 << 20))
            .unwrap();
        assert_eq!((out.width(), out.height()), (2, 2));
        assert!(
            Crop::Rect { x: 4, y: 0, width: 1, height: 1 }
                .apply(Image::filled(4, 3, Rgba::BLACK), &Ctx::new(1 << 20))
                .is_err()
        );
    }

    #[test]
    fn aspect_window_is_largest_fit() {
        assert_eq!(aspect_window(1600, 900, 1, 1), (900, 900));
        assert_eq!(aspect_window(900, 1600, 16, 9), (900, 506));
        assert_eq!(aspect_window(1600, 900, 16, 9), (1600, 900));
    }

    #[test]
    fn compass_gravity_places_window() {
        assert_eq!(Gravity::East.offset(10, 0), (10, 0));
        assert_eq!(Gravity::SouthWest.offset(10, 6), (0, 6));
        assert_eq!(Gravity::Centre.offset(10, 6), (5, 3));
        assert_eq!(Gravity::parse("smart").unwrap(), Gravity::Attention);
        assert!(Gravity::parse("up").is_err());
    }

    /// A flat picture with a busy striped patch on its right side.
    fn detail_on_the_right() -> Image {
        let (w, h) = (200u32, 100u32);
        let mut data = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let v = if x >= 150 && (x + y) % 4 < 2 {
                    250
                } else if x >= 150 {
                    10
                } else {
                    128
                };
                data.extend_from_slice(&[v, if x >= 150 { 40 } else { v }, v]);
            }
        }
        Image::from_raw(w, h, Channels::Rgb, data).unwrap()
    }

    #[test]
    fn smart_gravities_find_the_detail() {
        for gravity in [Gravity::Entropy, Gravity::Attention] {
            let crop = Crop::Aspect { ratio_w: 1, ratio_h: 1, gravity };
            let out = crop.apply(detail_on_the_right(), &Ctx::new(1 << 20)).unwrap();
            assert_eq!((out.width(), out.height()), (100, 100));
            // The busy patch (x >= 150) lies inside the chosen window.
            let right_edge = &out.data()[(99 * 3)..(99 * 3 + 3)];
            assert_ne!(right_edge, &[128, 128, 128], "{gravity:?} kept the flat left side");
        }
    }
}
