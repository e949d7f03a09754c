//! A full disk under the local store (issue 17): uploads get `507
//! storage_full` problem+json, nothing half-written stays behind, reads go
//! on, and uploads work again once space is freed.
//!
//! The store lives on a tmpfs of 2 MiB that the test mounts itself (so it
//! needs root, as in CI; elsewhere it says SKIPPED); the SQLite database
//! stays on the ordinary disk.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts one at `at`; `None`, after a SKIPPED line, where mounting is not allowed.
    fn mount(at: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(at).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .is_ok_and(|out| out.status.success());
        if !mounted {
            skip("full-disk test: cannot mount a tmpfs here (needs root; CI runs it)");
        }
        mounted.then(|| Self(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Every file under `dir`, relative.
fn files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_store_disk_answers_507_and_loses_nothing() {
    let outer = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(&outer.path().join("store"), "2m") else { return };
    let store = disk.0.clone();
    let Some(app) = TestApp::spawn(Backend::Local, |c| c.store = store.display().to_string()).await else { return };
    // Most of the disk taken by something else, as a disk fills in life.
    let filler = store.join("filler");
    std::fs::write(&filler, vec![7u8; 1536 << 10]).unwrap();

    let mut stored = Vec::new();
    let mut refused = None;
    for seed in 0..20 {
        let bytes = noise(220, 220, seed, pictor_imaging::OutputFormat::Jpeg);
        let response = app.upload_raw(bytes.clone(), "image/jpeg").await;
        match response.status().as_u16() {
            201 => stored
                .push((response.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string(), bytes)),
            507 => {
                let problem = assert_problem(response, 507, "storage_full").await;
                assert!(problem["detail"].as_str().unwrap().contains("full"), "{problem}");
                refused = Some(bytes);
                break;
            }
            other => panic!("upload {seed} on a filling disk: {other} {}", response.text().await.unwrap()),
        }
    }
    let refused = refused.expect("the disk never filled");
    assert!(!stored.is_empty(), "room for at least one upload before the disk filled");

    // Still up; what was stored reads back whole; no record of the refused.
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    for (id, bytes) in &stored {
        let original = app.client.get(app.url(&format!("/api/v1/img/{id}/original"))).send().await.unwrap();
        assert_eq!(original.bytes().await.unwrap().as_ref(), bytes.as_slice());
        // A thumbnail is computed even though it cannot be cached on disk.
        let thumbnail = app.client.get(app.url(&format!("/api/v1/img/{id}.webp?thumbnail=32"))).send().await.unwrap();
        assert_eq!(thumbnail.status(), 200);
    }
    let listed: serde_json::Value = app.client.get(app.url("/api/v1/img")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["images"].as_array().unwrap().len(), stored.len(), "{listed}");
    // Nothing half-written: every file in the store is the filler or a
    // stored original (or a derivative of one), no staging leftovers.
    for file in files(&store) {
        let kept = file == "filler"
            || stored.iter().any(|(_, bytes)| file.contains(&hex_sha256(bytes)))
            || file.starts_with("derived/");
        assert!(kept && !file.contains('#'), "left behind on the full disk: {file}");
    }

    // Space freed: the refused upload now lands.
    std::fs::remove_file(&filler).unwrap();
    let again = app.upload_raw(refused.clone(), "image/jpeg").await;
    assert_eq!(again.status(), 201, "{}", again.text().await.unwrap());
    app.shutdown().await;
    drop(disk);
}

/// Fills the disk under `dir` with one file, then frees `leave` bytes of it.
fn fill_leaving(dir: &Path, leave: u64) -> PathBuf {
    use std::io::Write as _;
    let filler = dir.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let chunk = vec![7u8; 64 << 10];
    while file.write_all(&chunk).and_then(|()| file.sync_data()).is_ok() {}
    let written = std::fs::metadata(&filler).unwrap().len();
    file.set_len(written.saturating_sub(leave)).unwrap();
    filler
}

/// The default layout, one data folder holding the SQLite database and the
/// store, on a disk that fills: whichever of the two meets the full disk
/// first, an upload gets `507 storage_full` (never `500`), the server stays
/// up, and the database stays whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_data_folder_answers_507_and_the_database_stays_whole() {
    let outer = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(&outer.path().join("data"), "8m") else { return };
    let data = disk.0.clone();
    let Some(app) = TestApp::spawn(Backend::Local, |c| c.data_dir = data.clone()).await else { return };
    let filler = fill_leaving(&data, 256 << 10);

    // Several refusals, so that some fail at COMMIT, not only at a write.
    const REFUSALS: usize = 20;
    let (mut stored, mut refused) = (Vec::new(), 0);
    for seed in 0..400 {
        let bytes = noise(48, 48, seed, pictor_imaging::OutputFormat::Jpeg);
        let response = app.upload_raw(bytes.clone(), "image/jpeg").await;
        match response.status().as_u16() {
            201 => stored.push(response.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string()),
            507 => {
                assert_problem(response, 507, "storage_full").await;
                refused += 1;
                if refused == REFUSALS {
                    break;
                }
            }
            other => panic!("upload {seed} into a filling data folder: {other} {}", response.text().await.unwrap()),
        }
    }
    assert_eq!(refused, REFUSALS, "the disk never filled ({} stored)", stored.len());
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    let listed: serde_json::Value =
        app.client.get(app.url("/api/v1/img?limit=1000")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["images"].as_array().unwrap().len(), stored.len(), "a record for each 201, none for a 507");

    // Space freed: uploads land again, on every pooled connection (a
    // connection whose COMMIT failed must not stay unusable).
    std::fs::remove_file(&filler).unwrap();
    const AGAIN: u32 = 24;
    for seed in 0..AGAIN {
        let again =
            app.upload_raw(noise(48, 48, 10_000 + seed, pictor_imaging::OutputFormat::Jpeg), "image/jpeg").await;
        assert_eq!(again.status(), 201, "upload {seed} after space was freed: {}", again.text().await.unwrap());
    }
    app.shutdown().await;

    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", data.join("pictor.db").display())).await.unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&db).await.unwrap();
    assert_eq!(check, "ok");
    let images: i64 = sqlx::query_scalar("SELECT count(*) FROM images").fetch_one(&db).await.unwrap();
    assert_eq!(images as usize, stored.len() + AGAIN as usize);
    db.close().await;
    drop(disk);
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}
