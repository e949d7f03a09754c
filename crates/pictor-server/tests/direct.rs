//! Direct uploads: presigned PUT URLs and S3 POST forms, then `complete`.
//! On the PostgreSQL + S3 variant the bytes go to s3s-fs, which checks
//! SigV4 signatures and policies itself; on the local store the server
//! serves the same URLs and forms, with the same checks.

use crate::common;

use std::time::Duration;

use common::*;
use pictor_core::auth::create_api_key;
use reqwest::Response;
use serde_json::{Value, json};
use sha2::Digest as _;

/// A client for one caller (anonymous on an open server).
#[derive(Clone, Copy)]
struct Caller<'a> {
    app: &'a TestApp,
    key: Option<&'a str>,
}

impl<'a> Caller<'a> {
    fn open(app: &'a TestApp) -> Self {
        Self { app, key: None }
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        let request = self.app.client.post(self.app.url(path));
        match self.key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    async fn ask(&self, body: Value) -> Response {
        self.post("/api/v1/uploads").json(&body).send().await.unwrap()
    }

    /// Asks for one upload; returns its ticket, asserting 200.
    async fn ticket(&self, name: &str, size: usize, content_type: &str, form: &str) -> Value {
        let body = json!({"files": [{"name": name, "size": size, "content_type": content_type}], "form": form});
        let response = self.ask(body).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        assert_eq!(response.headers()["cache-control"], "no-store");
        let answer: Value = response.json().await.unwrap();
        answer["uploads"][0].clone()
    }

    async fn complete(&self, ticket: &Value) -> Response {
        self.post(&format!("/api/v1/uploads/{}/complete", ticket["id"].as_str().unwrap())).send().await.unwrap()
    }
}

/// Sends `bytes` as the ticket says (PUT with its headers, or its POST
/// form), with `content_type` on the PUT or in the form.
async fn send(app: &TestApp, ticket: &Value, bytes: &[u8], content_type: &str) -> Response {
    let url = ticket["url"].as_str().unwrap();
    if ticket["method"] == "POST" {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in ticket["fields"].as_object().unwrap() {
            let value = if name == "Content-Type" { content_type } else { value.as_str().unwrap() };
            form = form.text(name.clone(), value.to_string());
        }
        let part = reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("f").mime_str(content_type).unwrap();
        app.client.post(url).multipart(form.part("file", part)).send().await.unwrap()
    } else {
        assert_eq!(ticket["method"], "PUT");
        app.client.put(url).header("content-type", content_type).body(bytes.to_vec()).send().await.unwrap()
    }
}

/// Sends a form with one field changed.
async fn send_form_with(app: &TestApp, ticket: &Value, bytes: &[u8], field: &str, value: &str) -> Response {
    let mut form = reqwest::multipart::Form::new();
    for (name, sent) in ticket["fields"].as_object().unwrap() {
        let sent = if name == field { value } else { sent.as_str().unwrap() };
        form = form.text(name.clone(), sent.to_string());
    }
    let part = reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("f").mime_str("image/jpeg").unwrap();
    app.client.post(ticket["url"].as_str().unwrap()).multipart(form.part("file", part)).send().await.unwrap()
}

/// Every staging object of direct uploads left in the store.
async fn staged(app: &TestApp) -> usize {
    app.state.store.list_objects("direct").await.unwrap().len()
}

async fn image_count(app: &TestApp, key: Option<&str>) -> usize {
    let request = app.client.get(app.url("/api/v1/img"));
    let request = match key {
        Some(key) => request.bearer_auth(key),
        None => request,
    };
    let listing: Value = request.send().await.unwrap().json().await.unwrap();
    listing["images"].as_array().unwrap().len()
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Nothing of a refused upload remains: no image, no blob, no staging object.
async fn assert_nothing_left(app: &TestApp, bytes: &[u8]) {
    assert_eq!(image_count(app, None).await, 0);
    assert!(!app.state.store.has_blob(&sha256(bytes)).await.unwrap());
    assert_eq!(staged(app).await, 0);
}

/// The URL goes to the store itself on S3, to this server on a local store.
fn assert_goes_to_the_store(app: &TestApp, backend: Backend, ticket: &Value) {
    let url = ticket["url"].as_str().unwrap();
    match backend {
        Backend::Local => assert!(url.starts_with(&format!("{}/api/v1/direct", app.base)), "{url}"),
        Backend::PostgresS3 => assert!(!url.starts_with(&app.base) && url.contains("pictor-test"), "{url}"),
    }
}

async fn put_and_post_land_as_processed_images(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |c| c.workflow.run_workers = false).await else { return };
    let caller = Caller::open(&app);
    for (form, bytes) in [("put", jpeg(64, 48)), ("post", jpeg(48, 64))] {
        let ticket = caller.ticket("beach.jpg", bytes.len(), "image/jpeg", form).await;
        assert_goes_to_the_store(&app, backend, &ticket);
        assert_eq!(ticket["method"], form.to_uppercase());
        // Nothing has arrived yet: the upload waits.
        assert_problem(caller.complete(&ticket).await, 409, "conflict").await;
        let sent = send(&app, &ticket, &bytes, "image/jpeg").await;
        assert!(sent.status().is_success(), "{form}: {} {}", sent.status(), sent.text().await.unwrap());
        assert_eq!(staged(&app).await, 1);

        let landed = caller.complete(&ticket).await;
        assert_eq!(landed.status(), 201, "{form}");
        let location = landed.headers()["location"].to_str().unwrap().to_string();
        let image: Value = landed.json().await.unwrap();
        assert_eq!(location, format!("/api/v1/img/{}", image["id"].as_str().unwrap()));
        assert_eq!((image["source"].as_str(), image["name"].as_str()), (Some("direct"), Some("beach.jpg")));
        assert_eq!(image["sha256"], sha256(&bytes));
        assert_eq!(image["bytes"], bytes.len());
        assert_eq!(staged(&app).await, 0, "the staging object goes once landed");
        // Completing again answers the same image.
        let again: Value = caller.complete(&ticket).await.json().await.unwrap();
        assert_eq!(again["id"], image["id"]);

        // The same workflow as any upload: image.created → processed.
        app.drain().await;
        let id = image["id"].as_str().unwrap();
        let record: Value =
            app.client.get(app.url(&format!("/api/v1/img/{id}"))).send().await.unwrap().json().await.unwrap();
        assert_eq!(record["status"], "processed", "{record}");
        let original = app.client.get(app.url(&format!("/api/v1/img/{id}/original"))).send().await.unwrap();
        assert_eq!(original.bytes().await.unwrap(), bytes);
    }
    // A file whose content is stored already needs no upload.
    let bytes = jpeg(64, 48);
    let body = json!({"files": [
        {"name": "again.jpg", "size": bytes.len(), "content_type": "image/jpeg", "sha256": sha256(&bytes)},
        {"name": "new.png", "size": 10, "content_type": "image/png", "sha256": "ab".repeat(32)},
    ]});
    let answer: Value = caller.ask(body).await.json().await.unwrap();
    let [duplicate, new] = answer["uploads"].as_array().unwrap().as_slice() else { panic!("{answer}") };
    assert!(duplicate["duplicate_of"].is_string() && duplicate["url"].is_null(), "{duplicate}");
    assert!(new["duplicate_of"].is_null() && new["url"].is_string(), "{new}");
    assert_eq!(new["headers"]["Content-Type"], "image/png");
    app.shutdown().await;
}

async fn bad_requests_are_problems(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |c| {
        c.limits.max_upload_bytes = 1000;
        c.limits.open_uploads_per_owner = 3;
    })
    .await
    else {
        return;
    };
    let caller = Caller::open(&app);
    let file =
        |name: &str, size: usize, content_type: &str| json!({"name": name, "size": size, "content_type": content_type});
    let cases = [
        (json!({"files": []}), 400, "invalid_request"),
        (json!({"files": [file("a.jpg", 10, "image/jpeg")], "form": "ftp"}), 400, "invalid_request"),
        (json!({"files": [file("a.jpg", 1001, "image/jpeg")]}), 413, "payload_too_large"),
        (json!({"files": [file("a.jpg", 0, "image/jpeg")]}), 400, "invalid_request"),
        (json!({"files": [file("a.html", 10, "text/html")]}), 415, "unsupported_format"),
        (json!({"files": [file("", 10, "image/jpeg")]}), 400, "invalid_request"),
        (json!({"files": [{"name": "a", "size": -1, "content_type": "image/jpeg"}]}), 400, "invalid_request"),
        (json!({"files": [file("a.jpg", 10, "image/jpeg")], "extra": 1}), 400, "invalid_request"),
        (
            json!({"files": [{"name": "a", "size": 1, "content_type": "image/jpeg", "sha256": "xyz"}]}),
            400,
            "invalid_request",
        ),
    ];
    for (body, status, code) in cases {
        assert_problem(caller.ask(body).await, status, code).await;
    }
    let not_json =
        caller.post("/api/v1/uploads").header("content-type", "application/json").body("{").send().await.unwrap();
    assert_problem(not_json, 400, "invalid_request").await;
    // limits.open_uploads_per_owner: all or none.
    let four = json!({"files": [file("a.jpg", 10, "image/jpeg"), file("b.jpg", 10, "image/jpeg"),
        file("c.jpg", 10, "image/jpeg"), file("d.jpg", 10, "image/jpeg")]});
    assert_problem(caller.ask(four).await, 429, "rate_limited").await;
    caller.ticket("a.jpg", 10, "image/jpeg", "put").await;
    // The tus protocol is untouched on the same route.
    let tus = app
        .client
        .post(app.url("/api/v1/uploads"))
        .header("tus-resumable", "1.0.0")
        .header("upload-length", "100")
        .send()
        .await
        .unwrap();
    assert_eq!(tus.status(), 201);
    let no_version = app.client.post(app.url("/api/v1/uploads")).header("upload-length", "100").send().await.unwrap();
    assert_eq!(no_version.status(), 412);
    app.shutdown().await;
}

async fn tampered_uploads_are_refused_and_leave_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let caller = Caller::open(&app);
    let bytes = jpeg(40, 30);

    // A PUT URL with another signature.
    let ticket = caller.ticket("a.jpg", bytes.len(), "image/jpeg", "put").await;
    let url = ticket["url"].as_str().unwrap();
    let at = url.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let flipped = if &url[at..=at] == "0" { "1" } else { "0" };
    let mut forged = ticket.clone();
    forged["url"] = json!(format!("{}{flipped}{}", &url[..at], &url[at + 1..]));
    assert_eq!(send(&app, &forged, &bytes, "image/jpeg").await.status(), 403);
    // A PUT URL for another key, with this one's signature.
    let mut moved = ticket.clone();
    moved["url"] = json!(url.replacen("/a.jpg?", "/b.jpg?", 1));
    assert_eq!(send(&app, &moved, &bytes, "image/jpeg").await.status(), 403);
    assert_problem(caller.complete(&ticket).await, 409, "conflict").await;
    assert_nothing_left(&app, &bytes).await;

    // A POST policy widened (to a bigger content-length-range): the
    // signature no longer matches.
    let ticket = caller.ticket("a.jpg", bytes.len(), "image/jpeg", "post").await;
    let policy = ticket["fields"]["policy"].as_str().unwrap();
    let decoded =
        String::from_utf8(base64::engine::Engine::decode(&base64::engine::general_purpose::STANDARD, policy).unwrap())
            .unwrap();
    let widened = decoded.replace(&format!(",{}]", bytes.len()), ",1000000000]");
    assert_ne!(decoded, widened);
    let widened = base64::engine::Engine::encode(&base64::engine::general_purpose::STANDARD, widened);
    assert_eq!(send_form_with(&app, &ticket, &bytes, "policy", &widened).await.status(), 403);
    assert_eq!(send_form_with(&app, &ticket, &bytes, "x-amz-signature", &"0".repeat(64)).await.status(), 403);
    // A key outside the upload's prefix breaks the policy (S3 answers 400
    // InvalidPolicyDocument, the local store 403).
    let (key, prefix) =
        (ticket["fields"]["key"].as_str().unwrap(), format!("direct/{}/", ticket["id"].as_str().unwrap()));
    let elsewhere = key.replacen(&prefix, "direct/elsewhere/", 1);
    assert_ne!(elsewhere, key);
    let refused = send_form_with(&app, &ticket, &bytes, "key", &elsewhere).await.status();
    assert!(matches!(refused.as_u16(), 400 | 403), "{refused}");
    assert_problem(caller.complete(&ticket).await, 409, "conflict").await;
    if backend == Backend::Local {
        // The server's own checks, by code.
        let response = send_form_with(&app, &ticket, &bytes, "policy", &widened).await;
        assert_problem(response, 403, "signature_mismatch").await;
        let response = send_form_with(&app, &ticket, &bytes, "key", "direct/other/a.jpg").await;
        assert_problem(response, 403, "forbidden").await;
        assert_problem(send(&app, &forged, &bytes, "image/jpeg").await, 403, "signature_mismatch").await;
    }
    assert_nothing_left(&app, &bytes).await;
    app.shutdown().await;
}

async fn oversize_and_wrong_types_are_refused_and_leave_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let caller = Caller::open(&app);
    let bytes = jpeg(40, 30);

    // More bytes than declared: refused on arrival (the local store, S3's
    // POST policy) or at completion (a PUT to S3 cannot be bounded).
    for form in ["put", "post"] {
        let ticket = caller.ticket("a.jpg", bytes.len() - 10, "image/jpeg", form).await;
        let sent = send(&app, &ticket, &bytes, "image/jpeg").await;
        if sent.status().is_success() {
            assert_eq!(
                (backend, form),
                (Backend::PostgresS3, "put"),
                "only an S3 PUT takes it: {}",
                sent.text().await.unwrap()
            );
            assert_problem(caller.complete(&ticket).await, 413, "payload_too_large").await;
            // The refused upload is gone.
            assert_problem(caller.complete(&ticket).await, 404, "not_found").await;
        } else {
            assert!(matches!(sent.status().as_u16(), 400 | 413), "{form}: {}", sent.status());
            assert_problem(caller.complete(&ticket).await, 409, "conflict").await;
        }
        assert_nothing_left(&app, &bytes).await;
    }

    // Sent with another Content-Type than declared: a POST form's policy
    // refuses it on both; a local PUT on arrival; an S3 PUT at completion
    // (the object keeps the type it was sent with).
    for form in ["put", "post"] {
        let ticket = caller.ticket("a.jpg", bytes.len(), "image/jpeg", form).await;
        let sent = send(&app, &ticket, &bytes, "image/gif").await;
        if sent.status().is_success() {
            assert_eq!(
                (backend, form),
                (Backend::PostgresS3, "put"),
                "only an S3 PUT takes it: {}",
                sent.text().await.unwrap()
            );
            assert_problem(caller.complete(&ticket).await, 415, "unsupported_format").await;
        } else {
            // s3s answers a broken policy condition 400, as S3 does.
            assert!(matches!(sent.status().as_u16(), 400 | 403 | 415), "{form}: {}", sent.status());
            assert_problem(caller.complete(&ticket).await, 409, "conflict").await;
        }
        assert_nothing_left(&app, &bytes).await;
    }

    // Declared and sent as PNG, but the bytes are a JPEG: refused at
    // completion on both backends, by its content.
    for form in ["put", "post"] {
        let ticket = caller.ticket("a.png", bytes.len(), "image/png", form).await;
        let sent = send(&app, &ticket, &bytes, "image/png").await;
        assert!(sent.status().is_success(), "{form}: {}", sent.status());
        let refused = assert_problem(caller.complete(&ticket).await, 415, "unsupported_format").await;
        assert!(refused["detail"].as_str().unwrap().contains("image/jpeg"), "{refused}");
        assert_problem(caller.complete(&ticket).await, 404, "not_found").await;
        assert_nothing_left(&app, &bytes).await;
    }

    // Not an image at all, declared as one.
    let text = b"<html>not an image</html>".to_vec();
    let ticket = caller.ticket("a.jpg", text.len(), "image/jpeg", "put").await;
    assert!(send(&app, &ticket, &text, "image/jpeg").await.status().is_success());
    assert_problem(caller.complete(&ticket).await, 415, "unsupported_format").await;
    assert_nothing_left(&app, &text).await;
    app.shutdown().await;
}

async fn expired_urls_are_refused_and_the_janitor_sweeps(backend: Backend) {
    // 2 s: a URL's date is in whole seconds, so a 1 s URL may have only
    // milliseconds left when it is made, too few for the abandoned one's PUT.
    let Some(app) = TestApp::spawn(backend, |c| c.direct.expiry_secs = 2).await else { return };
    let caller = Caller::open(&app);
    let bytes = jpeg(40, 30);
    let put = caller.ticket("a.jpg", bytes.len(), "image/jpeg", "put").await;
    let post = caller.ticket("b.jpg", bytes.len(), "image/jpeg", "post").await;
    // One is sent in time and never completed: abandoned.
    let abandoned = caller.ticket("c.jpg", bytes.len(), "image/jpeg", "put").await;
    let sent = send(&app, &abandoned, &bytes, "image/jpeg").await;
    assert!(sent.status().is_success(), "{}", sent.text().await.unwrap());
    tokio::time::sleep(Duration::from_millis(3100)).await;
    for ticket in [&put, &post] {
        let late = send(&app, ticket, &bytes, "image/jpeg").await;
        // The local store says gone; S3 says access denied.
        let expected = if backend == Backend::Local { 410 } else { 403 };
        assert_eq!(late.status(), expected, "{}", late.text().await.unwrap());
        assert_problem(caller.complete(ticket).await, 409, "conflict").await;
    }
    assert_eq!(staged(&app).await, 1);
    // The janitor, once the uploads' time is up, deletes them and the object.
    let later = pictor_db::now_ms() + 2 * 3600 * 1000;
    assert_eq!(pictor_core::direct::sweep_expired(&app.state, later).await, 3);
    assert_nothing_left(&app, &bytes).await;
    assert_problem(caller.complete(&abandoned).await, 404, "not_found").await;
    app.shutdown().await;
}

async fn another_account_cannot_complete_or_see_your_upload(backend: Backend) {
    let Some(mut first) = TestApp::spawn(backend, |_| {}).await else { return };
    let mut keys = Vec::new();
    for owner in ["alice", "bob"] {
        keys.push(create_api_key(&first.state.db, owner, "upload,read", None).await.unwrap().secret);
    }
    let config = first.state.config.clone();
    let dir = std::mem::replace(&mut first.dir, tempfile::tempdir().unwrap());
    first.shutdown().await;
    let app = TestApp::start(config, dir).await;
    let alice = Caller { app: &app, key: Some(&keys[0]) };
    let bob = Caller { app: &app, key: Some(&keys[1]) };
    let anonymous = Caller::open(&app);

    assert_problem(
        anonymous.ask(json!({"files": [{"name": "a", "size": 1, "content_type": "image/png"}]})).await,
        401,
        "unauthorized",
    )
    .await;
    let bytes = png(20, 20);
    let ticket = alice.ticket("mine.png", bytes.len(), "image/png", "put").await;
    assert!(send(&app, &ticket, &bytes, "image/png").await.status().is_success());
    assert_problem(bob.complete(&ticket).await, 404, "not_found").await;
    assert_problem(anonymous.complete(&ticket).await, 401, "unauthorized").await;
    let image: Value = alice.complete(&ticket).await.json().await.unwrap();
    assert_eq!(image["owner"], "alice");
    assert_problem(bob.complete(&ticket).await, 404, "not_found").await;
    // Bob's duplicate check does not see Alice's images.
    let body = json!({"files": [{"name": "x.png", "size": bytes.len(), "content_type": "image/png", "sha256": sha256(&bytes)}]});
    let answer: Value = bob.ask(body.clone()).await.json().await.unwrap();
    assert!(answer["uploads"][0]["duplicate_of"].is_null() && answer["uploads"][0]["url"].is_string(), "{answer}");
    let answer: Value = alice.ask(body).await.json().await.unwrap();
    assert_eq!(answer["uploads"][0]["duplicate_of"], image["id"]);
    assert_eq!(image_count(&app, Some(&keys[1])).await, 0);
    app.shutdown().await;
}

both_backends!(
    put_and_post_land_as_processed_images,
    bad_requests_are_problems,
    tampered_uploads_are_refused_and_leave_nothing,
    oversize_and_wrong_types_are_refused_and_leave_nothing,
    expired_urls_are_refused_and_the_janitor_sweeps,
    another_account_cannot_complete_or_see_your_upload,
);
