//! `pictor import FOLDER` against a `pictor serve` that imports from the
//! folder's parent (`import.local_roots`): it follows the import to its
//! end and prints the counts; `--detach` prints the id only; a folder
//! outside the roots is refused with the server's reason. And a server
//! SIGKILLed mid-import resumes it after a restart, importing each file once.

use crate::common;
use common::{pictor, serve_with};

use std::process::Output;

fn png(w: u32, h: u32) -> Vec<u8> {
    let image = pictor_imaging::Image::filled(w, h, pictor_imaging::Rgba { r: 10, g: 200, b: 10, a: 255 });
    pictor_imaging::encode::encode(&image, pictor_imaging::OutputFormat::Png, &Default::default(), None).unwrap()
}

fn import(base: &str, key: &str, source: &std::path::Path, extra: &[&str]) -> Output {
    pictor().args(["import", "--server", base, "--key", key]).args(extra).arg(source).output().unwrap()
}

#[test]
fn a_folder_is_imported_and_followed_to_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let made = pictor().args(["admin", "create-key", "--owner", "alice", "--data-dir"]).arg(&data).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let key = String::from_utf8(made.stdout).unwrap().trim().to_string();
    let roots = dir.path().join("roots");
    let folder = roots.join("photos");
    std::fs::create_dir_all(folder.join("sub")).unwrap();
    std::fs::write(folder.join("a.png"), png(10, 10)).unwrap();
    std::fs::write(folder.join("sub/b.png"), png(12, 10)).unwrap();
    std::fs::write(folder.join("sub/again.png"), png(10, 10)).unwrap();
    std::fs::write(folder.join("notes.txt"), "not a photo").unwrap();
    let roots_setting = format!("[\"{}\"]", roots.display());
    let (server, base) = serve_with(&data, &[("PICTOR_IMPORT__LOCAL_ROOTS", &roots_setting)]);

    let followed = import(&base, &key, &folder, &["--poll-ms", "100"]);
    let stderr = String::from_utf8_lossy(&followed.stderr);
    assert!(followed.status.success(), "{stderr}");
    assert!(stderr.contains("import done: 2 imported, 1 duplicates, 1 skipped, 0 failed, of 4 files"), "{stderr}");
    assert!(stderr.contains("notes.txt"), "the skipped file is named: {stderr}");
    let id = String::from_utf8(followed.stdout).unwrap().trim().to_string();
    assert_eq!(id.len(), 36, "the import's id: {id}");

    // Detached: the id at once; the server finishes it on its own.
    let detached = import(&base, &key, &folder, &["--detach"]);
    assert!(detached.status.success(), "{}", String::from_utf8_lossy(&detached.stderr));
    assert_eq!(String::from_utf8(detached.stdout).unwrap().trim().len(), 36);

    // Outside the roots: refused, with the setting to change.
    let refused = import(&base, &key, dir.path(), &[]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("403") && stderr.contains("import.local_roots"), "{stderr}");
    assert!(server.stop());
}

/// A PNG of one colour per `i`: distinct content for each.
fn distinct_png(i: usize) -> Vec<u8> {
    let colour = pictor_imaging::Rgba { r: (i % 256) as u8, g: (i / 256) as u8, b: 77, a: 255 };
    let image = pictor_imaging::Image::filled(48, 32, colour);
    pictor_imaging::encode::encode(&image, pictor_imaging::OutputFormat::Png, &Default::default(), None).unwrap()
}

async fn get_json(client: &reqwest::Client, url: &str, key: &str) -> serde_json::Value {
    let response = client.get(url).bearer_auth(key).send().await.unwrap();
    assert!(response.status().is_success(), "GET {url}: {}", response.status());
    response.json().await.unwrap()
}

/// The server is SIGKILLed in the middle of an import and started again
/// on the same data: once the dead job's lease lapses the import goes on
/// from its cursor, and ends with every file imported exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_import_resumes_it_and_imports_nothing_twice() {
    const FILES: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let made = pictor().args(["admin", "create-key", "--owner", "alice", "--data-dir"]).arg(&data).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let key = String::from_utf8(made.stdout).unwrap().trim().to_string();
    let folder = dir.path().join("roots/photos");
    std::fs::create_dir_all(&folder).unwrap();
    for i in 0..FILES {
        std::fs::write(folder.join(format!("{i:04}.png")), distinct_png(i)).unwrap();
    }
    let roots = format!("[\"{}\"]", dir.path().join("roots").display());
    let settings = [
        ("PICTOR_IMPORT__LOCAL_ROOTS", roots.as_str()),
        ("PICTOR_IMPORT__PAGE_SIZE", "5"),
        ("PICTOR_IMPORT__CONCURRENCY", "1"),
        ("PICTOR_WORKFLOW__LEASE_SECS", "2"),
    ];
    let client = reqwest::Client::new();

    let (server, base) = serve_with(&data, &settings);
    let started = import(&base, &key, &folder, &["--detach"]);
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    let id = String::from_utf8(started.stdout).unwrap().trim().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let seen_at_kill = loop {
        let import = get_json(&client, &format!("{base}/api/v1/imports/{id}"), &key).await;
        let seen = import["seen"].as_i64().unwrap();
        if seen >= 10 {
            assert_eq!(import["state"], "running", "the kill should land mid-import: {import}");
            break seen;
        }
        assert!(std::time::Instant::now() < deadline, "the import did not start: {import}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    drop(server); // SIGKILL

    let (server, base) = serve_with(&data, &settings);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(240);
    let import = loop {
        let import = get_json(&client, &format!("{base}/api/v1/imports/{id}"), &key).await;
        if import["state"] != "running" && import["state"] != "queued" {
            break import;
        }
        assert!(std::time::Instant::now() < deadline, "the import did not resume: {import}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(import["state"], "done", "{import}");
    let (seen, imported, duplicates) = (
        import["seen"].as_i64().unwrap(),
        import["imported"].as_i64().unwrap(),
        import["duplicates"].as_i64().unwrap(),
    );
    assert!(seen_at_kill < FILES as i64, "killed at {seen_at_kill}");
    // Every file counted once; what the dead run had landed of its last page
    // is found by its content (and counted as imported), never a second image.
    assert_eq!((seen, imported, duplicates), (FILES as i64, FILES as i64, 0), "{import}");
    let mut ids = std::collections::BTreeSet::new();
    let mut sha = std::collections::BTreeSet::new();
    let mut cursor = String::new();
    loop {
        let url =
            reqwest::Url::parse_with_params(&format!("{base}/api/v1/img"), [("limit", "100"), ("cursor", &cursor)]);
        let page = get_json(&client, url.unwrap().as_str(), &key).await;
        for image in page["images"].as_array().unwrap() {
            ids.insert(image["id"].as_str().unwrap().to_string());
            assert!(sha.insert(image["sha256"].as_str().unwrap().to_string()), "imported twice: {image}");
        }
        match page["next"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    assert_eq!(ids.len(), FILES, "every file is an image, once");
    assert!(server.stop());
}
