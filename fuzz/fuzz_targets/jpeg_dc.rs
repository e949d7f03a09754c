//! Any bytes through the DC-only 1/8 JPEG decoder, which the thumbnail path
//! reaches only for JPEGs shrunk 8× (so the `decode` target's small inputs
//! rarely get there). What it decodes must be 1/8 of the frame's size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pictor_imaging::Limits;

fuzz_target!(|data: &[u8]| {
    // The thumbnail path checks limits from the header first; so does this.
    let Ok(header) = pictor_imaging::probe(data) else { return };
    let limits = Limits { max_pixels: 4_000_000, max_frames: 1 };
    if u64::from(header.width) * u64::from(header.height) > limits.max_pixels {
        return;
    }
    if let Ok(Some(image)) = pictor_imaging::decode::fuzzing::jpeg_dc(data) {
        assert_eq!(
            (image.width(), image.height()),
            (header.width.div_ceil(8), header.height.div_ceil(8)),
            "a 1/8 decode of a {}x{} frame",
            header.width,
            header.height
        );
    }
});
