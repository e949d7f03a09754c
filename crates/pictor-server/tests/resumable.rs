//! Resumable uploads over tus 1.0.0, black-box over HTTP on both backends:
//! the protocol's answers (discovery, creation, offsets, versions, media
//! types, termination, expiration), that a complete upload lands exactly one
//! image with the right bytes, that refused bytes leave nothing behind, that
//! a chunk cut mid-body keeps what arrived and the upload resumes from
//! there, and that an independent client, PyPI's `tuspy`, uploads a photo
//! of the corpus in small chunks.

use crate::common;

use std::time::Duration;

use common::*;
use pictor_core::auth::create_api_key;
use pictor_server::config::Config;
use pictor_store::Digests;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

const CHUNK: &str = "application/offset+octet-stream";

/// A tus client speaking for one caller.
#[derive(Clone, Copy)]
struct Tus<'a> {
    app: &'a TestApp,
    key: Option<&'a str>,
}

impl<'a> Tus<'a> {
    fn open(app: &'a TestApp) -> Self {
        Self { app, key: None }
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.app.client.request(method, self.app.url(path)).header("tus-resumable", "1.0.0");
        match self.key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    /// Starts an upload; returns its path, asserting 201.
    async fn create(&self, length: usize, metadata: &str) -> String {
        let response = self.creation(length, metadata).await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        assert_eq!(header(&response, "upload-offset"), "0");
        header(&response, "location")
    }

    async fn creation(&self, length: usize, metadata: &str) -> Response {
        let request = self.request(Method::POST, "/api/v1/uploads").header("upload-length", length.to_string());
        let request = if metadata.is_empty() { request } else { request.header("upload-metadata", metadata) };
        request.send().await.unwrap()
    }

    async fn patch(&self, path: &str, offset: usize, bytes: &[u8]) -> Response {
        self.request(Method::PATCH, path)
            .header("upload-offset", offset.to_string())
            .header("content-type", CHUNK)
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap()
    }

    async fn head(&self, path: &str) -> Response {
        self.request(Method::HEAD, path).send().await.unwrap()
    }

    /// The upload's offset, asserting 200.
    async fn offset(&self, path: &str) -> usize {
        let response = self.head(path).await;
        assert_eq!(response.status(), 200, "{path}");
        header(&response, "upload-offset").parse().unwrap()
    }
}

fn header(response: &Response, name: &str) -> String {
    let value = response.headers().get(name).unwrap_or_else(|| panic!("no {name} in {:?}", response.headers()));
    value.to_str().unwrap().to_string()
}

fn b64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A large real photo from the corpus, or (saying so) a generated JPEG.
fn photo() -> Vec<u8> {
    let picked = corpus().map(|dir| dir.join("camera_exif/metadata-extractor/jpg/Leica T (Typ 701).jpg"));
    match picked.filter(|p| p.is_file()) {
        Some(path) => std::fs::read(path).unwrap(),
        None => {
            skip("the corpus photo is absent: a generated JPEG stands in");
            jpeg(1200, 900)
        }
    }
}

/// The image's record, asserting 200.
async fn image(app: &TestApp, key: Option<&str>, id: &str) -> Value {
    let request = app.client.get(app.url(&format!("/api/v1/img/{id}")));
    let request = match key {
        Some(key) => request.bearer_auth(key),
        None => request,
    };
    let response = request.header("accept", "application/json").send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn image_count(app: &TestApp) -> usize {
    let listing: Value = app.client.get(app.url("/api/v1/img")).send().await.unwrap().json().await.unwrap();
    listing["images"].as_array().unwrap().len()
}

/// The staging objects left in the store for `path`'s upload.
async fn staged(app: &TestApp, path: &str) -> usize {
    let id = path.rsplit('/').next().unwrap();
    app.state.store.list_objects(&format!("uploads/{id}")).await.unwrap().len()
}

/// Sends `bytes[from..]` in chunks of `size`; returns the last answer.
async fn send_rest(tus: Tus<'_>, path: &str, bytes: &[u8], from: usize, size: usize) -> Response {
    let mut offset = from;
    loop {
        let end = (offset + size).min(bytes.len());
        let response = tus.patch(path, offset, &bytes[offset..end]).await;
        assert_eq!(response.status(), 204, "{}", response.text().await.unwrap());
        assert_eq!(header(&response, "upload-offset"), end.to_string());
        assert_eq!(header(&response, "tus-resumable"), "1.0.0");
        if end == bytes.len() {
            return response;
        }
        offset = end;
    }
}

/// Checks that the finished upload at `path` is the one image `id`, with
/// `bytes`' content, and that no part of it is left in the store.
async fn assert_landed(app: &TestApp, tus: Tus<'_>, path: &str, id: &str, bytes: &[u8]) -> Value {
    let record = image(app, tus.key, id).await;
    assert_eq!(record["sha256"], Digests::of(bytes).sha256);
    assert_eq!(record["bytes"], bytes.len());
    let head = tus.head(path).await;
    assert_eq!(header(&head, "upload-offset"), bytes.len().to_string());
    assert_eq!(header(&head, "pictor-image-id"), id);
    assert_eq!(staged(app, path).await, 0, "the parts are deleted once the image landed");
    record
}

async fn chunked_upload_lands_one_image_with_its_bytes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let tus = Tus::open(&app);
    let bytes = photo();
    let metadata = format!("filename {},filetype {},flag", b64("leica.jpg"), b64("image/jpeg"));
    let path = tus.create(bytes.len(), &metadata).await;
    assert!(path.starts_with("/api/v1/uploads/") && path.len() >= 48, "{path}");
    let third = bytes.len() / 3;
    let first = tus.patch(&path, 0, &bytes[..third]).await;
    assert_eq!(first.status(), 204);
    assert!(first.headers().get("pictor-image-id").is_none());
    assert!(header(&first, "upload-expires").ends_with(" GMT"));
    let head = tus.head(&path).await;
    assert_eq!(head.status(), 200);
    assert_eq!(header(&head, "upload-offset"), third.to_string());
    assert_eq!(header(&head, "upload-length"), bytes.len().to_string());
    assert_eq!(header(&head, "cache-control"), "no-store");
    assert_eq!(header(&head, "tus-resumable"), "1.0.0");
    let echoed = header(&head, "upload-metadata");
    assert!(echoed.contains(&format!("filename {}", b64("leica.jpg"))) && echoed.contains("flag"), "{echoed}");
    assert_eq!(staged(&app, &path).await, 1);

    let last = send_rest(tus, &path, &bytes, third, bytes.len() / 4 + 1).await;
    let id = header(&last, "pictor-image-id");
    assert_eq!(header(&last, "link"), format!("</api/v1/img/{id}>; rel=\"related\""));
    assert!(last.headers().get("pictor-duplicate-of").is_none());
    let record = assert_landed(&app, tus, &path, &id, &bytes).await;
    assert_eq!((record["name"].as_str(), record["source"].as_str()), (Some("leica.jpg"), Some("tus")));
    assert_eq!(image_count(&app).await, 1);
    // A chunk sent again after the end changes nothing.
    let again = tus.patch(&path, bytes.len(), b"").await;
    assert_eq!((again.status().as_u16(), header(&again, "pictor-image-id")), (204, id.clone()));
    assert_problem(tus.patch(&path, 0, &bytes[..10]).await, 409, "conflict").await;
    assert_eq!(image_count(&app).await, 1);

    // The same content again lands, and says whose duplicate it is.
    let second = tus.create(bytes.len(), "").await;
    let last = send_rest(tus, &second, &bytes, 0, 40 << 20).await;
    assert_eq!(header(&last, "pictor-duplicate-of"), id);
    assert_eq!(header(&tus.head(&second).await, "pictor-duplicate-of"), id);
    app.shutdown().await;
}

async fn creation_with_upload_and_method_override(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let tus = Tus::open(&app);
    let bytes = jpeg(640, 480);
    // The whole file with the creation.
    let whole = tus
        .request(Method::POST, "/api/v1/uploads")
        .header("upload-length", bytes.len().to_string())
        .header("upload-metadata", format!("filename {}", b64("whole.jpg")))
        .header("content-type", CHUNK)
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(whole.status(), 201);
    assert_eq!(header(&whole, "upload-offset"), bytes.len().to_string());
    let path = header(&whole, "location");
    assert_landed(&app, tus, &path, &header(&whole, "pictor-image-id"), &bytes).await;

    // Half with the creation, the rest through POST + X-HTTP-Method-Override.
    let half = bytes.len() / 2;
    let started = tus
        .request(Method::POST, "/api/v1/uploads")
        .header("upload-length", bytes.len().to_string())
        .header("content-type", CHUNK)
        .body(bytes[..half].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!((started.status().as_u16(), header(&started, "upload-offset")), (201, half.to_string()));
    let path = header(&started, "location");
    let rest = tus
        .request(Method::POST, &path)
        .header("x-http-method-override", "PATCH")
        .header("upload-offset", half.to_string())
        .header("content-type", CHUNK)
        .body(bytes[half..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 204);
    assert_landed(&app, tus, &path, &header(&rest, "pictor-image-id"), &bytes).await;
    let deleted = tus.request(Method::POST, &path).header("x-http-method-override", "DELETE").send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(tus.head(&path).await.status(), 404);
    assert_eq!(image_count(&app).await, 2, "terminating a finished upload keeps its image");
    app.shutdown().await;
}

async fn protocol_errors_are_the_specified_ones(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let tus = Tus::open(&app);
    let discovery = app.client.request(Method::OPTIONS, app.url("/api/v1/uploads")).send().await.unwrap();
    assert_eq!(discovery.status(), 204);
    assert_eq!(header(&discovery, "tus-version"), "1.0.0");
    let extensions = header(&discovery, "tus-extension");
    for extension in ["creation", "creation-with-upload", "termination", "expiration"] {
        assert!(extensions.split(',').any(|e| e == extension), "{extensions}");
    }
    assert_eq!(header(&discovery, "tus-max-size"), "50000000");

    let path = tus.create(100, "").await;
    // Another version, or none: 412 with the versions spoken.
    for version in [Some("0.2.2"), None] {
        let mut request = app.client.head(app.url(&path));
        if let Some(version) = version {
            request = request.header("tus-resumable", version);
        }
        let refused = request.send().await.unwrap();
        assert_eq!(refused.status(), 412);
        assert_eq!(
            (header(&refused, "tus-version"), header(&refused, "tus-resumable")),
            ("1.0.0".into(), "1.0.0".into())
        );
    }
    let no_type =
        tus.request(Method::PATCH, &path).header("upload-offset", "0").body(vec![1u8; 10]).send().await.unwrap();
    assert_eq!(no_type.status(), 415);
    assert_eq!(header(&no_type, "tus-resumable"), "1.0.0");
    assert_problem(tus.patch(&path, 5, &[1u8; 10]).await, 409, "conflict").await;
    let no_offset =
        tus.request(Method::PATCH, &path).header("content-type", CHUNK).body(vec![1u8; 10]).send().await.unwrap();
    assert_problem(no_offset, 400, "invalid_request").await;
    assert_eq!(tus.offset(&path).await, 0, "refused chunks change nothing");
    for unknown in ["/api/v1/uploads/0123456789abcdef0123456789abcdef", "/api/v1/uploads/..%2F..%2Fblobs"] {
        let head = tus.head(unknown).await;
        assert_eq!((head.status().as_u16(), header(&head, "cache-control")), (404, "no-store".into()));
        assert_problem(tus.patch(unknown, 0, b"x").await, 404, "not_found").await;
    }
    assert_problem(tus.request(Method::POST, "/api/v1/uploads").send().await.unwrap(), 400, "invalid_request").await;
    let deferred =
        tus.request(Method::POST, "/api/v1/uploads").header("upload-defer-length", "1").send().await.unwrap();
    assert_problem(deferred, 400, "invalid_request").await;
    assert_problem(tus.creation(0, "").await, 400, "invalid_request").await;
    let bad_metadata = tus.creation(10, "filename not-base64!").await;
    assert_problem(bad_metadata, 400, "invalid_request").await;
    app.shutdown().await;
}

async fn oversize_is_refused_and_leaves_nothing(backend: Backend) {
    let tweak = |c: &mut Config| {
        c.limits.max_upload_bytes = 10_000;
        c.limits.upload_chunk_bytes = 4_000;
    };
    let Some(app) = TestApp::spawn(backend, tweak).await else { return };
    let tus = Tus::open(&app);
    let discovery = app.client.request(Method::OPTIONS, app.url("/api/v1/uploads")).send().await.unwrap();
    assert_eq!(header(&discovery, "tus-max-size"), "10000");
    assert_problem(tus.creation(10_001, "").await, 413, "payload_too_large").await;
    let path = tus.create(10_000, "").await;
    assert_problem(tus.patch(&path, 0, &[7u8; 4_001]).await, 413, "payload_too_large").await;
    assert_eq!(tus.offset(&path).await, 0);
    assert_eq!(tus.patch(&path, 0, &[7u8; 4_000]).await.status(), 204);
    assert_eq!(tus.patch(&path, 4_000, &[7u8; 4_000]).await.status(), 204);
    // Past the declared length.
    assert_problem(tus.patch(&path, 8_000, &[7u8; 2_001]).await, 413, "payload_too_large").await;
    assert_eq!(tus.offset(&path).await, 8_000);
    assert_eq!(staged(&app, &path).await, 2);
    assert_eq!(image_count(&app).await, 0);
    app.shutdown().await;
}

async fn a_non_image_is_refused_and_leaves_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let tus = Tus::open(&app);
    let text = b"just some words, certainly not an image ".repeat(100);
    let path = tus.create(text.len(), &format!("filename {}", b64("notes.txt"))).await;
    assert_eq!(tus.patch(&path, 0, &text[..1000]).await.status(), 204);
    assert_eq!(staged(&app, &path).await, 1);
    let refused = tus.patch(&path, 1000, &text[1000..]).await;
    assert_eq!(header(&refused, "tus-resumable"), "1.0.0");
    assert_problem(refused, 415, "unsupported_format").await;
    assert_eq!(tus.head(&path).await.status(), 404, "the upload is gone");
    assert_eq!(staged(&app, &path).await, 0, "its parts are gone");
    assert_eq!(image_count(&app).await, 0);
    assert!(!app.state.store.has_blob(&Digests::of(&text).sha256).await.unwrap());
    // Too many pixels: refused the same way, in one creation.
    let tweak_pixels = TestApp::spawn(backend, |c| c.limits.max_pixels = 1000).await;
    let Some(small) = tweak_pixels else { return };
    let bytes = jpeg(100, 100);
    let refused = Tus::open(&small)
        .request(Method::POST, "/api/v1/uploads")
        .header("upload-length", bytes.len().to_string())
        .header("content-type", CHUNK)
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_problem(refused, 413, "image_too_large").await;
    assert!(small.state.store.list_objects("uploads").await.unwrap().is_empty());
    assert_eq!(image_count(&small).await, 0);
    small.shutdown().await;
    app.shutdown().await;
}

/// Starts a server holding API keys with the upload scope for `owners`.
async fn spawn_with_keys(backend: Backend, owners: [&str; 2]) -> Option<(TestApp, [String; 2])> {
    let mut first = TestApp::spawn(backend, |_| {}).await?;
    let mut keys = Vec::new();
    for owner in owners {
        keys.push(create_api_key(&first.state.db, owner, "upload,read", None).await.unwrap().secret);
    }
    let config = first.state.config.clone();
    let dir = std::mem::replace(&mut first.dir, tempfile::tempdir().unwrap());
    first.shutdown().await;
    Some((TestApp::start(config, dir).await, keys.try_into().unwrap()))
}

/// Uploads `bytes` whole with its creation; returns the answer.
async fn upload_whole(tus: Tus<'_>, bytes: &[u8], metadata: &str) -> Response {
    let request = tus.request(Method::POST, "/api/v1/uploads").header("upload-length", bytes.len().to_string());
    request.header("upload-metadata", metadata).header("content-type", CHUNK).body(bytes.to_vec()).send().await.unwrap()
}

async fn uploads_go_into_their_album_and_dedupe_skips_copies(backend: Backend) {
    let Some((app, [ann, bob])) = spawn_with_keys(backend, ["ann", "bob"]).await else { return };
    let (tus, bobs) = (Tus { app: &app, key: Some(&ann) }, Tus { app: &app, key: Some(&bob) });
    let created = app.client.post(app.url("/api/v1/albums")).bearer_auth(&ann).json(&json!({"name": "Lakes"}));
    let album: Value = created.send().await.unwrap().json().await.unwrap();
    let album = album["id"].as_str().unwrap().to_string();
    let into = format!("filename {},album {},dedupe", b64("lake.jpg"), b64(&album));
    let anns =
        || async { app.state.db.list_images(Some("ann"), &Default::default(), None, 100).await.unwrap().images.len() };

    // Another's album is refused before any byte is sent.
    let refused = bobs.creation(10, &into).await;
    assert_eq!(refused.status(), 404);

    let bytes = jpeg(320, 240);
    let first = upload_whole(tus, &bytes, &into).await;
    assert_eq!(first.status(), 201);
    let id = header(&first, "pictor-image-id");
    assert!(first.headers().get("pictor-duplicate-of").is_none());
    // The same bytes again, with `dedupe`: the earlier photo, no copy.
    let again = upload_whole(tus, &bytes, &into).await;
    assert_eq!(again.status(), 201);
    assert_eq!((header(&again, "pictor-image-id"), header(&again, "pictor-duplicate-of")), (id.clone(), id.clone()));
    assert_eq!(anns().await, 1, "no copy stored");
    // Without `dedupe` (the API's way): a second image, named as a duplicate.
    let copy = upload_whole(tus, &bytes, &format!("filename {}", b64("copy.jpg"))).await;
    assert_eq!(header(&copy, "pictor-duplicate-of"), id);
    assert_eq!(anns().await, 2);

    let inside = app.client.get(app.url(&format!("/api/v1/albums/{album}"))).bearer_auth(&ann).send().await;
    let inside: Value = inside.unwrap().json().await.unwrap();
    assert_eq!(inside["photos"], 1, "the photo went into its album once: {inside}");
    app.shutdown().await;
}

async fn an_upload_is_its_owners_only(backend: Backend) {
    let Some((app, [alice, bob])) = spawn_with_keys(backend, ["alice", "bob"]).await else { return };
    let (as_alice, as_bob) = (Tus { app: &app, key: Some(alice.as_str()) }, Tus { app: &app, key: Some(bob.as_str()) });
    let bytes = jpeg(320, 240);
    let path = as_alice.create(bytes.len(), "").await;
    assert_eq!(as_alice.patch(&path, 0, &bytes[..100]).await.status(), 204);
    assert_eq!(as_bob.head(&path).await.status(), 404);
    assert_problem(as_bob.patch(&path, 100, &bytes[100..]).await, 404, "not_found").await;
    assert_problem(as_bob.request(Method::DELETE, &path).send().await.unwrap(), 404, "not_found").await;
    assert_problem(Tus::open(&app).patch(&path, 100, &bytes[100..]).await, 401, "unauthorized").await;
    assert_problem(Tus::open(&app).creation(10, "").await, 401, "unauthorized").await;
    assert_eq!(as_alice.offset(&path).await, 100);
    let last = as_alice.patch(&path, 100, &bytes[100..]).await;
    let id = header(&last, "pictor-image-id");
    assert_eq!(image(&app, Some(alice.as_str()), &id).await["owner"], "alice");
    app.shutdown().await;
}

/// Signs `name` in (a new account) on a server that is then restarted
/// closed; returns it with the session's cookie and CSRF token.
async fn spawn_with_session(backend: Backend, name: &str) -> Option<(TestApp, String, String)> {
    use pictor_core::accounts::{Password, Username, create_user, start_session};
    let mut first = TestApp::spawn(backend, |_| {}).await?;
    let password = Password::parse("a long enough password").unwrap();
    let user = create_user(&first.state.db, &Username::parse(name).unwrap(), Some(&password), false).await.unwrap();
    let session = start_session(&first.state.db, user).await.unwrap();
    let config = first.state.config.clone();
    let dir = std::mem::replace(&mut first.dir, tempfile::tempdir().unwrap());
    first.shutdown().await;
    let cookie = format!("{}={}", pictor_web::SESSION_COOKIE, session.token);
    Some((TestApp::start(config, dir).await, cookie, session.csrf))
}

async fn the_web_app_uploads_with_its_session_and_csrf_token(backend: Backend) {
    let Some((app, cookie, csrf)) = spawn_with_session(backend, "alice").await else { return };
    let tus = Tus::open(&app);
    let bytes = jpeg(320, 240);
    let create = |token: Option<&str>| {
        let request = tus.request(Method::POST, "/api/v1/uploads").header("cookie", &cookie);
        let request = request.header("upload-length", bytes.len().to_string());
        match token {
            Some(token) => request.header("x-csrf-token", token),
            None => request,
        }
    };
    // The cookie alone, or with another token, does not write.
    assert_problem(create(None).send().await.unwrap(), 401, "unauthorized").await;
    assert_problem(create(Some("forged")).send().await.unwrap(), 401, "unauthorized").await;
    let created = create(Some(&csrf)).send().await.unwrap();
    assert_eq!(created.status(), 201);
    let path = header(&created, "location");
    let chunk = tus
        .request(Method::PATCH, &path)
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .header("upload-offset", "0")
        .header("content-type", CHUNK)
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(chunk.status(), 204);
    let id = header(&chunk, "pictor-image-id");
    // Reading it back (HEAD, as after a page reload) needs the cookie only.
    let head = tus.request(Method::HEAD, &path).header("cookie", &cookie).send().await.unwrap();
    assert_eq!((head.status().as_u16(), header(&head, "pictor-image-id")), (200, id.clone()));
    let record = app.state.db.get_image(&id).await.unwrap().unwrap();
    assert_eq!(record.owner.as_deref(), Some("alice"));
    app.shutdown().await;
}

async fn termination_and_expiry_delete_the_parts(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |c| c.limits.open_uploads_per_owner = 2).await else { return };
    let tus = Tus::open(&app);
    let path = tus.create(1000, "").await;
    assert_eq!(tus.patch(&path, 0, &[1u8; 300]).await.status(), 204);
    assert_eq!(tus.patch(&path, 300, &[2u8; 300]).await.status(), 204);
    assert_eq!(staged(&app, &path).await, 2);
    let other = tus.create(1000, "").await;
    // Past limits.open_uploads_per_owner.
    assert_problem(tus.creation(1000, "").await, 429, "rate_limited").await;
    assert_eq!(tus.request(Method::DELETE, &path).send().await.unwrap().status(), 204);
    assert_eq!(staged(&app, &path).await, 0);
    assert_eq!(tus.head(&path).await.status(), 404);
    assert_problem(tus.request(Method::DELETE, &path).send().await.unwrap(), 404, "not_found").await;
    tus.create(1000, "").await;
    drop(other);
    app.shutdown().await;

    let Some(app) = TestApp::spawn(backend, |c| c.limits.upload_expiry_secs = 1).await else { return };
    let tus = Tus::open(&app);
    let path = tus.create(1000, "").await;
    assert_eq!(tus.patch(&path, 0, &[1u8; 300]).await.status(), 204);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(tus.head(&path).await.status(), 410);
    assert_problem(tus.patch(&path, 300, &[1u8; 300]).await, 410, "gone").await;
    pictor_core::resumable::sweep_expired(&app.state).await;
    assert_eq!(tus.head(&path).await.status(), 404);
    assert_eq!(staged(&app, &path).await, 0);
    app.shutdown().await;
}

async fn racing_chunks_land_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let tus = Tus::open(&app);
    let bytes = jpeg(800, 600);
    let path = tus.create(bytes.len(), "").await;
    let (a, b) = tokio::join!(tus.patch(&path, 0, &bytes[..1000]), tus.patch(&path, 0, &bytes[..2000]));
    let statuses = [a.status().as_u16(), b.status().as_u16()];
    assert!(statuses.contains(&204) && statuses.contains(&409), "{statuses:?}");
    let won = if a.status() == 204 { a } else { b };
    let offset: usize = header(&won, "upload-offset").parse().unwrap();
    assert_eq!(tus.offset(&path).await, offset);
    assert_eq!(staged(&app, &path).await, 1, "the loser's part is deleted");
    let last = send_rest(tus, &path, &bytes, offset, 1 << 20).await;
    assert_landed(&app, tus, &path, &header(&last, "pictor-image-id"), &bytes).await;
    app.shutdown().await;
}

/// Sends a PATCH's headers and only the first `sent` of `chunk`'s bytes
/// over a raw connection, then hangs up: the network cut mid-body.
async fn patch_cut_short(app: &TestApp, path: &str, offset: usize, chunk: &[u8], sent: usize) {
    let stream = patch_half_sent(app, path, offset, chunk, sent).await;
    // Let the server read what was sent before the connection goes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(stream);
}

/// Sends a PATCH's headers and the first `sent` of `chunk`'s bytes over a
/// raw connection, and returns the connection, open.
async fn patch_half_sent(app: &TestApp, path: &str, offset: usize, chunk: &[u8], sent: usize) -> tokio::net::TcpStream {
    let address = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: {address}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\n\
         Content-Type: {CHUNK}\r\nContent-Length: {}\r\n\r\n",
        chunk.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&chunk[..sent]).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

/// The upload's offset once it moved past `from`, polled for a while: the
/// server stores a cut chunk once it noticed the cut.
async fn offset_after(tus: Tus<'_>, path: &str, from: usize) -> usize {
    for _ in 0..100 {
        let offset = tus.offset(path).await;
        if offset > from {
            return offset;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the offset of {path} stayed at {from}: the cut chunk's bytes were lost");
}

async fn a_cut_connection_keeps_what_arrived_and_resumes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let tus = Tus::open(&app);
    let bytes = photo();
    let path = tus.create(bytes.len(), &format!("filename {}", b64("cut.jpg"))).await;
    // The whole file in one PATCH, cut after 40% of it.
    let sent = bytes.len() * 2 / 5;
    patch_cut_short(&app, &path, 0, &bytes, sent).await;
    let offset = offset_after(tus, &path, 0).await;
    assert!(offset > 0 && offset <= sent, "offset {offset} after {sent} bytes sent");
    // Again, from there, cut after another 30%.
    let more = bytes.len() * 3 / 10;
    patch_cut_short(&app, &path, offset, &bytes[offset..], more).await;
    let resumed = offset_after(tus, &path, offset).await;
    assert!(resumed > offset && resumed <= offset + more, "offset {resumed} after {} bytes sent", offset + more);
    // A client that missed the news is told where the upload is.
    assert_problem(tus.patch(&path, offset, &bytes[offset..offset + 10]).await, 409, "conflict").await;
    let last = tus.patch(&path, resumed, &bytes[resumed..]).await;
    assert_eq!(last.status(), 204);
    let id = header(&last, "pictor-image-id");
    let record = assert_landed(&app, tus, &path, &id, &bytes).await;
    assert_eq!(record["name"], "cut.jpg");
    assert_eq!(image_count(&app).await, 1, "the upload landed exactly once");
    app.shutdown().await;
}

async fn a_stalled_chunk_is_cut_keeping_what_arrived(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |c| c.limits.request_timeout_secs = 1).await else { return };
    let tus = Tus::open(&app);
    let bytes = jpeg(800, 600);
    let path = tus.create(bytes.len(), "").await;
    // The connection stays open, but nothing more comes: a network that
    // went silent. Past limits.request_timeout_secs the chunk is cut.
    let sent = bytes.len() / 2;
    let stalled = patch_half_sent(&app, &path, 0, &bytes, sent).await;
    assert_eq!(offset_after(tus, &path, 0).await, sent);
    let last = tus.patch(&path, sent, &bytes[sent..]).await;
    assert_landed(&app, tus, &path, &header(&last, "pictor-image-id"), &bytes).await;
    drop(stalled);
    app.shutdown().await;
}

both_backends!(
    chunked_upload_lands_one_image_with_its_bytes,
    a_stalled_chunk_is_cut_keeping_what_arrived,
    creation_with_upload_and_method_override,
    protocol_errors_are_the_specified_ones,
    oversize_is_refused_and_leaves_nothing,
    a_non_image_is_refused_and_leaves_nothing,
    an_upload_is_its_owners_only,
    the_web_app_uploads_with_its_session_and_csrf_token,
    termination_and_expiry_delete_the_parts,
    racing_chunks_land_once,
    a_cut_connection_keeps_what_arrived_and_resumes,
    uploads_go_into_their_album_and_dedupe_skips_copies,
);

// ------------------------------------------------- an independent client

/// What the Python side runs: `tuspy` uploads a file in small chunks
/// (one request each) and prints the upload's URL.
const TUSPY: &str = r#"
import sys
from tusclient import client
endpoint, path, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3])
uploader = client.TusClient(endpoint).uploader(
    file_path=path, chunk_size=chunk, metadata={"filename": "tuspy.jpg"}, retries=2, retry_delay=1)
uploader.upload()
print(uploader.url)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tuspy_uploads_a_corpus_photo_in_small_chunks() {
    let probe = std::process::Command::new("python3").args(["-c", "import tusclient"]).output();
    if !probe.is_ok_and(|p| p.status.success()) {
        skip("the tuspy check is skipped: python3 -m pip install tuspy (.ci/run does)");
        return;
    }
    let Some(corpus) = corpus() else { return };
    let file = corpus.join("camera_exif/metadata-extractor/jpg/Nexus 4.jpg");
    let bytes = std::fs::read(&file).unwrap();
    let app = TestApp::spawn(Backend::Local, |_| {}).await.unwrap();
    let endpoint = app.url("/api/v1/uploads");
    let chunk = (bytes.len() / 7).to_string();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3").args(["-c", TUSPY, &endpoint]).arg(&file).arg(&chunk).output().unwrap()
    })
    .await
    .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "tuspy failed:
{said}"
    );
    let url = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let path = url.strip_prefix(&app.base).unwrap_or_else(|| panic!("{url} is not on {}", app.base)).to_string();
    let tus = Tus::open(&app);
    let id = header(&tus.head(&path).await, "pictor-image-id");
    let record = assert_landed(&app, tus, &path, &id, &bytes).await;
    assert_eq!((record["name"].as_str(), record["format"].as_str()), (Some("tuspy.jpg"), Some("jpeg")));
    assert_eq!(image_count(&app).await, 1);
    app.shutdown().await;
}

/// The web app's tus client is served as published (the sha256 that
/// `crates/pictor-web/assets/PROVENANCE.md` records) and cached for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tus_js_client_asset_is_served_as_published() {
    let app = TestApp::spawn(Backend::Local, |_| {}).await.unwrap();
    let response = app.client.get(app.url("/assets/tus-js-client-4.3.1.min.js")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(header(&response, "cache-control").contains("immutable"));
    assert!(header(&response, "content-type").starts_with("text/javascript"));
    let body = response.bytes().await.unwrap();
    let provenance = include_str!("../../pictor-web/assets/PROVENANCE.md");
    assert!(provenance.contains(&Digests::of(&body).sha256), "the served file is not the recorded one");
    app.shutdown().await;
}
