//! From the kept coefficients to RGB pixels: each block's samples (its
//! mean at 1/8, its quadrant means at 1/4), subsampled components
//! interpolated up to the picture's grid, then YCbCr to RGB.

use super::{Component, Frame, Quant, Scale};
use crate::error::Result;
use crate::image::{Channels, Image};

pub(super) fn to_image(frame: &Frame, quant: &Quant, scale: Scale) -> Result<Image> {
    let s = scale.samples();
    let (ow, oh) = ((frame.width * s).div_ceil(8), (frame.height * s).div_ceil(8));
    let comps = &frame.comps;
    let hmax = comps.iter().map(|c| c.h).max().unwrap();
    let vmax = comps.iter().map(|c| c.v).max().unwrap();
    let planes: Vec<Vec<f32>> = comps
        .iter()
        .map(|c| {
            let grid = Grid { width: c.cw * s, height: c.ch * s, samples: samples(c, &quant[c.quant], scale) };
            plane(&grid, (ow, oh), (c.h, hmax), (c.v, vmax))
        })
        .collect();
    let mut out = vec![0u8; ow * oh * 3];
    // Values are at least -0.5 after the shift, so truncating rounds.
    let byte = |v: f32| ((v + 0.5) as i32).clamp(0, 255) as u8;
    if let [luma] = &planes[..] {
        for (px, &y) in out.chunks_exact_mut(3).zip(luma) {
            px.fill(byte(y));
        }
    } else {
        let (luma, cb, cr) = (&planes[0], &planes[1], &planes[2]);
        for (i, px) in out.chunks_exact_mut(3).enumerate() {
            let (y, cb, cr) = (luma[i], cb[i] - 128.0, cr[i] - 128.0);
            px[0] = byte(y + 1.402 * cr);
            px[1] = byte(y - 0.344_136 * cb - 0.714_136 * cr);
            px[2] = byte(y + 1.772 * cb);
        }
    }
    Image::from_raw(ow as u32, oh as u32, Channels::Rgb, out)
}

/// A component's samples at its own resolution, row by row.
struct Grid {
    width: usize,
    height: usize,
    samples: Vec<f32>,
}

/// Mean of one half of a block along an axis, per unit of the first
/// harmonic: ¼·Σ cos((2x+1)π/16) over x = 0..4 (the other half: minus it).
const HALF_MEAN: f32 = 0.640_728;

/// Each block's level(s): its DC term alone at 1/8 (as libjpeg's 1×1 IDCT
/// rounds it), its four quadrant means at 1/4 from the DC term and the
/// first harmonics (the higher odd ones, which libjpeg's 2×2 IDCT also
/// adds, are left out: a gentler low-pass before the final resize).
fn samples(c: &Component, q: &[i32; 5], scale: Scale) -> Vec<f32> {
    let blocks = (0..c.ch).flat_map(|by| (0..c.cw).map(move |bx| by * c.bw + bx));
    match scale {
        Scale::Eighth => blocks.map(|at| (((i64::from(c.dc[at]) * i64::from(q[0]) + 4) >> 3) + 128) as f32).collect(),
        Scale::Quarter => {
            let (width, mut out) = (c.cw * 2, vec![0f32; c.cw * c.ch * 4]);
            // Per unit of coefficient: DC → mean, first harmonics → quadrant offsets.
            let (axis, diagonal) = (HALF_MEAN / (4.0 * std::f32::consts::SQRT_2), HALF_MEAN * HALF_MEAN / 4.0);
            // A term with low bits unread lies in [v, v ± (2^bits − 1)]: take the middle.
            let term = |coef: i32, slot: usize| {
                let spread = ((1 << c.low_bits[slot]) - 1) as f32 / 2.0;
                coef as f32 + spread * coef.signum() as f32
            };
            for (i, at) in blocks.enumerate() {
                let [h, v, d] = c.low[at];
                let mean = c.dc[at] as f32 * q[0] as f32 / 8.0 + 128.0;
                let (h, v, d) = (
                    term(h, 0) * q[1] as f32 * axis,
                    term(v, 1) * q[2] as f32 * axis,
                    term(d, 2) * q[4] as f32 * diagonal,
                );
                let (row, col) = (i / c.cw * 2, i % c.cw * 2);
                let top = row * width + col;
                out[top] = mean + h + v + d;
                out[top + 1] = mean - h + v - d;
                out[top + width] = mean + h - v - d;
                out[top + width + 1] = mean - h - v + d;
            }
            out
        }
    }
}

/// A component's samples on the `ow`×`oh` output grid; a subsampled one is
/// interpolated bilinearly between sample centres (libjpeg's "fancy"
/// upsampling does the same at 2×).
fn plane(g: &Grid, (ow, oh): (usize, usize), (h, hmax): (usize, usize), (v, vmax): (usize, usize)) -> Vec<f32> {
    let at = |x: usize, y: usize| g.samples[y.min(g.height - 1) * g.width + x.min(g.width - 1)];
    if h == hmax && v == vmax {
        return (0..oh).flat_map(|y| (0..ow).map(move |x| (x, y))).map(|(x, y)| at(x, y)).collect();
    }
    // Where each output column and row falls among the sample centres.
    let spots = |n: usize, sub: usize, max: usize| -> Vec<(usize, f32)> {
        (0..n)
            .map(|i| {
                let f = ((i as f32 + 0.5) * sub as f32 / max as f32 - 0.5).max(0.0);
                (f as usize, f.fract())
            })
            .collect()
    };
    let (xs, ys) = (spots(ow, h, hmax), spots(oh, v, vmax));
    let mut out = Vec::with_capacity(ow * oh);
    for &(y0, ty) in &ys {
        for &(x0, tx) in &xs {
            let top = at(x0, y0) * (1.0 - tx) + at(x0 + 1, y0) * tx;
            let bottom = at(x0, y0 + 1) * (1.0 - tx) + at(x0 + 1, y0 + 1) * tx;
            out.push(top * (1.0 - ty) + bottom * ty);
        }
    }
    out
}
