//! Any bytes through metadata extraction (EXIF, GPS, ICC, XMP, sizes).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pictor_imaging::quiet_guarded_panics();
    let _ = pictor_meta::extract(data);
});
