//! Imports, black-box over HTTP: a folder under `import.local_roots` and a
//! prefix of the real S3 test server (`PICTOR_TEST_S3_URL`), each holding
//! images, a duplicate, one the importer had already and a text file; the
//! counts, the images (processed, the importer's), another account's 404,
//! refused sources, credentials never shown, and an import resumed after
//! a crash mid-page that imports nothing twice and counts it right; and
//! the upload page's import form and list.

use crate::common;

use std::time::Duration;

use common::{Backend, TestApp, assert_problem, jpeg, png, skip};
use pictor_core::auth::create_api_key;
use reqwest::Method;
use serde_json::{Value, json};

/// The files every source holds (key → bytes): three new images, a copy of
/// one of them, one `pre` that the importer uploads first, and a text file.
fn files(pre: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("a.jpg", jpeg(32, 24)),
        ("b.png", png(20, 20)),
        ("notes.txt", b"not an image".to_vec()),
        ("sub/c.jpg", jpeg(40, 30)),
        ("sub/copy-of-a.jpg", jpeg(32, 24)),
        ("z-had.png", pre.to_vec()),
    ]
}

async fn send(app: &TestApp, key: &str, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
    let request = app.client.request(method, app.url(path)).bearer_auth(key);
    let request = if let Some(body) = body { request.json(&body) } else { request };
    request.send().await.unwrap()
}

/// A server (closed: keys needed) that imports from `root`, two keys a
/// page; and the keys of ann and bob.
async fn app_with_root(backend: Backend, root: &std::path::Path) -> Option<(TestApp, String, String)> {
    let root = root.display().to_string();
    let first = TestApp::spawn(backend, |c| {
        c.import.local_roots = vec![root];
        c.import.page_size = 2;
        c.import.allow_private_endpoints = true;
    })
    .await?;
    let ann = create_api_key(&first.state.db, "ann", "upload read", None).await.unwrap().secret;
    let bob = create_api_key(&first.state.db, "bob", "upload read", None).await.unwrap().secret;
    Some((crate::web::restarted(first).await, ann, bob))
}

/// Starts an import of `source` as `key`; returns its id.
async fn start(app: &TestApp, key: &str, source: &str) -> String {
    let response = send(app, key, Method::POST, "/api/v1/imports", Some(json!({ "source": source }))).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let import: Value = response.json().await.unwrap();
    assert_eq!(import["state"], "queued");
    assert_eq!(location, format!("/api/v1/imports/{}", import["id"].as_str().unwrap()));
    import["id"].as_str().unwrap().to_string()
}

async fn import_of(app: &TestApp, key: &str, id: &str) -> Value {
    let response = send(app, key, Method::GET, &format!("/api/v1/imports/{id}"), None).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The counts of a finished import of [`files`], and what it left.
async fn check_finished(app: &TestApp, ann: &str, bob: &str, id: &str) {
    let import = import_of(app, ann, id).await;
    assert_eq!(import["state"], "done", "{import}");
    let counts: Vec<i64> =
        ["seen", "imported", "duplicates", "skipped", "failed"].iter().map(|f| import[f].as_i64().unwrap()).collect();
    assert_eq!(counts, [6, 3, 2, 1, 0], "{import}");
    assert_eq!(import["cursor"], "z-had.png");
    assert_eq!(import["problems"][0]["key"], "notes.txt", "{import}");
    // The importer's images: the three new ones and the one they had,
    // each once, processed like any upload.
    let images: Value = send(app, ann, Method::GET, "/api/v1/img?limit=50", None).await.json().await.unwrap();
    let images = images["images"].as_array().unwrap();
    assert_eq!(images.len(), 4, "{images:?}");
    let mut names: Vec<&str> = images.iter().filter_map(|i| i["name"].as_str()).collect();
    names.sort();
    assert_eq!(names, ["a.jpg", "b.png", "c.jpg"]);
    for image in images.iter().filter(|i| i["name"].is_string()) {
        assert_eq!(image["owner"], "ann");
        let record: Value =
            send(app, ann, Method::GET, &format!("/api/v1/img/{}", image["id"].as_str().unwrap()), None)
                .await
                .json()
                .await
                .unwrap();
        assert_eq!(record["status"], "processed", "{record}");
    }
    // Not bob's to see, nor in his list.
    assert_problem(send(app, bob, Method::GET, &format!("/api/v1/imports/{id}"), None).await, 404, "not_found").await;
    assert_problem(send(app, bob, Method::DELETE, &format!("/api/v1/imports/{id}"), None).await, 404, "not_found")
        .await;
    let theirs: Value = send(app, bob, Method::GET, "/api/v1/imports", None).await.json().await.unwrap();
    assert_eq!(theirs["imports"].as_array().unwrap().len(), 0);
    let mine: Value = send(app, ann, Method::GET, "/api/v1/imports", None).await.json().await.unwrap();
    assert_eq!(mine["imports"][0]["id"], id);
    // Its events: a progress event a page (three, at two keys a page), then the end.
    let events = app.state.db.events_for(id).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds.last(), Some(&"import.done"), "{kinds:?}");
    assert!(kinds.iter().filter(|k| **k == "import.progress").count() >= 3, "{kinds:?}");
    let done = &events.last().unwrap().payload;
    assert_eq!((done["state"].as_str(), done["imported"].as_i64()), (Some("done"), Some(3)), "{done}");
    assert_eq!(events.last().unwrap().owner.as_deref(), Some("ann"));
}

fn write_files(root: &std::path::Path, files: &[(&str, Vec<u8>)]) {
    for (key, bytes) in files {
        let path = root.join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

async fn a_folder_is_imported_once_with_its_counts(backend: Backend) {
    let roots = tempfile::tempdir().unwrap();
    let Some((app, ann, bob)) = app_with_root(backend, roots.path()).await else { return };
    let had = app.client.post(app.url("/api/v1/img")).bearer_auth(&ann).header("content-type", "image/png");
    let had = had.body(png(16, 16)).send().await.unwrap();
    assert_eq!(had.status(), 201);
    let folder = roots.path().join("photos");
    write_files(&folder, &files(&png(16, 16)));
    let id = start(&app, &ann, &folder.display().to_string()).await;
    app.drain().await;
    check_finished(&app, &ann, &bob, &id).await;
    // Again: everything is a duplicate now.
    let again = start(&app, &ann, &folder.display().to_string()).await;
    app.drain().await;
    let import = import_of(&app, &ann, &again).await;
    assert_eq!((import["imported"].as_i64(), import["duplicates"].as_i64()), (Some(0), Some(5)), "{import}");
    app.shutdown().await;
}

async fn sources_outside_the_rules_are_refused(backend: Backend) {
    let roots = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(roots.path().join("photos")).unwrap();
    let Some((app, ann, _)) = app_with_root(backend, &roots.path().join("photos")).await else { return };
    let refuse = |source: String, status: u16, code: &'static str| {
        let (app, ann) = (&app, &ann);
        async move {
            let response = send(app, ann, Method::POST, "/api/v1/imports", Some(json!({ "source": source }))).await;
            assert_problem(response, status, code).await
        }
    };
    let problem = refuse(outside.path().display().to_string(), 403, "forbidden").await;
    assert!(problem["detail"].as_str().unwrap().contains("import.local_roots"), "{problem}");
    let escape = format!("{}/../..", roots.path().join("photos").display());
    refuse(escape, 400, "invalid_request").await;
    #[cfg(unix)]
    {
        let link = roots.path().join("photos").join("elsewhere");
        std::os::unix::fs::symlink(outside.path(), &link).unwrap();
        refuse(link.display().to_string(), 403, "forbidden").await;
    }
    refuse("photos".into(), 400, "invalid_request").await;
    refuse("s3://b/p?metadata_endpoint=http://169.254.169.254".into(), 400, "invalid_request").await;
    refuse("ftp://host/dir".into(), 400, "invalid_request").await;
    let no_body = send(&app, &ann, Method::POST, "/api/v1/imports", Some(json!({}))).await;
    assert_problem(no_body, 400, "invalid_request").await;
    // Without a key: 401; without roots: local imports are off.
    let anonymous = app.client.post(app.url("/api/v1/imports")).json(&json!({"source": "/tmp"})).send().await.unwrap();
    assert_problem(anonymous, 401, "unauthorized").await;
    app.shutdown().await;

    let Some(closed) = TestApp::spawn(backend, |_| {}).await else { return };
    let response = closed.client.post(closed.url("/api/v1/imports")).json(&json!({"source": "/tmp"})).send().await;
    let problem = assert_problem(response.unwrap(), 403, "forbidden").await;
    assert!(problem["detail"].as_str().unwrap().contains("import.local_roots"), "{problem}");
    // A private endpoint, unless the operator allows it.
    let private = json!({"source": "s3://b/p?endpoint=http://127.0.0.1:9000"});
    let response = closed.client.post(closed.url("/api/v1/imports")).json(&private).send().await.unwrap();
    let problem = assert_problem(response, 403, "forbidden").await;
    assert!(problem["detail"].as_str().unwrap().contains("import.allow_private_endpoints"), "{problem}");
    closed.shutdown().await;
}

async fn a_crashed_import_resumes_from_its_cursor(backend: Backend) {
    let roots = tempfile::tempdir().unwrap();
    let Some((app, ann, bob)) = app_with_root(backend, roots.path()).await else { return };
    let had = app.client.post(app.url("/api/v1/img")).bearer_auth(&ann).header("content-type", "image/png");
    assert_eq!(had.body(png(16, 16)).send().await.unwrap().status(), 201);
    app.drain().await;
    let folder = roots.path().join("photos");
    write_files(&folder, &files(&png(16, 16)));
    let id = start(&app, &ann, &folder.display().to_string()).await;
    // A worker takes the job, does one page, and dies (its lease lapses).
    let job = app.state.db.claim("doomed", Duration::from_millis(1)).await.unwrap().expect("the import's job");
    assert_eq!(job.kind, "import.run");
    let run: pictor_jobs::ImportRun = serde_json::from_value(job.payload).unwrap();
    assert_eq!(
        pictor_core::import::step(&app.state, &run.import, &run.source).await.unwrap(),
        pictor_core::import::Step::More
    );
    let import = import_of(&app, &ann, &id).await;
    assert_eq!((import["state"].as_str(), import["seen"].as_i64()), (Some("running"), Some(2)), "{import}");
    assert_eq!(import["cursor"], "b.png");
    // It had landed the next page's image (sub/c.jpg) when it died, before
    // counting that page.
    let landed = pictor_core::ingest::Upload {
        bytes: jpeg(40, 30).into(),
        source: pictor_core::import::SOURCE,
        owner: Some("ann".into()),
        name: Some("c.jpg".into()),
        description: None,
    };
    pictor_core::ingest::ingest(&app.state, landed).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    // Another picks it up where the first left off: c.jpg is found by its
    // content (not imported twice) and counted as imported, as it was.
    app.drain().await;
    check_finished(&app, &ann, &bob, &id).await;
    app.shutdown().await;
}

async fn an_import_is_cancelled(backend: Backend) {
    let roots = tempfile::tempdir().unwrap();
    let Some((app, ann, _)) = app_with_root(backend, roots.path()).await else { return };
    write_files(roots.path(), &files(&png(16, 16)));
    let id = start(&app, &ann, &roots.path().display().to_string()).await;
    let cancelled = send(&app, &ann, Method::DELETE, &format!("/api/v1/imports/{id}"), None).await;
    assert_eq!(cancelled.status(), 200);
    assert_eq!(cancelled.json::<Value>().await.unwrap()["state"], "cancelled");
    app.drain().await;
    let import = import_of(&app, &ann, &id).await;
    assert_eq!((import["state"].as_str(), import["seen"].as_i64()), (Some("cancelled"), Some(0)), "{import}");
    app.shutdown().await;
}

/// The S3 test server's options, and a prefix of fresh objects in its bucket.
async fn s3_source(files: &[(&str, Vec<u8>)]) -> Option<(String, String)> {
    let Ok(s3) = std::env::var("PICTOR_TEST_S3_URL") else {
        skip("S3 import: PICTOR_TEST_S3_URL is not set (source .ci/services.sh)");
        return None;
    };
    let prefix = format!("import-{}", uuid::Uuid::new_v4().simple());
    let location = pictor_store::StoreLocation::parse(&format!("{s3}&prefix={prefix}")).unwrap();
    let archive = pictor_store::ArchiveSettings { local_dir: "unused".into(), storage_class: "GLACIER".into() };
    let store = pictor_store::BlobStore::open(&location, &archive).unwrap();
    for (key, bytes) in files {
        store.put_object(&format!("photos/{key}"), bytes.clone().into()).await.unwrap();
    }
    let url = url::Url::parse(&s3).unwrap();
    let bucket = url.host_str().unwrap().to_string();
    let options: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| pictor_store::SOURCE_OPTIONS.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let secret = options.iter().find(|(k, _)| k == "secret_access_key").map(|(_, v)| v.clone()).unwrap();
    let mut source = url::Url::parse(&format!("s3://{bucket}/{prefix}/photos")).unwrap();
    source.query_pairs_mut().extend_pairs(options);
    Some((source.to_string(), secret))
}

async fn an_s3_prefix_is_imported_without_showing_its_credentials(backend: Backend) {
    let Some((source, secret)) = s3_source(&files(&png(16, 16))).await else { return };
    let roots = tempfile::tempdir().unwrap();
    let Some((app, ann, bob)) = app_with_root(backend, roots.path()).await else { return };
    let had = app.client.post(app.url("/api/v1/img")).bearer_auth(&ann).header("content-type", "image/png");
    assert_eq!(had.body(png(16, 16)).send().await.unwrap().status(), 201);
    let response = send(&app, &ann, Method::POST, "/api/v1/imports", Some(json!({ "source": source }))).await;
    assert_eq!(response.status(), 202);
    let created = response.text().await.unwrap();
    assert!(!created.contains(&secret) && !created.contains("access_key"), "{created}");
    let id = serde_json::from_str::<Value>(&created).unwrap()["id"].as_str().unwrap().to_string();
    let import = import_of(&app, &ann, &id).await;
    assert!(
        import["source"].as_str().unwrap().starts_with("s3://")
            && import["source"].as_str().unwrap().ends_with("/photos")
    );
    app.drain().await;
    check_finished(&app, &ann, &bob, &id).await;
    for path in ["/api/v1/imports", &format!("/api/v1/imports/{id}")] {
        let text = send(&app, &ann, Method::GET, path, None).await.text().await.unwrap();
        assert!(!text.contains(&secret), "{text}");
    }
    // Nor in the database's imports table (the job, sealed, is gone too).
    let row = app.state.db.get_import(&id).await.unwrap().unwrap();
    assert!(!format!("{row:?}").contains(&secret));
    app.shutdown().await;
}

async fn the_upload_page_starts_and_shows_imports(backend: Backend) {
    use crate::web_library::Visitor;
    let roots = tempfile::tempdir().unwrap();
    let root = roots.path().display().to_string();
    let Some(first) = TestApp::spawn(backend, |c| {
        c.import.local_roots = vec![root];
        c.import.allow_private_endpoints = true;
    })
    .await
    else {
        return;
    };
    let ann_pw = crate::web::account(&first, "ann").await;
    let bob_pw = crate::web::account(&first, "bob").await;
    let key = create_api_key(&first.state.db, "ann", "upload read", None).await.unwrap().secret;
    let app = crate::web::restarted(first).await;
    let (ann, bob) = (Visitor::sign_in(&app, "ann", &ann_pw).await, Visitor::sign_in(&app, "bob", &bob_pw).await);
    let folder = roots.path().join("holiday");
    write_files(&folder, &files(&png(16, 16)));
    assert!(ann.text("/upload").await.contains("Import from a bucket"));

    let started = ann.post("/upload/import", &[("source", &folder.display().to_string())]).await;
    assert_eq!(started.status(), 303);
    assert_eq!(started.headers()["location"], "/upload#imports");
    let page = ann.text("/upload").await;
    assert!(page.contains("holiday") && page.contains("hx-get=\"/upload/imports\""), "polls while it runs: {page}");
    assert!(!bob.text("/upload").await.contains("holiday") && !bob.text("/upload/imports").await.contains("holiday"));
    app.drain().await;
    let list = ann.text("/upload/imports").await;
    assert!(list.contains("data-state=\"done\"") && !list.contains("hx-get"), "stops polling when done: {list}");
    assert!(list.contains("4 imported, 1 duplicates, 1 skipped") && list.contains("notes.txt"), "{list}");

    // Credentials typed into the form are never shown back.
    let source = "s3://bucket/pics?endpoint=http://127.0.0.1:9&access_key_id=AKID&secret_access_key=SECRETXYZ";
    assert_eq!(ann.post("/upload/import", &[("source", source)]).await.status(), 303);
    let page = ann.text("/upload").await;
    assert!(page.contains("s3://bucket/pics") && !page.contains("SECRETXYZ") && !page.contains("AKID"), "{page}");
    let imports: Value = send(&app, &key, Method::GET, "/api/v1/imports", None).await.json().await.unwrap();
    let id = imports["imports"][0]["id"].as_str().unwrap().to_string();
    // Its Cancel button: not bob's to press.
    assert!(page.contains(&format!("/upload/imports/{id}/cancel")));
    assert_eq!(bob.post(&format!("/upload/imports/{id}/cancel"), &[]).await.status(), 404);
    assert_eq!(ann.post(&format!("/upload/imports/{id}/cancel"), &[]).await.status(), 303);
    assert_eq!(import_of(&app, &key, &id).await["state"], "cancelled");

    // Refused sources get a readable page; a form without the token, 403.
    let outside = ann.post("/upload/import", &[("source", "/")]).await;
    assert_eq!(outside.status(), 403);
    assert!(outside.text().await.unwrap().contains("import.local_roots"));
    let bad = ann.post("/upload/import", &[("source", "ftp://x")]).await;
    assert_eq!(bad.status(), 400);
    let forged = ann.client.post(app.url("/upload/import")).header(reqwest::header::COOKIE, &ann.cookie);
    assert_eq!(forged.form(&[("csrf", "guess"), ("source", "/")]).send().await.unwrap().status(), 403);
    app.shutdown().await;
}

both_backends!(
    a_folder_is_imported_once_with_its_counts,
    sources_outside_the_rules_are_refused,
    a_crashed_import_resumes_from_its_cursor,
    an_import_is_cancelled,
    an_s3_prefix_is_imported_without_showing_its_credentials,
    the_upload_page_starts_and_shows_imports,
);
