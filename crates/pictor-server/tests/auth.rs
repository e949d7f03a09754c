//! Who may do what, over HTTP: the open server, API keys, JWTs (HS256 with a
//! shared secret; ES256 and RS256 against a JWKS file), anonymous reads,
//! signed URLs with presets-only mode, and the SSRF guard on URL uploads.
//!
//! `tests/fixtures/` holds key pairs made for these tests only (with
//! `openssl`): `es256-private.pem` and `rs256-private.pem` sign tokens that
//! `jwks.json` (kids `test-es256`, `test-rs256`) verifies;
//! `es256-other-private.pem` is a stranger's key. Every HTTP request here goes
//! to 127.0.0.0/8.

use crate::common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use pictor_core::auth::create_api_key;
use pictor_server::config::Config;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------- helpers

/// How a request presents itself.
#[derive(Clone, Copy)]
enum Cred<'a> {
    Anonymous,
    /// `Authorization: Bearer …` (an API key or a JWT).
    Bearer(&'a str),
    /// `X-API-Key: …`.
    ApiKey(&'a str),
}

use Cred::{Anonymous, ApiKey, Bearer};

fn with_cred(request: RequestBuilder, cred: Cred<'_>) -> RequestBuilder {
    match cred {
        Anonymous => request,
        Bearer(token) => request.bearer_auth(token),
        ApiKey(key) => request.header("x-api-key", key),
    }
}

async fn send(app: &TestApp, method: Method, path: &str, cred: Cred<'_>) -> Response {
    with_cred(app.client.request(method, app.url(path)), cred).send().await.unwrap()
}

async fn get(app: &TestApp, path: &str, cred: Cred<'_>) -> Response {
    send(app, Method::GET, path, cred).await
}

/// Uploads a JPEG of this size as a raw body.
async fn upload_sized(app: &TestApp, cred: Cred<'_>, (w, h): (u32, u32)) -> Response {
    with_cred(app.client.post(app.url("/api/v1/img")), cred)
        .header("content-type", "image/jpeg")
        .body(jpeg(w, h))
        .send()
        .await
        .unwrap()
}

/// Uploads a small JPEG (40×30).
async fn upload(app: &TestApp, cred: Cred<'_>) -> Response {
    upload_sized(app, cred, (40, 30)).await
}

/// Uploads, asserts 201 and the record's owner (`None`: anonymous); returns
/// the image's id.
async fn upload_owned_by(app: &TestApp, cred: Cred<'_>, owner: Option<&str>) -> String {
    upload_sized_owned_by(app, cred, owner, (40, 30)).await
}

async fn upload_sized_owned_by(app: &TestApp, cred: Cred<'_>, owner: Option<&str>, size: (u32, u32)) -> String {
    let response = upload_sized(app, cred, size).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let record: Value = response.json().await.unwrap();
    assert_eq!(record["owner"], json!(owner), "{record}");
    record["id"].as_str().unwrap().to_string()
}

/// The ids `GET /api/v1/img` lists for this caller.
async fn listed_ids(app: &TestApp, cred: Cred<'_>) -> Vec<String> {
    let response = get(app, "/api/v1/img", cred).await;
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    page["images"].as_array().unwrap().iter().map(|image| image["id"].as_str().unwrap().to_string()).collect()
}

/// Asserts an image answer and returns its size.
async fn image_size(response: Response) -> (u32, u32) {
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let bytes = response.bytes().await.unwrap();
    let header = pictor_imaging::probe(&bytes).unwrap();
    (header.width, header.height)
}

/// Starts a server whose database already holds API keys for these
/// `(owner, scopes)`; returns it with the keys' secrets.
///
/// The keys are made on a first server, which is then restarted over the
/// same data: the new one sees them from its first request on, with no wait
/// for the once-a-second re-check of whether the server is open.
async fn spawn_with_keys<const N: usize>(
    backend: Backend,
    tweak: impl FnOnce(&mut Config),
    keys: [(&str, &str); N],
) -> Option<(TestApp, [String; N])> {
    let mut first = TestApp::spawn(backend, tweak).await?;
    let mut secrets = Vec::with_capacity(N);
    for (owner, scopes) in keys {
        secrets.push(create_api_key(&first.state.db, owner, scopes, None).await.unwrap().secret);
    }
    let config = first.state.config.clone();
    let dir = std::mem::replace(&mut first.dir, tempfile::tempdir().unwrap());
    first.shutdown().await;
    Some((TestApp::start(config, dir).await, secrets.try_into().unwrap()))
}

// ---------------------------------------------------------------- JWTs

const SECRET: &str = "a shared secret for HS256 tests";
const ISSUER: &str = "https://id.example";
const AUDIENCE: &str = "pictor";

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Claims for `sub` that expire in an hour; tests add or change the rest.
fn claims(sub: &str) -> Value {
    json!({ "sub": sub, "exp": unix_now() + 3600 })
}

fn with(mut claims: Value, key: &str, value: impl Into<Value>) -> Value {
    claims[key] = value.into();
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

fn hs256(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(&Header::default(), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

/// A token with `alg: none` and an empty signature.
fn unsigned(claims: &Value) -> String {
    use base64::Engine as _;
    let encode = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.", encode(&json!({ "alg": "none", "typ": "JWT" })), encode(claims))
}

/// An HS256 token whose "secret" is the public JWK `kid` as served: the
/// HS/RS confusion attack on verifiers that take the algorithm from the token.
fn hs256_with_public_key(kid: &str, claims: &Value) -> String {
    let jwks: Value = serde_json::from_slice(&std::fs::read(fixture("jwks.json")).unwrap()).unwrap();
    let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid).unwrap();
    let header = Header { kid: Some(kid.into()), ..Header::new(Algorithm::HS256) };
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(jwk.to_string().as_bytes())).unwrap()
}

/// A token signed with a fixture's private key, naming `kid`.
fn signed_by(pem_file: &str, alg: Algorithm, kid: &str, claims: &Value) -> String {
    let pem = std::fs::read(fixture(pem_file)).unwrap();
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
        other => panic!("no fixture key for {other:?}"),
    }
    .unwrap();
    let header = Header { kid: Some(kid.into()), ..Header::new(alg) };
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

async fn spawn_hs256(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
    TestApp::spawn(backend, |config| {
        config.auth.jwt_secret = SECRET.into();
        tweak(config);
    })
    .await
}

/// Asserts that uploading with each token is refused: 401 `unauthorized`.
async fn assert_tokens_rejected(app: &TestApp, tokens: &[(&str, String)]) {
    for (why, token) in tokens {
        let response = upload(app, Bearer(token)).await;
        let status = response.status();
        assert!(status == 401, "{why}: answered {status}, not 401: {}", response.text().await.unwrap());
        assert_problem(response, 401, "unauthorized").await;
    }
}

// ---------------------------------------------------------------- the tests

/// `limits.requests_per_minute` counts per credential: one key past its
/// budget gets 429 with `Retry-After`, another key of the same owner and
/// other owners' keys go on; a wrong key is refused before it costs any.
async fn each_key_has_its_own_request_budget(backend: Backend) {
    let tweak = |config: &mut Config| config.limits.requests_per_minute = 3;
    let Some((app, [first, second, bob])) =
        spawn_with_keys(backend, tweak, [("alice", "read"), ("alice", "read"), ("bob", "read")]).await
    else {
        return;
    };
    for _ in 0..3 {
        assert_eq!(get(&app, "/api/v1/img", Bearer(&first)).await.status(), 200);
    }
    let refused = get(&app, "/api/v1/img", Bearer(&first)).await;
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry_after), "Retry-After {retry_after}");
    let problem = assert_problem(refused, 429, "rate_limited").await;
    assert!(problem["detail"].as_str().unwrap().contains("limits.requests_per_minute"), "{problem}");
    assert_eq!(get(&app, "/api/v1/img", Bearer(&second)).await.status(), 200, "another key of alice's");
    assert_eq!(get(&app, "/api/v1/img", Bearer(&bob)).await.status(), 200, "bob's key");
    for _ in 0..5 {
        assert_problem(get(&app, "/api/v1/img", Bearer("pk_wrong")).await, 401, "unauthorized").await;
    }
    app.shutdown().await;
}

/// Default config: no keys, no JWT; uploads need nothing and own nothing.
async fn open_server_takes_anonymous_uploads(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let id = upload_owned_by(&app, Anonymous, None).await;
    assert_eq!(listed_ids(&app, Anonymous).await, [id]);
    app.shutdown().await;
}

async fn api_keys_close_the_server(backend: Backend) {
    let Some((app, [alice, reader])) =
        spawn_with_keys(backend, |_| {}, [("alice", "upload read"), ("rita", "read")]).await
    else {
        return;
    };
    assert_problem(upload(&app, Anonymous).await, 401, "unauthorized").await;
    let mistyped = format!("{}{}", &alice[..alice.len() - 1], if alice.ends_with('0') { '1' } else { '0' });
    assert_problem(upload(&app, Bearer(&mistyped)).await, 401, "unauthorized").await;
    assert_problem(upload(&app, ApiKey(&mistyped)).await, 401, "unauthorized").await;
    assert_problem(upload(&app, Bearer("not-a-key-nor-a-jwt")).await, 401, "unauthorized").await;
    assert_problem(upload(&app, Bearer(&reader)).await, 403, "forbidden").await;
    // Reads need credentials too, unless `auth.anonymous_reads` is on.
    let id = upload_owned_by(&app, Bearer(&alice), Some("alice")).await;
    assert_problem(get(&app, &format!("/api/v1/img/{id}"), Anonymous).await, 401, "unauthorized").await;
    assert_problem(get(&app, &format!("/api/v1/img/{id}.jpg?thumbnail=10"), Anonymous).await, 401, "unauthorized")
        .await;
    // Images are private: rita's key reads none of alice's, which do not
    // even exist for her.
    let alices = format!("/api/v1/img/{id}");
    for path in [
        alices.clone(),
        format!("{alices}.jpg?thumbnail=10"),
        format!("{alices}/original"),
        format!("{alices}/labels"),
        format!("{alices}/executions"),
    ] {
        assert_problem(get(&app, &path, Bearer(&reader)).await, 404, "not_found").await;
        assert_eq!(get(&app, &path, Bearer(&alice)).await.status(), 200, "{path}");
    }
    app.shutdown().await;
}

async fn api_key_works_in_either_header(backend: Backend) {
    let Some((app, [alice])) = spawn_with_keys(backend, |_| {}, [("alice", "upload read")]).await else { return };
    let by_bearer = upload_owned_by(&app, Bearer(&alice), Some("alice")).await;
    let by_header = upload_owned_by(&app, ApiKey(&alice), Some("alice")).await;
    assert_ne!(by_bearer, by_header);
    app.shutdown().await;
}

async fn owners_list_and_delete_only_their_images(backend: Backend) {
    let keys = [("alice", "upload read"), ("bob", "upload read")];
    let Some((app, [alice, bob])) = spawn_with_keys(backend, |_| {}, keys).await else { return };
    let id = upload_owned_by(&app, Bearer(&alice), Some("alice")).await;
    let bobs = upload_owned_by(&app, Bearer(&bob), Some("bob")).await;
    let path = format!("/api/v1/img/{id}");

    assert_problem(send(&app, Method::DELETE, &path, Bearer(&bob)).await, 404, "not_found").await;
    assert_eq!(listed_ids(&app, Bearer(&bob)).await, [bobs]);
    assert_eq!(listed_ids(&app, ApiKey(&alice)).await, std::slice::from_ref(&id));

    assert_eq!(send(&app, Method::DELETE, &path, Bearer(&alice)).await.status(), 204);
    assert_problem(get(&app, &path, Bearer(&alice)).await, 404, "not_found").await;
    assert!(listed_ids(&app, Bearer(&alice)).await.is_empty());
    app.shutdown().await;
}

async fn hs256_token_sub_owns_uploads(backend: Backend) {
    let Some(app) = spawn_hs256(backend, |_| {}).await else { return };
    upload_owned_by(&app, Bearer(&hs256(SECRET, &claims("carol"))), Some("carol")).await;
    // A configured JWT issuer closes the server.
    assert_problem(upload(&app, Anonymous).await, 401, "unauthorized").await;
    assert_problem(get(&app, "/api/v1/img", Anonymous).await, 401, "unauthorized").await;
    app.shutdown().await;
}

async fn hs256_bad_tokens_are_refused(backend: Backend) {
    let Some(app) = spawn_hs256(backend, |_| {}).await else { return };
    let expired = with(claims("carol"), "exp", unix_now() - 3600);
    assert_tokens_rejected(
        &app,
        &[
            ("wrong secret", hs256("another secret", &claims("carol"))),
            ("expired", hs256(SECRET, &expired)),
            ("no exp", hs256(SECRET, &without(claims("carol"), "exp"))),
            ("no sub", hs256(SECRET, &without(claims("carol"), "sub"))),
            ("ES256 with no JWKS", signed_by("es256-private.pem", Algorithm::ES256, "test-es256", &claims("carol"))),
            ("alg none", unsigned(&claims("carol"))),
            ("not valid for an hour yet", hs256(SECRET, &with(claims("carol"), "nbf", unix_now() + 3600))),
            ("expired beyond the clock-skew leeway", hs256(SECRET, &with(claims("carol"), "exp", unix_now() - 120))),
        ],
    )
    .await;
    // Clocks a little apart (within the 60 s leeway) are tolerated.
    let skewed = with(with(claims("carol"), "nbf", unix_now() + 20), "exp", unix_now() - 20);
    upload_owned_by(&app, Bearer(&hs256(SECRET, &skewed)), Some("carol")).await;
    let read_only = hs256(SECRET, &with(claims("carol"), "scope", "read"));
    assert_problem(upload(&app, Bearer(&read_only)).await, 403, "forbidden").await;
    assert_eq!(get(&app, "/api/v1/img", Bearer(&read_only)).await.status(), 200);
    app.shutdown().await;
}

fn issuer_and_audience(config: &mut Config) {
    config.auth.issuer = ISSUER.into();
    config.auth.audience = AUDIENCE.into();
}

/// Claims that satisfy [`issuer_and_audience`].
fn claims_for_pictor(sub: &str) -> Value {
    with(with(claims(sub), "iss", ISSUER), "aud", AUDIENCE)
}

async fn issuer_and_audience_must_match(backend: Backend) {
    let Some(app) = spawn_hs256(backend, issuer_and_audience).await else { return };
    upload_owned_by(&app, Bearer(&hs256(SECRET, &claims_for_pictor("carol"))), Some("carol")).await;
    assert_tokens_rejected(
        &app,
        &[
            ("other iss", hs256(SECRET, &with(claims_for_pictor("carol"), "iss", "https://evil.example"))),
            ("other aud", hs256(SECRET, &with(claims_for_pictor("carol"), "aud", "someone-else"))),
        ],
    )
    .await;
    app.shutdown().await;
}

/// A configured issuer or audience must be *present* in the token, not
/// only right when present.
async fn issuer_and_audience_are_required_when_configured(backend: Backend) {
    let Some(app) = spawn_hs256(backend, issuer_and_audience).await else { return };
    assert_tokens_rejected(
        &app,
        &[
            ("no iss", hs256(SECRET, &without(claims_for_pictor("carol"), "iss"))),
            ("no aud", hs256(SECRET, &without(claims_for_pictor("carol"), "aud"))),
        ],
    )
    .await;
    app.shutdown().await;
}

async fn spawn_jwks(backend: Backend) -> Option<TestApp> {
    TestApp::spawn(backend, |config| {
        config.auth.jwks = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jwks.json").into()
    })
    .await
}

async fn jwks_tokens_es256_and_rs256(backend: Backend) {
    let Some(app) = spawn_jwks(backend).await else { return };
    let es = signed_by("es256-private.pem", Algorithm::ES256, "test-es256", &claims("dave"));
    upload_owned_by(&app, Bearer(&es), Some("dave")).await;
    let rs = signed_by("rs256-private.pem", Algorithm::RS256, "test-rs256", &claims("erin"));
    upload_owned_by(&app, Bearer(&rs), Some("erin")).await;
    app.shutdown().await;
}

async fn jwks_refuses_other_keys(backend: Backend) {
    let Some(app) = spawn_jwks(backend).await else { return };
    let stranger = |kid: &str| signed_by("es256-other-private.pem", Algorithm::ES256, kid, &claims("mallory"));
    assert_tokens_rejected(
        &app,
        &[
            ("other key, known kid", stranger("test-es256")),
            ("other key, unknown kid", stranger("mallory-1")),
            ("RS256 kid on an ES256 token", stranger("test-rs256")),
            ("HS256 with no secret configured", hs256(SECRET, &claims("mallory"))),
            ("HS256 keyed with the public RS256 key", hs256_with_public_key("test-rs256", &claims("mallory"))),
            ("alg none", unsigned(&claims("mallory"))),
            (
                "expired",
                signed_by(
                    "es256-private.pem",
                    Algorithm::ES256,
                    "test-es256",
                    &with(claims("dave"), "exp", unix_now() - 3600),
                ),
            ),
        ],
    )
    .await;
    app.shutdown().await;
}

async fn anonymous_reads_still_need_keys_to_write(backend: Backend) {
    let tweak = |config: &mut Config| config.auth.anonymous_reads = true;
    let Some((app, [alice])) = spawn_with_keys(backend, tweak, [("alice", "upload read")]).await else { return };
    let id = upload_owned_by(&app, Bearer(&alice), Some("alice")).await;
    let (w, h) = image_size(get(&app, &format!("/api/v1/img/{id}.jpg?thumbnail=20"), Anonymous).await).await;
    assert_eq!(w.max(h), 20);
    assert_problem(upload(&app, Anonymous).await, 401, "unauthorized").await;
    assert_problem(send(&app, Method::DELETE, &format!("/api/v1/img/{id}"), Anonymous).await, 401, "unauthorized")
        .await;
    // Anonymous readers see no one's list.
    assert!(listed_ids(&app, Anonymous).await.is_empty());
    app.shutdown().await;
}

const SIGNING_KEY: &str = "k";

async fn presets_and_signed_urls_only(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |config| {
        config.transforms.signing_key = SIGNING_KEY.into();
        config.transforms.only_presets_and_signed = true;
    })
    .await
    else {
        return;
    };
    let id = upload_sized_owned_by(&app, Anonymous, None, (400, 300)).await;
    let path = format!("/api/v1/img/{id}.jpg");
    let at = |query: &str| format!("{path}?{query}");

    assert_problem(get(&app, &at("thumbnail=123"), Anonymous).await, 403, "forbidden").await;
    assert_problem(get(&app, &at("preset=thumb&rotate=90"), Anonymous).await, 403, "forbidden").await;
    assert_eq!(image_size(get(&app, &at("preset=thumb"), Anonymous).await).await, (200, 150));
    assert_problem(get(&app, &at("preset=nope"), Anonymous).await, 400, "invalid_filter").await;

    let signed = pictor_core::signing::sign_url(SIGNING_KEY, &path, "thumbnail=123");
    let (w, h) = image_size(get(&app, &signed, Anonymous).await).await;
    assert!(w.max(h) <= 123 && w.min(h) > 0, "{w}x{h}");

    let (_, sig) = signed.split_once("&sig=").unwrap();
    let flipped = format!("{}{}", if sig.starts_with('A') { 'B' } else { 'A' }, &sig[1..]);
    for tampered in [at(&format!("thumbnail=123&sig={flipped}")), at(&format!("thumbnail=124&sig={sig}"))] {
        assert_problem(get(&app, &tampered, Anonymous).await, 403, "forbidden").await;
    }
    // The signature covers the path too.
    let other = upload_owned_by(&app, Anonymous, None).await;
    let moved = signed.replace(&id, &other);
    assert_problem(get(&app, &moved, Anonymous).await, 403, "forbidden").await;
    app.shutdown().await;
}

// ---------------------------------------------------------------- SSRF

/// A tiny HTTP/1.1 server on a loopback address that answers every request
/// with the same bytes and counts the connections it accepts.
struct Upstream {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

impl Upstream {
    async fn start(ip: &str, response: Vec<u8>) -> Self {
        let listener = TcpListener::bind((ip, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let response = Arc::new(response);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(answer(stream, response.clone()));
            }
        });
        Self { addr, hits }
    }

    fn url(&self) -> String {
        format!("http://{}/a.png", self.addr)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn answer(mut stream: TcpStream, response: Arc<Vec<u8>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let _ = stream.write_all(&response).await;
    let _ = stream.shutdown().await;
}

fn http_response(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut response =
        format!("HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n", body.len())
            .into_bytes();
    response.extend_from_slice(body);
    response
}

async fn png_upstream(ip: &str) -> Upstream {
    Upstream::start(ip, http_response("200 OK", "Content-Type: image/png\r\n", &png(8, 8))).await
}

/// `POST /api/v1/img {"type":"url","data":url}` on an open server.
async fn upload_url(app: &TestApp, url: &str) -> Response {
    app.client.post(app.url("/api/v1/img")).json(&json!({ "type": "url", "data": url })).send().await.unwrap()
}

fn allow_localhost(config: &mut Config) {
    config.fetch.allow = vec!["127.0.0.1/32".into()];
}

async fn url_uploads_refuse_loopback_by_default(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let upstream = png_upstream("127.0.0.1").await;
    assert_problem(upload_url(&app, &upstream.url()).await, 403, "forbidden").await;
    assert_eq!(upstream.hits(), 0, "the refused address was contacted");
    assert!(listed_ids(&app, Anonymous).await.is_empty());
    app.shutdown().await;
}

async fn url_uploads_reach_allowed_networks(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, allow_localhost).await else { return };
    let upstream = png_upstream("127.0.0.1").await;
    let response = upload_url(&app, &upstream.url()).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let record: Value = response.json().await.unwrap();
    assert_eq!((record["width"].as_i64(), record["height"].as_i64()), (Some(8), Some(8)), "{record}");
    assert_eq!(record["source"], "url");
    assert_eq!(listed_ids(&app, Anonymous).await, [record["id"].as_str().unwrap()]);
    app.shutdown().await;
}

async fn url_uploads_do_not_follow_redirects_out_of_the_allow_list(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, allow_localhost).await else { return };
    // Would serve the image if the guard let the redirect through.
    let target = png_upstream("127.0.0.2").await;
    let location = format!("Location: http://{}/\r\n", target.addr);
    let start = Upstream::start("127.0.0.1", http_response("302 Found", &location, b"")).await;
    assert_problem(upload_url(&app, &start.url()).await, 403, "forbidden").await;
    assert_eq!(start.hits(), 1);
    assert_eq!(target.hits(), 0, "the redirect to a refused address was followed");
    assert!(listed_ids(&app, Anonymous).await.is_empty());
    app.shutdown().await;
}

/// An identity provider's JWKS served over HTTP, as Cognito's or any OIDC
/// provider's is.
async fn jwks_from_a_url(backend: Backend) {
    let jwks = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jwks.json")).unwrap();
    let provider =
        Upstream::start("127.0.0.1", http_response("200 OK", "Content-Type: application/json\r\n", &jwks)).await;
    let url = format!("http://{}/.well-known/jwks.json", provider.addr);
    let Some(app) = TestApp::spawn(backend, |config| config.auth.jwks = url).await else { return };
    assert_eq!(provider.hits(), 1, "the JWKS is fetched at start");
    let es = signed_by("es256-private.pem", Algorithm::ES256, "test-es256", &claims("frank"));
    upload_owned_by(&app, Bearer(&es), Some("frank")).await;
    app.shutdown().await;
}

both_backends!(
    open_server_takes_anonymous_uploads,
    api_keys_close_the_server,
    api_key_works_in_either_header,
    owners_list_and_delete_only_their_images,
    hs256_token_sub_owns_uploads,
    hs256_bad_tokens_are_refused,
    issuer_and_audience_must_match,
    issuer_and_audience_are_required_when_configured,
    jwks_tokens_es256_and_rs256,
    jwks_refuses_other_keys,
    jwks_from_a_url,
    anonymous_reads_still_need_keys_to_write,
    presets_and_signed_urls_only,
    url_uploads_refuse_loopback_by_default,
    url_uploads_reach_allowed_networks,
    url_uploads_do_not_follow_redirects_out_of_the_allow_list,
    each_key_has_its_own_request_budget,
);
