//! One AV1 still picture in, 8-bit samples out, through `rav1d` (the Rust
//! port of dav1d). rav1d only offers dav1d's C-style API, so the unsafe
//! calls are kept here, behind [`decode_rgb`] and [`decode_luma`], with the
//! YCbCr → RGB conversion its planes need.

use std::mem::MaybeUninit;
use std::ptr::NonNull;

use rav1d::include::dav1d::data::Dav1dData;
use rav1d::include::dav1d::dav1d::{Dav1dContext, Dav1dSettings};
use rav1d::include::dav1d::headers::{
    DAV1D_MC_BT709, DAV1D_MC_BT2020_NCL, DAV1D_MC_IDENTITY, DAV1D_PIXEL_LAYOUT_I400, DAV1D_PIXEL_LAYOUT_I420,
    DAV1D_PIXEL_LAYOUT_I422,
};
use rav1d::include::dav1d::picture::Dav1dPicture;
use rav1d::src::lib::{
    dav1d_close, dav1d_data_create, dav1d_data_unref, dav1d_default_settings, dav1d_get_picture, dav1d_open,
    dav1d_picture_unref, dav1d_send_data,
};

use crate::error::{ImagingError, Result};

/// dav1d's "try again": send more data, or ask for the picture again.
const EAGAIN: i32 = -11;

/// How the container says YCbCr is coded (its `nclx`), which AVIF gives
/// precedence over the AV1 sequence header.
#[derive(Debug, Clone, Copy)]
pub struct Signal {
    /// H.273 matrix coefficients; 2 (unspecified) defers to the bitstream.
    pub matrix: u16,
    pub full_range: bool,
}

/// Decodes an AV1 bitstream to interleaved 8-bit RGB of its coded size.
pub fn decode_rgb(obus: &[u8], max_pixels: u64, signal: Option<Signal>) -> Result<(u32, u32, Vec<u8>)> {
    with_picture(obus, max_pixels, |planes| {
        let planes = planes.signalled(signal);
        (planes.width, planes.height, planes.to_rgb())
    })
}

/// Decodes an AV1 bitstream (an alpha plane) to its 8-bit luma samples.
pub fn decode_luma(obus: &[u8], max_pixels: u64) -> Result<(u32, u32, Vec<u8>)> {
    with_picture(obus, max_pixels, |planes| (planes.width, planes.height, planes.luma()))
}

/// A decoded picture's planes, borrowed from rav1d.
#[derive(Clone)]
struct Planes<'a> {
    width: u32,
    height: u32,
    bits: u32,
    /// Chroma subsampling shifts (x, y); `None` for monochrome.
    chroma_shift: Option<(u32, u32)>,
    full_range: bool,
    matrix: u32,
    planes: [&'a [u8]; 3],
    strides: [usize; 2],
}

impl Planes<'_> {
    /// The planes read as the container's `signal` says, where it says.
    fn signalled(&self, signal: Option<Signal>) -> Self {
        let mut planes = self.clone();
        if let Some(signal) = signal {
            planes.full_range = signal.full_range;
            if signal.matrix != 2 {
                planes.matrix = u32::from(signal.matrix);
            }
        }
        planes
    }

    /// Sample `(x, y)` of plane `p`, at its own bit depth.
    fn sample(&self, p: usize, x: usize, y: usize) -> u32 {
        let row = y * self.strides[p.min(1)];
        if self.bits > 8 {
            let at = row + x * 2;
            u32::from(u16::from_ne_bytes([self.planes[p][at], self.planes[p][at + 1]]))
        } else {
            u32::from(self.planes[p][row + x])
        }
    }

    fn luma(&self) -> Vec<u8> {
        let (w, h) = (self.width as usize, self.height as usize);
        let scale = Range::new(self.bits, self.full_range);
        (0..h).flat_map(|y| (0..w).map(move |x| (y, x))).map(|(y, x)| to_u8(scale.luma(self.sample(0, x, y)))).collect()
    }

    fn to_rgb(&self) -> Vec<u8> {
        let (w, h) = (self.width as usize, self.height as usize);
        let range = Range::new(self.bits, self.full_range);
        let (kr, kb) = luma_weights(self.matrix);
        let mut out = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                let luma = range.luma(self.sample(0, x, y));
                let (cb, cr) = match self.chroma_shift {
                    Some((sx, sy)) => {
                        let (cx, cy) = (x >> sx, y >> sy);
                        (range.chroma(self.sample(1, cx, cy)), range.chroma(self.sample(2, cx, cy)))
                    }
                    None => (0.0, 0.0),
                };
                let rgb = if self.matrix == DAV1D_MC_IDENTITY {
                    // GBR stored as Y=G, U=B, V=R, all full scale.
                    [cr + 0.5, luma, cb + 0.5]
                } else {
                    let r = luma + 2.0 * (1.0 - kr) * cr;
                    let b = luma + 2.0 * (1.0 - kb) * cb;
                    [r, (luma - kr * r - kb * b) / (1.0 - kr - kb), b]
                };
                out.extend(rgb.map(to_u8));
            }
        }
        out
    }
}

/// How code values map to 0..1 (luma) and -0.5..0.5 (chroma).
struct Range {
    offset: f32,
    luma_scale: f32,
    chroma_scale: f32,
    mid: f32,
}

impl Range {
    fn new(bits: u32, full: bool) -> Self {
        let max = ((1u32 << bits) - 1) as f32;
        let unit = (1u32 << (bits - 8)) as f32;
        let mid = (1u32 << (bits - 1)) as f32;
        if full {
            Self { offset: 0.0, luma_scale: max, chroma_scale: max, mid }
        } else {
            Self { offset: 16.0 * unit, luma_scale: 219.0 * unit, chroma_scale: 224.0 * unit, mid }
        }
    }

    fn luma(&self, v: u32) -> f32 {
        (v as f32 - self.offset) / self.luma_scale
    }

    fn chroma(&self, v: u32) -> f32 {
        (v as f32 - self.mid) / self.chroma_scale
    }
}

/// (Kr, Kb) of a matrix; unspecified and unknown ones read as BT.601, as libavif does.
fn luma_weights(matrix: u32) -> (f32, f32) {
    match matrix {
        DAV1D_MC_BT709 => (0.2126, 0.0722),
        DAV1D_MC_BT2020_NCL => (0.2627, 0.0593),
        _ => (0.299, 0.114),
    }
}

fn to_u8(v: f32) -> u8 {
    (v * 255.0 + 0.5).clamp(0.0, 255.0) as u8
}

/// Runs rav1d over `obus` and hands the first picture's planes to `read`.
fn with_picture<T>(obus: &[u8], max_pixels: u64, read: impl FnOnce(&Planes<'_>) -> T) -> Result<T> {
    let decoder = Decoder::open(max_pixels)?;
    let mut picture = decoder.decode(obus)?;
    let planes = planes(&picture);
    let out = planes.map(|p| read(&p));
    // SAFETY: `picture` came from `dav1d_get_picture` and is released once.
    unsafe { dav1d_picture_unref(NonNull::new(&mut picture)) };
    out
}

/// The planes of a picture rav1d returned, checked for sizes that fit.
fn planes(picture: &Dav1dPicture) -> Result<Planes<'_>> {
    let p = &picture.p;
    let (width, height) = (u32::try_from(p.w).unwrap_or(0), u32::try_from(p.h).unwrap_or(0));
    let strides = picture.stride.map(|s| usize::try_from(s).unwrap_or(0));
    let bits = u32::try_from(p.bpc).unwrap_or(0);
    if width == 0 || height == 0 || strides[0] == 0 || !(8..=12).contains(&bits) {
        return Err(damaged("the decoder returned an empty picture"));
    }
    let chroma_shift = match p.layout {
        DAV1D_PIXEL_LAYOUT_I400 => None,
        DAV1D_PIXEL_LAYOUT_I420 => Some((1, 1)),
        DAV1D_PIXEL_LAYOUT_I422 => Some((1, 0)),
        _ => Some((0, 0)),
    };
    let chroma_height = chroma_shift.map_or(0, |(_, sy)| (height as usize).div_ceil(1 << sy));
    let lengths = [height as usize * strides[0], chroma_height * strides[1], chroma_height * strides[1]];
    let mut planes: [&[u8]; 3] = [&[], &[], &[]];
    for (i, len) in lengths.into_iter().enumerate() {
        if len == 0 {
            continue;
        }
        let data = picture.data[i].ok_or_else(|| damaged("the decoder returned a picture without planes"))?;
        // SAFETY: dav1d's picture planes hold `height × stride` bytes (chroma:
        // subsampled height × chroma stride) and live until the picture is unref'd,
        // which `with_picture` does only after the last use of these slices.
        planes[i] = unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<u8>(), len) };
    }
    // SAFETY: a returned picture carries its sequence header until unref'd.
    let header = picture.seq_hdr.map(|h| unsafe { h.as_ref() });
    let (full_range, matrix) = header.map_or((true, 2), |h| (h.color_range != 0, h.mtrx));
    Ok(Planes { width, height, bits, chroma_shift, full_range, matrix, planes, strides })
}

/// An open rav1d context, closed on drop.
struct Decoder(Option<Dav1dContext>);

impl Decoder {
    fn open(max_pixels: u64) -> Result<Self> {
        let mut settings = MaybeUninit::<Dav1dSettings>::uninit();
        // SAFETY: `dav1d_default_settings` writes every field.
        let mut settings = unsafe {
            dav1d_default_settings(NonNull::new(settings.as_mut_ptr()).expect("a stack pointer"));
            settings.assume_init()
        };
        settings.n_threads = 1;
        settings.max_frame_delay = 1;
        settings.frame_size_limit = u32::try_from(max_pixels).unwrap_or(u32::MAX);
        let mut context = None;
        // SAFETY: both pointers are to live locals.
        let result = unsafe { dav1d_open(NonNull::new(&mut context), NonNull::new(&mut settings)) };
        check(result.0)?;
        Ok(Self(context))
    }

    fn decode(&self, obus: &[u8]) -> Result<Dav1dPicture> {
        let mut data = Dav1dData::default();
        // SAFETY: `data` is a live local; the buffer returned holds `obus.len()` bytes.
        let buffer = unsafe { dav1d_data_create(NonNull::new(&mut data), obus.len()) };
        if buffer.is_null() {
            return Err(damaged("no AV1 data to decode"));
        }
        // SAFETY: `buffer` was just allocated with room for `obus.len()` bytes.
        unsafe { std::ptr::copy_nonoverlapping(obus.as_ptr(), buffer, obus.len()) };
        let outcome = self.drain(&mut data);
        if data.sz > 0 {
            // SAFETY: `data` still owns the part rav1d did not consume.
            unsafe { dav1d_data_unref(NonNull::new(&mut data)) };
        }
        outcome
    }

    /// Feeds `data` until rav1d returns a picture.
    fn drain(&self, data: &mut Dav1dData) -> Result<Dav1dPicture> {
        // A still picture needs one send; a few more rounds cover split OBUs.
        for _ in 0..64 {
            if data.sz > 0 {
                // SAFETY: the context is open and `data` is a live, rav1d-owned buffer.
                let sent = unsafe { dav1d_send_data(self.0, NonNull::new(data)) }.0;
                if sent != EAGAIN {
                    check(sent)?;
                }
            }
            let mut picture = Dav1dPicture::default();
            // SAFETY: the context is open and `picture` is a live local.
            let got = unsafe { dav1d_get_picture(self.0, NonNull::new(&mut picture)) }.0;
            if got == 0 {
                return Ok(picture);
            }
            if got != EAGAIN {
                check(got)?;
            }
            if data.sz == 0 && got == EAGAIN {
                break;
            }
        }
        Err(damaged("the AV1 data holds no complete picture"))
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: the context came from `dav1d_open` and is closed once.
        unsafe { dav1d_close(NonNull::new(&mut self.0)) };
    }
}

fn check(code: i32) -> Result<()> {
    if code < 0 { Err(damaged(&format!("AV1 decoder error {}", -code))) } else { Ok(()) }
}

fn damaged(what: &str) -> ImagingError {
    ImagingError::Corrupt(format!("AVIF picture is damaged ({what}); re-export it from its source"))
}
