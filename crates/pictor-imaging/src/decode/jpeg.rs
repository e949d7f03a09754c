//! JPEG through libjpeg-turbo's codec (as built into mozjpeg), for its DCT-
//! domain scaled decoding: a 20-megapixel photo wanted as a 256-pixel
//! thumbnail is decoded at 1/8 scale, skipping most of the work. This is
//! what makes thumbnails cheap; the pure-Rust decoders cannot do it. A
//! progressive file at 1/8 or 1/4 goes to `jpeg_progressive`, which keeps
//! a few numbers per block where libjpeg keeps all 64.
//!
//! libjpeg reports fatal errors by unwinding out of its callbacks; every
//! call into it runs under `catch_unwind`, and a truncated file (which
//! libjpeg would pad with grey and only warn about) is rejected.

use std::cell::Cell;
use std::os::raw::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use mozjpeg::{ColorSpace, Decompress, Marker};
use mozjpeg_sys::{J_COLOR_SPACE, JWRN_JPEG_EOF, jpeg_common_struct, jpeg_error_mgr, jpeg_std_error};

use super::metadata::{JpegMarkers, orientation};
use super::{Decoded, Header, Limits, check_limits};
use crate::error::{ImagingError, Result, corrupt};
use crate::format::ImageFormat;
use crate::image::{Channels, Image};

/// At best a JPEG spends about one bit per 8×8 block (a progressive DC scan
/// with all-equal blocks), i.e. 512 pixels per byte; twice that is
/// impossible for a complete file.
const MAX_PIXELS_PER_BYTE: u64 = 1024;

const SAVED_MARKERS: &[Marker] = &[Marker::APP(1), Marker::APP(2), Marker::APP(14)];

thread_local! {
    /// Set when libjpeg hits the end of the data before the image is complete.
    static HIT_EOF: Cell<bool> = const { Cell::new(false) };
}

pub fn probe(bytes: &[u8]) -> Result<Header> {
    guarded(|| {
        let dec = open(bytes)?;
        Ok(read_header(&dec).0)
    })
}

pub fn decode(bytes: &[u8], limits: &Limits, shrink_for: &dyn Fn(&Header) -> f64) -> Result<Decoded> {
    guarded(|| {
        let mut dec = open(bytes)?;
        let (header, markers) = read_header(&dec);
        check_limits(&header, limits, bytes.len(), Some(MAX_PIXELS_PER_BYTE))?;
        let shrink = shrink_denominator(shrink_for(&header));
        let cmyk = matches!(dec.color_space(), J_COLOR_SPACE::JCS_CMYK | J_COLOR_SPACE::JCS_YCCK);
        if !cmyk && let Some(image) = super::jpeg_progressive::decode(bytes, shrink)? {
            return Ok(Decoded { image, header, exif: markers.exif, icc: markers.icc, shrink });
        }
        dec.scale((8 / shrink) as u8);
        let out_space = if cmyk { ColorSpace::JCS_CMYK } else { ColorSpace::JCS_RGB };
        HIT_EOF.set(false);
        let mut started = dec.to_colorspace(out_space).map_err(|e| corrupt(format!("JPEG: {e}")))?;
        let (w, h) = (started.width() as u32, started.height() as u32);
        let samples: Vec<u8> = started.read_scanlines().map_err(|e| corrupt(format!("JPEG: {e}")))?;
        if HIT_EOF.get() {
            return Err(corrupt("JPEG data ends before the image is complete (truncated file)"));
        }
        // Trailing garbage or a missing EOI after complete pixels is harmless.
        let _ = started.finish();
        let rgb =
            if cmyk { crate::color::cmyk_to_rgb(&samples, markers.adobe, markers.icc.as_deref()) } else { samples };
        let image =
            Image::from_raw(w, h, Channels::Rgb, rgb).map_err(|_| corrupt("JPEG: decoder returned short data"))?;
        // CMYK profiles were applied above; only RGB ones remain for later.
        let icc = if cmyk { None } else { markers.icc };
        Ok(Decoded { image, header, exif: markers.exif, icc, shrink })
    })
}

/// The largest of 1, 2, 4, 8 that still leaves at least a 2× reduction for
/// the resize filter, as libvips does.
fn shrink_denominator(factor: f64) -> u32 {
    [8, 4, 2].into_iter().find(|&d| factor / f64::from(d) >= 2.0).unwrap_or(1)
}

fn open(bytes: &[u8]) -> Result<Decompress<&[u8]>> {
    Decompress::with_markers(SAVED_MARKERS)
        .with_err(error_manager())
        .from_mem(bytes)
        .map_err(|e| corrupt(format!("JPEG header: {e}")))
}

fn read_header(dec: &Decompress<&[u8]>) -> (Header, JpegMarkers) {
    let markers = JpegMarkers::collect(dec.markers().filter_map(|m| match m.marker {
        Marker::APP(n) => Some((n, m.data)),
        Marker::COM => None,
    }));
    let header = Header {
        format: ImageFormat::Jpeg,
        width: dec.width() as u32,
        height: dec.height() as u32,
        orientation: orientation(markers.exif.as_deref(), markers.xmp.as_deref()),
        frames: 1,
    };
    (header, markers)
}

/// Runs libjpeg work, turning its unwinding errors into `Corrupt`.
fn guarded<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(result) => result,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown libjpeg failure".into());
            let msg = msg.trim_start_matches("libjpeg fatal error: ");
            if msg.contains("data precision") {
                // 12- and 16-bit JPEGs: valid files this 8-bit codec cannot read.
                return Err(ImagingError::UnsupportedFormat(format!("JPEG: {msg}; only 8-bit JPEG is decoded")));
            }
            Err(ImagingError::Corrupt(format!("JPEG: {msg}")))
        }
    }
}

pub(super) fn error_manager() -> jpeg_error_mgr {
    // SAFETY: jpeg_std_error fills every field of a zeroed struct.
    let mut err: jpeg_error_mgr = unsafe { std::mem::zeroed() };
    unsafe { jpeg_std_error(&mut err) };
    err.error_exit = Some(unwind_on_error);
    err.emit_message = Some(note_warning);
    err
}

extern "C-unwind" fn unwind_on_error(cinfo: &mut jpeg_common_struct) {
    let msg = libjpeg_message(cinfo);
    // resume_unwind skips the panic hook: this is an error, not a bug.
    resume_unwind(Box::new(msg));
}

extern "C-unwind" fn note_warning(cinfo: &mut jpeg_common_struct, level: c_int) {
    // SAFETY: libjpeg passes its live error manager.
    let code = unsafe { cinfo.err.as_ref() }.map_or(0, |e| e.msg_code);
    if level < 0 && code == JWRN_JPEG_EOF as c_int {
        HIT_EOF.set(true);
    }
}

fn libjpeg_message(cinfo: &mut jpeg_common_struct) -> String {
    // SAFETY: the error manager is live; format_message writes at most
    // JMSG_LENGTH_MAX (200) bytes including the terminator.
    unsafe {
        let Some(err) = cinfo.err.as_ref() else {
            return "libjpeg error".into();
        };
        let Some(format) = err.format_message else {
            return format!("libjpeg error {}", err.msg_code);
        };
        let mut buf = [0u8; 200];
        let format: unsafe extern "C-unwind" fn(&mut jpeg_common_struct, *mut u8) = std::mem::transmute(format);
        format(cinfo, buf.as_mut_ptr());
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrink_keeps_two_x_for_the_filter() {
        assert_eq!(shrink_denominator(1.0), 1);
        assert_eq!(shrink_denominator(3.9), 1);
        assert_eq!(shrink_denominator(4.0), 2);
        assert_eq!(shrink_denominator(15.9), 4);
        assert_eq!(shrink_denominator(23.5), 8);
        assert_eq!(shrink_denominator(100.0), 8);
    }
}
