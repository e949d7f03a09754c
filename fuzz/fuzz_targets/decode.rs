//! Any bytes through the header probe, a full decode and the thumbnail
//! path (decode with shrink-on-load, resize, encode), under small pixel
//! limits so that a header claiming a huge image is refused, not decoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pictor_imaging::{Limits, Pipeline};

fuzz_target!(|data: &[u8]| {
    // Panics the decoders guard against (hostile files) stay quiet; any
    // other panic still aborts as a crash.
    pictor_imaging::quiet_guarded_panics();
    let limits = Limits { max_pixels: 4_000_000, max_frames: 16 };
    let _ = pictor_imaging::probe(data);
    let _ = pictor_imaging::decode(data, &limits);
    if let Ok(pipeline) = Pipeline::parse("thumbnail=64") {
        let _ = pipeline.run(data, pictor_imaging::OutputFormat::Webp, "", &limits);
    }
});
