//! The orientation samples come out upright: with the size exiftool-free
//! Pillow lists in `expected/orientation.json`, and looking like the
//! upright thumbnails in `expected/orientation_upright/`.

mod common;

use pictor_imaging::{Limits, OutputFormat, Pipeline};

#[test]
fn orientation_samples_have_their_upright_size() {
    let Some(root) = common::corpus("orientation sizes") else {
        return;
    };
    let text = std::fs::read_to_string(root.join("expected/orientation.json")).unwrap();
    let expected: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (file, entry) in &expected {
        let Some(size) = entry.get("upright_size").and_then(|s| s.as_array()) else {
            continue;
        };
        let want = (size[0].as_u64().unwrap() as u32, size[1].as_u64().unwrap() as u32);
        let bytes = std::fs::read(root.join(file)).unwrap();
        let decoded = pictor_imaging::decode(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{file}: {e}"));
        let got = (decoded.image.width(), decoded.image.height());
        if got != want {
            wrong.push(format!("{file}: upright {got:?}, expected {want:?}"));
        }
        checked += 1;
    }
    eprintln!("orientation: {checked} samples checked, AVIF included");
    assert!(checked >= 60, "only {checked} samples found");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn orientation_samples_look_like_their_upright_pictures() {
    let Some(root) = common::corpus("orientation pictures") else {
        return;
    };
    let mut compared = 0;
    for reference in common::files_under(&root, "expected/orientation_upright") {
        let name = reference.rsplit('/').next().unwrap().trim_end_matches(".upright256.png");
        let source = root.join("orientation/recurser").join(format!("{name}.jpg"));
        let want =
            pictor_imaging::decode(&std::fs::read(root.join(&reference)).unwrap(), &Limits::default()).unwrap().image;
        let bytes = std::fs::read(&source).unwrap();
        let pipeline = Pipeline::parse("thumbnail=256").unwrap();
        let decoded = pipeline.decode(&bytes, &Limits::default()).unwrap();
        let got = pipeline.transform(decoded.image, &Limits::default()).unwrap();
        assert_eq!((got.width(), got.height()), (want.width(), want.height()), "{name}");
        let diff = common::mean_abs_diff(&got, &want);
        // A wrong turn or mirror differs by tens of levels; resampling by a few.
        assert!(diff < 4.0, "{name}: mean difference {diff:.2} from the upright reference");
        compared += 1;
        // And the whole path to an encoded file keeps the upright size.
        let out = pipeline.run(&bytes, OutputFormat::Png, "", &Limits::default()).unwrap();
        assert_eq!((out.width, out.height), (want.width(), want.height()));
    }
    assert_eq!(compared, 18);
}
