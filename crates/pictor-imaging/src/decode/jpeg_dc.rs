//! Progressive JPEG at 1/8 scale from the DC scans alone.
//!
//! At 1/8 scale each 8×8 block becomes one pixel: its DC coefficient. A
//! progressive file sends the DC terms in their own scans, before the AC
//! scans, so those can be skipped whole by looking for the next marker,
//! never entropy-decoded. libjpeg instead buffers all 64 coefficients of
//! every block (3 bytes a pixel: 110 MB for a 24 MP 4:4:4 photo) and
//! decodes every scan. This path keeps one number per block.
//!
//! Baseline files stay with libjpeg: their AC terms are interleaved with
//! the DC terms and must be entropy-decoded to be passed over, which
//! libjpeg-turbo does faster than a DC-only decoder here did (measured
//! 10–50 % slower on the benchmark's photos, so not kept).
//!
//! It handles 8-bit Huffman-coded progressive files with one (grey) or
//! three (YCbCr) components; anything else returns `None` and goes to
//! libjpeg. Subsampled chroma is interpolated between block centres, which
//! the following ≥2× resize smooths over.

use crate::error::{Result, corrupt};
use crate::image::{Channels, Image};

struct Component {
    id: u8,
    h: usize,
    v: usize,
    quant: usize,
    /// Blocks across and down, padded to whole MCUs.
    bw: usize,
    bh: usize,
    /// Blocks actually covering the picture (non-interleaved scan extent).
    cw: usize,
    ch: usize,
    dc: Vec<i32>,
    seen: bool,
}

/// A progressive frame: its size and its components.
struct Frame {
    width: usize,
    height: usize,
    comps: Vec<Component>,
}

/// Decodes at 1/8 scale, or `None` when the file is not one this path handles.
pub fn decode(data: &[u8]) -> Result<Option<Image>> {
    let mut frame: Option<Frame> = None;
    let mut quant0 = [0i32; 4];
    let mut dc_tables: [Option<Huffman>; 4] = Default::default();
    let mut restart = 0usize;
    let mut pos = 2;
    loop {
        let Some((marker, body_at)) = next_marker(data, pos) else {
            return Err(corrupt("JPEG data ends before the image is complete (truncated file)"));
        };
        if marker == 0xD9 {
            break;
        }
        let len = u16_at(data, body_at).ok_or_else(|| corrupt("JPEG: truncated marker"))? as usize;
        let body = data.get(body_at + 2..body_at + len).ok_or_else(|| corrupt("JPEG: truncated marker segment"))?;
        pos = body_at + len;
        match marker {
            // One frame: a second could differ from the one the limits were checked on.
            0xC2 if frame.is_some() => return Err(corrupt("JPEG: a second frame header")),
            0xC2 => match parse_frame(body)? {
                Some(f) => frame = Some(f),
                None => return Ok(None),
            },
            0xC0 | 0xC1 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return Ok(None),
            0xC4 => parse_huffman(body, &mut dc_tables)?,
            0xDB => parse_quant(body, &mut quant0)?,
            0xDD => restart = u16_at(body, 0).unwrap_or(0) as usize,
            0xEE if body.starts_with(b"Adobe") && body.get(11) == Some(&0) => return Ok(None), // RGB, not YCbCr
            0xDA => {
                let Some(frame) = frame.as_mut() else {
                    return Err(corrupt("JPEG: scan before frame header"));
                };
                pos = scan(data, pos, body, &mut frame.comps, &dc_tables, restart)?;
            }
            _ => {}
        }
    }
    let Some(frame) = frame else {
        return Ok(None);
    };
    if frame.comps.iter().any(|c| !c.seen) {
        return Ok(None);
    }
    Ok(Some(to_image(frame.width, frame.height, &frame.comps, &quant0)?))
}

fn u16_at(d: &[u8], i: usize) -> Option<u16> {
    d.get(i..i + 2).map(|s| u16::from_be_bytes([s[0], s[1]]))
}

/// The next marker at or after `pos`: (marker byte, offset of its body).
fn next_marker(d: &[u8], mut pos: usize) -> Option<(u8, usize)> {
    loop {
        let ff = pos + memchr_ff(d.get(pos..)?)?;
        let mut at = ff + 1;
        while d.get(at) == Some(&0xFF) {
            at += 1;
        }
        match *d.get(at)? {
            0x00 | 0xD0..=0xD7 => pos = at + 1, // stuffed byte or restart inside data
            marker => return Some((marker, at + 1)),
        }
    }
}

fn memchr_ff(d: &[u8]) -> Option<usize> {
    memchr::memchr(0xFF, d)
}

fn parse_frame(b: &[u8]) -> Result<Option<Frame>> {
    let bad = || corrupt("JPEG: malformed frame header");
    let (precision, height, width, n) = (
        b.first().ok_or_else(bad)?,
        u16_at(b, 1).ok_or_else(bad)?,
        u16_at(b, 3).ok_or_else(bad)?,
        *b.get(5).ok_or_else(bad)? as usize,
    );
    if *precision != 8 || !(n == 1 || n == 3) || width == 0 || height == 0 {
        return Ok(None);
    }
    let (w, h) = (width as usize, height as usize);
    // Components named R, G, B are RGB, not YCbCr (libjpeg's rule too).
    if n == 3 && b.get(6) == Some(&b'R') && b.get(9) == Some(&b'G') && b.get(12) == Some(&b'B') {
        return Ok(None);
    }
    let mut comps = Vec::with_capacity(n);
    for i in 0..n {
        let c = b.get(6 + i * 3..9 + i * 3).ok_or_else(bad)?;
        let (hs, vs) = ((c[1] >> 4) as usize, (c[1] & 15) as usize);
        if !(1..=4).contains(&hs) || !(1..=4).contains(&vs) || c[2] > 3 {
            return Err(bad());
        }
        comps.push(Component {
            id: c[0],
            h: hs,
            v: vs,
            quant: c[2] as usize,
            bw: 0,
            bh: 0,
            cw: 0,
            ch: 0,
            dc: Vec::new(),
            seen: false,
        });
    }
    let hmax = comps.iter().map(|c| c.h).max().unwrap();
    let vmax = comps.iter().map(|c| c.v).max().unwrap();
    let (mcux, mcuy) = (w.div_ceil(8 * hmax), h.div_ceil(8 * vmax));
    for c in &mut comps {
        c.bw = mcux * c.h;
        c.bh = mcuy * c.v;
        c.cw = (w * c.h).div_ceil(hmax).div_ceil(8);
        c.ch = (h * c.v).div_ceil(vmax).div_ceil(8);
        c.dc = vec![0; c.bw * c.bh];
    }
    Ok(Some(Frame { width: w, height: h, comps }))
}

fn parse_quant(mut b: &[u8], quant0: &mut [i32; 4]) -> Result<()> {
    while let Some(&pq_tq) = b.first() {
        let (wide, id) = (pq_tq >> 4 != 0, (pq_tq & 15) as usize);
        let size = if wide { 128 } else { 64 };
        let table = b.get(1..1 + size).ok_or_else(|| corrupt("JPEG: truncated quantisation table"))?;
        if id < 4 {
            quant0[id] = if wide { i32::from(u16_at(table, 0).unwrap()) } else { i32::from(table[0]) };
        }
        b = &b[1 + size..];
    }
    Ok(())
}

/// A DC Huffman table: a 9-bit lookup for short codes, canonical ranges for the rest.
#[derive(Clone)]
struct Huffman {
    lookup: Vec<(u8, u8)>, // (code length, symbol); length 0 = not a short code
    maxcode: [i32; 17],
    valptr: [i32; 17],
    mincode: [i32; 17],
    values: Vec<u8>,
}

const LOOKUP_BITS: u32 = 9;

fn parse_huffman(mut b: &[u8], tables: &mut [Option<Huffman>; 4]) -> Result<()> {
    while let Some(&tc_th) = b.first() {
        let counts = b.get(1..17).ok_or_else(|| corrupt("JPEG: truncated Huffman table"))?;
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        let values = b.get(17..17 + total).ok_or_else(|| corrupt("JPEG: truncated Huffman table"))?.to_vec();
        if tc_th >> 4 == 0 && (tc_th & 15) < 4 {
            tables[(tc_th & 15) as usize] = Some(Huffman::new(counts, values));
        }
        b = &b[17 + total..];
    }
    Ok(())
}

impl Huffman {
    fn new(counts: &[u8], values: Vec<u8>) -> Self {
        let mut lookup = vec![(0u8, 0u8); 1 << LOOKUP_BITS];
        let (mut maxcode, mut valptr, mut mincode) = ([-1i32; 17], [0i32; 17], [0i32; 17]);
        let (mut code, mut k) = (0i32, 0usize);
        for len in 1..=16 {
            let n = counts[len - 1] as usize;
            valptr[len] = k as i32;
            mincode[len] = code;
            for _ in 0..n {
                if len as u32 <= LOOKUP_BITS && k < values.len() {
                    let shift = LOOKUP_BITS - len as u32;
                    let first = (code as usize) << shift;
                    for slot in lookup.iter_mut().skip(first).take(1 << shift) {
                        *slot = (len as u8, values[k]);
                    }
                }
                code += 1;
                k += 1;
            }
            maxcode[len] = if n > 0 { code - 1 } else { -1 };
            code <<= 1;
        }
        Self { lookup, maxcode, valptr, mincode, values }
    }
}

/// Reads entropy-coded bits, un-stuffing 0xFF00 and stopping at markers.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    count: u32,
}

impl<'a> Bits<'a> {
    fn fill(&mut self) {
        // Eight bytes at once when none is 0xFF (no stuffing, no marker).
        if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
            let word = u64::from_be_bytes(chunk.try_into().unwrap());
            let inverted = !word;
            let has_ff = inverted.wrapping_sub(0x0101_0101_0101_0101) & !inverted & 0x8080_8080_8080_8080;
            if has_ff == 0 {
                let take = (64 - self.count) / 8;
                if take == 0 {
                    return;
                }
                let fresh = if take == 8 { word } else { word >> (64 - 8 * take) };
                self.acc |= fresh << (64 - self.count - 8 * take);
                self.pos += take as usize;
                self.count += 8 * take;
                return;
            }
        }
        while self.count <= 56 {
            let byte = match self.data.get(self.pos) {
                Some(&0xFF) if self.data.get(self.pos + 1) == Some(&0) => {
                    self.pos += 2;
                    0xFF
                }
                Some(&0xFF) | None => 0, // a marker: pad with zeros, do not consume
                Some(&b) => {
                    self.pos += 1;
                    b
                }
            };
            self.acc |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    /// The next `n` (≤ 57) bits, refilling only when fewer are buffered.
    fn peek(&mut self, n: u32) -> u32 {
        if self.count < n {
            self.fill();
        }
        (self.acc >> (64 - n)) as u32
    }

    fn skip(&mut self, n: u32) {
        self.acc <<= n;
        self.count -= n;
    }

    fn bits(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let v = self.peek(n);
        self.skip(n);
        v
    }

    fn symbol(&mut self, t: &Huffman) -> Result<u8> {
        let (len, sym) = t.lookup[self.peek(LOOKUP_BITS) as usize];
        if len > 0 {
            self.skip(u32::from(len));
            return Ok(sym);
        }
        let mut code = self.bits(LOOKUP_BITS) as i32;
        for len in LOOKUP_BITS as usize + 1..=16 {
            code = (code << 1) | self.bits(1) as i32;
            if code <= t.maxcode[len] {
                let at = (t.valptr[len] + code - t.mincode[len]) as usize;
                return t.values.get(at).copied().ok_or_else(|| corrupt("JPEG: bad Huffman code"));
            }
        }
        Err(corrupt("JPEG: bad Huffman code"))
    }

    /// Drops buffered bits and steps over an RSTn marker, if one is next.
    fn restart(&mut self) {
        self.acc = 0;
        self.count = 0;
        if self.data.get(self.pos) == Some(&0xFF) && matches!(self.data.get(self.pos + 1), Some(0xD0..=0xD7)) {
            self.pos += 2;
        }
    }
}

/// Decodes one scan if it carries DC terms; returns where its data ends.
fn scan(
    data: &[u8],
    start: usize,
    sos: &[u8],
    comps: &mut [Component],
    tables: &[Option<Huffman>; 4],
    restart: usize,
) -> Result<usize> {
    let bad = || corrupt("JPEG: malformed scan header");
    let n = *sos.first().ok_or_else(bad)? as usize;
    if !(1..=4).contains(&n) {
        return Err(bad());
    }
    let tail = sos.get(1 + 2 * n..4 + 2 * n).ok_or_else(bad)?;
    let (ss, ah, al) = (tail[0], tail[2] >> 4, u32::from(tail[2] & 15));
    let end = next_marker_from(data, start);
    if ss != 0 {
        return Ok(end); // AC scan: skipped without decoding
    }
    let mut members = Vec::with_capacity(n);
    for i in 0..n {
        let (id, td) = (sos[1 + 2 * i], (sos[2 + 2 * i] >> 4) as usize);
        let c = comps.iter().position(|c| c.id == id).ok_or_else(bad)?;
        let table = if ah == 0 {
            Some(tables.get(td).and_then(Option::as_ref).ok_or_else(|| corrupt("JPEG: missing DC Huffman table"))?)
        } else {
            None
        };
        members.push(Member { comp: c, dc: table });
    }
    let mut bits = Bits { data: &data[..end], pos: start, acc: 0, count: 0 };
    let mut preds = vec![0i32; n];
    let mut units = 0usize;
    let mut after_unit = |bits: &mut Bits, preds: &mut [i32]| {
        units += 1;
        if restart > 0 && units.is_multiple_of(restart) {
            bits.restart();
            preds.fill(0);
        }
    };
    let pass = Pass { al };
    if n == 1 {
        let m = &members[0];
        let (cw, ch, bw) = (comps[m.comp].cw, comps[m.comp].ch, comps[m.comp].bw);
        for by in 0..ch {
            for bx in 0..cw {
                pass.block(&mut bits, m, &mut preds[0], &mut comps[m.comp], by * bw + bx)?;
                after_unit(&mut bits, &mut preds);
            }
        }
    } else {
        let first = &comps[members[0].comp];
        let (mcu_rows, mcu_cols) = (first.bh / first.v, first.bw / first.h);
        for my in 0..mcu_rows {
            for mx in 0..mcu_cols {
                for (k, m) in members.iter().enumerate() {
                    let comp = &mut comps[m.comp];
                    for v in 0..comp.v {
                        for h in 0..comp.h {
                            let at = (my * comp.v + v) * comp.bw + mx * comp.h + h;
                            pass.block(&mut bits, m, &mut preds[k], comp, at)?;
                        }
                    }
                }
                after_unit(&mut bits, &mut preds);
            }
        }
    }
    Ok(end)
}

/// A component of a scan, with its tables.
struct Member<'t> {
    comp: usize,
    /// None in a DC refinement scan.
    dc: Option<&'t Huffman>,
}

/// Successive-approximation parameters of a DC scan.
struct Pass {
    al: u32,
}

impl Pass {
    /// Decodes one block's DC term: a first pass (`dc` given) or a refinement bit.
    fn block(&self, bits: &mut Bits, member: &Member, pred: &mut i32, comp: &mut Component, at: usize) -> Result<()> {
        match member.dc {
            Some(table) => {
                let s = u32::from(bits.symbol(table)?);
                if s > 11 {
                    return Err(corrupt("JPEG: DC difference out of range"));
                }
                let v = bits.bits(s) as i32;
                let diff = if s > 0 && v < 1 << (s - 1) { v - (1 << s) + 1 } else { v };
                *pred += diff;
                comp.dc[at] = *pred << self.al;
                comp.seen = true;
            }
            None => comp.dc[at] |= (bits.bits(1) as i32) << self.al,
        }
        Ok(())
    }
}

/// Offset of the first non-restart marker at or after `pos` (end of scan data).
fn next_marker_from(d: &[u8], pos: usize) -> usize {
    next_marker(d, pos).map_or(d.len(), |(_, body)| {
        // Back up over the marker byte and its fill bytes to the first 0xFF.
        let mut at = body - 1;
        while at > pos && d[at - 1] == 0xFF {
            at -= 1;
        }
        at
    })
}

fn to_image(width: usize, height: usize, comps: &[Component], quant0: &[i32; 4]) -> Result<Image> {
    let (ow, oh) = (width.div_ceil(8), height.div_ceil(8));
    let hmax = comps.iter().map(|c| c.h).max().unwrap();
    let vmax = comps.iter().map(|c| c.v).max().unwrap();
    let planes: Vec<Vec<f32>> = comps.iter().map(|c| plane(c, quant0[c.quant], (ow, oh), (hmax, vmax))).collect();
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

/// One component's samples at one per output pixel: its blocks' levels,
/// subsampled ones interpolated bilinearly between block centres, as
/// libjpeg's scaled IDCT roughly does.
fn plane(c: &Component, quant: i32, (ow, oh): (usize, usize), (hmax, vmax): (usize, usize)) -> Vec<f32> {
    let levels: Vec<f32> = (0..c.ch)
        .flat_map(|by| (0..c.cw).map(move |bx| (by, bx)))
        .map(|(by, bx)| (((c.dc[by * c.bw + bx] * quant + 4) >> 3) + 128) as f32)
        .collect();
    let at = |bx: usize, by: usize| levels[by.min(c.ch - 1) * c.cw + bx.min(c.cw - 1)];
    if c.h == hmax && c.v == vmax {
        return (0..oh).flat_map(|y| (0..ow).map(move |x| (x, y))).map(|(x, y)| at(x, y)).collect();
    }
    // Where each output column and row falls among the block centres.
    let spots = |n: usize, sub: usize, max: usize| -> Vec<(usize, f32)> {
        (0..n)
            .map(|i| {
                let f = ((i as f32 + 0.5) * sub as f32 / max as f32 - 0.5).max(0.0);
                (f as usize, f.fract())
            })
            .collect()
    };
    let (xs, ys) = (spots(ow, c.h, hmax), spots(oh, c.v, vmax));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{EncodeOptions, encode};
    use crate::format::OutputFormat;

    /// libjpeg's own 1/8-scale decode, the reference for this path.
    fn libjpeg_eighth(bytes: &[u8]) -> Image {
        let mut d = mozjpeg::Decompress::new_mem(bytes).unwrap();
        d.scale(1);
        let mut s = d.rgb().unwrap();
        let (w, h) = (s.width() as u32, s.height() as u32);
        Image::from_raw(w, h, Channels::Rgb, s.read_scanlines().unwrap()).unwrap()
    }

    fn gradient(w: u32, h: u32) -> Image {
        let data = (0..h)
            .flat_map(|y| (0..w).flat_map(move |x| [(x * 255 / w) as u8, (y * 255 / h) as u8, ((x + y) % 256) as u8]))
            .collect();
        Image::from_raw(w, h, Channels::Rgb, data).unwrap()
    }

    #[test]
    fn matches_libjpeg_on_progressive_files() {
        for (w, h) in [(203, 117), (64, 64), (640, 480)] {
            let opts = EncodeOptions { progressive: true, quality: Some(90), ..Default::default() };
            let bytes = encode(&gradient(w, h), OutputFormat::Jpeg, &opts, None).unwrap();
            let ours = decode(&bytes).unwrap().expect("progressive YCbCr is handled");
            let reference = libjpeg_eighth(&bytes);
            assert_eq!((ours.width(), ours.height()), (reference.width(), reference.height()));
            // Subsampled chroma: libjpeg rebuilds it from low AC terms, we interpolate
            // block means; a sharp synthetic chroma sawtooth shows the gap.
            assert!(ours.psnr(&reference) > 27.0, "{w}x{h}: {:.1} dB", ours.psnr(&reference));
        }
    }

    #[test]
    fn baseline_files_are_left_to_libjpeg() {
        let bytes = encode(&gradient(32, 32), OutputFormat::Jpeg, &EncodeOptions::default(), None).unwrap();
        assert!(decode(&bytes).unwrap().is_none());
    }

    /// A progressive file with chroma at full resolution, or grey.
    fn full_chroma(img: &Image, space: mozjpeg::ColorSpace) -> Vec<u8> {
        let mut c = mozjpeg::Compress::new(space);
        c.set_fastest_defaults();
        c.set_progressive_mode();
        c.set_size(img.width() as usize, img.height() as usize);
        c.set_quality(92.0);
        if space == mozjpeg::ColorSpace::JCS_RGB {
            c.set_chroma_sampling_pixel_sizes((1, 1), (1, 1));
        }
        let mut started = c.start_compress(Vec::new()).unwrap();
        let pixels: Vec<u8> = if space == mozjpeg::ColorSpace::JCS_RGB {
            img.data().to_vec()
        } else {
            img.data().chunks(3).map(|p| p[0] / 2 + p[2] / 2).collect()
        };
        started.write_scanlines(&pixels).unwrap();
        started.finish().unwrap()
    }

    #[test]
    fn full_resolution_chroma_and_grey_match_libjpeg() {
        let img = gradient(333, 222);
        for space in [mozjpeg::ColorSpace::JCS_RGB, mozjpeg::ColorSpace::JCS_GRAYSCALE] {
            let bytes = full_chroma(&img, space);
            let ours = decode(&bytes).unwrap().expect("progressive is handled");
            let reference = libjpeg_eighth(&bytes);
            let p = ours.psnr(&reference);
            assert!(p > 45.0, "{space:?}: {p:.1} dB");
        }
    }

    /// Inputs the `jpeg_dc` fuzz target found, each once a panic.
    #[test]
    fn fuzz_finds_are_refused_without_a_panic() {
        // A later scan header with no components (indexing an empty list).
        let no_components = include_bytes!("../../tests/data/fuzz/jpeg_dc-scan-without-components.jpg");
        assert!(decode(no_components).is_err());
    }

    #[test]
    fn truncated_progressive_file_is_refused() {
        let opts = EncodeOptions { progressive: true, ..Default::default() };
        let bytes = encode(&gradient(64, 64), OutputFormat::Jpeg, &opts, None).unwrap();
        assert!(decode(&bytes[..bytes.len() / 2]).is_err());
    }

    /// Timing against libjpeg's 1/8 decode on bench/thumbnail.sh's photos:
    /// `cargo test --release -p pictor-imaging --lib dc_speed -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a test"]
    fn dc_speed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/work/batch");
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
        let only = std::env::var("DC_SPEED_ONLY").unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "jpg") && p.to_string_lossy().contains(&only));
        files.sort();
        // The progressive ones: baseline files are not this path's.
        let photos: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
        let (files, photos): (Vec<_>, Vec<_>) =
            files.into_iter().zip(photos).filter(|(_, b)| matches!(decode(b), Ok(Some(_)))).unzip();
        let time = |f: &dyn Fn(&[u8])| {
            let start = std::time::Instant::now();
            for bytes in &photos {
                f(bytes);
            }
            start.elapsed().as_secs_f64() * 1000.0 / photos.len() as f64
        };
        if std::env::var_os("DC_SPEED_EACH").is_some() {
            for (file, bytes) in files.iter().zip(&photos) {
                let each = |f: &dyn Fn(&[u8])| {
                    let start = std::time::Instant::now();
                    for _ in 0..5 {
                        f(bytes);
                    }
                    start.elapsed().as_secs_f64() * 200.0
                };
                let (ours, libjpeg) = (each(&|b| drop(decode(b).unwrap())), each(&|b| drop(libjpeg_eighth(b))));
                eprintln!("{}: ours {ours:.1} ms, libjpeg {libjpeg:.1} ms", file.display());
            }
        }
        for _ in 0..3 {
            let ours = time(&|b| drop(decode(b).unwrap().unwrap()));
            let libjpeg = time(&|b| drop(libjpeg_eighth(b)));
            let mut worst = f64::INFINITY;
            for bytes in &photos {
                worst = worst.min(decode(bytes).unwrap().unwrap().psnr(&libjpeg_eighth(bytes)));
            }
            eprintln!(
                "{} photos: ours {ours:.1} ms, libjpeg {libjpeg:.1} ms ({:.2}×), worst {worst:.1} dB",
                photos.len(),
                libjpeg / ours
            );
        }
    }

    #[test]
    fn corpus_jpegs_match_libjpeg() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
        if !root.join("SOURCES.md").is_file() {
            use std::io::Write; // bypasses the harness's capture, so the skip shows
            let _ = writeln!(std::io::stderr(), "SKIPPED corpus progressive JPEGs: no corpus at {}", root.display());
            return;
        }
        let (mut compared, mut failed) = (0, Vec::new());
        let mut stack = vec![root.join("formats"), root.join("camera_exif")];
        while let Some(dir) = stack.pop() {
            for path in std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()) {
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let bytes = std::fs::read(&path).unwrap();
                if !bytes.starts_with(&[0xFF, 0xD8]) {
                    continue;
                }
                let Ok(Some(ours)) = decode(&bytes) else {
                    continue;
                };
                let reference = std::panic::catch_unwind(|| libjpeg_eighth(&bytes));
                let Ok(reference) = reference else { continue };
                assert_eq!(
                    (ours.width(), ours.height()),
                    (reference.width(), reference.height()),
                    "{}",
                    path.display()
                );
                let p = ours.psnr(&reference);
                // Identical for 4:4:4 and grey; files cut after the DC scan differ by
                // libjpeg's block smoothing of missing AC terms. Below 4×4 (a file
                // under 32 px, never shrunk 8× in practice) libjpeg's subsampled
                // chroma is one corner of a 2×2 rebuild, ours the block's mean.
                if p <= 25.0 && ours.width().min(ours.height()) >= 4 {
                    failed.push(format!("{}: {p:.1} dB, {}x{}", path.display(), ours.width(), ours.height()));
                }
                compared += 1;
            }
        }
        eprintln!("compared {compared} corpus JPEGs with libjpeg");
        assert!(failed.is_empty(), "{failed:#?}");
        assert!(compared >= 5, "only {compared} JPEGs found");
    }
}
