//! The web app in a real browser: starts `pictor serve` (open sign-up, and
//! the vision models when `PICTOR_TEST_MODELS` has them) and runs the
//! Playwright journeys in `web-tests/` against it, with Debian's chromium.
//! Screenshots of the main pages land in `web-tests/screenshots/` (the
//! README shows copies from `docs/screenshots/`). SKIPPED, saying why, when
//! the npm packages or chromium are missing; `.ci/run` installs both.
//! With `PICTOR_TEST_OIDC_ISSUER` (the provider `.ci/services.sh` starts),
//! a second server signs in through it for `oidc.spec.js`
//! (`PICTOR_OIDC_URL`); without, that spec is skipped. A third server,
//! for `admin.spec.js` (and the admin pages in `a11y.spec.js`), has an
//! admin account made before it starts (`pictor admin create-user`), and
//! flags every photo when the models are there (`PICTOR_ADMIN_URL`).
//! With `PICTOR_TEST_SMTP_URL`, the first server sends mail through it and
//! `bundles.spec.js` reads what arrives (`MAILDIR`).

use crate::common;
use common::{Served, link_models, serve_with};

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Five real camera JPEGs from `../shared/corpus`, else five made here.
fn photos(dir: &Path) -> Vec<PathBuf> {
    let corpus = repo().join("../shared/corpus/camera_exif/exif-samples/jpg/exif-org");
    let mut found = jpegs_in(&corpus, 20_000..3_000_000);
    found.truncate(5);
    if found.len() == 5 {
        return found;
    }
    eprintln!("note: ../shared/corpus is absent; the browser journeys use generated photos");
    (0..5u8).map(|n| generated(dir, n, 64, 48)).collect()
}

fn jpegs_in(dir: &Path, sizes: std::ops::Range<u64>) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("jpg")))
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| sizes.contains(&m.len())))
        .collect();
    found.sort();
    found
}

/// A JPEG made by the engine: `w`×`h`, coloured by `n`.
fn generated(dir: &Path, n: u8, w: u32, h: u32) -> PathBuf {
    let image = pictor_imaging::Image::filled(w, h, pictor_imaging::Rgba { r: 40 * n, g: 90, b: 160, a: 255 });
    let bytes =
        pictor_imaging::encode::encode(&image, pictor_imaging::OutputFormat::Jpeg, &Default::default(), None).unwrap();
    let path = dir.join(format!("photo-{n}.jpg"));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A photo of a few megabytes for the dropped-connection journey: a large
/// camera photo from the corpus, if there is one.
fn big_photo() -> Option<PathBuf> {
    let corpus = repo().join("../shared/corpus/camera_exif/metadata-extractor/jpg");
    jpegs_in(&corpus, 3_000_000..40_000_000).into_iter().next()
}

fn sha256_hex(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
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
    std::fs::create_dir_all(&data).unwrap();
    // With the suite's models the photos get labels, and the journey filters by one.
    let labels = link_models(&data);
    if !labels {
        eprintln!("note: PICTOR_TEST_MODELS is not set: the journeys run without labels (.ci/run sets it)");
    }
    let photos: Vec<String> = photos(dir.path()).iter().map(|p| p.display().to_string()).collect();
    // Real camera photos: the photo page must show their camera.
    let cameras = photos.iter().all(|p| p.contains("/shared/corpus/"));
    let big = big_photo();
    // Small chunks, so that the large photo goes up in several.
    let mut settings =
        vec![("PICTOR_AUTH__SIGNUP", "open".to_string()), ("PICTOR_LIMITS__UPLOAD_CHUNK_BYTES", "1048576".into())];
    // With the suite's SMTP server, bundles.spec.js reads the mail it sends.
    let smtp = std::env::var("PICTOR_TEST_SMTP_URL").ok();
    let maildir = std::env::var("PICTOR_TEST_SMTP_MAILDIR").unwrap_or_default();
    if let Some(url) = smtp {
        settings.push(("PICTOR_EMAIL__SMTP_URL", url));
        settings.push(("PICTOR_EMAIL__CA_FILE", std::env::var("PICTOR_TEST_SMTP_CA").unwrap_or_default()));
    } else {
        eprintln!("note: PICTOR_TEST_SMTP_URL is not set; bundles.spec.js is skipped");
    }
    let stripe = shop_settings(&mut settings);
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (server, base) = serve_with(&data, &settings);
    let oidc = oidc_server(dir.path());
    let (admin, admin_base, flagging) = admin_server(dir.path());
    let run = Command::new("npx")
        .args(["playwright", "test"])
        .current_dir(&web)
        .env("PICTOR_URL", &base)
        .env("PHOTOS", serde_json::to_string(&photos).unwrap())
        .env("CHROMIUM", &chromium)
        .env("EXPECT_CAMERA", if cameras { "1" } else { "" })
        // Generated single-colour photos get no labels worth a tag: only
        // real photos with the models make tags to pick.
        .env("EXPECT_LABELS", if labels && cameras { "1" } else { "" })
        .env("BIG_PHOTO", big.as_ref().map(|p| p.display().to_string()).unwrap_or_default())
        .env("BIG_PHOTO_SHA256", big.as_deref().map(sha256_hex).unwrap_or_default())
        .env("PICTOR_OIDC_URL", oidc.as_ref().map_or("", |(_, base, _)| base.as_str()))
        .env("OIDC_ISSUER", oidc.as_ref().map_or("", |(_, _, issuer)| issuer.as_str()))
        .env("PICTOR_ADMIN_URL", &admin_base)
        .env("ADMIN_NAME", "root")
        .env("ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("EXPECT_FLAGGING", if flagging { "1" } else { "" })
        .env("MAILDIR", &maildir)
        .env("STRIPE_URL", stripe.as_deref().unwrap_or_default())
        .env("STRIPE_WEBHOOK_SECRET", SHOP_WEBHOOK_SECRET)
        .env("SHOP_PHOTO", shop_photo(dir.path()).display().to_string())
        .env("EXPECT_COUNTRIES", if std::env::var_os("PICTOR_TEST_GEOIP").is_some() { "1" } else { "" })
        .output()
        .expect("npx runs");
    let report = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "Playwright failed:\n{report}");
    eprintln!("{report}");
    assert!(server.stop());
    assert!(admin.stop());
    if let Some((oidc, _, _)) = oidc {
        assert!(oidc.stop());
    }
}

const SHOP_WEBHOOK_SECRET: &str = "whsec_browser_journey";

/// The shop's settings for the first server: the Stripe stand-in
/// (`PICTOR_TEST_STRIPE_URL`, whose URL is returned) and the country
/// database (`PICTOR_TEST_GEOIP`); `shop.spec.js` is skipped without them.
fn shop_settings(settings: &mut Vec<(&'static str, String)>) -> Option<String> {
    if let Some(geoip) = std::env::var_os("PICTOR_TEST_GEOIP") {
        settings.push(("PICTOR_SHOP__GEO__DATABASE", geoip.to_string_lossy().into_owned()));
    }
    let Ok(stripe) = std::env::var("PICTOR_TEST_STRIPE_URL") else {
        eprintln!("note: PICTOR_TEST_STRIPE_URL is not set; shop.spec.js is skipped");
        return None;
    };
    settings.push(("PICTOR_SHOP__STRIPE__API_BASE", stripe.clone()));
    settings.push(("PICTOR_SHOP__STRIPE__JS_URL", format!("{stripe}/v3/")));
    settings.push(("PICTOR_SHOP__STRIPE__SECRET_KEY", "sk_test_browser".into()));
    settings.push(("PICTOR_SHOP__STRIPE__PUBLISHABLE_KEY", "pk_test_browser".into()));
    settings.push(("PICTOR_SHOP__STRIPE__WEBHOOK_SECRETS", format!("[\"{SHOP_WEBHOOK_SECRET}\"]")));
    Some(stripe)
}

/// The shop's photo: a real one from the corpus, else scikit-image's
/// coffee (`PICTOR_TEST_PHOTOS`), else one made here.
fn shop_photo(dir: &Path) -> PathBuf {
    let corpus = repo().join("../shared/corpus/camera_exif/exif-samples/jpg/exif-org");
    let photos = std::env::var_os("PICTOR_TEST_PHOTOS").map(|d| PathBuf::from(d).join("coffee.png"));
    jpegs_in(&corpus, 20_000..400_000)
        .into_iter()
        .next()
        .or(photos.filter(|p| p.is_file()))
        .unwrap_or_else(|| generated(dir, 7, 320, 240))
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

const ADMIN_PASSWORD: &str = "root's long password";

/// The admin journey's server: `root` is its admin from the start (made by
/// `pictor admin create-user`, so no spec depends on who signs up first),
/// and sign-up is open for the photos' owner. With the models, the NSFW
/// threshold is 0: the real moderation task flags every photo (any score
/// is at or over 0), so there is one to approve without a test-only way
/// in. Returns whether photos get flagged.
fn admin_server(dir: &Path) -> (Served, String, bool) {
    use std::io::Write;
    let data = dir.join("admin-data");
    std::fs::create_dir_all(&data).unwrap();
    let flagging = link_models(&data);
    let mut create = common::pictor()
        .args(["admin", "create-user", "--name", "root", "--admin", "--data-dir"])
        .arg(&data)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(create.stdin.take().unwrap(), "{ADMIN_PASSWORD}").unwrap();
    assert!(create.wait().unwrap().success(), "pictor admin create-user");
    let env = [("PICTOR_AUTH__SIGNUP", "open"), ("PICTOR_VISION__NSFW_THRESHOLD", "0")];
    let (server, base) = serve_with(&data, &env);
    (server, base, flagging)
}
