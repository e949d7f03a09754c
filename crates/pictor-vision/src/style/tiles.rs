//! Full resolution by overlapping tiles with feathered seams.
//!
//! A style network's memory and time grow with its input's area, and tract
//! runs fastest on a plan built for one concrete size, so a large photo is
//! cut into tiles of one size (the plan is built once and reused), each
//! tile is stylised on its own, and the tiles are put back with linear
//! ramps across their overlaps. The weights are separable and normalised
//! per axis, so at every pixel the tiles' weights sum to exactly 1: a
//! function that changes nothing gives the image back, and a difference
//! between neighbouring tiles (instance normalisation sees each tile's own
//! statistics) fades over the whole overlap instead of stepping at an edge.
//! A tile's own border, where the network's padding shows, gets weight
//! near 0 wherever a neighbour covers it.
//!
//! The ramps hide seams but not drift: a tile of sky and a tile of forest
//! come out of instance normalisation each at its own average tone. So a
//! large picture is first painted whole at one tile's size (the *guide*),
//! and each tile is shifted, channel by channel, to the guide's average
//! tone over the same region before it is blended in: the picture keeps
//! one tone from corner to corner, and the tiles add only the detail.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::Result;
use crate::tensor::{Pixels, Rgb, round_up};

/// Where one tile lies in the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileRect {
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
    /// Column and row of the tile in the grid.
    pub column: usize,
    pub row: usize,
}

/// The starts of tiles of length `tile` covering `length` with at least
/// `overlap` shared between neighbours, spread evenly. One tile (the whole
/// length) when it fits.
pub(crate) fn starts(length: usize, tile: usize, overlap: usize) -> Vec<usize> {
    if length <= tile {
        return vec![0];
    }
    let step = tile - overlap;
    let count = (length - overlap).div_ceil(step);
    let span = length - tile;
    (0..count).map(|i| (i * span + (count - 1) / 2) / (count - 1)).collect()
}

/// Per-axis weights: for tile `i` of those starting at `starts` (each
/// `min(tile, length)` long), the weight of each of its pixels. Raw weights
/// ramp up linearly across the overlap with the previous tile and down
/// across the overlap with the next; each position is then divided by the
/// sum over all tiles covering it, so they sum to 1.
pub(crate) fn axis_weights(length: usize, tile: usize, starts: &[usize]) -> Vec<Vec<f32>> {
    let len = tile.min(length);
    let raw: Vec<Vec<f32>> = starts
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let before = (i > 0).then(|| starts[i - 1] + len - s);
            let after = starts.get(i + 1).map(|&n| s + len - n);
            (0..len)
                .map(|k| {
                    let up = before.map_or(1.0, |o| (k as f32 + 0.5) / o as f32);
                    let down = after.map_or(1.0, |o| (len as f32 - k as f32 - 0.5) / o as f32);
                    up.min(down).clamp(0.0, 1.0)
                })
                .collect()
        })
        .collect();
    let mut sum = vec![0.0f32; length];
    for (s, w) in starts.iter().zip(&raw) {
        sum[*s..*s + len].iter_mut().zip(w).for_each(|(t, v)| *t += v);
    }
    starts.iter().zip(raw).map(|(s, w)| w.iter().enumerate().map(|(k, v)| v / sum[s + k]).collect()).collect()
}

/// The tile grid over a `width × height` image.
pub fn grid(width: usize, height: usize, tile: usize, overlap: usize) -> Vec<TileRect> {
    let (xs, ys) = (starts(width, tile, overlap), starts(height, tile, overlap));
    let (tw, th) = (tile.min(width), tile.min(height));
    let mut rects = Vec::with_capacity(xs.len() * ys.len());
    for (row, &y) in ys.iter().enumerate() {
        for (column, &x) in xs.iter().enumerate() {
            rects.push(TileRect { x, y, width: tw, height: th, column, row });
        }
    }
    rects
}

/// The `rect` window of `src`, extended by mirroring to `width × height`
/// (at least the window's size): the networks want sides that are
/// multiples of 4, and a mirror continues the picture where zeros would
/// darken its edge.
pub(crate) fn window(src: &dyn Pixels, rect: &TileRect, width: usize, height: usize) -> Rgb {
    let mirror = |v: usize, n: usize| if v < n { v } else { (2 * n).saturating_sub(v + 2).min(n - 1) };
    let mut data = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        let sy = rect.y + mirror(y, rect.height);
        for x in 0..width {
            data.extend_from_slice(&src.rgb(rect.x + mirror(x, rect.width), sy));
        }
    }
    Rgb { width, height, data }
}

/// How to cut a picture up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tiling {
    pub tile: usize,
    pub overlap: usize,
    /// Each tile is padded by mirroring to a multiple of this…
    pub multiple: usize,
    /// …and to at least this on each side.
    pub min_side: usize,
}

impl Tiling {
    fn padded(&self, side: usize) -> usize {
        round_up(side.max(self.min_side), self.multiple)
    }
}

/// Runs `f` on every tile of `src` (padded as `tiling` says; `f` must
/// return the same size, values 0–255) and blends the results into one
/// image of `src`'s size; with a `guide` (the same picture painted whole,
/// smaller), each tile first takes the guide's average tone over its region.
/// Tiles are painted on as many threads as there are cores (each holds
/// one tile's tensors), and blended in as they come.
pub(crate) fn render(
    src: &dyn Pixels,
    tiling: &Tiling,
    guide: Option<&Rgb>,
    f: &(dyn Fn(&TileRect, Rgb) -> Result<Rgb> + Sync),
) -> Result<Rgb> {
    let Tiling { tile, overlap, .. } = *tiling;
    let (width, height) = (src.width(), src.height());
    let (xs, ys) = (starts(width, tile, overlap), starts(height, tile, overlap));
    let (wx, wy) = (axis_weights(width, tile, &xs), axis_weights(height, tile, &ys));
    let rects = grid(width, height, tile, overlap);
    let out = Mutex::new(Rgb { width, height, data: vec![0.0; width * height * 3] });
    let next = AtomicUsize::new(0);
    let work = || -> Result<()> {
        while let Some(rect) = rects.get(next.fetch_add(1, Ordering::Relaxed)) {
            let styled = match paint(src, tiling, guide, f, rect) {
                Ok(styled) => styled,
                Err(e) => {
                    next.store(rects.len(), Ordering::Relaxed); // the others stop too
                    return Err(e);
                }
            };
            let mut out = out.lock().expect("a tile thread panicked while blending");
            blend(&mut out, &styled, rect, &wx[rect.column], &wy[rect.row]);
        }
        Ok(())
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(rects.len());
    if threads <= 1 {
        work()?;
    } else {
        std::thread::scope(|scope| {
            let running: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
            running.into_iter().map(|t| t.join().expect("a tile thread panicked")).collect::<Result<Vec<()>>>()
        })?;
    }
    Ok(out.into_inner().expect("a tile thread panicked while blending"))
}

/// One tile of `src` painted by `f`, shifted to the guide's tone there.
fn paint(
    src: &dyn Pixels,
    tiling: &Tiling,
    guide: Option<&Rgb>,
    f: &(dyn Fn(&TileRect, Rgb) -> Result<Rgb> + Sync),
    rect: &TileRect,
) -> Result<Rgb> {
    let (pw, ph) = (tiling.padded(rect.width), tiling.padded(rect.height));
    let mut styled = f(rect, window(src, rect, pw, ph))?;
    if (styled.width, styled.height) != (pw, ph) {
        return Err(crate::VisionError::run("style", "a tile came back at another size"));
    }
    if let Some(guide) = guide {
        let target = mean(guide, &scaled(rect, (src.width(), src.height()), (guide.width, guide.height)));
        let own = mean(&styled, &TileRect { x: 0, y: 0, ..*rect });
        for p in styled.data.chunks_exact_mut(3) {
            (0..3).for_each(|c| p[c] = (p[c] + target[c] - own[c]).clamp(0.0, 255.0));
        }
    }
    Ok(styled)
}

/// Adds a painted tile into `out` with its seam weights.
fn blend(out: &mut Rgb, styled: &Rgb, rect: &TileRect, ax: &[f32], ay: &[f32]) {
    let width = out.width;
    for (ty, wy) in ay.iter().enumerate() {
        let dst = &mut out.data[((rect.y + ty) * width + rect.x) * 3..][..rect.width * 3];
        let row = &styled.data[ty * styled.width * 3..][..rect.width * 3];
        for (tx, (d, s)) in dst.chunks_exact_mut(3).zip(row.chunks_exact(3)).enumerate() {
            let w = ax[tx] * wy;
            (0..3).for_each(|c| d[c] += w * s[c]);
        }
    }
}

/// `rect` of a `from`-sized picture, in a `to`-sized one (at least a pixel).
fn scaled(rect: &TileRect, from: (usize, usize), to: (usize, usize)) -> TileRect {
    let x = rect.x * to.0 / from.0;
    let y = rect.y * to.1 / from.1;
    let width = ((rect.x + rect.width) * to.0).div_ceil(from.0).min(to.0).saturating_sub(x).max(1);
    let height = ((rect.y + rect.height) * to.1).div_ceil(from.1).min(to.1).saturating_sub(y).max(1);
    TileRect { x, y, width, height, ..*rect }
}

/// The average of each channel over `rect` of `picture`.
fn mean(picture: &Rgb, rect: &TileRect) -> [f32; 3] {
    let mut sum = [0.0f64; 3];
    for y in rect.y..rect.y + rect.height {
        let row = &picture.data[(y * picture.width + rect.x) * 3..][..rect.width * 3];
        row.chunks_exact(3).for_each(|p| (0..3).for_each(|c| sum[c] += f64::from(p[c])));
    }
    let n = (rect.width * rect.height).max(1) as f64;
    sum.map(|v| (v / n) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T512: Tiling = Tiling { tile: 512, overlap: 64, multiple: 4, min_side: 32 };

    fn gradient(w: usize, h: usize) -> Rgb {
        let data = (0..h)
            .flat_map(|y| (0..w).flat_map(move |x| [x as f32 * 200.0 / w as f32, y as f32 * 200.0 / h as f32, 90.0]))
            .collect();
        Rgb { width: w, height: h, data }
    }

    #[test]
    fn tiles_cover_with_the_overlap_asked() {
        for (length, tile, overlap) in
            [(4000, 768, 64), (3000, 768, 64), (769, 768, 64), (1500, 512, 64), (100, 512, 64)]
        {
            let s = starts(length, tile, overlap);
            let len = tile.min(length);
            assert_eq!(s[0], 0);
            assert_eq!(s.last().unwrap() + len, length, "{length}: {s:?}");
            for p in s.windows(2) {
                assert!(p[0] + len >= p[1] + overlap, "{length}: {s:?}");
            }
        }
    }

    #[test]
    fn weights_sum_to_one_everywhere() {
        for (length, tile, overlap) in
            [(4000, 768, 64), (1100, 512, 64), (1300, 512, 64), (512, 512, 64), (37, 512, 64)]
        {
            let s = starts(length, tile, overlap);
            let w = axis_weights(length, tile, &s);
            let mut sum = vec![0.0f32; length];
            for (st, ws) in s.iter().zip(&w) {
                ws.iter().enumerate().for_each(|(k, v)| sum[st + k] += v);
            }
            for (x, v) in sum.iter().enumerate() {
                assert!((v - 1.0).abs() < 1e-5, "{length}/{tile}: sum {v} at {x}");
            }
        }
        // And in two dimensions, over a whole grid.
        let (w, h) = (1300, 900);
        let (xs, ys) = (starts(w, 512, 64), starts(h, 512, 64));
        let (wx, wy) = (axis_weights(w, 512, &xs), axis_weights(h, 512, &ys));
        let mut sum = vec![0.0f32; w * h];
        for r in grid(w, h, 512, 64) {
            for y in 0..r.height {
                for x in 0..r.width {
                    sum[(r.y + y) * w + r.x + x] += wx[r.column][x] * wy[r.row][y];
                }
            }
        }
        assert!(sum.iter().all(|v| (v - 1.0).abs() < 1e-5));
    }

    #[test]
    fn identity_gives_a_constant_image_back() {
        let src = Rgb { width: 1300, height: 700, data: [12.0, 130.0, 250.0].repeat(1300 * 700) };
        let calls = AtomicUsize::new(0);
        let out = render(&src, &T512, None, &|_, t| {
            calls.fetch_add(1, Ordering::Relaxed);
            Ok(t)
        })
        .unwrap();
        assert_eq!(calls.into_inner(), 3 * 2);
        assert!(out.data.iter().zip(&src.data).all(|(a, b)| (a - b).abs() < 1e-3));
    }

    #[test]
    fn identity_keeps_a_gradient_and_pads_odd_sizes() {
        let src = gradient(1001, 517);
        let out = render(&src, &T512, None, &|r, t| {
            assert_eq!((t.width % 4, t.height % 4), (0, 0));
            assert!(t.width >= 32 && t.height >= 32);
            assert!(t.width >= r.width && t.height >= r.height);
            Ok(t)
        })
        .unwrap();
        let worst = out.data.iter().zip(&src.data).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(worst < 1e-3, "worst difference {worst}");
        // A picture smaller than the least side is padded up to it, then cut back.
        let tiny = gradient(5, 3);
        let out = render(&tiny, &T512, None, &|_, t| {
            assert_eq!((t.width, t.height), (32, 32));
            Ok(t)
        })
        .unwrap();
        assert_eq!((out.width, out.height), (5, 3));
        assert!(out.data.iter().zip(&tiny.data).all(|(a, b)| (a - b).abs() < 1e-3));
    }

    /// Each tile shifted by its own offset (as a network normalising each
    /// tile by its own statistics would): the seams must fade, not step.
    #[test]
    fn seams_fade_across_the_overlap() {
        let (w, h) = (1400, 1000);
        let src = gradient(w, h);
        let offset = |r: &TileRect| ((r.column * 7 + r.row * 13) % 5) as f32 * 6.0; // up to 24 between tiles
        let out = render(&src, &T512, None, &|r, mut t| {
            let o = offset(r);
            t.data.iter_mut().for_each(|v| *v += o);
            Ok(t)
        })
        .unwrap();
        // The gradient itself steps by 200/w per pixel; a hard seam would step by up to 24.
        let mut worst = 0.0f32;
        for y in 0..h {
            for x in 1..w {
                for c in 0..3 {
                    let d = out.data[(y * w + x) * 3 + c] - out.data[(y * w + x - 1) * 3 + c];
                    worst = worst.max((d - src.data[(y * w + x) * 3 + c] + src.data[(y * w + x - 1) * 3 + c]).abs());
                }
            }
        }
        for y in 1..h {
            for x in 0..w {
                for c in 0..3 {
                    let d = out.data[(y * w + x) * 3 + c] - out.data[((y - 1) * w + x) * 3 + c];
                    worst = worst.max((d - src.data[(y * w + x) * 3 + c] + src.data[((y - 1) * w + x) * 3 + c]).abs());
                }
            }
        }
        // 24 spread over an overlap of at least 64 pixels: under 0.4 a pixel.
        assert!(worst < 0.5, "largest step beyond the gradient's own: {worst}");
    }

    /// A "network" that normalises each tile by its own statistics, as
    /// instance normalisation does: every tile comes out at the same average
    /// tone, and a dark-to-bright picture turns flat. With a guide (the
    /// picture painted whole, smaller) each tile keeps the tone the whole
    /// picture has there.
    #[test]
    fn a_guide_keeps_one_tone_across_tiles() {
        let (w, h) = (1500, 600);
        let src = gradient(w, h);
        let normalise = |t: Rgb| {
            let m = mean(&t, &TileRect { x: 0, y: 0, width: t.width, height: t.height, column: 0, row: 0 });
            let data = t.data.chunks_exact(3).flat_map(|p| [0, 1, 2].map(|c| p[c] - m[c] + 128.0)).collect();
            Rgb { data, ..t }
        };
        let left_right = |out: &Rgb| {
            let half = |x0| mean(out, &TileRect { x: x0, y: 0, width: 200, height: h, column: 0, row: 0 })[0];
            half(w - 200) - half(0)
        };
        let flat = render(&src, &T512, None, &|_, t| Ok(normalise(t))).unwrap();
        let small = crate::tensor::resize(&src, 500, 200);
        let guide = render(&small, &T512, None, &|_, t| Ok(normalise(t))).unwrap();
        let guided = render(&src, &T512, Some(&guide), &|_, t| Ok(normalise(t))).unwrap();
        let source = left_right(&src);
        assert!(left_right(&flat) < source * 0.6, "per-tile normalisation flattens: {} of {source}", left_right(&flat));
        assert!((left_right(&guided) - source).abs() < source * 0.1, "guided: {} of {source}", left_right(&guided));
    }

    #[test]
    fn mirror_padding_continues_the_edge() {
        let src = gradient(10, 6);
        let r = TileRect { x: 4, y: 2, width: 6, height: 4, column: 0, row: 0 };
        let t = window(&src, &r, 8, 8);
        // Column 6 mirrors column 4 (around the last, 5), row 4 mirrors row 2.
        assert_eq!(t.rgb(6, 0), src.rgb(8, 2));
        assert_eq!(t.rgb(0, 4), src.rgb(4, 4));
        assert_eq!(t.rgb(7, 5), src.rgb(7, 3));
    }
}
