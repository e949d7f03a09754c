//! CenterFace on a real photo, and against onnxruntime on the same tensor.
//! Needs `PICTOR_TEST_MODELS` and `PICTOR_TEST_PHOTOS` (skips visibly otherwise).

use crate::reference;

use pictor_vision::faces::{self, FaceDetector};

#[test]
fn missing_models_are_reported_as_not_installed() {
    let empty = tempfile::tempdir().unwrap();
    reference::assert_not_installed(FaceDetector::load(empty.path()));
}

#[test]
fn finds_the_astronauts_face() {
    let Some((models, image)) = reference::setup("astronaut.png", "finds_the_astronauts_face") else { return };
    let faces = FaceDetector::load(&models).unwrap().detect(&image).unwrap();
    eprintln!("{faces:?}");
    assert_eq!(faces.len(), 1, "{faces:?}");
    let f = &faces[0];
    let (right, bottom) = (f.x + f.width, f.y + f.height);
    assert!(f.x >= 0.0 && f.y >= 0.0 && right <= 512.0 && bottom <= 512.0, "{f:?}");
    // Measured: x 182–270, y 59–177 of the 512×512 photo (forehead to chin); ±20 px.
    assert!((162.0..202.0).contains(&f.x) && (250.0..290.0).contains(&right), "{f:?}");
    assert!((39.0..79.0).contains(&f.y) && (157.0..197.0).contains(&bottom), "{f:?}");
    assert!(f.confidence > faces::THRESHOLD && f.confidence <= 1.0);
    assert_eq!(f.landmarks.len(), 5);
    for [x, y] in &f.landmarks {
        assert!((f.x..=right).contains(x) && (f.y..=bottom).contains(y), "landmark {x},{y} outside {f:?}");
    }
    // Eyes above the nose, the nose above the mouth corners.
    let l = &f.landmarks;
    assert!(l[0][1] < l[2][1] && l[1][1] < l[2][1] && l[2][1] < l[3][1] && l[2][1] < l[4][1], "{l:?}");
}

#[test]
fn no_face_in_a_coffee_cup() {
    let Some((models, image)) = reference::setup("coffee.png", "no_face_in_a_coffee_cup") else { return };
    let faces = FaceDetector::load(&models).unwrap().detect(&image).unwrap();
    assert!(faces.is_empty(), "{faces:?}");
}

#[test]
fn matches_onnxruntime() {
    let Some((models, image)) = reference::setup("astronaut.png", "matches_onnxruntime") else { return };
    let detector = FaceDetector::load(&models).unwrap();
    let input = FaceDetector::input_tensor(&image);
    let path = pictor_vision::models::path(&models, "faces").unwrap();
    let Some(ort) = reference::onnxruntime(&path, "input.1", &input.data, &input.shape, &["--data"]) else { return };
    let ours = detector.run_tensor(input.data.clone(), &input.shape).unwrap();
    let our_max = ours[0].iter().copied().fold(f32::MIN, f32::max);
    let relative = |a: f32, b: f32| (a - b).abs() / b.abs().max(1e-6);
    eprintln!("heatmap max: tract {our_max:.5}, onnxruntime {:.5}", ort[0].max);
    assert!(relative(our_max, ort[0].max) <= 0.02);

    let theirs: Vec<Vec<f32>> = ort.into_iter().map(|o| o.data).collect();
    let (a, b) = (faces::decode(&ours, &input, faces::THRESHOLD), faces::decode(&theirs, &input, faces::THRESHOLD));
    assert_eq!(a.len(), b.len(), "tract {a:?}\nonnxruntime {b:?}");
    let mut worst = 0.0f32;
    for (a, b) in a.iter().zip(&b) {
        for (x, y) in [(a.x, b.x), (a.y, b.y), (a.width, b.width), (a.height, b.height), (a.confidence, b.confidence)] {
            worst = worst.max(relative(x, y));
        }
    }
    eprintln!("decoded boxes: largest relative difference {worst:.2e}");
    assert!(worst <= 0.02, "tract {a:?}\nonnxruntime {b:?}");
}

#[test]
fn detector_is_shareable() {
    fn shareable<T: Send + Sync>() {}
    shareable::<FaceDetector>();
}
