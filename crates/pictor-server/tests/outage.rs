//! A database outage and its end, on PostgreSQL (issue 11, item 7), and an
//! S3 store's (issue 17).
//!
//! The shared PostgreSQL and S3 server that the suite uses keep running:
//! each test puts a TCP proxy of its own between the server and its fresh
//! database or bucket prefix, and the proxy plays the outage. While it is down, requests that need the database
//! must answer `503 database_unavailable` with `Retry-After` in bounded time
//! (never hang, never `500`, never `401` on an open server); once it is back,
//! everything resumes by itself, and an open server stays open, a closed one
//! closed.

use crate::common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use pictor_core::auth::create_api_key;
use reqwest::{RequestBuilder, Response};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

/// Only a guard against a hang: a request during the outage should be
/// answered within about `limits.database_acquire_timeout_secs` (2 s).
const HANG_GUARD: Duration = Duration::from_secs(15);
/// How long the server may take to notice that the database is back.
const RECOVERY: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------- the proxy

/// How the proxy plays a database that has gone away.
#[derive(Clone, Copy, Debug)]
enum Outage {
    /// The port is closed: connecting is refused, as when PostgreSQL is stopped.
    Refused,
    /// Connections are accepted and closed at once.
    Reset,
}

/// A TCP proxy on 127.0.0.1 in front of PostgreSQL or S3 that can cut every
/// connection and take new ones down, then come back on the same port.
struct TcpProxy {
    addr: SocketAddr,
    upstream: String,
    /// Connections being forwarded, to cut at the outage.
    conns: Arc<Mutex<Vec<AbortHandle>>>,
    /// While set, new connections are closed as soon as they are accepted.
    reset: Arc<AtomicBool>,
    /// The accept loop; `None` while the port is closed.
    accept: Mutex<Option<JoinHandle<()>>>,
}

impl TcpProxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Self {
            addr: listener.local_addr().unwrap(),
            upstream,
            conns: Arc::default(),
            reset: Arc::default(),
            accept: Mutex::new(None),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let (upstream, conns, reset) = (self.upstream.clone(), self.conns.clone(), self.reset.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { continue };
                // Checked and registered under the lock, so a cut never
                // misses a connection accepted just before it.
                let mut live = conns.lock().unwrap();
                if reset.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let forward = tokio::spawn(async move {
                    let mut client = client;
                    let Ok(mut server) = TcpStream::connect(&upstream).await else { return };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
                live.push(forward.abort_handle());
            }
        });
        *self.accept.lock().unwrap() = Some(task);
    }

    /// The database goes away: every open connection is cut, and new ones
    /// fail as `how` says.
    async fn cut(&self, how: Outage) {
        match how {
            Outage::Refused => {
                let accept = self.accept.lock().unwrap().take();
                if let Some(task) = accept {
                    task.abort();
                    let _ = task.await; // the listener is dropped: the port is closed
                }
            }
            Outage::Reset => self.reset.store(true, Ordering::SeqCst),
        }
        let mut live = self.conns.lock().unwrap();
        for conn in live.drain(..) {
            conn.abort();
        }
    }

    /// The database is back, on the same port.
    async fn restore(&self) {
        self.reset.store(false, Ordering::SeqCst);
        if self.accept.lock().unwrap().is_some() {
            return;
        }
        let started = Instant::now();
        let listener = loop {
            let socket = TcpSocket::new_v4().unwrap();
            socket.set_reuseaddr(true).unwrap();
            match socket.bind(self.addr).and_then(|()| socket.listen(128)) {
                Ok(listener) => break listener,
                Err(e) if started.elapsed() < Duration::from_secs(10) => {
                    eprintln!("proxy: binding {} again failed ({e}); retrying", self.addr);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("proxy: cannot listen on {} again: {e}", self.addr),
            }
        };
        self.serve(listener);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        if let Some(task) = self.accept.lock().unwrap().take() {
            task.abort();
        }
        for conn in self.conns.lock().unwrap().drain(..) {
            conn.abort();
        }
    }
}

/// The proxy in front of the suite's PostgreSQL, and a server whose fresh
/// database is reached through it; `None` (with a SKIPPED line) without
/// PostgreSQL and S3.
async fn spawn_behind_proxy() -> Option<(TcpProxy, TestApp)> {
    let (Ok(pg), Ok(_)) = (std::env::var("PICTOR_TEST_DATABASE_URL"), std::env::var("PICTOR_TEST_S3_URL")) else {
        skip(
            "database outage tests: PICTOR_TEST_DATABASE_URL and PICTOR_TEST_S3_URL are not set (run under `source .ci/services.sh`)",
        );
        return None;
    };
    let pg = url::Url::parse(&pg).unwrap();
    let upstream = format!("{}:{}", pg.host_str().unwrap(), pg.port().unwrap_or(5432));
    let proxy = TcpProxy::start(upstream).await;
    let port = proxy.addr.port();
    let app = TestApp::spawn(Backend::PostgresS3, |c| {
        // The harness made a fresh database on the real server; reach it
        // through the proxy instead.
        let mut url = url::Url::parse(&c.database).unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(port)).unwrap();
        c.database = url.to_string();
        assert_eq!(c.limits.database_acquire_timeout_secs, 2, "the default this test is about");
    })
    .await?;
    Some((proxy, app))
}

// ---------------------------------------------------------------- helpers

/// Sends, failing the test if no answer comes within [`HANG_GUARD`].
async fn send(what: &str, request: RequestBuilder) -> Response {
    match tokio::time::timeout(HANG_GUARD, request.send()).await {
        Ok(response) => response.unwrap(),
        Err(_) => panic!("{what}: no answer within {HANG_GUARD:?}: the request hangs while the database is down"),
    }
}

fn list(app: &TestApp, key: Option<&str>) -> RequestBuilder {
    with_key(app.client.get(app.url("/api/v1/img")), key)
}

fn upload(app: &TestApp, key: Option<&str>) -> RequestBuilder {
    with_key(app.client.post(app.url("/api/v1/img")), key).header("content-type", "image/jpeg").body(jpeg(40, 30))
}

fn readyz(app: &TestApp) -> RequestBuilder {
    app.client.get(app.url("/readyz"))
}

fn with_key(request: RequestBuilder, key: Option<&str>) -> RequestBuilder {
    match key {
        Some(key) => request.bearer_auth(key),
        None => request,
    }
}

/// Asserts `503` with a `Retry-After` of whole seconds; for the API (not
/// `/readyz`) also the `database_unavailable` problem.
async fn assert_unavailable(what: &str, response: Response, api: bool) {
    assert_unavailable_as(what, response, api.then_some("database_unavailable")).await;
}

/// Asserts `503` with a `Retry-After` of whole seconds, and the problem
/// `code` when given.
async fn assert_unavailable_as(what: &str, response: Response, code: Option<&str>) {
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    if status != 503 {
        panic!("{what} during the outage: {status} {}, expected 503", response.text().await.unwrap());
    }
    let secs: u64 = retry_after
        .unwrap_or_else(|| panic!("{what}: 503 without Retry-After"))
        .parse()
        .unwrap_or_else(|e| panic!("{what}: Retry-After is not whole seconds: {e}"));
    assert!(secs >= 1, "{what}: Retry-After {secs}");
    if let Some(code) = code {
        assert_problem(response, 503, code).await;
    }
}

/// Sends `request()` until it answers `want`, for up to [`RECOVERY`]; in
/// between only `503` (the database not yet back) is acceptable.
async fn until_status(what: &str, want: u16, request: impl Fn() -> RequestBuilder) -> Response {
    let deadline = Instant::now() + RECOVERY;
    let mut answers = Vec::new();
    loop {
        let response = send(what, request()).await;
        let status = response.status().as_u16();
        if status == want {
            return response;
        }
        let body = response.text().await.unwrap();
        assert_eq!(status, 503, "{what} after the outage: {status} {body} (after {answers:?})");
        answers.push(status);
        assert!(Instant::now() < deadline, "{what} still answers 503 {RECOVERY:?} after the outage: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// ---------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_server_answers_503_during_a_database_outage_and_recovers() {
    let Some((proxy, app)) = spawn_behind_proxy().await else { return };
    assert_eq!(send("upload", upload(&app, None)).await.status(), 201, "open: anyone may upload");
    assert_eq!(send("list", list(&app, None)).await.status(), 200);
    assert_eq!(send("readyz", readyz(&app)).await.status(), 200);

    proxy.cut(Outage::Refused).await;
    // Past the second for which the server trusts its last look at whether
    // API keys exist, so the next request must read that again, and fails.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_unavailable("list", send("list", list(&app, None)).await, true).await;
    assert_unavailable("upload", send("upload", upload(&app, None)).await, true).await;
    assert_unavailable("readyz", send("readyz", readyz(&app)).await, false).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_unavailable("list", send("list", list(&app, None)).await, true).await;

    proxy.restore().await;
    until_status("list", 200, || list(&app, None)).await;
    let created = until_status("upload", 201, || upload(&app, None)).await;
    let id = created.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    // Still open, for longer than the server trusts a look at the keys.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let listed: serde_json::Value = send("list", list(&app, None)).await.json().await.unwrap();
    let ids: Vec<&str> = listed["images"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&id.as_str()), "the upload after the outage is listed: {listed}");
    assert_eq!(ids.len(), 2, "the uploads refused during the outage left no record: {listed}");
    assert_eq!(send("upload", upload(&app, None)).await.status(), 201);
    until_status("readyz", 200, || readyz(&app)).await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_server_stays_closed_through_a_database_outage() {
    let Some((proxy, mut first)) = spawn_behind_proxy().await else { return };
    let key = create_api_key(&first.state.db, "alice", "upload read", None).await.unwrap().secret;
    // Restart, as after `pictor admin create-key`: the server starts closed.
    let config = first.state.config.clone();
    let dir = std::mem::replace(&mut first.dir, tempfile::tempdir().unwrap());
    first.shutdown().await;
    let app = TestApp::start(config, dir).await;
    assert_problem(send("list", list(&app, None)).await, 401, "unauthorized").await;
    assert_eq!(send("list", list(&app, Some(&key))).await.status(), 200);

    // This time new connections are accepted and closed at once.
    proxy.cut(Outage::Reset).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Known to have keys: still closed to strangers, without asking the database.
    assert_problem(send("list", list(&app, None)).await, 401, "unauthorized").await;
    assert_problem(send("upload", upload(&app, None)).await, 401, "unauthorized").await;
    assert_unavailable("list with a key", send("list", list(&app, Some(&key))).await, true).await;
    assert_unavailable("upload with a key", send("upload", upload(&app, Some(&key))).await, true).await;
    assert_unavailable("readyz", send("readyz", readyz(&app)).await, false).await;

    proxy.restore().await;
    until_status("list with a key", 200, || list(&app, Some(&key))).await;
    until_status("upload with a key", 201, || upload(&app, Some(&key))).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_problem(send("list", list(&app, None)).await, 401, "unauthorized").await;
    assert_problem(send("upload", upload(&app, None)).await, 401, "unauthorized").await;
    assert_eq!(send("list", list(&app, Some(&key))).await.status(), 200);
    until_status("readyz", 200, || readyz(&app)).await;
    app.shutdown().await;
}

// ---------------------------------------------------------------- the store

/// The proxy in front of the suite's S3 server, and a server (PostgreSQL
/// reached directly) whose bucket prefix is reached through it.
async fn spawn_behind_store_proxy() -> Option<(TcpProxy, TestApp)> {
    let Ok(s3) = std::env::var("PICTOR_TEST_S3_URL") else {
        skip("store outage test: PICTOR_TEST_S3_URL is not set (run under `source .ci/services.sh`)");
        return None;
    };
    let s3 = url::Url::parse(&s3).unwrap();
    let endpoint = s3.query_pairs().find(|(k, _)| k == "endpoint").expect("an endpoint in PICTOR_TEST_S3_URL").1;
    let endpoint = url::Url::parse(&endpoint).unwrap();
    let proxy = TcpProxy::start(format!("{}:{}", endpoint.host_str().unwrap(), endpoint.port().unwrap())).await;
    let port = proxy.addr.port();
    let app = TestApp::spawn(Backend::PostgresS3, |c| {
        let mut store = url::Url::parse(&c.store).unwrap();
        let pairs: Vec<(String, String)> = store
            .query_pairs()
            .map(|(k, v)| match k.as_ref() {
                "endpoint" => (k.into_owned(), format!("http://127.0.0.1:{port}")),
                _ => (k.into_owned(), v.into_owned()),
            })
            .collect();
        store.query_pairs_mut().clear().extend_pairs(pairs);
        c.store = store.to_string();
    })
    .await?;
    Some((proxy, app))
}

fn upload_bytes(app: &TestApp, bytes: Vec<u8>) -> RequestBuilder {
    app.client.post(app.url("/api/v1/img")).header("content-type", "image/jpeg").body(bytes)
}

/// An S3 server that goes away fails each upload cleanly (`503
/// store_unavailable` in bounded time, no record), reads of what is stored
/// the same way, and everything works again once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_fail_cleanly_while_the_store_is_down_and_resume() {
    let Some((proxy, app)) = spawn_behind_store_proxy().await else { return };
    let before = app.upload_ok(jpeg(40, 30)).await["id"].as_str().unwrap().to_string();
    let original = format!("/api/v1/img/{before}/original");

    for how in [Outage::Refused, Outage::Reset] {
        proxy.cut(how).await;
        for size in [31, 32] {
            let response = send("upload", upload_bytes(&app, jpeg(size, 20))).await;
            assert_unavailable_as(&format!("upload ({how:?})"), response, Some("store_unavailable")).await;
        }
        let response = send("original", app.client.get(app.url(&original))).await;
        assert_unavailable_as(&format!("original ({how:?})"), response, Some("store_unavailable")).await;
        // The record itself is in the database: still readable.
        assert_eq!(send("record", app.client.get(app.url(&format!("/api/v1/img/{before}")))).await.status(), 200);
        proxy.restore().await;
    }

    // Back: the refused bytes are accepted now, whole.
    let again = until_status("upload", 201, || upload_bytes(&app, jpeg(31, 20))).await;
    let again = again.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let stored = send("original", app.client.get(app.url(&format!("/api/v1/img/{again}/original")))).await;
    assert_eq!(stored.bytes().await.unwrap().as_ref(), jpeg(31, 20).as_slice());
    let listed: serde_json::Value = send("list", list(&app, None)).await.json().await.unwrap();
    let mut ids: Vec<&str> = listed["images"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    let mut want = vec![before.as_str(), again.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want, "no record of an upload refused during the outage");
    app.shutdown().await;
}

/// What one upload sent during [`the_store_going_away_mid_upload_leaves_records_and_blobs_in_step`].
struct Sent {
    bytes: Vec<u8>,
    status: u16,
    body: serde_json::Value,
}

/// What the uploaders of that test share: when to stop, and the uploads
/// landed and refused so far.
#[derive(Default)]
struct Tally {
    stop: AtomicBool,
    landed: std::sync::atomic::AtomicUsize,
    refused: std::sync::atomic::AtomicUsize,
}

/// Uploads distinct photos of noise, one after another, until `tally.stop`;
/// counts the ones landed and refused as they come.
async fn keep_uploading(client: reqwest::Client, url: String, first_seed: u32, tally: Arc<Tally>) -> Vec<Sent> {
    let mut sent = Vec::new();
    for seed in first_seed.. {
        if tally.stop.load(Ordering::SeqCst) {
            break;
        }
        let bytes = noise(320, 320, seed, pictor_imaging::OutputFormat::Jpeg);
        let request = client.post(&url).header("content-type", "image/jpeg").body(bytes.clone());
        let response = send("upload", request).await;
        let status = response.status().as_u16();
        let retry_after = response.headers().contains_key("retry-after");
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        match status {
            201 => tally.landed.fetch_add(1, Ordering::SeqCst),
            503 => {
                assert!(retry_after, "a refused upload says when to retry: {body}");
                tally.refused.fetch_add(1, Ordering::SeqCst)
            }
            _ => panic!("an upload while the store comes and goes: {status} {body}, expected 201 or 503"),
        };
        sent.push(Sent { bytes, status, body });
    }
    sent
}

/// Waits until `counter` reaches `at_least`; panics after [`RECOVERY`].
async fn until_count(what: &str, counter: &std::sync::atomic::AtomicUsize, at_least: usize) {
    let deadline = Instant::now() + RECOVERY;
    while counter.load(Ordering::SeqCst) < at_least {
        assert!(
            Instant::now() < deadline,
            "{what}: {} of {at_least} after {RECOVERY:?}",
            counter.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The S3 server goes away while uploads stream in (the ones in flight are
/// cut mid-way) and comes back: each upload either lands whole or is refused
/// with `503 store_unavailable`; no record lacks its blob; once the sweeper
/// has run, no blob lacks a record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_going_away_mid_upload_leaves_records_and_blobs_in_step() {
    let Some((proxy, app)) = spawn_behind_store_proxy().await else { return };
    let tally = Arc::new(Tally::default());
    let uploaders: Vec<_> = (0..4u32)
        .map(|n| tokio::spawn(keep_uploading(app.client.clone(), app.url("/api/v1/img"), n * 100_000, tally.clone())))
        .collect();

    until_count("uploads before the outage", &tally.landed, 8).await;
    proxy.cut(Outage::Reset).await;
    until_count("uploads refused during the outage", &tally.refused, 4).await;
    proxy.restore().await;
    let after = tally.landed.load(Ordering::SeqCst) + 8;
    until_count("uploads after the outage", &tally.landed, after).await;
    tally.stop.store(true, Ordering::SeqCst);
    let mut sent = Vec::new();
    for uploader in uploaders {
        sent.extend(uploader.await.unwrap());
    }

    let mut stored: Vec<String> = Vec::new();
    for upload in &sent {
        if upload.status == 503 {
            assert_eq!(upload.body["code"], "store_unavailable", "{}", upload.body);
            continue;
        }
        let id = upload.body["id"].as_str().unwrap();
        let original = send("original", app.client.get(app.url(&format!("/api/v1/img/{id}/original")))).await;
        assert_eq!(original.status(), 200, "the blob of a landed upload ({id}) is stored");
        assert_eq!(original.bytes().await.unwrap().as_ref(), upload.bytes.as_slice(), "{id} whole");
        stored.push(upload.body["sha256"].as_str().unwrap().to_string());
    }
    stored.sort_unstable();
    let listed: serde_json::Value =
        send("list", list(&app, None).query(&[("limit", "1000")])).await.json().await.unwrap();
    let records = listed["images"].as_array().unwrap();
    assert_eq!(records.len(), stored.len(), "a record for each landed upload and none for a refused one");

    // The janitor's sweep of blobs whose uploads failed (it runs every
    // minute; here at once). The bucket then holds exactly the landed blobs.
    pictor_core::ingest::sweep_orphans(&app.state.state).await;
    assert_eq!(app.state.db.orphaned_blobs(1000).await.unwrap(), Vec::<String>::new(), "blob rows of refused uploads");
    let mut in_bucket = app.state.store.blob_hashes().await.unwrap();
    in_bucket.sort_unstable();
    assert_eq!(in_bucket, stored, "no blob without a record after the sweep");
    eprintln!("store outage mid-upload: {} landed, {} refused", stored.len(), sent.len() - stored.len());
    app.shutdown().await;
}
