//! Upright sizes agree with Pillow's `ImageOps.exif_transpose` on the
//! orientation set (`expected/orientation.json`), for every file Pillow
//! could open: EXIF orientation 1–8 and 0, XMP-only orientation, TIFF, and
//! AVIF `irot`. Skipped (with a message) when the corpus is not present.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    dir.join("expected/orientation.json").is_file().then_some(dir)
}

#[test]
fn upright_sizes_match_pillow() {
    let Some(corpus) = corpus() else {
        eprintln!("SKIPPED: corpus not found at CARGO_MANIFEST_DIR/../../../shared/corpus");
        return;
    };
    let text = std::fs::read_to_string(corpus.join("expected/orientation.json")).unwrap();
    let expected: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (name, entry) in &expected {
        let Some(size) = entry["upright_size"].as_array() else { continue };
        let want: Vec<u64> = size.iter().filter_map(Value::as_u64).collect();
        let m = pictor_meta::extract(&std::fs::read(corpus.join(name)).unwrap()).unwrap();
        checked += 1;
        if want != [u64::from(m.upright_width), u64::from(m.upright_height)] {
            wrong.push(format!("{name}: ours {}x{}, Pillow {want:?}", m.upright_width, m.upright_height));
        }
    }
    eprintln!("{checked} files checked");
    assert!(checked > 50, "orientation.json looks incomplete");
    assert!(wrong.is_empty(), "upright sizes differ:\n{}", wrong.join("\n"));
}
