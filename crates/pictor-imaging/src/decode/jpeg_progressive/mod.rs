//! Progressive JPEG at 1/8 or 1/4 scale, keeping a few numbers per block.
//!
//! libjpeg decodes a progressive file by buffering all 64 coefficients of
//! every block (3 bytes a pixel: 110 MB for a 24 MP 4:4:4 photo) and
//! entropy-decoding every scan into them, coefficient by coefficient: the
//! dearest part of thumbnailing such a file. A scaled picture needs far
//! less of each block:
//!
//! - At 1/8 each 8×8 block becomes one pixel: its DC coefficient. A
//!   progressive file sends the DC terms in their own scans, before the AC
//!   scans, so those are skipped whole by looking for the next marker,
//!   never entropy-decoded.
//! - At 1/4 each block becomes 2×2 pixels: the means of its quadrants,
//!   from the DC term and the three lowest AC terms. Every AC scan is still
//!   parsed (refinement scans can only be read knowing which coefficients
//!   are already non-zero), but per block only those three values and a
//!   64-bit mask of non-zero coefficients are kept, and the correction bits
//!   of the other coefficients are stepped over in bulk.
//!
//! Baseline files stay with libjpeg: their AC terms are interleaved with
//! the DC terms and must be entropy-decoded to be passed over, which
//! libjpeg-turbo does faster than a DC-only decoder here did (measured
//! 10–50 % slower on the benchmark's photos, so not kept).
//!
//! It handles 8-bit Huffman-coded progressive files with one (grey) or
//! three (YCbCr) components; anything else returns `None` and goes to
//! libjpeg. Subsampled chroma is interpolated between sample centres, which
//! the following ≥2× resize smooths over.

mod bits;
mod pixels;
mod scan;

use crate::error::{Result, corrupt};
use crate::image::Image;
use bits::Huffman;

/// Output samples per block side: 1 at 1/8 scale, 2 at 1/4.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scale {
    Eighth,
    Quarter,
}

impl Scale {
    fn samples(self) -> usize {
        match self {
            Scale::Eighth => 1,
            Scale::Quarter => 2,
        }
    }
}

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
    /// At 1/4 only, per block: the AC terms 1, 2 and 4 in zig-zag order
    /// (horizontal, vertical and diagonal first harmonics)...
    low: Vec<[i32; 3]>,
    /// ...and which of the 64 zig-zag coefficients are non-zero so far.
    nonzero: Vec<u64>,
    /// Low bits not (yet) read of each of those three terms.
    low_bits: [u32; 3],
    seen: bool,
}

/// A progressive frame: its size and its components.
struct Frame {
    width: usize,
    height: usize,
    comps: Vec<Component>,
}

/// Huffman tables by class (0: DC, 1: AC) and slot.
type Tables = [[Option<Huffman>; 4]; 2];

/// Quantisation steps of zig-zag coefficients 0–4, by table slot.
type Quant = [[i32; 5]; 4];

/// Decodes at 1/`shrink` scale (8 or 4), or `None` when the file (or the
/// scale) is not one this path handles.
pub fn decode(data: &[u8], shrink: u32) -> Result<Option<Image>> {
    let scale = match shrink {
        8 => Scale::Eighth,
        4 => Scale::Quarter,
        _ => return Ok(None),
    };
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Ok(None); // not a JPEG at all
    }
    let Some((frame, quant)) = decode_frame(data, scale, scan::FIRST_UNREAD_BITS)? else {
        return Ok(None);
    };
    if frame.comps.iter().any(|c| !c.seen) {
        return Ok(None);
    }
    Ok(Some(pixels::to_image(&frame, &quant, scale)?))
}

/// The frame's kept coefficients, not reading AC bits below `unread_bits`.
fn decode_frame(data: &[u8], scale: Scale, unread_bits: u32) -> Result<Option<(Frame, Quant)>> {
    let Some(segments) = segments(data)? else {
        return Ok(None);
    };
    let scans = segments
        .iter()
        .filter(|s| s.marker == 0xDA)
        .map(|s| scan::Header::parse(s.body))
        .collect::<Result<Vec<_>>>()?;
    let mut wanted = scan::plan(&scans, scale, unread_bits).into_iter().zip(&scans);
    let mut frame: Option<Frame> = None;
    let mut quant: Quant = [[0; 5]; 4];
    let mut tables: Tables = Default::default();
    let mut restart = 0usize;
    for Segment { marker, body, data: coded } in segments {
        match marker {
            // One frame: a second could differ from the one the limits were checked on.
            0xC2 if frame.is_some() => return Err(corrupt("JPEG: a second frame header")),
            0xC2 => match parse_frame(body, scale)? {
                Some(f) => frame = Some(f),
                None => return Ok(None),
            },
            0xC4 => parse_huffman(body, &mut tables)?,
            0xDB => parse_quant(body, &mut quant)?,
            0xDD => restart = u16_at(body, 0).unwrap_or(0) as usize,
            0xEE if body.starts_with(b"Adobe") && body.get(11) == Some(&0) => return Ok(None), // RGB, not YCbCr
            0xDA => {
                let Some(frame) = frame.as_mut() else {
                    return Err(corrupt("JPEG: scan before frame header"));
                };
                let (decode_it, header) = wanted.next().expect("one plan entry per scan");
                if decode_it {
                    let bits = bits::Bits::new(&data[..coded.end], coded.start);
                    scan::decode(bits, header, &mut frame.comps, &tables, restart)?;
                }
            }
            _ => {}
        }
    }
    Ok(frame.map(|frame| (frame, quant)))
}

/// A marker segment up to the end of image: its marker byte, its body,
/// and for a scan the entropy-coded data that follows it.
struct Segment<'a> {
    marker: u8,
    body: &'a [u8],
    data: std::ops::Range<usize>,
}

/// The file's marker segments, or `None` at a frame type other than
/// progressive Huffman (before walking the rest of a baseline file).
fn segments(data: &[u8]) -> Result<Option<Vec<Segment<'_>>>> {
    let mut out = Vec::new();
    let mut pos = 2;
    loop {
        let Some((marker, body_at)) = next_marker(data, pos) else {
            return Err(corrupt("JPEG data ends before the image is complete (truncated file)"));
        };
        match marker {
            0xD9 => return Ok(Some(out)),
            0xC0 | 0xC1 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return Ok(None),
            _ => {}
        }
        let len = u16_at(data, body_at).ok_or_else(|| corrupt("JPEG: truncated marker"))? as usize;
        let body = data.get(body_at + 2..body_at + len).ok_or_else(|| corrupt("JPEG: truncated marker segment"))?;
        pos = body_at + len;
        let start = pos;
        if marker == 0xDA {
            pos = next_marker_from(data, pos);
        }
        out.push(Segment { marker, body, data: start..pos });
    }
}

fn u16_at(d: &[u8], i: usize) -> Option<u16> {
    d.get(i..i + 2).map(|s| u16::from_be_bytes([s[0], s[1]]))
}

/// The next marker at or after `pos`: (marker byte, offset of its body).
fn next_marker(d: &[u8], mut pos: usize) -> Option<(u8, usize)> {
    loop {
        let ff = pos + memchr::memchr(0xFF, d.get(pos..)?)?;
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

fn parse_frame(b: &[u8], scale: Scale) -> Result<Option<Frame>> {
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
            low: Vec::new(),
            nonzero: Vec::new(),
            low_bits: [0; 3],
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
        let blocks = c.bw * c.bh;
        c.dc = vec![0; blocks];
        if scale == Scale::Quarter {
            c.low = vec![[0; 3]; blocks];
            c.nonzero = vec![0; blocks];
        }
    }
    Ok(Some(Frame { width: w, height: h, comps }))
}

/// Keeps the steps of zig-zag coefficients 0–4 of each table.
fn parse_quant(mut b: &[u8], quant: &mut Quant) -> Result<()> {
    while let Some(&pq_tq) = b.first() {
        let (wide, id) = (pq_tq >> 4 != 0, (pq_tq & 15) as usize);
        let size = if wide { 128 } else { 64 };
        let table = b.get(1..1 + size).ok_or_else(|| corrupt("JPEG: truncated quantisation table"))?;
        if id < 4 {
            for (k, step) in quant[id].iter_mut().enumerate() {
                *step = if wide { i32::from(u16_at(table, 2 * k).unwrap()) } else { i32::from(table[k]) };
            }
        }
        b = &b[1 + size..];
    }
    Ok(())
}

fn parse_huffman(mut b: &[u8], tables: &mut Tables) -> Result<()> {
    while let Some(&tc_th) = b.first() {
        let counts = b.get(1..17).ok_or_else(|| corrupt("JPEG: truncated Huffman table"))?;
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        let values = b.get(17..17 + total).ok_or_else(|| corrupt("JPEG: truncated Huffman table"))?.to_vec();
        let (class, slot) = ((tc_th >> 4) as usize, (tc_th & 15) as usize);
        if class < 2 && slot < 4 {
            tables[class][slot] = Some(Huffman::new(counts, values));
        }
        b = &b[17 + total..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{EncodeOptions, encode};
    use crate::format::OutputFormat;
    use crate::image::Channels;

    /// libjpeg's own decode at 1/`shrink`, the reference for this path.
    fn libjpeg_scaled(bytes: &[u8], shrink: u32) -> Image {
        let mut d = mozjpeg::Decompress::new_mem(bytes).unwrap();
        d.scale((8 / shrink) as u8);
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

    /// A gradient with texture: every AC band gets coefficients, so every
    /// kind of AC scan (and end-of-band run) has work.
    fn textured(w: u32, h: u32) -> Image {
        let noise = |x: u32, y: u32| (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).rotate_left(x % 7) % 48;
        let data = (0..h)
            .flat_map(|y| {
                (0..w).flat_map(move |x| {
                    let n = noise(x, y);
                    [(x * 200 / w + n) as u8, (y * 200 / h + n / 2) as u8, (((x / 3) ^ (y / 5)) % 200 + n) as u8]
                })
            })
            .collect();
        Image::from_raw(w, h, Channels::Rgb, data).unwrap()
    }

    #[test]
    fn matches_libjpeg_on_progressive_files() {
        for (w, h) in [(203, 117), (64, 64), (640, 480)] {
            let opts = EncodeOptions { progressive: true, quality: Some(90), ..Default::default() };
            for (image, floor) in [(gradient(w, h), [27.0, 30.0]), (textured(w, h), [29.0, 32.0])] {
                let bytes = encode(&image, OutputFormat::Jpeg, &opts, None).unwrap();
                for (shrink, floor) in [8, 4].into_iter().zip(floor) {
                    let ours = decode(&bytes, shrink).unwrap().expect("progressive YCbCr is handled");
                    let reference = libjpeg_scaled(&bytes, shrink);
                    assert_eq!((ours.width(), ours.height()), (reference.width(), reference.height()));
                    // Subsampled chroma: libjpeg rebuilds it from AC terms, we interpolate
                    // block samples; a sharp synthetic chroma sawtooth shows the gap. At 1/4
                    // libjpeg's 2×2 IDCT also adds the 3rd, 5th and 7th harmonics.
                    let p = ours.psnr(&reference);
                    assert!(p > floor, "{w}x{h} at 1/{shrink}: {p:.1} dB");
                }
            }
        }
    }

    /// libjpeg's quantised coefficients (natural order) of each component,
    /// over the blocks that cover the picture, row by row.
    fn libjpeg_coefficients(bytes: &[u8]) -> Vec<Vec<[i16; 64]>> {
        use mozjpeg_sys::*;
        let mut err = crate::decode::jpeg::error_manager();
        // SAFETY: the usual libjpeg sequence on a zeroed struct; errors unwind
        // (error_manager), and each block row is read within its array's bounds.
        unsafe {
            let mut cinfo: jpeg_decompress_struct = std::mem::zeroed();
            cinfo.common.err = &mut err;
            jpeg_create_decompress(&mut cinfo);
            jpeg_mem_src(&mut cinfo, bytes.as_ptr(), bytes.len() as _);
            jpeg_read_header(&mut cinfo, 1);
            let arrays = jpeg_read_coefficients(&mut cinfo);
            let access = (*cinfo.common.mem).access_virt_barray.unwrap();
            let mut out = Vec::new();
            for c in 0..cinfo.num_components as usize {
                let comp = &*cinfo.comp_info.add(c);
                let mut blocks = Vec::new();
                for row in 0..comp.height_in_blocks {
                    let rows = access(&mut cinfo.common, *arrays.add(c), row, 1, 0);
                    blocks.extend((0..comp.width_in_blocks as usize).map(|bx| *(*rows).add(bx)));
                }
                out.push(blocks);
            }
            jpeg_destroy_decompress(&mut cinfo);
            out
        }
    }

    /// Our DC and kept AC terms against libjpeg's: DC exact, the AC terms
    /// exact but for the low bits left unread (truncated toward zero).
    fn assert_same_coefficients(bytes: &[u8], unread: u32, what: &str) {
        let (frame, _) = decode_frame(bytes, Scale::Quarter, unread).unwrap().expect("a progressive file");
        let theirs = libjpeg_coefficients(bytes);
        for (c, (comp, theirs)) in frame.comps.iter().zip(&theirs).enumerate() {
            assert_eq!(comp.cw * comp.ch, theirs.len(), "{what}: blocks of component {c}");
            for (i, block) in theirs.iter().enumerate() {
                let at = i / comp.cw * comp.bw + i % comp.cw;
                assert_eq!(comp.dc[at], i32::from(block[0]), "{what}: DC of block {i} of component {c}");
                for (slot, natural) in [1, 8, 9].into_iter().enumerate() {
                    let (value, bits) = (i32::from(block[natural]), comp.low_bits[slot]);
                    let truncated = value.signum() * (value.abs() >> bits << bits);
                    assert_eq!(comp.low[at][slot], truncated, "{what}: term {natural} of block {i} of component {c}");
                }
            }
        }
    }

    #[test]
    fn ac_scans_and_refinements_give_libjpegs_coefficients() {
        for (w, h) in [(203, 117), (64, 64), (333, 250)] {
            let opts = EncodeOptions { progressive: true, quality: Some(92), ..Default::default() };
            let subsampled = encode(&textured(w, h), OutputFormat::Jpeg, &opts, None).unwrap();
            let full = full_chroma(&textured(w, h), mozjpeg::ColorSpace::JCS_RGB);
            let grey = full_chroma(&textured(w, h), mozjpeg::ColorSpace::JCS_GRAYSCALE);
            for (bytes, kind) in [(subsampled, "4:2:0"), (full, "4:4:4"), (grey, "grey")] {
                // Every bit read: exact. As in service: the last two bits dropped.
                assert_same_coefficients(&bytes, 0, &format!("{w}x{h} {kind}, all bits"));
                assert_same_coefficients(&bytes, scan::FIRST_UNREAD_BITS, &format!("{w}x{h} {kind}"));
            }
        }
    }

    #[test]
    fn baseline_files_are_left_to_libjpeg() {
        let bytes = encode(&gradient(32, 32), OutputFormat::Jpeg, &EncodeOptions::default(), None).unwrap();
        assert!(decode(&bytes, 8).unwrap().is_none());
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
            let ours = decode(&bytes, 8).unwrap().expect("progressive is handled");
            let reference = libjpeg_scaled(&bytes, 8);
            let p = ours.psnr(&reference);
            assert!(p > 45.0, "{space:?}: {p:.1} dB");
        }
    }

    /// Restart markers end every row of MCUs, or every 3 blocks (4:4:4):
    /// DC predictions and the bit reader start over at each (files made with
    /// libjpeg-turbo's cjpeg, tests/data/README.md).
    #[test]
    fn restart_markers_reset_predictions_and_the_bit_reader() {
        let files: [&[u8]; 2] = [
            include_bytes!("../../../tests/data/progressive-restart-rows.jpg"),
            include_bytes!("../../../tests/data/progressive-restart-blocks-444.jpg"),
        ];
        for (i, bytes) in files.into_iter().enumerate() {
            assert_same_coefficients(bytes, 0, &format!("file {i}, all bits"));
            assert_same_coefficients(bytes, scan::FIRST_UNREAD_BITS, &format!("file {i}"));
            for shrink in [8, 4] {
                let p = decode(bytes, shrink).unwrap().unwrap().psnr(&libjpeg_scaled(bytes, shrink));
                assert!(p > 30.0, "file {i} at 1/{shrink}: {p:.1} dB");
            }
        }
    }

    /// Inputs the `jpeg_progressive` fuzz target found, each once a panic.
    #[test]
    fn fuzz_finds_are_refused_without_a_panic() {
        // A later scan header with no components (indexing an empty list).
        let no_components = include_bytes!("../../../tests/data/fuzz/jpeg_progressive-scan-without-components.jpg");
        assert!(decode(no_components, 8).is_err());
        // A PNG holding a progressive JPEG 1 KB in: the JPEG inside was
        // decoded, at its own size, not the PNG's. Only a file that starts as
        // a JPEG is one.
        let png = include_bytes!("../../../tests/data/fuzz/jpeg_progressive-png-holding-a-jpeg.bin");
        for shrink in [8, 4] {
            assert!(decode(png, shrink).unwrap().is_none());
        }
    }

    #[test]
    fn truncated_progressive_file_is_refused() {
        let opts = EncodeOptions { progressive: true, ..Default::default() };
        let bytes = encode(&gradient(64, 64), OutputFormat::Jpeg, &opts, None).unwrap();
        assert!(decode(&bytes[..bytes.len() / 2], 8).is_err());
    }

    /// Timing and quality against libjpeg's decode at 1/8 and 1/4 on
    /// bench/thumbnail.sh's progressive photos: `cargo test --release -p
    /// pictor-imaging --lib scaled_speed -- --ignored --nocapture`
    /// (`SPEED_ONLY=name` for some files, `SPEED_EACH=1` for each file).
    #[test]
    #[ignore = "a measurement, not a test"]
    fn scaled_speed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/work/batch");
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
        let only = std::env::var("SPEED_ONLY").unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "jpg") && p.to_string_lossy().contains(&only));
        files.sort();
        // The progressive ones: baseline files are not this path's.
        let photos: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
        let (files, photos): (Vec<_>, Vec<_>) =
            files.into_iter().zip(photos).filter(|(_, b)| matches!(decode(b, 8), Ok(Some(_)))).unzip();
        let ms = |f: &dyn Fn(&[u8]), bytes: &[u8], times: u32| {
            let start = std::time::Instant::now();
            for _ in 0..times {
                f(bytes);
            }
            start.elapsed().as_secs_f64() * 1000.0 / f64::from(times)
        };
        for shrink in [8, 4] {
            let (ours, theirs) =
                (|b: &[u8]| drop(decode(b, shrink).unwrap()), |b: &[u8]| drop(libjpeg_scaled(b, shrink)));
            let (mut total_ours, mut total_libjpeg, mut worst) = (0.0, 0.0, f64::INFINITY);
            for (file, bytes) in files.iter().zip(&photos) {
                let (a, b) = (ms(&ours, bytes, 3), ms(&theirs, bytes, 3));
                let p = decode(bytes, shrink).unwrap().unwrap().psnr(&libjpeg_scaled(bytes, shrink));
                if std::env::var_os("SPEED_EACH").is_some() {
                    eprintln!("1/{shrink} {}: ours {a:.1} ms, libjpeg {b:.1} ms, {p:.1} dB", file.display());
                }
                (total_ours, total_libjpeg, worst) = (total_ours + a, total_libjpeg + b, worst.min(p));
            }
            let n = photos.len() as f64;
            eprintln!(
                "1/{shrink}, {} photos: ours {:.1} ms, libjpeg {:.1} ms ({:.2}×), worst {worst:.1} dB",
                photos.len(),
                total_ours / n,
                total_libjpeg / n,
                total_libjpeg / total_ours
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
                let Ok(Some(ours)) = decode(&bytes, 8) else {
                    continue;
                };
                let name = path.display().to_string();
                let Ok(reference) = std::panic::catch_unwind(|| libjpeg_scaled(&bytes, 8)) else { continue };
                assert_eq!((ours.width(), ours.height()), (reference.width(), reference.height()), "{name}");
                let p = ours.psnr(&reference);
                // Identical for 4:4:4 and grey; files cut after the DC scan differ by
                // libjpeg's block smoothing of missing AC terms. Below 4×4 (a file
                // under 32 px, never shrunk 8× in practice) libjpeg's subsampled
                // chroma is one corner of a 2×2 rebuild, ours the block's mean.
                if p <= 25.0 && ours.width().min(ours.height()) >= 4 {
                    failed.push(format!("{name} at 1/8: {p:.1} dB, {}x{}", ours.width(), ours.height()));
                }
                // At 1/4: every coefficient libjpeg reads, and pixels close to its own.
                if let Ok(Some(quarter)) = decode(&bytes, 4) {
                    let reference = libjpeg_scaled(&bytes, 4);
                    let p = quarter.psnr(&reference);
                    // Lower for a file cut after its DC scan: libjpeg then smooths blocks.
                    if p <= 20.0 && quarter.width().min(quarter.height()) >= 8 {
                        failed.push(format!("{name} at 1/4: {p:.1} dB, {}x{}", quarter.width(), quarter.height()));
                    }
                    if let Err(e) = std::panic::catch_unwind(|| assert_same_coefficients(&bytes, 0, &name)) {
                        failed.push(format!("{name}: coefficients differ: {:?}", e.downcast_ref::<String>()));
                    }
                }
                compared += 1;
            }
        }
        eprintln!("compared {compared} corpus JPEGs with libjpeg");
        assert!(failed.is_empty(), "{failed:#?}");
        assert!(compared >= 5, "only {compared} JPEGs found");
    }
}
