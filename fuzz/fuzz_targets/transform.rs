//! Any query string as a transform (`thumbnail=200&rotate=180&…`): parsed,
//! and its canonical form (the cache key) must parse to itself again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pictor_imaging::Pipeline;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else { return };
    let Ok(pipeline) = Pipeline::parse(query) else { return };
    let canonical = pipeline.to_string();
    let again = Pipeline::parse(&canonical).unwrap_or_else(|e| panic!("{canonical:?} does not parse again: {e}"));
    assert_eq!(again.to_string(), canonical, "the canonical form of {query:?} is not stable");
});
