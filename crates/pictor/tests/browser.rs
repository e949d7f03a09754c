//! The web app in a real browser: starts `pictor serve` and runs the
//! Playwright journeys in `web-tests/` against it, with Debian's chromium.
//! Screenshots of the main pages land in `web-tests/screenshots/` (the
//! README shows copies from `docs/screenshots/`). SKIPPED, saying why, when the npm packages or chromium are
//! missing; `.ci/run` installs both. With `PICTOR_TEST_OIDC_ISSUER` (the
//! provider `.ci/services.sh` starts), a second server signs in through it
//! for `oidc.spec.js` (`PICTOR_OIDC_URL`); without, that spec is skipped.

use crate::common;
use common::{Served, pictor, serve, serve_with};

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Up to three real camera JPEGs from `../shared/corpus`, else three made here.
fn photos(dir: &Path) -> Vec<PathBuf> {
    let corpus = repo().join("../shared/corpus/camera_exif/exif-samples/jpg/exif-org");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("jpg")))
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| (20_000..3_000_000).contains(&m.len())))
        .collect();
    found.sort();
    found.truncate(3);
    if found.len() == 3 {
        return found;
    }
    eprintln!("note: ../shared/corpus is absent; the browser journeys use generated photos");
    (0..3u8)
        .map(|n| {
            let image =
                pictor_imaging::Image::filled(64, 48, pictor_imaging::Rgba { r: 40 * n, g: 90, b: 160, a: 255 });
            let options = Default::default();
            let bytes =
                pictor_imaging::encode::encode(&image, pictor_imaging::OutputFormat::Jpeg, &options, None).unwrap();
            let path = dir.join(format!("photo-{n}.jpg"));
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect()
}

#[test]
fn journeys_in_a_real_browser() {
    let web = repo().join("web-tests");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !web.join("node_modules/@playwright/test").exists() {
        eprintln!("SKIPPED: browser journeys: run `npm ci` in web-tests/ (.ci/run does)");
        return;
    }
    if !Path::new(&chromium).exists() {
        eprintln!("SKIPPED: browser journeys: no chromium at {chromium} (apt-get install chromium; .ci/run does)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A key for the account the journey signs up as.
    let key = pictor().args(["admin", "create-key", "--owner", "ann", "--data-dir"]).arg(&data).output().unwrap();
    assert!(key.status.success(), "{}", String::from_utf8_lossy(&key.stderr));
    let key = String::from_utf8(key.stdout).unwrap().trim().to_string();
    let photos: Vec<String> = photos(dir.path()).iter().map(|p| p.display().to_string()).collect();
    // Real camera photos: the photo page must show their camera.
    let cameras = photos.iter().all(|p| p.contains("/shared/corpus/"));
    let (server, base) = serve(&data);
    let oidc = oidc_server(dir.path());
    let run = Command::new("npx")
        .args(["playwright", "test"])
        .current_dir(&web)
        .env("PICTOR_URL", &base)
        .env("PICTOR_KEY", &key)
        .env("PHOTOS", serde_json::to_string(&photos).unwrap())
        .env("CHROMIUM", &chromium)
        .env("EXPECT_CAMERA", if cameras { "1" } else { "" })
        .env("PICTOR_OIDC_URL", oidc.as_ref().map_or("", |(_, base, _)| base.as_str()))
        .env("OIDC_ISSUER", oidc.as_ref().map_or("", |(_, _, issuer)| issuer.as_str()))
        .output()
        .expect("npx runs");
    let report = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "Playwright failed:\n{report}");
    eprintln!("{report}");
    assert!(server.stop());
    if let Some((oidc, _, _)) = oidc {
        assert!(oidc.stop());
    }
}

/// A server that signs in through the test provider (anyone it signs in
/// gets an account), with its URL and the issuer; `None` without one.
fn oidc_server(dir: &Path) -> Option<(Served, String, String)> {
    let Ok(issuer) = std::env::var("PICTOR_TEST_OIDC_ISSUER") else {
        eprintln!("note: PICTOR_TEST_OIDC_ISSUER is not set; oidc.spec.js is skipped");
        return None;
    };
    let env = [
        ("PICTOR_AUTH__SIGNUP", "open"),
        ("PICTOR_AUTH__OIDC__ISSUER", issuer.as_str()),
        ("PICTOR_AUTH__OIDC__CLIENT_ID", "pictor-browser"),
        ("PICTOR_AUTH__OIDC__CLIENT_SECRET", "pictor-browser-secret"),
        ("PICTOR_AUTH__OIDC__NAME", "Test IdP"),
        ("PICTOR_WORKFLOW__RUN_WORKERS", "false"),
    ];
    let (server, base) = serve_with(&dir.join("oidc-data"), &env);
    Some((server, base, issuer))
}
