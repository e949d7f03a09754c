//! A JSONPath and a JSON document (split at the first NUL byte): the path
//! parsed and evaluated against the document.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (path, document) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b"{}"[..]),
    };
    let (Ok(path), Ok(document)) = (std::str::from_utf8(path), serde_json::from_slice(document)) else { return };
    let _ = pictor_workflow::fuzzing::select(path, &document);
});
