//! Any bytes through the progressive JPEG decoder at 1/8 and at 1/4, which
//! the thumbnail path reaches only for JPEGs shrunk that much (so the
//! `decode` target's small inputs rarely get there). What it decodes must
//! be 1/8 (or 1/4) of the frame's size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pictor_imaging::Limits;

fuzz_target!(|data: &[u8]| {
    // The thumbnail path checks limits from the header first; so does this.
    let Ok(header) = pictor_imaging::probe(data) else { return };
    if header.format != pictor_imaging::ImageFormat::Jpeg {
        return;
    }
    let limits = Limits { max_pixels: 4_000_000, max_frames: 1 };
    if u64::from(header.width) * u64::from(header.height) > limits.max_pixels {
        return;
    }
    for shrink in [8, 4] {
        if let Ok(Some(image)) = pictor_imaging::decode::fuzzing::jpeg_progressive(data, shrink) {
            assert_eq!(
                (image.width(), image.height()),
                (header.width.div_ceil(shrink), header.height.div_ceil(shrink)),
                "a 1/{shrink} decode of a {}x{} frame",
                header.width,
                header.height
            );
        }
    }
});
