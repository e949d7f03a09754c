//! Storage tiers end to end, black-box over HTTP: the lifecycle rule moves a
//! labelled original to the archive tier; the original (and a transform
//! that needs it) then answers `409 image_archived` with a restore link,
//! while cached thumbnails still serve; the owner (only) asks for a
//! restore, which completes asynchronously; the original then serves until
//! its restored copy is released. Label counts never move.
//!
//! Runs on the local store (SQLite, a 2-second restore delay) and on moto's
//! S3 server (`PICTOR_TEST_MOTO_URL`, which `.ci/services.sh` starts: it
//! keeps storage classes and answers RestoreObject, unlike s3s-fs), over
//! PostgreSQL when `PICTOR_TEST_DATABASE_URL` is set too.

use crate::common;

use std::time::Duration;

use common::*;
use pictor_core::auth::create_api_key;
use pictor_store::RestoreStatus;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_archive_restore_and_serve() {
    let Some(app) = TestApp::spawn(Backend::Local, configure).await else { return };
    journey(app, Store::Local).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_storage_class_archive_restore_and_serve() {
    let Some(app) = on_moto("storage tiers", configure).await else { return };
    journey(app, Store::S3).await;
}

#[derive(Clone, Copy, PartialEq)]
enum Store {
    Local,
    S3,
}

fn configure(config: &mut pictor_server::Config) {
    config.lifecycle.archive_originals = pictor_core::config::ArchiveRule::Labelled;
    config.tiers.restore_delay_secs = 2;
    config.workflow.thumbnail_sizes = vec![64];
}

async fn journey(first: TestApp, store: Store) {
    let ann = create_api_key(&first.state.db, "ann", "upload read", None).await.unwrap().secret;
    let bob = create_api_key(&first.state.db, "bob", "upload read", None).await.unwrap().secret;
    let app = crate::web::restarted(first).await;
    let bytes = jpeg(96, 64);
    let id = upload(&app, &ann, bytes.clone()).await;
    let sha = get_json(&app, &ann, &format!("/api/v1/img/{id}")).await["sha256"].as_str().unwrap().to_string();

    // Still in its workflow: the lifecycle leaves it hot.
    assert_eq!(sweep(&app).await, 0, "an original a workflow still reads is not archived");
    app.drain().await;
    let record = get_json(&app, &ann, &format!("/api/v1/img/{id}")).await;
    assert_eq!((record["status"].as_str(), record["storage"]["tier"].as_str()), (Some("processed"), Some("hot")));
    let thumb = get(&app, &ann, &format!("/api/v1/img/{id}.webp?thumbnail=64")).await;
    assert_eq!(thumb.status(), 200);
    let thumb = thumb.bytes().await.unwrap();
    let label =
        |name: &str| pictor_db::ImageLabel { name: name.into(), confidence: 0.9, direct: true, parents: vec![] };
    app.state.db.set_image_labels(&id, &[label("mountain"), label("lake")]).await.unwrap();
    let counts = get_json(&app, &ann, "/api/v1/labels").await;
    assert!(counts.to_string().contains("mountain"), "{counts}");

    // The lifecycle rule (`labelled`) archives it.
    assert_eq!(sweep(&app).await, 1);
    app.drain().await;
    assert_eq!(
        get_json(&app, &ann, &format!("/api/v1/img/{id}")).await["storage"],
        serde_json::json!({"tier": "archive"})
    );
    if store == Store::Local {
        let (hot, archived) = local_paths(&app, &sha);
        assert!(!hot.exists() && archived.is_file(), "the original moved to the archive folder");
    }
    let problem =
        assert_problem(get(&app, &ann, &format!("/api/v1/img/{id}/original")).await, 409, "image_archived").await;
    assert_eq!(problem["links"]["restore"], format!("/api/v1/img/{id}/restore"));
    let ranged = app
        .client
        .get(app.url(&format!("/api/v1/img/{id}/original")))
        .bearer_auth(&ann)
        .header("range", "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_problem(ranged, 409, "image_archived").await;
    // Cached derivatives stay hot; one that needs the original does not.
    let cached = get(&app, &ann, &format!("/api/v1/img/{id}.webp?thumbnail=64")).await;
    assert_eq!((cached.status().as_u16(), cached.bytes().await.unwrap()), (200, thumb.clone()));
    let fresh = get(&app, &ann, &format!("/api/v1/img/{id}.png?thumbnail=20")).await;
    let problem = assert_problem(fresh, 409, "image_archived").await;
    assert_eq!(problem["links"]["restore"], format!("/api/v1/img/{id}/restore"));
    assert_eq!(get_json(&app, &ann, "/api/v1/labels").await, counts, "archiving leaves label counts alone");

    // Only the owner may ask for a restore; another's image is not there.
    assert_problem(post(&app, &bob, &format!("/api/v1/img/{id}/restore")).await, 404, "not_found").await;
    let nobody = app.client.post(app.url(&format!("/api/v1/img/{id}/restore"))).send().await.unwrap();
    assert_problem(nobody, 401, "unauthorized").await;
    let missing = post(&app, &ann, "/api/v1/img/00000000-0000-4000-8000-000000000000/restore").await;
    assert_problem(missing, 404, "not_found").await;

    // On S3 the archived copy is in a cold class (moto keeps it) that needs
    // a RestoreObject; the local archive folder reads at once.
    let cold = if store == Store::S3 { RestoreStatus::NotStarted } else { RestoreStatus::Readable };
    assert_eq!(app.state.store.restore_status(&sha).await.unwrap(), cold);

    let asked = post(&app, &ann, &format!("/api/v1/img/{id}/restore")).await;
    assert_eq!(asked.status(), 202);
    let asked: Value = asked.json().await.unwrap();
    assert_eq!((asked["tier"].as_str(), asked["restore"].as_str()), (Some("archive"), Some("requested")));
    assert_eq!(asked["links"]["original"], format!("/api/v1/img/{id}/original"));
    // Asking again while it runs starts nothing new.
    assert_eq!(post(&app, &ann, &format!("/api/v1/img/{id}/restore")).await.status(), 202);
    assert_problem(get(&app, &ann, &format!("/api/v1/img/{id}/original")).await, 409, "image_archived").await;

    // The restore completes on the queue: on the local store after its
    // 2-second delay, which `settle` skips instead of sleeping.
    let waits = app.settle().await;
    if store == Store::Local {
        let first = waits.first().copied().unwrap_or_default();
        assert!(first > Duration::from_secs(1) && first <= Duration::from_secs(2), "waits skipped: {waits:?}");
    }
    let restored = get_json(&app, &ann, &format!("/api/v1/img/{id}")).await["storage"].clone();
    assert_eq!((restored["tier"].as_str(), restored["restore"].as_str()), (Some("archive"), Some("restored")));
    assert!(restored["restored_until"].as_i64().unwrap() > pictor_db::now_ms());
    let original = get(&app, &ann, &format!("/api/v1/img/{id}/original")).await;
    assert_eq!(original.status(), 200);
    assert_eq!(original.bytes().await.unwrap(), bytes, "the restored original, byte for byte");
    let fresh = get(&app, &ann, &format!("/api/v1/img/{id}.png?thumbnail=20")).await;
    assert_eq!(fresh.status(), 200);
    let again = post(&app, &ann, &format!("/api/v1/img/{id}/restore")).await;
    assert_eq!(again.status(), 200, "readable already");
    assert_eq!(get_json(&app, &ann, "/api/v1/labels").await, counts, "restoring leaves label counts alone");

    // The restored copy is temporary: once released, archived again.
    assert!(pictor_core::tiers::release_restored(&app.state, &sha).await.unwrap());
    assert_problem(get(&app, &ann, &format!("/api/v1/img/{id}/original")).await, 409, "image_archived").await;
    assert_eq!(
        get_json(&app, &ann, &format!("/api/v1/img/{id}")).await["storage"],
        serde_json::json!({"tier": "archive"})
    );
    assert_eq!(get_json(&app, &ann, "/api/v1/labels").await, counts);

    // The core's API for bundles: restore a batch and wait until readable
    // (on the local store, through its 2-second delay).
    pictor_core::tiers::restore_all(&app.state, std::slice::from_ref(&sha), 4).await.unwrap();
    let original = get(&app, &ann, &format!("/api/v1/img/{id}/original")).await;
    assert_eq!((original.status().as_u16(), original.bytes().await.unwrap()), (200, bytes.clone().into()));
    assert!(pictor_core::tiers::release_restored(&app.state, &sha).await.unwrap());
    assert!(!pictor_core::tiers::release_restored(&app.state, &sha).await.unwrap(), "released once");
    assert_problem(get(&app, &ann, &format!("/api/v1/img/{id}/original")).await, 409, "image_archived").await;

    // Deleting the image deletes the archived original too.
    let deleted = app.client.delete(app.url(&format!("/api/v1/img/{id}"))).bearer_auth(&ann).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    assert!(!app.state.store.has_archived_blob(&sha).await.unwrap());
    if store == Store::Local {
        let (hot, archived) = local_paths(&app, &sha);
        assert!(!hot.exists() && !archived.exists());
    }
    app.shutdown().await;
}

/// Runs the lifecycle sweep now (housekeeping runs it every minute).
async fn sweep(app: &TestApp) -> usize {
    pictor_jobs::jobs::archive_blob::sweep(&app.state).await.unwrap()
}

/// The hot and archived original's files on the local store.
fn local_paths(app: &TestApp, sha: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let data = &app.state.config.data_dir;
    let relative = format!("blobs/{}/{sha}", &sha[..2]);
    (data.join("store").join(&relative), data.join("archive").join(&relative))
}

async fn upload(app: &TestApp, key: &str, bytes: Vec<u8>) -> String {
    let response = app
        .client
        .post(app.url("/api/v1/img"))
        .bearer_auth(key)
        .header("content-type", "image/jpeg")
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
}

async fn get(app: &TestApp, key: &str, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).bearer_auth(key).send().await.unwrap()
}

async fn post(app: &TestApp, key: &str, path: &str) -> reqwest::Response {
    app.client.post(app.url(path)).bearer_auth(key).send().await.unwrap()
}

async fn get_json(app: &TestApp, key: &str, path: &str) -> Value {
    let response = get(app, key, path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.unwrap()
}
