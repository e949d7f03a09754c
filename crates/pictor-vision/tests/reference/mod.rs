//! Helpers shared by the model tests: where the models and photos are, and
//! running a model under onnxruntime (`ort_reference.py`) for comparison.
//!
//! The real models are tens of megabytes and not in the repository, so every
//! test skips — visibly, with a `SKIPPED:` line — when `PICTOR_TEST_MODELS`
//! or `PICTOR_TEST_PHOTOS` is unset, or when python3/onnxruntime is missing.

#![allow(dead_code)] // each test file uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;

use pictor_imaging::Image;

/// The folder from `var` if it is set and exists; otherwise prints why the
/// test is skipped.
fn folder(var: &str, test: &str) -> Option<PathBuf> {
    match std::env::var_os(var).map(PathBuf::from) {
        Some(p) if p.is_dir() => Some(p),
        Some(p) => {
            eprintln!("SKIPPED: {test}: {var}={} is not a folder", p.display());
            None
        }
        None => {
            eprintln!("SKIPPED: {test}: {var} is not set (e.g. /work/dev-models/data)");
            None
        }
    }
}

/// The data folder holding `models/…` (`PICTOR_TEST_MODELS`).
pub fn models(test: &str) -> Option<PathBuf> {
    folder("PICTOR_TEST_MODELS", test)
}

/// The decoded test photo `name` from `PICTOR_TEST_PHOTOS`.
pub fn photo(name: &str, test: &str) -> Option<Image> {
    let path = folder("PICTOR_TEST_PHOTOS", test)?.join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some(pictor_imaging::decode(&bytes, &Default::default()).expect("decodable photo").image)
}

/// Both folders and the photo, or `None` (skipped).
pub fn setup(photo_name: &str, test: &str) -> Option<(PathBuf, Image)> {
    let models = models(test)?;
    Some((models, photo(photo_name, test)?))
}

/// One output as onnxruntime computed it.
#[derive(Debug, serde::Deserialize)]
pub struct OrtOutput {
    pub name: String,
    pub shape: Vec<usize>,
    pub min: f32,
    pub max: f32,
    pub mean: f32,
    #[serde(default)]
    pub data: Vec<f32>,
    #[serde(default)]
    pub argmax: Vec<usize>,
    #[serde(default)]
    pub argmax_value: Vec<f32>,
}

#[derive(serde::Deserialize)]
struct OrtAnswer {
    outputs: Vec<OrtOutput>,
}

/// Runs `model` (a file under `<data>/models/`) with onnxruntime on the given
/// input; `flags` are passed to the script (`--data`, `--argmax`). `None`
/// (skipped) when python3 or onnxruntime is missing.
pub fn onnxruntime(model: &Path, input: &str, data: &[f32], shape: &[usize], flags: &[&str]) -> Option<Vec<OrtOutput>> {
    onnxruntime_inputs(model, (input, data, shape), &[], flags)
}

/// One input as (name, values, shape).
pub type Input<'a> = (&'a str, &'a [f32], &'a [usize]);

/// [`onnxruntime`] with further inputs, fed as they are (the first input's
/// declared shape is replaced by its actual one).
pub fn onnxruntime_inputs(
    model: &Path,
    first: Input<'_>,
    others: &[Input<'_>],
    flags: &[&str],
) -> Option<Vec<OrtOutput>> {
    let dir = tempfile::tempdir().unwrap();
    let dims = |shape: &[usize]| shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",");
    let dump = |i: usize, data: &[f32]| {
        let file = dir.path().join(format!("input{i}.f32"));
        std::fs::write(&file, data.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
        file
    };
    let (input, data, shape) = first;
    let file = dump(0, data);
    let extra: Vec<String> = others
        .iter()
        .enumerate()
        .map(|(i, (name, data, shape))| format!("--input={name}:{}:{}", dump(i + 1, data).display(), dims(shape)))
        .collect();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/ort_reference.py");
    let run = Command::new("python3")
        .arg(script)
        .arg(model)
        .arg(input)
        .arg(&file)
        .arg(dims(shape))
        .args(flags)
        .args(&extra)
        .output();
    let out = match run {
        Ok(out) => out,
        Err(e) => {
            eprintln!("SKIPPED: onnxruntime comparison: cannot run python3: {e}");
            return None;
        }
    };
    if out.status.code() == Some(77) {
        eprintln!("SKIPPED: onnxruntime comparison: {}", String::from_utf8_lossy(&out.stderr).trim());
        return None;
    }
    assert!(out.status.success(), "ort_reference.py failed: {}", String::from_utf8_lossy(&out.stderr));
    let answer: OrtAnswer = serde_json::from_slice(&out.stdout).expect("JSON from ort_reference.py");
    Some(answer.outputs)
}

/// Asserts that loading failed with `models_not_installed` (the data folder is empty).
pub fn assert_not_installed<T>(result: pictor_vision::Result<T>) {
    match result {
        Ok(_) => panic!("loading from an empty folder succeeded"),
        Err(e) => assert_eq!(e.code(), "models_not_installed", "{e}"),
    }
}
