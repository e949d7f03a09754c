//! Download bundles end to end, black-box over HTTP: photos labelled and
//! moved to the archive tier; a bundle by labels restores them (the local
//! store's 2-second delay, skipped by `settle`), streams them into a zip
//! and links it; the zip holds every original byte for byte under unique,
//! safe names, as Stored entries with their dates; the restored copies are
//! gone afterwards and the label counts never moved; only the owner or
//! the signed link reads it, and once the janitor has run the link
//! answers 410.

use crate::common;

use std::io::Read as _;

use common::*;
use pictor_core::auth::create_api_key;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archived_photos_bundle_into_a_linked_zip() {
    let Some(app) = TestApp::spawn(Backend::Local, configure).await else { return };
    journey(app, Store::Local).await;
}

/// The same on moto's S3 (storage classes and RestoreObject) over
/// PostgreSQL when it is there too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archived_photos_bundle_on_s3() {
    let Some(app) = on_moto("bundles", configure).await else { return };
    journey(app, Store::S3).await;
}

/// The link by SMS: one signed `POST` to the gateway (Standard Webhooks
/// headers under `sms.secret`) with the number in E.164 and the link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_goes_by_sms_through_the_signed_gateway() {
    let gateway = crate::webhooks::Receiver::start().await;
    let secret = pictor_core::webhook_signing::new_secret();
    let (url, sms_secret) = (gateway.url.clone(), secret.clone());
    let Some(app) = TestApp::spawn(Backend::Local, move |config| {
        config.sms.url = url;
        config.sms.secret = sms_secret;
    })
    .await
    else {
        return;
    };
    let key = create_api_key(&app.state.db, "ann", "upload read", None).await.unwrap().secret;
    let photo = jpeg(40, 30);
    let id = upload_named(&app, &key, "lake.jpg", photo.clone()).await;
    label(&app, &id, &["lake"]).await;
    let body = json!({"labels": ["lake"], "notify": {"sms": "+1 (555) 123-4567"}});
    let bundle: Value = post_json(&app, &key, "/api/v1/bundles", &body).await.json().await.unwrap();
    assert_eq!(bundle["channel"], "sms");
    app.settle().await;

    let sent = gateway.received();
    assert_eq!(sent.len(), 1, "one message");
    let header = |name: &str| sent[0].headers[name].clone();
    let key_bytes = pictor_core::webhook_signing::secret_key(&secret).unwrap();
    let timestamp: i64 = header("webhook-timestamp").parse().unwrap();
    let signed = pictor_core::webhook_signing::verify(
        &key_bytes,
        &header("webhook-id"),
        timestamp,
        sent[0].body.as_bytes(),
        &header("webhook-signature"),
    );
    assert!(signed, "signed under sms.secret");
    let message: Value = serde_json::from_str(&sent[0].body).unwrap();
    assert_eq!(message["to"], "+15551234567");
    let text = message["text"].as_str().unwrap();
    let link = text.split_whitespace().find(|w| w.contains("/zip?")).unwrap_or_else(|| panic!("no link: {text}"));
    let zip = app.client.get(link).send().await.unwrap();
    assert_eq!(zip.status(), 200);
    assert!(zip.bytes().await.unwrap().windows(photo.len()).any(|w| w == photo.as_slice()), "the photo, whole");
    assert_eq!(app.state.db.queue_stats().await.unwrap().ready, 0, "the job with the number is gone");
    app.shutdown().await;
}

/// A zip larger than a part goes to the store as a multipart upload (S3)
/// or part by part (a local folder), and reads back whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_zip_goes_up_in_parts_on_both_backends() {
    for backend in [Backend::Local, Backend::PostgresS3] {
        let Some(app) = TestApp::spawn(backend, |config| config.bundles.part_mib = 5).await else { continue };
        let key = create_api_key(&app.state.db, "ann", "upload read", None).await.unwrap().secret;
        let mut photos = Vec::new();
        for seed in 1..=3u32 {
            let bytes = noise_png(1100, 1100, seed);
            let id = upload_named(&app, &key, &format!("noise-{seed}.png"), bytes.clone()).await;
            label(&app, &id, &["noise"]).await;
            photos.push(bytes);
        }
        let body = json!({"labels": ["noise"], "notify": {"webhook": true}});
        let bundle: Value = post_json(&app, &key, "/api/v1/bundles", &body).await.json().await.unwrap();
        app.settle().await;
        let ready = get_json(&app, &key, &format!("/api/v1/bundles/{}", bundle["id"].as_str().unwrap())).await;
        assert_eq!(ready["state"], "ready", "{ready}");
        assert!(ready["bytes"].as_i64().unwrap() > 10 << 20, "more than two parts: {ready}");
        let zip = app.client.get(ready["links"]["download"].as_str().unwrap()).send().await.unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.bytes().await.unwrap().to_vec())).unwrap();
        for (i, original) in photos.iter().enumerate() {
            let mut bytes = Vec::new();
            archive.by_index(i).unwrap().read_to_end(&mut bytes).unwrap();
            assert!(bytes == *original, "entry {i} byte for byte");
        }
        app.shutdown().await;
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Store {
    Local,
    S3,
}

async fn journey(app: TestApp, store: Store) {
    let ann = create_api_key(&app.state.db, "ann", "upload read", None).await.unwrap().secret;
    let bob = create_api_key(&app.state.db, "bob", "upload read", None).await.unwrap().secret;

    let photos = [("lake.jpg", jpeg(40, 30)), ("LAKE.JPG", jpeg(41, 30)), ("../../evil.jpg", jpeg(42, 30))];
    let mut ids = Vec::new();
    for (name, bytes) in &photos {
        ids.push(upload_named(&app, &ann, name, bytes.clone()).await);
    }
    let forest = upload_named(&app, &ann, "forest.jpg", jpeg(43, 30)).await;
    let bobs = upload_named(&app, &bob, "bob.jpg", jpeg(44, 30)).await;
    app.drain().await;
    label(&app, &ids[0], &["mountain", "lake"]).await;
    label(&app, &ids[1], &["lake"]).await;
    label(&app, &ids[2], &["mountain"]).await;
    label(&app, &forest, &["forest"]).await;
    label(&app, &bobs, &["mountain"]).await;
    assert!(pictor_jobs::jobs::archive_blob::sweep(&app.state).await.unwrap() >= 4);
    app.drain().await;
    let counts = get_json(&app, &ann, "/api/v1/labels").await;
    for id in &ids {
        assert_problem(get(&app, &ann, &format!("/api/v1/img/{id}/original")).await, 409, "image_archived").await;
    }

    // Asked for; another user cannot see it.
    let body = json!({"labels": ["mountain", "lake"], "match": "any", "notify": {"webhook": true}});
    let accepted = post_json(&app, &ann, "/api/v1/bundles", &body).await;
    assert_eq!(accepted.status(), 202);
    let location = accepted.headers()["location"].to_str().unwrap().to_string();
    let bundle: Value = accepted.json().await.unwrap();
    assert_eq!((bundle["state"].as_str(), bundle["channel"].as_str()), (Some("requested"), Some("webhook")));
    assert_eq!(location, format!("/api/v1/bundles/{}", bundle["id"].as_str().unwrap()));
    assert_problem(get(&app, &bob, &location).await, 404, "not_found").await;
    assert_problem(get(&app, &bob, &format!("{location}/zip")).await, 404, "not_found").await;

    // The workflow restores (through the 2-second delay), zips and links.
    let waits = app.settle().await;
    assert!(!waits.is_empty(), "the restores waited for the archive");
    let ready = get_json(&app, &ann, &location).await;
    assert_eq!(ready["state"], "ready", "{ready}");
    assert_eq!(ready["progress"], json!({"total": 3, "restored": 3, "zipped": 3}));
    let link = ready["links"]["download"].as_str().expect("a download link").to_string();
    assert!(link.starts_with("http://") && link.contains("sig="), "{link}");

    // Anyone with the link gets the zip: every original, byte for byte.
    let zip = app.client.get(&link).send().await.unwrap();
    assert_eq!(zip.status(), 200);
    assert_eq!(zip.headers()["content-type"], "application/zip");
    assert!(zip.headers()["content-disposition"].to_str().unwrap().contains("pictor-mountain-lake-"));
    let zip = zip.bytes().await.unwrap();
    assert_eq!(zip.len() as i64, ready["bytes"].as_i64().unwrap());
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec())).unwrap();
    let mut names = Vec::new();
    assert_eq!(archive.len(), photos.len());
    for (i, (_, original)) in photos.iter().enumerate() {
        let mut entry = archive.by_index(i).unwrap();
        assert_eq!(entry.compression(), zip::CompressionMethod::Stored);
        assert!(entry.last_modified().is_some_and(|d| d.year() >= 2025), "a real date");
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        let name = entry.name().unwrap().to_string();
        assert_eq!(&bytes, original, "entry {name} byte for byte");
        names.push(name);
    }
    assert_eq!(names, ["lake.jpg", "LAKE (2).JPG", "evil.jpg"], "unique, safe names, in upload order");

    // A range resumes a download; a forged link is refused.
    let ranged = app.client.get(&link).header("range", "bytes=0-3").send().await.unwrap();
    assert_eq!(ranged.status(), 206);
    assert_eq!(ranged.bytes().await.unwrap(), &zip[..4]);
    let forged = link.replace("sig=", "sig=AAAA");
    assert_problem(app.client.get(&forged).send().await.unwrap(), 403, "forbidden").await;
    assert_eq!(get(&app, &ann, &format!("{location}/zip")).await.status(), 200, "the owner needs no link");

    // The restored copies were temporary; the originals stay archived;
    // label counts never moved.
    for id in &ids {
        assert_problem(get(&app, &ann, &format!("/api/v1/img/{id}/original")).await, 409, "image_archived").await;
    }
    assert_eq!(get_json(&app, &ann, "/api/v1/labels").await, counts);
    let kinds: Vec<String> = app
        .state
        .db
        .events_for(bundle["id"].as_str().unwrap())
        .await
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {}", e.kind, e.payload.get("phase").and_then(Value::as_str).unwrap_or_default()))
        .collect();
    for expected in ["bundle.requested ", "bundle.progress restoring", "bundle.progress zipping", "bundle.ready "] {
        assert!(kinds.iter().any(|k| k == expected), "{expected:?} in {kinds:?}");
    }

    if store == Store::Local {
        let data = &app.state.config.data_dir;
        for id in &ids {
            let sha = get_json(&app, &ann, &format!("/api/v1/img/{id}")).await["sha256"].as_str().unwrap().to_string();
            assert!(!data.join("store/blobs").join(&sha[..2]).join(&sha).exists(), "no restored copy left");
        }
    }

    // Counts stay exact: labelling again changes nothing, reprocessing an
    // archived photo asks for its restore first, and deleting one takes
    // away exactly its labels.
    label(&app, &ids[0], &["mountain", "lake"]).await;
    assert_eq!(get_json(&app, &ann, "/api/v1/labels").await, counts, "labelled again: the same counts");
    let reprocess = app.client.post(app.url(&format!("/api/v1/img/{}/reprocess", ids[0]))).bearer_auth(&ann);
    let problem = assert_problem(reprocess.send().await.unwrap(), 409, "image_archived").await;
    assert_eq!(problem["links"]["restore"], format!("/api/v1/img/{}/restore", ids[0]));
    let deleted = app.client.delete(app.url(&format!("/api/v1/img/{}", ids[1]))).bearer_auth(&ann).send().await;
    assert_eq!(deleted.unwrap().status(), 204);
    let after = get_json(&app, &ann, "/api/v1/labels").await;
    assert_eq!(count_of(&after, "lake"), count_of(&counts, "lake") - 1, "{after}");
    assert_eq!(count_of(&after, "mountain"), count_of(&counts, "mountain"), "{after}");

    // A day later the janitor deletes the zip and the record: 410.
    pictor_core::bundles::expire(&app.state, pictor_db::now_ms() + 25 * 3600 * 1000).await;
    assert_problem(app.client.get(&link).send().await.unwrap(), 410, "gone").await;
    assert_problem(get(&app, &ann, &location).await, 404, "not_found").await;
    assert!(app.state.store.list_objects("bundles").await.unwrap().is_empty(), "no zip left");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_and_empty_bundles_fail() {
    let Some(app) = TestApp::spawn(Backend::Local, configure).await else { return };
    let ann = create_api_key(&app.state.db, "ann", "upload read", None).await.unwrap().secret;
    for body in [
        json!({"labels": [], "notify": {"webhook": true}}),
        json!({"labels": ["lake"], "notify": {}}),
        json!({"labels": ["lake"], "notify": {"webhook": true, "email": "a@example.com"}}),
        json!({"labels": ["lake"], "match": "most", "notify": {"webhook": true}}),
        json!({"labels": ["lake"], "notify": {"webhook": true}, "extra": 1}),
    ] {
        assert_problem(post_json(&app, &ann, "/api/v1/bundles", &body).await, 400, "invalid_request").await;
    }

    let body = json!({"labels": ["nothing-has-this"], "notify": {"webhook": true}});
    let bundle: Value = post_json(&app, &ann, "/api/v1/bundles", &body).await.json().await.unwrap();
    app.settle().await;
    let failed = get_json(&app, &ann, &format!("/api/v1/bundles/{}", bundle["id"].as_str().unwrap())).await;
    assert_eq!(failed["state"], "failed");
    assert!(failed["error"].as_str().unwrap().contains("no photo carries"), "{failed}");
    let listed = get_json(&app, &ann, "/api/v1/bundles").await;
    assert_eq!(listed[0]["id"], bundle["id"]);
    app.shutdown().await;
}

/// A label's count in `GET /api/v1/labels`'s answer.
fn count_of(index: &Value, label: &str) -> i64 {
    let found = index["labels"].as_array().unwrap().iter().find(|l| l["name"] == label);
    found.and_then(|l| l["count"].as_i64()).unwrap_or_else(|| panic!("no {label} in {index}"))
}

fn configure(config: &mut pictor_server::Config) {
    config.lifecycle.archive_originals = pictor_core::config::ArchiveRule::Labelled;
    config.tiers.restore_delay_secs = 2;
    config.workflow.thumbnail_sizes = vec![64];
}

async fn upload_named(app: &TestApp, key: &str, name: &str, bytes: Vec<u8>) -> String {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_string());
    let form = reqwest::multipart::Form::new().part("file", part);
    let response = app.client.post(app.url("/api/v1/img")).bearer_auth(key).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    body["images"][0]["id"].as_str().unwrap().to_string()
}

async fn get(app: &TestApp, key: &str, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).bearer_auth(key).send().await.unwrap()
}

async fn post_json(app: &TestApp, key: &str, path: &str, body: &Value) -> reqwest::Response {
    app.client.post(app.url(path)).bearer_auth(key).json(body).send().await.unwrap()
}

async fn get_json(app: &TestApp, key: &str, path: &str) -> Value {
    let response = get(app, key, path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.unwrap()
}
