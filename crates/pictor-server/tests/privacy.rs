//! The privacy matrix over the API: every route that names or lists
//! something, asked by a second user (with their own key) and by a guest
//! (no credentials), on both backends. Each answer must be a refusal or
//! a listing without a trace of the first user's photos, albums, labels,
//! executions, webhooks, uploads, shares, bundles, imports or events. (The pages' matrix is in
//! `web_library.rs`.)

use std::time::Duration;

use crate::common;

use common::{Backend, TestApp, jpeg};
use pictor_core::auth::create_api_key;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// What ann owns, by id, and a label only her photo carries.
struct Anns {
    image: String,
    album: String,
    execution: String,
    webhook: String,
    upload: String,
    share: String,
    bundle: String,
    import: String,
}

const LABEL: &str = "aurora-borealis";

async fn send(app: &TestApp, key: Option<&str>, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path)).header("tus-resumable", "1.0.0");
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// Ann's things, made through the API (and her photo processed).
async fn anns_things(app: &TestApp, key: &str, import_from: &str) -> Anns {
    let upload = app.client.post(app.url("/api/v1/img")).bearer_auth(key).header("content-type", "image/jpeg");
    let image: Value = upload.body(jpeg(48, 32)).send().await.unwrap().json().await.unwrap();
    let image = image["id"].as_str().unwrap().to_string();
    app.drain().await;
    let label = pictor_db::ImageLabel { name: LABEL.into(), confidence: 0.9, direct: true, parents: vec![] };
    app.state.db.set_image_labels(&image, &[label]).await.unwrap();
    let album: Value = send(app, Some(key), Method::POST, "/api/v1/albums", Some(json!({"name": "Ann's trip"})))
        .await
        .json()
        .await
        .unwrap();
    let album = album["id"].as_str().unwrap().to_string();
    send(app, Some(key), Method::POST, &format!("/api/v1/albums/{album}/images"), Some(json!({"images": [image]})))
        .await;
    let executions: Value =
        send(app, Some(key), Method::GET, &format!("/api/v1/img/{image}/executions"), None).await.json().await.unwrap();
    let execution = executions["executions"][0]["id"].as_str().expect("ann's photo was processed").to_string();
    let hook = json!({"url": "http://127.0.0.1:9/hook", "events": ["image.processed"]});
    let webhook: Value = send(app, Some(key), Method::POST, "/api/v1/webhooks", Some(hook)).await.json().await.unwrap();
    let webhook = webhook["id"].as_str().unwrap().to_string();
    let started = app.client.post(app.url("/api/v1/uploads")).bearer_auth(key).header("tus-resumable", "1.0.0");
    let started = started.header("upload-length", "1000").send().await.unwrap();
    assert_eq!(started.status(), 201);
    let upload = started.headers()["location"].to_str().unwrap().to_string();
    let id_of = |response: Value, what: &str| {
        response["id"].as_str().unwrap_or_else(|| panic!("ann's {what}: {response}")).to_string()
    };
    let share = json!({"kind": "album", "target": album});
    let share =
        id_of(send(app, Some(key), Method::POST, "/api/v1/shares", Some(share)).await.json().await.unwrap(), "share");
    let bundle = json!({"labels": [LABEL], "notify": {"webhook": true}});
    let bundle = id_of(
        send(app, Some(key), Method::POST, "/api/v1/bundles", Some(bundle)).await.json().await.unwrap(),
        "bundle",
    );
    let import = json!({"source": import_from});
    let import = id_of(
        send(app, Some(key), Method::POST, "/api/v1/imports", Some(import)).await.json().await.unwrap(),
        "import",
    );
    Anns { image, album, execution, webhook, upload, share, bundle, import }
}

async fn the_api_shows_no_one_else_s_things(backend: Backend) {
    let imports = tempfile::tempdir().unwrap();
    let root = imports.path().display().to_string();
    let Some(first) = TestApp::spawn(backend, |c| {
        c.fetch.allow = vec!["127.0.0.1/32".into()];
        c.import.local_roots = vec![root.clone()];
    })
    .await
    else {
        return;
    };
    let ann = create_api_key(&first.state.db, "ann", "upload read", None).await.unwrap().secret;
    let bob = create_api_key(&first.state.db, "bob", "upload read", None).await.unwrap().secret;
    let app = crate::web::restarted(first).await;
    let a = anns_things(&app, &ann, &root).await;
    let traces = [
        a.image.as_str(),
        &a.album,
        &a.execution,
        &a.webhook,
        &a.share,
        &a.bundle,
        &a.import,
        LABEL,
        "Ann's trip",
        "\"ann\"",
    ];
    let (image, album) = (&a.image, &a.album);
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/v1/img/{image}"), None),
        (Method::GET, format!("/api/v1/img/{image}.webp?thumbnail=64"), None),
        (Method::GET, format!("/api/v1/img/{image}/original"), None),
        (Method::GET, format!("/api/v1/img/{image}/executions"), None),
        (Method::GET, format!("/api/v1/img/{image}/labels"), None),
        (Method::POST, format!("/api/v1/img/{image}/reprocess"), None),
        (Method::DELETE, format!("/api/v1/img/{image}"), None),
        (Method::GET, "/api/v1/img".into(), None),
        (Method::GET, format!("/api/v1/img?label={LABEL}"), None),
        (Method::GET, format!("/api/v1/img?album={album}"), None),
        (Method::GET, "/api/v1/labels".into(), None),
        (Method::GET, "/api/v1/executions".into(), None),
        (Method::GET, format!("/api/v1/executions/{}", a.execution), None),
        (Method::GET, "/api/v1/albums".into(), None),
        (Method::GET, format!("/api/v1/albums/{album}"), None),
        (Method::PATCH, format!("/api/v1/albums/{album}"), Some(json!({"name": "mine"}))),
        (Method::DELETE, format!("/api/v1/albums/{album}"), None),
        (Method::POST, format!("/api/v1/albums/{album}/images"), Some(json!({"images": [image]}))),
        (Method::DELETE, format!("/api/v1/albums/{album}/images/{image}"), None),
        (Method::GET, "/api/v1/webhooks".into(), None),
        (Method::GET, format!("/api/v1/webhooks/{}", a.webhook), None),
        (Method::GET, format!("/api/v1/webhooks/{}/deliveries", a.webhook), None),
        (Method::DELETE, format!("/api/v1/webhooks/{}", a.webhook), None),
        (Method::HEAD, a.upload.clone(), None),
        (Method::DELETE, a.upload.clone(), None),
        (Method::GET, "/api/v1/admin/flagged".into(), None),
        (Method::GET, "/api/v1/shares".into(), None),
        (Method::GET, format!("/api/v1/shares/{}/access", a.share), None),
        (Method::DELETE, format!("/api/v1/shares/{}", a.share), None),
        (Method::GET, "/api/v1/bundles".into(), None),
        (Method::GET, format!("/api/v1/bundles/{}", a.bundle), None),
        (Method::GET, format!("/api/v1/bundles/{}/zip", a.bundle), None),
        (Method::GET, "/api/v1/imports".into(), None),
        (Method::GET, format!("/api/v1/imports/{}", a.import), None),
        (Method::DELETE, format!("/api/v1/imports/{}", a.import), None),
    ];
    for (method, path, body) in &routes {
        for (who, key) in [("bob", Some(bob.as_str())), ("a guest", None)] {
            let answer = send(&app, key, method.clone(), path, body.clone()).await;
            let status = answer.status();
            let text = answer.text().await.unwrap();
            let refused = [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&status);
            assert!(
                refused || (key.is_some() && status == StatusCode::OK),
                "{who}: {method} {path} → {status}: {text}"
            );
            if key.is_none() {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "a guest: {method} {path}");
            }
            // A refusal may repeat the id it was asked about, nothing else.
            for trace in traces.iter().filter(|t| !(refused && path.contains(*t))) {
                assert!(!text.contains(trace), "{who}: {method} {path} shows {trace}: {text}");
            }
        }
    }
    // Nothing of ann's changed, and her own key still reads it all.
    for path in [
        format!("/api/v1/img/{image}"),
        format!("/api/v1/albums/{album}"),
        format!("/api/v1/webhooks/{}", a.webhook),
        format!("/api/v1/shares/{}/access", a.share),
        format!("/api/v1/bundles/{}", a.bundle),
        format!("/api/v1/imports/{}", a.import),
    ] {
        assert_eq!(send(&app, Some(&ann), Method::GET, &path, None).await.status(), 200, "{path}");
    }
    assert_eq!(send(&app, Some(&ann), Method::HEAD, &a.upload, None).await.status(), 200);
    app.shutdown().await;
}

async fn the_event_stream_carries_only_the_caller_s_events(backend: Backend) {
    let Some(first) = TestApp::spawn(backend, |_| {}).await else { return };
    let ann = create_api_key(&first.state.db, "ann", "upload read", None).await.unwrap().secret;
    let bob = create_api_key(&first.state.db, "bob", "upload read", None).await.unwrap().secret;
    let app = crate::web::restarted(first).await;
    let bobs_stream = app.client.get(app.url("/api/v1/events")).bearer_auth(&bob).send().await.unwrap();
    assert_eq!(app.client.get(app.url("/api/v1/events")).send().await.unwrap().status(), 401);
    let anns = crate::web::upload_as(&app, &ann).await;
    let bobs = crate::web::upload_as(&app, &bob).await;
    app.drain().await;
    let seen = crate::web_library::read_stream_until(bobs_stream, "image.processed", Duration::from_secs(30)).await;
    assert!(seen.contains(&bobs), "bob sees his own events: {seen}");
    assert!(!seen.contains(&anns), "and none of ann's: {seen}");
    app.shutdown().await;
}

both_backends!(the_api_shows_no_one_else_s_things, the_event_stream_carries_only_the_caller_s_events);
