//! Any text as a States Language definition (JSON or YAML), validated.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pictor_workflow::{Definition, Resources};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let resources = Resources::new(["pictor:extract-metadata", "pictor:thumbnails"]);
        let _ = Definition::parse(text, &resources);
    }
});
