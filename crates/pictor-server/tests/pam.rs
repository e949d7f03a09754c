//! The photo asset manager's own API (`/pam`), black-box over HTTP, as its
//! original clients call it: `PUT /pam/upload` then a plain PUT of the
//! bytes to the URL, with no `complete` call (the local store lands it on
//! the PUT; on PostgreSQL + S3 the housekeeping sweep finds it); the label
//! index by name; `POST /pam/download` making a bundle whose link is
//! emailed (through the real SMTP server of `.ci/services.sh` when
//! `PICTOR_TEST_SMTP_URL` is set) to the address of the caller's token
//! (a real ID token from the real OIDC provider, `PICTOR_TEST_OIDC_ISSUER`);
//! the prefix moves with `pam.prefix`.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use common::*;
use pictor_core::auth::create_api_key;
use pictor_core::config::{OidcConfig, Signup};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use sha2::Digest as _;

/// A request to `path` with `Authorization: Bearer token`.
fn call(app: &TestApp, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    app.client.request(method, app.url(path)).bearer_auth(token)
}

/// `PUT /pam/upload` for `name`; returns the URL, asserting 200.
async fn upload_url(app: &TestApp, token: &str, name: &str) -> String {
    let response =
        call(app, reqwest::Method::PUT, "/pam/upload", token).json(&json!({"file_name": name})).send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(response.headers()["cache-control"], "no-store");
    let answer: Value = response.json().await.unwrap();
    answer["url"].as_str().expect("a url").to_string()
}

/// The bytes PUT to `url` by a plain client: no credentials, no headers.
async fn put_bytes(url: &str, bytes: &[u8]) -> Response {
    reqwest::Client::new().put(url).body(bytes.to_vec()).send().await.unwrap()
}

/// The caller's images, as the API lists them.
async fn images(app: &TestApp, token: &str) -> Vec<Value> {
    let listing: Value =
        call(app, reqwest::Method::GET, "/api/v1/img", token).send().await.unwrap().json().await.unwrap();
    listing["images"].as_array().unwrap().clone()
}

/// What arrived lands: at once on the local store (the PUT did it); on S3
/// when the housekeeping sweep looks (called here instead of waiting 5 s).
async fn landing(app: &TestApp, backend: Backend) -> usize {
    let landed = pictor_core::direct::land_arrivals(&app.state).await;
    if backend == Backend::Local {
        assert_eq!(landed, 0, "the local PUT landed it already");
    }
    landed
}

async fn labels(app: &TestApp, token: &str) -> Value {
    let response = call(app, reqwest::Method::GET, "/pam/labels", token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Uploads through `/pam` as `token` and lands it; returns the image id.
async fn pam_photo(app: &TestApp, backend: Backend, token: &str, name: &str, bytes: &[u8]) -> String {
    let before = images(app, token).await.len();
    let url = upload_url(app, token, name).await;
    let sent = put_bytes(&url, bytes).await;
    assert!(sent.status().is_success(), "{}", sent.text().await.unwrap());
    landing(app, backend).await;
    let now = images(app, token).await;
    assert_eq!(now.len(), before + 1, "landed without a complete call");
    now.iter().find(|i| i["name"] == name).expect("the image, by its name")["id"].as_str().unwrap().to_string()
}

async fn uploads_land_on_arrival(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let ann = create_api_key(&app.state.db, "ann", "upload read", None).await.unwrap().secret;
    let bob = create_api_key(&app.state.db, "bob", "upload read", None).await.unwrap().secret;
    app.state.auth.close_now().await;

    let bytes = jpeg(64, 48);
    let url = upload_url(&app, &ann, "beach.jpg").await;
    match backend {
        Backend::Local => assert!(url.starts_with(&app.url("/api/v1/direct/")), "{url}"),
        Backend::PostgresS3 => assert!(!url.starts_with(&app.base) && url.contains("pictor-test"), "{url}"),
    }
    assert!(images(&app, &ann).await.is_empty());
    let sent = put_bytes(&url, &bytes).await;
    assert!(sent.status().is_success(), "{} {}", sent.status(), sent.text().await.unwrap());
    let swept = landing(&app, backend).await;
    if backend == Backend::PostgresS3 {
        assert_eq!(swept, 1, "the sweep found the object and landed it");
        assert_eq!(landing(&app, backend).await, 0, "once");
    }
    let mine = images(&app, &ann).await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    let image = &mine[0];
    assert_eq!((image["owner"].as_str(), image["name"].as_str()), (Some("ann"), Some("beach.jpg")));
    assert_eq!(image["source"], "direct");
    assert_eq!(image["sha256"], hex::encode(sha2::Sha256::digest(&bytes)));
    assert!(images(&app, &bob).await.is_empty(), "bob sees none of it");
    assert!(app.state.store.list_objects("direct").await.unwrap().is_empty(), "the staging object went");
    // Then the same workflow as any upload.
    app.drain().await;
    let id = image["id"].as_str().unwrap();
    let record: Value = call(&app, reqwest::Method::GET, &format!("/api/v1/img/{id}"), &ann)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(record["status"], "processed", "{record}");

    // A name's extension gives the type; the bytes may be another image.
    pam_photo(&app, backend, &ann, "scan.png", &jpeg(30, 20)).await;

    // Not an image: refused on the local PUT, or by the sweep; nothing left.
    let url = upload_url(&app, &ann, "fake.jpg").await;
    let sent = put_bytes(&url, b"<html>not an image</html>").await;
    match backend {
        Backend::Local => {
            assert_problem(sent, 415, "unsupported_format").await;
        }
        Backend::PostgresS3 => {
            assert!(sent.status().is_success());
            assert_eq!(landing(&app, backend).await, 0);
        }
    }
    assert_eq!(images(&app, &ann).await.len(), 2);
    assert!(app.state.store.list_objects("direct").await.unwrap().is_empty(), "the refused upload went");

    // Bad requests are problems.
    for (body, says) in [
        (json!({"file_name": "notes.txt"}), "extension"),
        (json!({"file_name": "noextension"}), "extension"),
        (json!({"name": "x.jpg"}), "file_name"),
    ] {
        let response = call(&app, reqwest::Method::PUT, "/pam/upload", &ann).json(&body).send().await.unwrap();
        let problem = assert_problem(response, 400, "invalid_request").await;
        assert!(problem["detail"].as_str().unwrap().contains(says), "{problem}");
    }
    let anonymous = app.client.put(app.url("/pam/upload")).json(&json!({"file_name": "x.jpg"})).send().await.unwrap();
    assert_problem(anonymous, 401, "unauthorized").await;
    app.shutdown().await;
}

both_backends!(uploads_land_on_arrival);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_are_the_callers_own_and_download_needs_an_address() {
    let Some(app) = TestApp::spawn(Backend::Local, |_| {}).await else { return };
    let ann = create_api_key(&app.state.db, "ann", "upload read", None).await.unwrap().secret;
    let bob = create_api_key(&app.state.db, "bob", "upload read", None).await.unwrap().secret;
    app.state.auth.close_now().await;
    let a1 = pam_photo(&app, Backend::Local, &ann, "a1.jpg", &jpeg(40, 30)).await;
    let a2 = pam_photo(&app, Backend::Local, &ann, "a2.jpg", &jpeg(41, 30)).await;
    let b1 = pam_photo(&app, Backend::Local, &bob, "b1.jpg", &jpeg(42, 30)).await;
    label(&app, &a1, &["mountain", "lake"]).await;
    label(&app, &a2, &["mountain"]).await;
    label(&app, &b1, &["mountain", "secret-of-bobs"]).await;

    assert_eq!(labels(&app, &ann).await, json!({"labels": {"lake": {"count": 1}, "mountain": {"count": 2}}}));
    assert_eq!(labels(&app, &bob).await, json!({"labels": {"mountain": {"count": 1}, "secret-of-bobs": {"count": 1}}}));
    assert_problem(app.client.get(app.url("/pam/labels")).send().await.unwrap(), 401, "unauthorized").await;
    let wrong = app.client.get(app.url("/pam/labels")).bearer_auth("pk_nope").send().await.unwrap();
    assert_problem(wrong, 401, "unauthorized").await;

    // An API key's account keeps no address: 409 unless the body names one.
    let download = |body: Value| call(&app, reqwest::Method::POST, "/pam/download", &ann).json(&body).send();
    let problem = assert_problem(download(json!({"labels": ["mountain"]})).await.unwrap(), 409, "conflict").await;
    assert!(problem["detail"].as_str().unwrap().contains("\"email\""), "{problem}");
    assert_problem(download(json!({"labels": []})).await.unwrap(), 400, "invalid_request").await;
    assert_problem(download(json!({"label": "x"})).await.unwrap(), 400, "invalid_request").await;
    let anonymous = app.client.post(app.url("/pam/download")).json(&json!({"labels": ["mountain"]})).send();
    assert_problem(anonymous.await.unwrap(), 401, "unauthorized").await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_session_works_with_its_csrf_token_for_writes() {
    let Some(app) = TestApp::spawn(Backend::Local, |_| {}).await else { return };
    let name = pictor_core::accounts::Username::parse("carol").unwrap();
    let user = pictor_core::accounts::create_user(&app.state.db, &name, None, false).await.unwrap();
    let session = pictor_core::accounts::start_session(&app.state.db, user).await.unwrap();
    app.state.auth.close_now().await;
    let cookie = format!("pictor_session={}", session.token);
    let read = app.client.get(app.url("/pam/labels")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(read.status(), 200, "a read needs the cookie alone");
    let body = json!({"file_name": "x.jpg"});
    let forged = app.client.put(app.url("/pam/upload")).header("cookie", &cookie).json(&body).send().await.unwrap();
    assert_problem(forged, 401, "unauthorized").await;
    let upload = app
        .client
        .put(app.url("/pam/upload"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &session.csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 200, "a write needs the session's CSRF token too");
    let url = upload.json::<Value>().await.unwrap()["url"].as_str().unwrap().to_string();
    assert!(put_bytes(&url, &jpeg(20, 20)).await.status().is_success());
    let key = create_api_key(&app.state.db, "carol", "read", None).await.unwrap().secret;
    assert_eq!(images(&app, &key).await[0]["owner"], "carol");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prefix_is_configurable_or_off() {
    let Some(app) = TestApp::spawn(Backend::Local, |c| c.pam.prefix = "/photo-manager/v1".into()).await else {
        return;
    };
    let ann = create_api_key(&app.state.db, "ann", "upload read", None).await.unwrap().secret;
    let moved = call(&app, reqwest::Method::GET, "/photo-manager/v1/labels", &ann).send().await.unwrap();
    assert_eq!(moved.status(), 200);
    assert_eq!(moved.json::<Value>().await.unwrap(), json!({"labels": {}}));
    let put = call(&app, reqwest::Method::PUT, "/photo-manager/v1/upload", &ann).json(&json!({"file_name": "x.jpg"}));
    assert_eq!(put.send().await.unwrap().status(), 200);
    let default = call(&app, reqwest::Method::GET, "/pam/labels", &ann).send().await.unwrap();
    assert_problem(default, 404, "not_found").await;
    app.shutdown().await;

    let Some(app) = TestApp::spawn(Backend::Local, |c| c.pam.prefix = String::new()).await else { return };
    assert_problem(app.client.get(app.url("/pam/labels")).send().await.unwrap(), 404, "not_found").await;
    app.shutdown().await;
}

// --- With the real OIDC provider (and SMTP server) ---------------------------

fn issuer() -> Option<String> {
    let found = std::env::var("PICTOR_TEST_OIDC_ISSUER").ok();
    if found.is_none() {
        skip("pam OIDC: PICTOR_TEST_OIDC_ISSUER is not set (.ci/services.sh starts oidc-provider-mock and sets it)");
    }
    found
}

/// The test SMTP server: its URL, Maildir and CA file, when running.
fn smtp_server() -> Option<(String, PathBuf, String)> {
    let url = std::env::var("PICTOR_TEST_SMTP_URL").ok()?;
    let maildir = std::env::var("PICTOR_TEST_SMTP_MAILDIR").expect("PICTOR_TEST_SMTP_MAILDIR with the URL");
    let ca = std::env::var("PICTOR_TEST_SMTP_CA").expect("PICTOR_TEST_SMTP_CA with the URL");
    Some((url, maildir.into(), ca))
}

/// The delivered message holding `marker`, waiting a little for it.
fn delivered(maildir: &Path, marker: &str) -> Option<String> {
    for _ in 0..50 {
        for entry in std::fs::read_dir(maildir.join("new")).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            if text.contains(marker) {
                return Some(text.replace("\r\n", "\n").replace("=\n", ""));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

const CLIENT_ID: &str = "pictor-test";

/// An ID token for `sub` with `claims`, from the provider's own code flow
/// (with PKCE, as it requires), as the asset manager's client would hold.
async fn id_token(issuer: &str, sub: &str, claims: Value) -> String {
    let provider = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let put = provider.put(format!("{issuer}/users/{sub}")).json(&claims).send().await.unwrap();
    assert_eq!(put.status(), 204);
    let verifier = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let redirect = "http://127.0.0.1:9/callback";
    let mut authorize = url::Url::parse(&format!("{issuer}/oauth2/authorize")).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", redirect)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid profile email")
        .append_pair("state", "s")
        .append_pair("nonce", "n")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let answered = provider.post(authorize.as_str()).form(&[("sub", sub)]).send().await.unwrap();
    assert_eq!(answered.status(), StatusCode::FOUND, "{}", answered.text().await.unwrap());
    let back = url::Url::parse(answered.headers()["location"].to_str().unwrap()).unwrap();
    let code = back.query_pairs().find(|(k, _)| k == "code").expect("a code").1.into_owned();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect),
        ("client_id", CLIENT_ID),
        ("client_secret", "pictor-test-secret"),
        ("code_verifier", verifier.as_str()),
    ];
    let token = provider.post(format!("{issuer}/oauth2/token")).form(&form).send().await.unwrap();
    assert_eq!(token.status(), 200, "{}", token.text().await.unwrap());
    let token: Value = token.json().await.unwrap();
    token["id_token"].as_str().expect("an ID token").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oidc_token_is_the_web_accounts_and_the_link_goes_to_its_email() {
    let Some(issuer) = issuer() else { return };
    let smtp = smtp_server();
    let Some(app) = TestApp::spawn(Backend::Local, |c| {
        c.auth.signup = Signup::Open;
        c.auth.oidc = OidcConfig {
            issuer: issuer.clone(),
            client_id: CLIENT_ID.into(),
            client_secret: "pictor-test-secret".into(),
            ..OidcConfig::default()
        };
        if let Some((url, _, ca)) = &smtp {
            c.email.smtp_url = url.clone();
            c.email.ca_file = ca.clone();
        }
    })
    .await
    else {
        return;
    };
    // A key closes the server (no anonymous callers).
    create_api_key(&app.state.db, "someone", "read", None).await.unwrap();
    app.state.auth.close_now().await;
    let sub = format!("pam-{}", uuid::Uuid::new_v4().simple());
    let address = format!("{sub}@example.com");
    let token =
        id_token(&issuer, &sub, json!({"preferred_username": "Pam User", "email": address, "email_verified": true}))
            .await;

    // The token signs in as its identity's account (made, as a first web
    // sign-in would), which owns what it uploads.
    let sent = put_bytes(&upload_url(&app, &token, "peak.jpg").await, &jpeg(50, 40)).await;
    assert!(sent.status().is_success(), "{}", sent.text().await.unwrap());
    let account = app.state.db.user_by_identity(&issuer, &sub).await.unwrap().expect("the identity's account");
    assert!(account.name.starts_with("pam-user"), "{}", account.name);
    // (The rest of the API takes its own credentials: a key of that account.)
    let key = create_api_key(&app.state.db, &account.name, "read", None).await.unwrap().secret;
    let mine = images(&app, &key).await;
    assert_eq!((mine.len(), mine[0]["owner"].as_str()), (1, Some(account.name.as_str())));
    label(&app, mine[0]["id"].as_str().unwrap(), &["mountain"]).await;
    assert_eq!(labels(&app, &token).await, json!({"labels": {"mountain": {"count": 1}}}));
    // A second token of the same identity is the same account.
    let again = id_token(&issuer, &sub, json!({"preferred_username": "Other", "email": address})).await;
    assert_eq!(labels(&app, &again).await, json!({"labels": {"mountain": {"count": 1}}}));

    // A tampered token, or one for another client, is refused.
    // (The signature's first character: the last one may carry only
    // padding bits, so changing it may change nothing.)
    let at = token.rfind('.').unwrap() + 1;
    let swapped = if token[at..].starts_with('A') { "B" } else { "A" };
    let forged = format!("{}{swapped}{}", &token[..at], &token[at + 1..]);
    let refused = call(&app, reqwest::Method::GET, "/pam/labels", &forged).send().await.unwrap();
    assert_problem(refused, 401, "unauthorized").await;

    // An unverified address is not used.
    let unverified_sub = format!("pam-{}", uuid::Uuid::new_v4().simple());
    let unverified = id_token(
        &issuer,
        &unverified_sub,
        json!({"preferred_username": "Unverified", "email": format!("{unverified_sub}@example.com"), "email_verified": false}),
    )
    .await;
    let body = json!({"labels": ["mountain"]});
    let response = call(&app, reqwest::Method::POST, "/pam/download", &unverified).json(&body).send().await.unwrap();
    assert_problem(response, 403, "forbidden").await;

    let Some((_, maildir, _)) = smtp else {
        skip("pam download by email: PICTOR_TEST_SMTP_URL is not set (source .ci/services.sh)");
        app.shutdown().await;
        return;
    };
    let response = call(&app, reqwest::Method::POST, "/pam/download", &token).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["state"], "requested", "{answer}");
    let bundle = answer["bundle"].as_str().unwrap().to_string();
    assert_eq!(answer["links"]["self"], format!("/api/v1/bundles/{bundle}"));
    let record = app.state.db.get_bundle(&bundle).await.unwrap().expect("the bundle");
    assert_eq!(record.owner.as_deref(), Some(account.name.as_str()));
    app.settle().await;
    let ready = call(&app, reqwest::Method::GET, &format!("/api/v1/bundles/{bundle}"), &key).send().await.unwrap();
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["state"], "ready", "{ready}");
    let mail = delivered(&maildir, &address).expect("a message to the token's address");
    assert!(mail.contains(&format!("/api/v1/bundles/{bundle}/zip")), "the link is in it:\n{mail}");
    app.shutdown().await;
}
