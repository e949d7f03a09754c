//! `cargo bench -p pictor-vision --bench models`: the median of 10 runs of
//! each model on its reference photo (preprocessing and post-processing
//! included, decoding excluded), one `TIMING` line each. `bench/vision.sh`
//! runs this in a release build beside onnxruntime and makes the table.
//!
//! Needs `PICTOR_TEST_MODELS` (a data folder with `models/`, from `pictor
//! models install`) and `PICTOR_TEST_PHOTOS` (from `bench/photos.sh`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use pictor_imaging::Image;
use pictor_vision::faces::FaceDetector;
use pictor_vision::labels::Labeler;
use pictor_vision::moderation::Moderator;
use pictor_vision::text::TextReader;

fn folder(var: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(|| panic!("{var} must name a folder (see bench/vision.sh)"))
}

fn photo(photos: &Path, name: &str) -> Image {
    let bytes = std::fs::read(photos.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    pictor_imaging::decode(&bytes, &Default::default()).expect("decodable photo").image
}

/// The median of 10 timed runs, after one untimed run (plans are cached).
fn median_ms(mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..10)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[4] + times[5]) / 2.0
}

fn main() {
    let (models, photos) = (folder("PICTOR_TEST_MODELS"), folder("PICTOR_TEST_PHOTOS"));
    let chelsea = photo(&photos, "chelsea.png");
    let astronaut = photo(&photos, "astronaut.png");
    let page = photo(&photos, "page.png");

    let labeler = Labeler::load(&models).expect("labels model");
    let ms = median_ms(|| drop(labeler.probabilities(&chelsea).unwrap()));
    println!("TIMING labels: median of 10 runs {ms:.1} ms (chelsea.png)");

    let moderator = Moderator::load(&models).expect("moderation model");
    let ms = median_ms(|| {
        let _ = moderator.nsfw_score(&astronaut).unwrap();
    });
    println!("TIMING moderation: median of 10 runs {ms:.1} ms (512×512 astronaut.png)");

    let detector = FaceDetector::load(&models).expect("face model");
    let ms = median_ms(|| drop(detector.detect(&astronaut).unwrap()));
    println!("TIMING faces: median of 10 runs {ms:.1} ms (512×512 astronaut.png, plan cached)");

    let reader = TextReader::load(&models).expect("text models");
    let ms = median_ms(|| drop(reader.read(&page).unwrap()));
    println!("TIMING text: median of 10 runs {ms:.1} ms (384×191 page.png, plans cached)");
}
