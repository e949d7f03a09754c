//! Webhooks, black-box over HTTP on both backends: subscriptions through the
//! API, deliveries signed per the Standard Webhooks spec (checked here in
//! Rust and by the reference Python library through `webhook_verify.py`),
//! retries with the same `webhook-id`, 410 disabling the endpoint, the
//! delivery log, owner isolation, validation and the SSRF guard.
//!
//! Deliveries go to a receiver started by each test on 127.0.0.1, which
//! `fetch.allow` opens. No worker runs: each test runs the queue itself with
//! `settle`, which skips the retries' waits (60 s, then 300 s, no jitter)
//! instead of sleeping, and reports them. Only `image.created` and
//! `image.deleted` events are relied on.

use crate::common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use common::*;
use hmac::Mac as _;
use pictor_core::auth::create_api_key;
use pictor_server::config::Config;
use reqwest::{RequestBuilder, Response};
use serde_json::{Value, json};

both_backends!(
    deliveries_are_signed_per_standard_webhooks,
    failed_attempts_are_retried_with_the_same_id,
    deliveries_give_up_when_the_schedule_runs_out,
    gone_disables_the_endpoint,
    deleting_a_subscription_stops_its_retries,
    subscriptions_belong_to_their_owner,
    invalid_subscriptions_are_problems,
    private_endpoints_need_fetch_allow,
    the_routes_are_in_the_openapi_document,
    old_events_and_deliveries_are_deleted,
);

// ---------------------------------------------------------------- receiver

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
pub(crate) struct Received {
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: String,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Behaviour {
    requests: Mutex<Vec<Received>>,
    /// Answer 500 to this many requests first.
    failures: AtomicUsize,
    /// Answer 410 Gone.
    gone: AtomicBool,
}

/// A webhook endpoint on 127.0.0.1 that records what it gets.
pub(crate) struct Receiver {
    pub(crate) url: String,
    behaviour: Arc<Behaviour>,
}

impl Receiver {
    pub(crate) async fn start() -> Self {
        let behaviour = Arc::new(Behaviour::default());
        let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(behaviour.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, behaviour }
    }

    fn failing(self, times: usize) -> Self {
        self.behaviour.failures.store(times, Ordering::SeqCst);
        self
    }

    fn gone(self) -> Self {
        self.behaviour.gone.store(true, Ordering::SeqCst);
        self
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.behaviour.requests.lock().unwrap().clone()
    }
}

async fn receive(State(behaviour): State<Arc<Behaviour>>, headers: HeaderMap, body: String) -> StatusCode {
    let headers = headers.iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect();
    behaviour.requests.lock().unwrap().push(Received { headers, body });
    if behaviour.gone.load(Ordering::SeqCst) {
        return StatusCode::GONE;
    }
    let failing = behaviour.failures.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    if failing { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK }
}

// ---------------------------------------------------------------- helpers

/// Retries after 60 s and 300 s (three attempts), no jitter, loopback allowed;
/// workers stay off: tests run the queue with `settle`.
fn fast(config: &mut Config) {
    config.fetch.allow = vec!["127.0.0.1/32".into()];
    config.webhooks.retry_schedule_secs = vec![60, 300];
    config.webhooks.jitter = 0.0;
    config.webhooks.timeout_secs = 5;
}

fn with_key(request: RequestBuilder, key: Option<&str>) -> RequestBuilder {
    match key {
        Some(key) => request.bearer_auth(key),
        None => request,
    }
}

async fn create(app: &TestApp, key: Option<&str>, body: Value) -> Response {
    with_key(app.client.post(app.url("/api/v1/webhooks")), key).json(&body).send().await.unwrap()
}

/// Subscribes and returns the answer, asserting 201.
async fn subscribe(app: &TestApp, key: Option<&str>, url: &str, events: &[&str]) -> Value {
    let response = create(app, key, json!({ "url": url, "events": events })).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let id = response.headers()["location"].to_str().unwrap().to_string();
    let hook: Value = response.json().await.unwrap();
    assert_eq!(id, format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap()));
    hook
}

async fn get(app: &TestApp, key: Option<&str>, path: &str) -> Response {
    with_key(app.client.get(app.url(path)), key).send().await.unwrap()
}

async fn delete(app: &TestApp, key: Option<&str>, path: &str) -> Response {
    with_key(app.client.delete(app.url(path)), key).send().await.unwrap()
}

/// Uploads a small JPEG as `key`'s owner; returns the image id.
async fn upload(app: &TestApp, key: Option<&str>) -> String {
    let request = with_key(app.client.post(app.url("/api/v1/img")), key);
    let response = request.header("content-type", "image/jpeg").body(jpeg(32, 24)).send().await.unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
}

/// The subscription's delivery log.
async fn log(app: &TestApp, key: Option<&str>, hook: &Value) -> Vec<Value> {
    let response = get(app, key, &format!("/api/v1/webhooks/{}/deliveries", hook["id"].as_str().unwrap())).await;
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["deliveries"].as_array().unwrap().clone()
}

/// The queue skipped one wait per retry, each the schedule's step (no
/// jitter), less the moments the attempts took.
fn assert_follows_schedule(waits: &[Duration], steps_secs: &[u64]) {
    assert_eq!(waits.len(), steps_secs.len(), "waits {waits:?} against steps {steps_secs:?} s");
    for (wait, step) in waits.iter().zip(steps_secs) {
        let step = Duration::from_secs(*step);
        assert!(*wait <= step && step - *wait < Duration::from_secs(10), "waited {wait:?} for a {step:?} step");
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Checks the Standard Webhooks headers and recomputes the signature here,
/// from the spec alone.
fn assert_signed(secret: &str, request: &Received) {
    assert_eq!(request.header("content-type"), "application/json");
    let id = request.header("webhook-id");
    assert!(id.starts_with("msg_"), "webhook-id {id:?}");
    let timestamp: i64 = request.header("webhook-timestamp").parse().expect("webhook-timestamp is Unix seconds");
    assert!((unix_now() - timestamp).abs() < 60, "webhook-timestamp {timestamp} is not now");
    let key = base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{}", request.body).as_bytes());
    let expected = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
    let signatures: Vec<&str> = request.header("webhook-signature").split(' ').collect();
    assert!(signatures.contains(&expected.as_str()), "signature {signatures:?}, expected {expected}");
}

/// Verifies the deliveries with the reference Python library, or says
/// visibly why it could not.
fn assert_verified_by_python(secret: &str, requests: &[Received]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/webhook_verify.py");
    let input = json!({
        "secret": secret,
        "deliveries": requests.iter().map(|r| json!({ "headers": r.headers, "body": r.body })).collect::<Vec<_>>(),
    });
    let child = std::process::Command::new("python3")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        skip("python3 is not installed: deliveries not checked with the standardwebhooks library");
        return;
    };
    {
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => {}
        Some(3) => skip(&format!("deliveries not checked with the standardwebhooks library: {}", stderr.trim())),
        _ => panic!("webhook_verify.py refused the deliveries: {stderr}{}", String::from_utf8_lossy(&output.stdout)),
    }
}

// ---------------------------------------------------------------- tests

async fn deliveries_are_signed_per_standard_webhooks(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, fast).await else { return };
    let receiver = Receiver::start().await;
    let hook = subscribe(&app, None, &receiver.url, &["image.created"]).await;
    let secret = hook["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_") && secret.len() >= 6 + 32, "{secret}");
    assert_eq!((hook["enabled"].as_bool(), hook["events"].clone()), (Some(true), json!(["image.created"])));
    // A second endpoint with a secret of its own choosing.
    let chosen = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode([42u8; 32]));
    let other = Receiver::start().await;
    let response = create(&app, None, json!({ "url": other.url, "events": ["image.created"], "secret": chosen })).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.json::<Value>().await.unwrap()["secret"], chosen.as_str());

    let image = upload(&app, None).await;
    assert!(app.settle().await.is_empty(), "nothing was retried");
    let got = receiver.received();
    assert_eq!(got.len(), 1, "{got:#?}");
    let request = &got[0];
    assert_signed(&secret, request);
    let body = request.json();
    assert_eq!(body["type"], "image.created");
    assert_eq!(body["data"]["id"], image.as_str());
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'), "{body}");
    assert_verified_by_python(&secret, &got);
    let got_other = other.received();
    assert_eq!(got_other.len(), 1, "{got_other:#?}");
    assert_signed(&chosen, &got_other[0]);
    assert_verified_by_python(&chosen, &got_other);
    assert_ne!(got_other[0].header("webhook-id"), request.header("webhook-id"), "one id per delivery");

    // The log shows the delivery under the id the receiver saw; the secret
    // is shown only at creation.
    let entries = log(&app, None, &hook).await;
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry["id"], request.header("webhook-id"));
    assert_eq!((entry["status"].as_str(), entry["attempts"].as_i64()), (Some("delivered"), Some(1)));
    assert_eq!((entry["last_status"].as_i64(), entry["type"].as_str()), (Some(200), Some("image.created")));
    assert!(entry["next_attempt_at"].is_null() && entry["last_error"].is_null(), "{entry}");
    assert_eq!(entry["payload"], body);
    let shown: Value =
        get(&app, None, &format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap())).await.json().await.unwrap();
    assert!(shown.get("secret").is_none(), "{shown}");
    assert_eq!(shown["url"], receiver.url.as_str());
    app.shutdown().await;
}

async fn failed_attempts_are_retried_with_the_same_id(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, fast).await else { return };
    let receiver = Receiver::start().await.failing(2);
    let hook = subscribe(&app, None, &receiver.url, &["image.created"]).await;
    let secret = hook["secret"].as_str().unwrap();
    upload(&app, None).await;
    let waits = app.settle().await;
    let got = receiver.received();
    assert_eq!(got.len(), 3, "{got:#?}");
    let id = got[0].header("webhook-id");
    for (n, request) in got.iter().enumerate() {
        assert_eq!(request.header("webhook-id"), id, "attempt {n} changed the id");
        assert_eq!(request.body, got[0].body, "attempt {n} changed the body");
        assert_signed(secret, request);
    }
    assert_follows_schedule(&waits, &[60, 300]);
    assert_verified_by_python(secret, &got);
    let entries = log(&app, None, &hook).await;
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0]["status"].as_str(), entries[0]["attempts"].as_i64()), (Some("delivered"), Some(3)));
    assert_eq!(entries[0]["last_status"], 200);
    app.shutdown().await;
}

async fn deliveries_give_up_when_the_schedule_runs_out(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, fast).await else { return };
    let receiver = Receiver::start().await.failing(usize::MAX);
    let hook = subscribe(&app, None, &receiver.url, &["image.created"]).await;
    upload(&app, None).await;
    // After the first attempt, the log says when the next one is due.
    app.drain().await;
    assert_eq!(receiver.received().len(), 1);
    let pending = log(&app, None, &hook).await[0].clone();
    assert_eq!((pending["status"].as_str(), pending["attempts"].as_i64()), (Some("pending"), Some(1)), "{pending}");
    assert_eq!(pending["last_status"], 500);
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let due_in = pending["next_attempt_at"].as_i64().expect("next_attempt_at") - now_ms;
    assert!((50_000..=60_000).contains(&due_in), "the retry is due in {due_in} ms, not after the 60 s step: {pending}");
    assert_follows_schedule(&app.settle().await, &[60, 300]);
    assert_eq!(receiver.received().len(), 3);
    let entries = log(&app, None, &hook).await;
    let entry = &entries[0];
    assert_eq!((entry["status"].as_str(), entry["attempts"].as_i64()), (Some("failed"), Some(3)), "{entry}");
    assert_eq!(entry["last_status"], 500);
    assert!(entry["last_error"].as_str().unwrap().contains("500"), "{entry}");
    assert!(entry["next_attempt_at"].is_null());
    // The endpoint stays enabled: only 410 disables it.
    let shown: Value =
        get(&app, None, &format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap())).await.json().await.unwrap();
    assert_eq!(shown["enabled"], true);
    app.shutdown().await;
}

async fn gone_disables_the_endpoint(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, fast).await else { return };
    let receiver = Receiver::start().await.gone();
    let hook = subscribe(&app, None, &receiver.url, &["image.created"]).await;
    let path = format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap());
    upload(&app, None).await;
    assert!(app.settle().await.is_empty(), "a 410 is not retried");
    assert_eq!(receiver.received().len(), 1);
    let entries = log(&app, None, &hook).await;
    assert_eq!((entries[0]["status"].as_str(), entries[0]["attempts"].as_i64()), (Some("gone"), Some(1)));
    assert_eq!(entries[0]["last_status"], 410);
    let shown: Value = get(&app, None, &path).await.json().await.unwrap();
    assert_eq!(shown["enabled"], false, "{shown}");
    assert!(shown["disabled_reason"].as_str().unwrap().contains("410"), "{shown}");
    // No retry of the 410, and nothing for later events.
    upload(&app, None).await;
    app.settle().await;
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(log(&app, None, &hook).await.len(), 1);
    app.shutdown().await;
}

async fn deleting_a_subscription_stops_its_retries(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, fast).await else { return };
    let receiver = Receiver::start().await.failing(usize::MAX);
    let hook = subscribe(&app, None, &receiver.url, &["image.created"]).await;
    let path = format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap());
    upload(&app, None).await;
    app.drain().await;
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(delete(&app, None, &path).await.status(), 204);
    assert_problem(get(&app, None, &path).await, 404, "not_found").await;
    assert_problem(get(&app, None, &format!("{path}/deliveries")).await, 404, "not_found").await;
    assert_problem(delete(&app, None, &path).await, 404, "not_found").await;
    // The retry due in a minute ends without sending.
    app.settle().await;
    assert_eq!(receiver.received().len(), 1);
    let list: Value = get(&app, None, "/api/v1/webhooks").await.json().await.unwrap();
    assert_eq!(list["webhooks"], json!([]));
    app.shutdown().await;
}

async fn subscriptions_belong_to_their_owner(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, fast).await else { return };
    let db = &app.state.db;
    let al = create_api_key(db, "al", "upload read", None).await.unwrap().secret;
    let bo = create_api_key(db, "bo", "upload read", None).await.unwrap().secret;
    let root = create_api_key(db, "root", "admin", None).await.unwrap().secret;
    let (al, bo, root) = (Some(al.as_str()), Some(bo.as_str()), Some(root.as_str()));
    let al_receiver = Receiver::start().await;
    let bo_receiver = Receiver::start().await;
    let al_hook = subscribe(&app, al, &al_receiver.url, &["image.created", "image.deleted"]).await;
    let bo_hook = subscribe(&app, bo, &bo_receiver.url, &["*"]).await;
    assert_eq!((al_hook["owner"].as_str(), bo_hook["owner"].as_str()), (Some("al"), Some("bo")));
    let al_path = format!("/api/v1/webhooks/{}", al_hook["id"].as_str().unwrap());

    // al's events go to al's endpoint only.
    let image = upload(&app, al).await;
    assert_eq!(delete(&app, al, &format!("/api/v1/img/{image}")).await.status(), 204);
    app.settle().await;
    let got = al_receiver.received();
    assert_eq!(got.len(), 2, "{got:#?}");
    let mut kinds: Vec<String> = got.iter().map(|r| r.json()["type"].as_str().unwrap().to_string()).collect();
    kinds.sort();
    assert_eq!(kinds, ["image.created", "image.deleted"]);
    for request in &got {
        assert_eq!(request.json()["data"]["id"], image.as_str());
        assert_signed(al_hook["secret"].as_str().unwrap(), request);
    }
    assert!(bo_receiver.received().is_empty(), "bo got al's events: {:#?}", bo_receiver.received());

    // Each sees only their own; others' are not found, not even to delete.
    let listed: Value = get(&app, bo, "/api/v1/webhooks").await.json().await.unwrap();
    let ids: Vec<&Value> = listed["webhooks"].as_array().unwrap().iter().map(|h| &h["id"]).collect();
    assert_eq!(ids, [&bo_hook["id"]]);
    assert!(listed["webhooks"][0].get("secret").is_none());
    assert_problem(get(&app, bo, &al_path).await, 404, "not_found").await;
    assert_problem(get(&app, bo, &format!("{al_path}/deliveries")).await, 404, "not_found").await;
    assert_problem(delete(&app, bo, &al_path).await, 404, "not_found").await;
    assert_eq!(get(&app, al, &al_path).await.status(), 200, "bo's attempt deleted nothing");
    assert_eq!(log(&app, al, &al_hook).await.len(), 2);
    // An admin may look at anyone's.
    assert_eq!(get(&app, root, &al_path).await.status(), 200);
    // Reading needs no more than `read`; a key with only `read` may not subscribe.
    let reader = create_api_key(db, "al", "read", None).await.unwrap().secret;
    assert_eq!(get(&app, Some(&reader), &al_path).await.status(), 200);
    let refused = create(&app, Some(&reader), json!({ "url": al_receiver.url, "events": ["*"] })).await;
    assert_problem(refused, 403, "forbidden").await;
    assert_problem(delete(&app, Some(&reader), &al_path).await, 403, "forbidden").await;
    assert_eq!(delete(&app, al, &al_path).await.status(), 204);
    assert_problem(get(&app, al, &al_path).await, 404, "not_found").await;
    app.shutdown().await;
}

async fn invalid_subscriptions_are_problems(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, fast).await else { return };
    let url = "http://127.0.0.1:9/hook";
    let problem = |body: Value| {
        let app = &app;
        async move { assert_problem(create(app, None, body).await, 400, "invalid_request").await }
    };
    let unknown = problem(json!({ "url": url, "events": ["image.created", "image.exploded"] })).await;
    let detail = unknown["detail"].as_str().unwrap();
    for named in
        ["image.exploded", "image.created", "image.processed", "image.rejected", "image.flagged", "image.deleted", "*"]
    {
        assert!(detail.contains(named), "{detail} does not name {named}");
    }
    problem(json!({ "url": url, "events": [] })).await;
    for secret in ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_c2hvcnQ="] {
        let bad = problem(json!({ "url": url, "events": ["*"], "secret": secret })).await;
        assert!(bad["detail"].as_str().unwrap().contains("whsec_"), "{bad}");
    }
    for bad_url in ["ftp://127.0.0.1/hook", "not a url", "http://user:pw@127.0.0.1/hook", "/relative"] {
        problem(json!({ "url": bad_url, "events": ["*"] })).await;
    }
    problem(json!({ "events": ["*"] })).await;
    problem(json!({ "url": url, "events": "image.created" })).await;
    problem(json!({ "url": url, "events": ["*"], "colour": "blue" })).await;
    let response = app
        .client
        .post(app.url("/api/v1/webhooks"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_problem(response, 400, "invalid_request").await;
    let response = app.client.post(app.url("/api/v1/webhooks")).body("{}").send().await.unwrap();
    assert_problem(response, 400, "invalid_request").await;
    assert_problem(get(&app, None, "/api/v1/webhooks/wh_nope").await, 404, "not_found").await;
    let hook = subscribe(&app, None, url, &["*", "*", "image.created"]).await;
    assert_eq!(hook["events"], json!(["*", "image.created"]), "repeats are dropped");
    let deliveries = format!("/api/v1/webhooks/{}/deliveries", hook["id"].as_str().unwrap());
    assert_problem(get(&app, None, &format!("{deliveries}?limit=0")).await, 400, "invalid_request").await;
    assert_problem(get(&app, None, &format!("{deliveries}?limit=x")).await, 400, "invalid_request").await;
    app.shutdown().await;
}

async fn private_endpoints_need_fetch_allow(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let receiver = Receiver::start().await;
    let port = receiver.url.split(':').nth(2).unwrap().split('/').next().unwrap().to_string();
    for (url, named) in [
        (receiver.url.clone(), "127.0.0.1"),
        (format!("http://localhost:{port}/hook"), "localhost"),
        ("http://169.254.169.254/latest/meta-data/".to_string(), "169.254.169.254"),
        ("http://[::1]/hook".to_string(), "::1"),
        ("http://10.1.2.3/hook".to_string(), "10.1.2.3"),
    ] {
        let refused =
            assert_problem(create(&app, None, json!({ "url": url, "events": ["*"] })).await, 400, "invalid_request")
                .await;
        let detail = refused["detail"].as_str().unwrap();
        assert!(detail.contains("fetch.allow") && detail.contains(named), "{url}: {detail}");
    }
    let listed: Value = get(&app, None, "/api/v1/webhooks").await.json().await.unwrap();
    assert_eq!(listed["webhooks"], json!([]));
    upload(&app, None).await;
    assert!(app.drain().await >= 1, "the upload's dispatch ran");
    assert!(receiver.received().is_empty());
    app.shutdown().await;
}

async fn the_routes_are_in_the_openapi_document(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let doc: Value = get(&app, None, "/api/openapi.json").await.json().await.unwrap();
    let paths = &doc["paths"];
    for (path, method) in [
        ("/api/v1/webhooks", "post"),
        ("/api/v1/webhooks", "get"),
        ("/api/v1/webhooks/{id}", "get"),
        ("/api/v1/webhooks/{id}", "delete"),
        ("/api/v1/webhooks/{id}/deliveries", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path} is not documented");
    }
    // Every schema the webhook routes name is defined.
    let text = doc.to_string();
    for name in ["CreateWebhook", "WebhookView", "WebhookList", "DeliveryView", "DeliveryList"] {
        assert!(text.contains(&format!("#/components/schemas/{name}")), "{name} is not referenced");
        assert!(doc["components"]["schemas"][name].is_object(), "{name} is not defined");
    }
    app.shutdown().await;
}

/// Retention (issue 17): past `retention.*_days`, housekeeping deletes the
/// events and the finished deliveries; the image itself stays, and events
/// and deliveries within the window stay too.
async fn old_events_and_deliveries_are_deleted(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, fast).await else { return };
    let receiver = Receiver::start().await;
    let hook = subscribe(&app, None, &receiver.url, &["image.created"]).await;
    let image = upload(&app, None).await;
    assert!(app.settle().await.is_empty());
    assert_eq!(log(&app, None, &hook).await.len(), 1);
    assert!(!app.state.db.events_for(&image).await.unwrap().is_empty());

    const DAY_MS: i64 = 86_400_000;
    let now = pictor_db::now_ms();
    // A day before the window ends, everything stays.
    app.state.expire_history(now + 29 * DAY_MS).await;
    assert_eq!(log(&app, None, &hook).await.len(), 1);
    assert!(!app.state.db.events_for(&image).await.unwrap().is_empty());
    // Past it, the history goes; the image does not.
    app.state.expire_history(now + 31 * DAY_MS).await;
    assert!(log(&app, None, &hook).await.is_empty(), "the delivery log is emptied");
    assert!(app.state.db.events_for(&image).await.unwrap().is_empty(), "the events are deleted");
    assert_eq!(get(&app, None, &format!("/api/v1/img/{image}")).await.status(), 200);
    // Its execution stays 90 days, then goes with its step history.
    let executions = app.state.db.executions_for_image(&image).await.unwrap();
    assert_eq!(executions.len(), 1);
    let execution = &executions[0].id;
    assert!(!app.state.db.history(execution).await.unwrap().is_empty());
    app.state.expire_history(now + 89 * DAY_MS).await;
    assert_eq!(get(&app, None, &format!("/api/v1/executions/{execution}")).await.status(), 200);
    app.state.expire_history(now + 91 * DAY_MS).await;
    assert_eq!(get(&app, None, &format!("/api/v1/executions/{execution}")).await.status(), 404);
    assert!(app.state.db.history(execution).await.unwrap().is_empty(), "its history is deleted");
    let image_answer = get(&app, None, &format!("/api/v1/img/{image}")).await;
    assert_eq!(image_answer.status(), 200, "the image stays");
    app.shutdown().await;
}
