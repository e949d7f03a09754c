//! `pictor upload DIR [--recursive]` through direct uploads, against a
//! served local store: corpus photos in a folder and a subfolder, sent
//! three times; what is stored already is skipped (hashed here, asked
//! there), so the last run is all duplicates.

use crate::common;
use common::{pictor, serve};

use std::path::{Path, PathBuf};
use std::process::Output;

/// The corpus's orientation photos, or `None` (saying SKIPPED).
fn photos() -> Option<Vec<PathBuf>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/orientation/exif-samples");
    let mut photos: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    photos.sort();
    if photos.len() < 4 {
        eprintln!("SKIPPED: ../shared/corpus is absent (it ships beside the repository in CI only)");
        return None;
    }
    Some(photos)
}

/// The summary line's counts: uploaded, duplicates, skipped, failed.
fn summary(output: &Output) -> [usize; 4] {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr.lines().find(|l| l.contains(" uploaded, ")).unwrap_or_else(|| panic!("no summary:\n{stderr}"));
    let numbers: Vec<usize> =
        line.split(", ").take(4).map(|part| part.split(' ').next().unwrap().parse().unwrap()).collect();
    numbers.try_into().unwrap()
}

fn upload(base: &str, key: &str, folder: &Path, extra: &[&str]) -> Output {
    let output = pictor().args(["upload", "--server", base, "--key", key]).args(extra).arg(folder).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    output
}

#[test]
fn a_folder_uploaded_again_is_all_duplicates() {
    let Some(photos) = photos() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let made = pictor().args(["admin", "create-key", "--owner", "alice", "--data-dir"]).arg(&data).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let key = String::from_utf8(made.stdout).unwrap().trim().to_string();
    let (server, base) = serve(&data);

    let folder = dir.path().join("photos");
    let nested = folder.join("more");
    std::fs::create_dir_all(&nested).unwrap();
    let half = photos.len() / 2;
    for (i, photo) in photos.iter().enumerate() {
        let into = if i < half { &folder } else { &nested };
        std::fs::copy(photo, into.join(photo.file_name().unwrap())).unwrap();
    }
    std::fs::write(folder.join("README.txt"), "not a photo").unwrap();

    // The folder alone: its photos, not the subfolder's; the text skipped.
    let first = upload(&base, &key, &folder, &[]);
    assert_eq!(summary(&first), [half, 0, 1, 0]);
    let ids: Vec<String> =
        String::from_utf8(first.stdout).unwrap().lines().map(|l| l.split_whitespace().next().unwrap().into()).collect();
    assert_eq!(ids.len(), half);

    // Recursive, by PUT: the rest goes up; what is there is skipped.
    let second = upload(&base, &key, &folder, &["--recursive", "--jobs", "3"]);
    assert_eq!(summary(&second), [photos.len() - half, half, 1, 0]);
    // And by POST form: all duplicates now.
    let third = upload(&base, &key, &folder, &["-r", "--form", "post"]);
    assert_eq!(summary(&third), [0, photos.len(), 1, 0]);
    let stdout = String::from_utf8(third.stdout).unwrap();
    assert!(stdout.lines().all(|l| l.ends_with("(duplicate)")), "{stdout}");
    assert!(ids.iter().all(|id| stdout.contains(id.as_str())), "the duplicates name the first run's images");

    // Each photo is stored once, as alice's, and is the file byte for byte.
    let listing = http_get(&format!("{base}/api/v1/img?limit=100"), &key);
    let images: serde_json::Value = serde_json::from_slice(&listing).unwrap();
    let images = images["images"].as_array().unwrap();
    assert_eq!(images.len(), photos.len());
    assert!(images.iter().all(|i| i["owner"] == "alice" && i["source"] == "direct"));
    let original = http_get(&format!("{base}/api/v1/img/{}/original", ids[0]), &key);
    assert!(photos.iter().any(|p| std::fs::read(p).unwrap() == original));

    // A wrong key fails every file, and says so in the exit code.
    let refused = pictor().args(["upload", "--server", &base, "--key", "pk_wrong"]).arg(&folder).output().unwrap();
    assert!(!refused.status.success());
    assert_eq!(summary(&refused), [0, 0, 1, half]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("401"));
    assert!(server.stop());
}

/// A GET with the key, as bytes (asserting 200).
fn http_get(url: &str, key: &str) -> Vec<u8> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let response = reqwest::Client::new().get(url).bearer_auth(key).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        response.bytes().await.unwrap().to_vec()
    })
}
