//! The web app's library, black-box over HTTP on both backends: albums
//! (pages and API), live status over `/live`, API keys on the settings
//! page, the upload page's session writes, placeholders, and a privacy
//! matrix: every page and route with a second user and with no credentials.

use std::time::Duration;

use crate::common;
use crate::web::{account, browser, hidden, restarted, set_cookie, sign_in, upload_as};

use common::{Backend, TestApp, jpeg};
use pictor_core::auth::create_api_key;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION};
use serde_json::Value;

/// A signed-in browser: its session cookie and CSRF token.
pub(crate) struct Visitor {
    pub(crate) client: reqwest::Client,
    base: String,
    pub(crate) cookie: String,
    csrf: String,
}

impl Visitor {
    pub(crate) async fn sign_in(app: &TestApp, name: &str, password: &str) -> Self {
        let cookie = set_cookie(&sign_in(app, name, password, "/").await, "pictor_session").expect("signed in").0;
        let client = browser();
        let page = client.get(app.url("/settings")).header(COOKIE, &cookie).send().await.unwrap();
        let csrf = hidden(&page.text().await.unwrap(), "csrf");
        Self { client, base: app.url(""), cookie, csrf }
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.base)).header(COOKIE, &self.cookie).send().await.unwrap()
    }

    pub(crate) async fn text(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.text().await.unwrap()
    }

    /// Posts a form with the session's CSRF token added.
    pub(crate) async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        form.extend_from_slice(fields);
        let request = self.client.post(format!("{}{path}", self.base)).header(COOKIE, &self.cookie);
        request.form(&form).send().await.unwrap()
    }
}

/// Two accounts with a key each, on a server restarted closed.
pub(crate) async fn two_accounts(backend: Backend) -> Option<(TestApp, (String, String), (String, String))> {
    let app = TestApp::spawn(backend, |_| {}).await?;
    let ann_pw = account(&app, "ann").await;
    let bob_pw = account(&app, "bob").await;
    let ann_key = create_api_key(&app.state.db, "ann", "upload read", None).await.unwrap().secret;
    let bob_key = create_api_key(&app.state.db, "bob", "upload read", None).await.unwrap().secret;
    Some((restarted(app).await, (ann_pw, ann_key), (bob_pw, bob_key)))
}

pub(crate) fn album_id(created: &reqwest::Response) -> String {
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let location = created.headers()[LOCATION].to_str().unwrap();
    location.strip_prefix("/albums/").expect("the new album opens").to_string()
}

async fn albums_hold_their_owners_photos_and_no_one_elses(backend: Backend) {
    let Some((app, (ann_pw, ann_key), (bob_pw, bob_key))) = two_accounts(backend).await else { return };
    let (first, second) = (upload_as(&app, &ann_key).await, upload_as(&app, &ann_key).await);
    let bobs = upload_as(&app, &bob_key).await;
    let ann = Visitor::sign_in(&app, "ann", &ann_pw).await;
    let bob = Visitor::sign_in(&app, "bob", &bob_pw).await;

    let empty = ann.post("/albums", &[("name", "  "), ("description", "")]).await;
    assert_eq!(empty.status(), 400, "an album needs a name");
    let trip = album_id(&ann.post("/albums", &[("name", "Alps trip"), ("description", "Summer")]).await);
    let added = ann.post("/albums/add", &[("album", &trip), ("image", &first), ("image", &second)]).await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let page = ann.text(&format!("/albums/{trip}")).await;
    assert!(page.contains("Alps trip") && page.contains("Summer") && page.contains(&first) && page.contains(&second));
    assert!(page.contains("2 photos"), "{page}");

    // A cover, a new name; the photo's page lists the album.
    let back = format!("/photos/{first}");
    let cover = ann.post(&format!("/albums/{trip}/cover"), &[("image", &first), ("back", &back)]).await;
    assert_eq!(cover.headers()[LOCATION], back.as_str());
    ann.post(&format!("/albums/{trip}"), &[("name", "Alps 2026"), ("description", "")]).await;
    let listed = ann.text("/albums").await;
    assert!(listed.contains("Alps 2026") && listed.contains(&format!("/api/v1/img/{first}.webp")), "{listed}");
    let photo = ann.text(&format!("/photos/{first}")).await;
    assert!(photo.contains("Alps 2026") && photo.contains("(its cover)"), "{photo}");

    // Bob sees no trace of it, and cannot put ann's photos in his albums.
    assert_eq!(bob.get(&format!("/albums/{trip}")).await.status(), 404);
    assert!(!bob.text("/albums").await.contains("Alps"));
    let bobs_album = album_id(&bob.post("/albums", &[("name", "Mine"), ("description", "")]).await);
    assert_eq!(bob.post("/albums/add", &[("album", &bobs_album), ("image", &first)]).await.status(), 404);
    assert_eq!(bob.post("/albums/add", &[("album", &trip), ("image", &bobs)]).await.status(), 404);
    assert_eq!(bob.post(&format!("/albums/{trip}"), &[("name", "Hacked")]).await.status(), 404);
    assert_eq!(bob.post(&format!("/albums/{trip}/delete"), &[]).await.status(), 404);
    // A form without the session's token changes nothing.
    let forged = bob.client.post(app.url(&format!("/albums/{bobs_album}/delete"))).header(COOKIE, &bob.cookie);
    assert_eq!(forged.form(&[("csrf", "guess")]).send().await.unwrap().status(), 403);

    // The API agrees.
    let api = |key: &str, path: &str| app.client.get(app.url(path)).bearer_auth(key.to_string()).send();
    assert_eq!(api(&bob_key, &format!("/api/v1/albums/{trip}")).await.unwrap().status(), 404);
    assert_eq!(api(&bob_key, &format!("/api/v1/img?album={trip}")).await.unwrap().status(), 404);
    let mine: Value = api(&ann_key, &format!("/api/v1/albums/{trip}")).await.unwrap().json().await.unwrap();
    assert_eq!(
        (mine["name"].as_str(), mine["photos"].as_i64(), mine["cover"].as_str()),
        (Some("Alps 2026"), Some(2), Some(first.as_str()))
    );
    let inside: Value = api(&ann_key, &format!("/api/v1/img?album={trip}")).await.unwrap().json().await.unwrap();
    assert_eq!(inside["images"].as_array().unwrap().len(), 2);
    let bobs_list: Value = api(&bob_key, "/api/v1/albums").await.unwrap().json().await.unwrap();
    assert_eq!(bobs_list["albums"].as_array().unwrap().len(), 1, "only bob's own album");

    // Removing takes a photo out of the album, deleting the album keeps them.
    ann.post(&format!("/albums/{trip}/remove"), &[("image", &first)]).await;
    let after: Value = api(&ann_key, &format!("/api/v1/albums/{trip}")).await.unwrap().json().await.unwrap();
    assert_eq!((after["photos"].as_i64(), after["cover_chosen"].as_bool()), (Some(1), Some(false)));
    assert_eq!(ann.post(&format!("/albums/{trip}/delete"), &[]).await.headers()[LOCATION], "/albums");
    assert_eq!(api(&ann_key, &format!("/api/v1/albums/{trip}")).await.unwrap().status(), 404);
    assert_eq!(api(&ann_key, &format!("/api/v1/img/{first}")).await.unwrap().status(), 200);
    app.shutdown().await;
}

async fn the_album_api_creates_changes_and_refuses_strangers(backend: Backend) {
    let Some((app, (_, ann_key), (_, bob_key))) = two_accounts(backend).await else { return };
    let photo = upload_as(&app, &ann_key).await;
    let send = |method: reqwest::Method, key: &str, path: &str, body: Value| {
        app.client.request(method, app.url(path)).bearer_auth(key.to_string()).json(&body).send()
    };
    use reqwest::Method;
    let created = send(Method::POST, &ann_key, "/api/v1/albums", serde_json::json!({"name": "Lakes"})).await.unwrap();
    assert_eq!(created.status(), 201);
    let album: Value = created.json().await.unwrap();
    let id = album["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/albums/{id}");
    let bad = send(Method::POST, &ann_key, "/api/v1/albums", serde_json::json!({"name": ""})).await.unwrap();
    common::assert_problem(bad, 400, "invalid_request").await;
    let added = send(Method::POST, &ann_key, &format!("{path}/images"), serde_json::json!({"images": [photo]})).await;
    assert_eq!(added.unwrap().json::<Value>().await.unwrap()["added"], 1);
    let not_in =
        send(Method::PATCH, &ann_key, &path, serde_json::json!({"cover": "00000000-0000-4000-8000-000000000000"}));
    common::assert_problem(not_in.await.unwrap(), 400, "invalid_request").await;
    let patched =
        send(Method::PATCH, &ann_key, &path, serde_json::json!({"description": "Calm water", "cover": photo}));
    let patched: Value = patched.await.unwrap().json().await.unwrap();
    assert_eq!((patched["description"].as_str(), patched["cover_chosen"].as_bool()), (Some("Calm water"), Some(true)));
    for (method, body) in [(Method::PATCH, serde_json::json!({"name": "Mine now"})), (Method::DELETE, Value::Null)] {
        let refused = send(method, &bob_key, &path, body).await.unwrap();
        common::assert_problem(refused, 404, "not_found").await;
    }
    let foreign = send(Method::POST, &bob_key, &format!("{path}/images"), serde_json::json!({"images": [photo]}));
    common::assert_problem(foreign.await.unwrap(), 404, "not_found").await;
    let removed = app.client.delete(app.url(&format!("{path}/images/{photo}"))).bearer_auth(&ann_key).send();
    assert_eq!(removed.await.unwrap().status(), 204);
    assert_eq!(app.client.delete(app.url(&path)).bearer_auth(&ann_key).send().await.unwrap().status(), 204);
    app.shutdown().await;
}

/// Reads a server-sent event stream until `until` appears in it, or gives
/// up after `limit` (a stream that never says it fails the caller's assert).
pub(crate) async fn read_stream_until(mut stream: reqwest::Response, until: &str, limit: Duration) -> String {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + limit;
    while !seen.contains(until) {
        match tokio::time::timeout_at(deadline, stream.chunk()).await {
            Ok(Ok(Some(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            _ => break,
        }
    }
    seen
}

async fn live_status_reaches_its_owner_only(backend: Backend) {
    let Some((app, (ann_pw, ann_key), (bob_pw, bob_key))) = two_accounts(backend).await else { return };
    let ann = Visitor::sign_in(&app, "ann", &ann_pw).await;
    let bob = Visitor::sign_in(&app, "bob", &bob_pw).await;
    let anns_stream = ann.get("/live").await;
    let bobs_stream = bob.get("/live").await;
    assert_eq!(anns_stream.status(), 200);
    assert!(anns_stream.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let anns = upload_as(&app, &ann_key).await;
    let bobs = upload_as(&app, &bob_key).await;
    app.drain().await;

    let seen = read_stream_until(anns_stream, "data-status=\"processed\"", Duration::from_secs(30)).await;
    for step in ["event: status-".to_string() + &anns, "Uploaded".into(), "Processing".into(), "Processed".into()] {
        assert!(seen.contains(&step), "ann's stream lacks {step}: {seen}");
    }
    assert!(seen.contains("/api/v1/executions/"), "processing links its execution: {seen}");
    let seen = read_stream_until(bobs_stream, "data-status=\"processed\"", Duration::from_secs(30)).await;
    assert!(seen.contains(&bobs) && !seen.contains(&anns), "bob's stream is bob's only: {seen}");
    // Without a session there is no stream.
    assert_eq!(browser().get(app.url("/live")).send().await.unwrap().status(), 303);
    app.shutdown().await;
}

async fn keys_are_made_and_revoked_on_the_settings_page(backend: Backend) {
    let Some((app, (ann_pw, _), (bob_pw, _))) = two_accounts(backend).await else { return };
    let ann = Visitor::sign_in(&app, "ann", &ann_pw).await;
    let made = ann.post("/settings/keys", &[("name", "backup script"), ("scope", "read"), ("scope", "admin")]).await;
    assert_eq!(made.status(), 200);
    let page = made.text().await.unwrap();
    let at = page.find("pk_").expect("the new key is shown once");
    let secret = page[at..at + 67].to_string();
    assert!(!ann.text("/settings").await.contains(&secret), "and never again");
    let key = app
        .state
        .db
        .list_api_keys("ann")
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.name.as_deref() == Some("backup script"));
    let key = key.expect("listed");
    assert_eq!(key.scopes, "read", "a non-admin cannot give a key the admin scope");
    let read = || app.client.get(app.url("/api/v1/img")).header("x-api-key", secret.clone()).send();
    assert_eq!(read().await.unwrap().status(), 200);

    // Bob cannot revoke ann's key; ann can.
    let bob = Visitor::sign_in(&app, "bob", &bob_pw).await;
    assert_eq!(bob.post(&format!("/settings/keys/{}/revoke", key.id), &[]).await.status(), 404);
    assert_eq!(read().await.unwrap().status(), 200);
    let revoked = ann.post(&format!("/settings/keys/{}/revoke", key.id), &[]).await;
    assert_eq!(revoked.headers()[LOCATION], "/settings");
    assert_eq!(read().await.unwrap().status(), 401, "revoked at once");
    app.shutdown().await;
}

async fn the_upload_page_writes_with_the_session_and_its_csrf_token(backend: Backend) {
    let Some((app, (ann_pw, _), _)) = two_accounts(backend).await else { return };
    let ann = Visitor::sign_in(&app, "ann", &ann_pw).await;
    let post = |token: &str| {
        let request = ann.client.post(app.url("/api/v1/img")).header(COOKIE, &ann.cookie);
        request.header("x-csrf-token", token.to_string()).header("content-type", "image/jpeg").body(jpeg(40, 30)).send()
    };
    assert_eq!(post("guess").await.unwrap().status(), 401, "the cookie alone never writes");
    let landed = post(&ann.csrf).await.unwrap();
    assert_eq!(landed.status(), 201);
    let record: Value = landed.json().await.unwrap();
    assert_eq!(record["owner"], "ann");
    // Landed with a ThumbHash placeholder, which the gallery inlines.
    let id = record["id"].as_str().unwrap();
    let stored = app.state.db.get_image(id).await.unwrap().unwrap();
    assert!(stored.thumbhash.as_ref().is_some_and(|h| h.len() > 20), "{stored:?}");
    let gallery = ann.text("/").await;
    assert!(gallery.contains("background-image:url(data:image/png;base64,"), "{gallery}");
    let upload_page = ann.text("/upload").await;
    assert!(upload_page.contains(&format!("data-csrf=\"{}\"", ann.csrf)) && upload_page.contains("tus-js-client"));

    // Without JavaScript: one plain form post, into an album; what is not
    // an image is named on the answer, the rest lands.
    let album = album_id(&ann.post("/albums", &[("name", "Plain"), ("description", "")]).await);
    let form = |csrf: &str| {
        let file = |bytes: Vec<u8>, name: &str| reqwest::multipart::Part::bytes(bytes).file_name(name.to_string());
        reqwest::multipart::Form::new()
            .text("csrf", csrf.to_string())
            .text("album", album.clone())
            .part("file", file(jpeg(64, 48), "lake.jpg"))
            .part("file", file(b"just some notes".to_vec(), "notes.txt"))
    };
    let post =
        |csrf: &str| ann.client.post(app.url("/upload")).header(COOKIE, &ann.cookie).multipart(form(csrf)).send();
    assert_eq!(post("guess").await.unwrap().status(), 403);
    let answer = post(&ann.csrf).await.unwrap();
    assert_eq!(answer.status(), 422);
    let page = answer.text().await.unwrap();
    assert!(page.contains("notes.txt") && page.contains("1 uploaded"), "{page}");
    let inside = app.state.db.get_album(&album).await.unwrap().unwrap();
    assert_eq!(inside.photos, 1, "the photo went into the album");
    app.shutdown().await;
}

async fn every_page_is_private_to_its_owner(backend: Backend) {
    let Some((app, (ann_pw, ann_key), (bob_pw, _))) = two_accounts(backend).await else { return };
    let photo = upload_as(&app, &ann_key).await;
    // A camera and a place, for search and the map.
    let metadata =
        serde_json::json!({"exif": {"make": "Canon", "model": "EOS"}, "gps": {"latitude": 45.0, "longitude": 5.0}});
    let facts = pictor_core::search::facts(&metadata);
    app.state.db.set_image_metadata(&photo, &metadata, &facts).await.unwrap();
    let ann = Visitor::sign_in(&app, "ann", &ann_pw).await;
    let album = album_id(&ann.post("/albums", &[("name", "Private"), ("description", "")]).await);
    ann.post("/albums/add", &[("album", &album), ("image", &photo)]).await;
    let bob = Visitor::sign_in(&app, "bob", &bob_pw).await;
    let pages = [
        "/".to_string(),
        "/albums".into(),
        format!("/albums/{album}"),
        format!("/photos/{photo}"),
        format!("/photos/{photo}/details"),
        format!("/photos/{photo}/status"),
        "/tags".into(),
        "/upload".into(),
        format!("/upload?album={album}"),
        "/settings".into(),
        "/?label=x&before=9999999999999_z".to_string(),
        "/search?camera=canon".into(),
        format!("/search?album={album}"),
        "/map".into(),
        "/map?bbox=40,0,50,10".into(),
    ];
    for page in &pages {
        // No credentials: sent to sign in, and back afterwards.
        let anonymous = browser().get(app.url(page)).send().await.unwrap();
        assert_eq!(anonymous.status(), 303, "{page}");
        assert!(anonymous.headers()[LOCATION].to_str().unwrap().starts_with("/login?next="), "{page}");
        // Ann sees hers.
        assert_eq!(ann.get(page).await.status(), 200, "{page}");
        // Bob: either not found, or a page without a trace of ann's things.
        let answer = bob.get(page).await;
        let status = answer.status();
        let body = answer.text().await.unwrap();
        assert!(status == 404 || status == 200, "{page}: {status}");
        assert!(!body.contains(&photo) && !body.contains(&album) && !body.contains("Private"), "{page} leaks to bob");
    }
    // The forms that change things: bob's token on ann's ids changes nothing.
    for form in [format!("/albums/{album}"), format!("/albums/{album}/delete"), format!("/albums/{album}/cover")] {
        assert_eq!(bob.post(&form, &[("name", "x"), ("image", &photo)]).await.status(), 404, "{form}");
        let anonymous = browser().post(app.url(&form)).form(&[("csrf", "x")]).send().await.unwrap();
        assert_eq!(anonymous.status(), 303, "{form} without a session");
    }
    assert!(ann.text(&format!("/albums/{album}")).await.contains(&photo), "ann's album is intact");
    // Search offers only one's own cameras; the map counts only one's own photos.
    assert!(ann.text("/map").await.contains("1 photo near 45.00° N, 5.00° E"));
    assert!(ann.text("/search").await.contains("<option value=\"Canon EOS\">"));
    assert!(!bob.text("/search").await.contains("Canon") && !bob.text("/map").await.contains("near 45.00"));
    app.shutdown().await;
}

both_backends!(
    albums_hold_their_owners_photos_and_no_one_elses,
    the_album_api_creates_changes_and_refuses_strangers,
    live_status_reaches_its_owner_only,
    keys_are_made_and_revoked_on_the_settings_page,
    the_upload_page_writes_with_the_session_and_its_csrf_token,
    every_page_is_private_to_its_owner,
);
