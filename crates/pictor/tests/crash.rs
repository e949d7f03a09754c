//! Crash recovery, black-box: the real `pictor serve` is SIGKILLed in the
//! middle of a batch of 100 uploads, with uploads and workflow executions in
//! flight, and started again on the same data. Then every image that exists
//! (each acknowledged upload, and any whose answer the crash lost) ends
//! processed exactly once: status `processed` with all its thumbnails, one
//! SUCCEEDED execution, one `image.processed` entry in the delivery log, and
//! one distinct `webhook-id` at the receiver (retries of that id allowed).
//!
//! Over SQLite + local files always; over PostgreSQL + S3 when
//! `PICTOR_TEST_DATABASE_URL` and `PICTOR_TEST_S3_URL` are set
//! (`source .ci/services.sh`), SKIPPED otherwise.

use crate::common;
use common::pictor;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection as _;

const IMAGES: usize = 100;
/// The kill comes once this many uploads are acknowledged and at least
/// `KILL_AFTER_NOTICES` workflows have finished, or at `KILL_AFTER_AT_MOST`
/// acknowledged uploads: executions are then at every stage.
const KILL_AFTER: usize = 30;
const KILL_AFTER_NOTICES: usize = 3;
const KILL_AFTER_AT_MOST: usize = 50;
/// Pause of each uploader between its uploads, so that workflows finish
/// while the batch is still coming in.
const UPLOAD_PACE: Duration = Duration::from_millis(150);
const UPLOADERS: usize = 4;
const THUMBNAIL_SIZES: [u32; 2] = [24, 48];
const THUMBNAIL_FORMATS: [&str; 2] = ["webp", "jpeg"];
/// Bound on each wait; generous for a loaded 2-core machine.
const PATIENCE: Duration = Duration::from_secs(240);

/// One variant (or cluster) at a time: each runs servers and hundreds of workflows.
pub(crate) static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_mid_batch_every_image_is_processed_exactly_once_local() {
    let _one = ONE_AT_A_TIME.lock().await;
    crash_and_recover(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_mid_batch_every_image_is_processed_exactly_once_postgres_s3() {
    let Some(scale_out) = fresh_scale_out("crash", "PostgreSQL/S3 crash variant").await else { return };
    let _one = ONE_AT_A_TIME.lock().await;
    crash_and_recover(Some(scale_out)).await;
}

/// A fresh database and bucket prefix, named `NAME_…`, on the suite's
/// PostgreSQL and S3 server; `None`, with a SKIPPED line for `what`, when
/// they are not configured.
pub(crate) async fn fresh_scale_out(name: &str, what: &str) -> Option<(String, String)> {
    let (Ok(pg), Ok(s3)) = (std::env::var("PICTOR_TEST_DATABASE_URL"), std::env::var("PICTOR_TEST_S3_URL")) else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {what}: PICTOR_TEST_DATABASE_URL and PICTOR_TEST_S3_URL are not set (source .ci/services.sh)"
        );
        return None;
    };
    let unique = format!(
        "{name}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    );
    Some((fresh_database(&pg, &unique).await, format!("{s3}&prefix={unique}")))
}

async fn crash_and_recover(scale_out: Option<(String, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pictor.toml");
    let log = dir.path().join("server.log");
    write_config(&config, &dir.path().join("data"), scale_out.as_ref());
    let _dump = DumpLogOnPanic(log.clone());
    let (hook_url, received) = Receiver::start().await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new((0..IMAGES).map(distinct_jpeg).collect());

    // ---- first run: subscribe, upload from several tasks, SIGKILL midway.
    let mut server = serve(&config, &log).await;
    let response =
        client.post(server.url("/api/v1/webhooks")).json(&json!({ "url": hook_url, "events": ["image.processed"] }));
    let response = response.send().await.unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());

    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let accepted: Arc<Mutex<BTreeMap<usize, String>>> = Arc::default();
    let lost: Arc<Mutex<BTreeSet<usize>>> = Arc::default();
    let uploaders: Vec<_> = (0..UPLOADERS)
        .map(|_| {
            let (client, base, bodies) = (client.clone(), server.base.clone(), bodies.clone());
            let (next, stop, accepted, lost) = (next.clone(), stop.clone(), accepted.clone(), lost.clone());
            let in_flight = in_flight.clone();
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= IMAGES {
                        break;
                    }
                    in_flight.fetch_add(1, Ordering::SeqCst);
                    let result = upload(&client, &base, &bodies[i]).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    match result {
                        Ok(id) => {
                            accepted.lock().unwrap().insert(i, id);
                            tokio::time::sleep(UPLOAD_PACE).await;
                        }
                        // The server is gone; this upload may or may not have landed.
                        Err(_) => {
                            lost.lock().unwrap().insert(i);
                            break;
                        }
                    }
                }
            })
        })
        .collect();
    let start = Instant::now();
    loop {
        let (uploaded, notices) = (accepted.lock().unwrap().len(), received.processed_images().len());
        if uploaded >= KILL_AFTER_AT_MOST || (uploaded >= KILL_AFTER && notices >= KILL_AFTER_NOTICES) {
            break;
        }
        assert!(start.elapsed() < PATIENCE, "{KILL_AFTER} uploads were not accepted within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Kill while an upload is in flight (if one comes within a few seconds).
    let start = Instant::now();
    while in_flight.load(Ordering::SeqCst) == 0 && start.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    server.kill();
    stop.store(true, Ordering::SeqCst);
    let notified_before_kill = received.processed_images().len();
    for task in uploaders {
        task.await.unwrap();
    }
    let lost = lost.lock().unwrap().clone();
    eprintln!(
        "killed after {} accepted uploads ({} with an answer lost in flight); {notified_before_kill} \
         image.processed notices had arrived",
        accepted.lock().unwrap().len(),
        lost.len(),
    );

    // ---- second run on the same data: upload the rest, wait for it all.
    let server = serve(&config, &log).await;
    for i in 0..IMAGES {
        if !accepted.lock().unwrap().contains_key(&i) {
            let id = upload(&client, &server.base, &bodies[i]).await.expect("the restarted server takes uploads");
            accepted.lock().unwrap().insert(i, id);
        }
    }
    let accepted: BTreeSet<String> = accepted.lock().unwrap().values().cloned().collect();
    assert_eq!(accepted.len(), IMAGES, "every upload got its own image id");

    assert_each_processed_exactly_once(&client, &server.base, &accepted, lost.len(), &received).await;
    drop(server);
}

/// Waits for every image to settle, then checks that each was processed
/// exactly once: every acknowledged upload exists (and at most `lost`
/// others, whose answers were lost), each is `processed` with all its
/// thumbnails, has one SUCCEEDED execution, one delivered `image.processed`
/// in the log, and one distinct `webhook-id` at the receiver.
pub(crate) async fn assert_each_processed_exactly_once(
    client: &reqwest::Client,
    base: &str,
    accepted: &BTreeSet<String>,
    lost: usize,
    received: &Receiver,
) {
    let url = |path: &str| format!("{base}{path}");
    // The listing has no status: poll each image until it settles.
    let mut images = list_images(client, base).await;
    let start = Instant::now();
    loop {
        let mut unsettled = Vec::new();
        for (id, image) in &mut images {
            if !matches!(image["status"].as_str(), None | Some("pending" | "processing")) {
                continue;
            }
            *image = get_json(client, &url(&format!("/api/v1/img/{id}"))).await;
            if matches!(image["status"].as_str(), None | Some("pending" | "processing")) {
                unsettled.push(id.clone());
            }
        }
        if unsettled.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "{} of {} images still pending/processing after {PATIENCE:?}: {unsettled:?}",
            unsettled.len(),
            images.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let listed: BTreeSet<String> = images.keys().cloned().collect();
    let missing: Vec<&String> = accepted.difference(&listed).collect();
    assert!(missing.is_empty(), "acknowledged uploads that do not exist after the crash: {missing:?}");
    let unacknowledged: Vec<&String> = listed.difference(accepted).collect();
    assert!(
        unacknowledged.len() <= lost,
        "{} images that no upload was acknowledged for, but only {} answers were lost: {unacknowledged:?}",
        unacknowledged.len(),
        lost
    );
    eprintln!(
        "{} images: {} acknowledged, {} landed with a lost answer",
        listed.len(),
        accepted.len(),
        unacknowledged.len()
    );

    // Every image is processed, with all its thumbnails.
    for (id, image) in &images {
        assert_eq!(image["status"], "processed", "image {id}: {image}");
        let thumbnails = image["thumbnails"].as_array().map_or(0, Vec::len);
        assert_eq!(thumbnails, THUMBNAIL_SIZES.len() * THUMBNAIL_FORMATS.len(), "image {id}: {image}");
    }

    // Exactly one execution per image, and it succeeded.
    for id in &listed {
        let list = get_json(client, &url(&format!("/api/v1/img/{id}/executions"))).await;
        let executions = list["executions"].as_array().unwrap();
        let statuses: Vec<&str> = executions.iter().map(|e| e["status"].as_str().unwrap_or("?")).collect();
        assert_eq!(statuses, ["SUCCEEDED"], "executions of image {id}: {list}");
    }

    // The delivery log: one image.processed delivery per image, delivered.
    let hooks = get_json(client, &url("/api/v1/webhooks")).await;
    let hook = hooks["webhooks"].as_array().and_then(|h| h.first()).cloned().unwrap_or_else(|| panic!("{hooks}"));
    let deliveries_url = url(&format!("/api/v1/webhooks/{}/deliveries?limit=1000", hook["id"].as_str().unwrap()));
    let start = Instant::now();
    let log_entries = loop {
        let entries = get_json(client, &deliveries_url).await["deliveries"].as_array().unwrap().clone();
        if entries.len() >= listed.len() && entries.iter().all(|d| d["status"] != "pending") {
            break entries;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "deliveries not settled within {PATIENCE:?}: {} of {}",
            entries.iter().filter(|d| d["status"] != "pending").count(),
            listed.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let mut logged: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for entry in &log_entries {
        assert_eq!(entry["type"], "image.processed", "{entry}");
        assert_eq!(entry["status"], "delivered", "{entry}");
        let image = entry["payload"]["data"]["id"].as_str().unwrap_or_else(|| panic!("no data.id: {entry}"));
        logged.entry(image.to_string()).or_default().push(entry);
    }
    for id in &listed {
        let entries = logged.get(id).map_or(&[][..], Vec::as_slice);
        assert_eq!(entries.len(), 1, "delivery log entries for image {id}: {entries:#?}");
    }
    let unknown: Vec<&String> = logged.keys().filter(|id| !listed.contains(*id)).collect();
    assert!(unknown.is_empty(), "deliveries for images that do not exist: {unknown:?}");

    // The receiver: one distinct webhook-id per image, the one in the log,
    // after a quiet spell longer than a lease and a retry step, so that a
    // second notice from a reclaimed job would have arrived.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let by_image = received.processed_images();
    for id in &listed {
        let ids = by_image.get(id).cloned().unwrap_or_default();
        assert_eq!(ids.len(), 1, "distinct webhook-ids received for image {id}: {ids:?}");
        assert_eq!(ids.first(), logged[id][0]["id"].as_str().map(str::to_string).as_ref(), "image {id}");
    }
    let unknown: Vec<&String> = by_image.keys().filter(|id| !listed.contains(*id)).collect();
    assert!(unknown.is_empty(), "webhooks for images that do not exist: {unknown:?}");
    let mut owners: BTreeMap<&String, &String> = BTreeMap::new();
    for (image, ids) in &by_image {
        for id in ids {
            let previous = owners.insert(id, image);
            assert!(previous.is_none_or(|p| p == image), "webhook-id {id} used for images {previous:?} and {image}");
        }
    }
}

// ---------------------------------------------------------------- server

/// A running `pictor serve`, killed if the test leaves it behind.
pub(crate) struct Served {
    child: Child,
    pub(crate) base: String,
}

impl Served {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL: no draining, no cleanup.
    pub(crate) fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `pictor serve --config CONFIG`, its stderr appended to `log`, and
/// waits for the line that says where it listens.
async fn serve(config: &Path, log: &Path) -> Served {
    serve_as(config, log, "all").await
}

/// `serve` with `--role ROLE`: `all` or `api`.
pub(crate) async fn serve_as(config: &Path, log: &Path, role: &'static str) -> Served {
    let (config, log) = (config.to_path_buf(), log.to_path_buf());
    tokio::task::spawn_blocking(move || {
        let stderr = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        let mut child = pictor()
            .args(["serve", "--role", role, "--config"])
            .arg(&config)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        // Keep reading, so that the server never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let mut served = Served { child, base: String::new() };
        let Some(base) = line.trim().strip_prefix("listening on ") else {
            panic!("unexpected first line {line:?}; log:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
        };
        served.base = base.to_string();
        served
    })
    .await
    .unwrap()
}

pub(crate) fn write_config(path: &Path, data: &Path, scale_out: Option<&(String, String)>) {
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut text = format!("listen = \"127.0.0.1:0\"\ndata_dir = {}\n", quote(&data.display().to_string()));
    if let Some((database, store)) = scale_out {
        text += &format!("database = {}\nstore = {}\n", quote(database), quote(store));
    }
    let sizes: Vec<String> = THUMBNAIL_SIZES.iter().map(u32::to_string).collect();
    let formats: Vec<String> = THUMBNAIL_FORMATS.iter().map(|f| quote(f)).collect();
    text += &format!(
        "[log]\nfilter = \"warn\"\n\
         [fetch]\nallow = [\"127.0.0.1/32\"]\n\
         [workflow]\nlease_secs = 2\nthumbnail_sizes = [{}]\nthumbnail_formats = [{}]\n\
         [webhooks]\nretry_schedule_secs = [1, 1, 1]\njitter = 0.0\ntimeout_secs = 5\n",
        sizes.join(", "),
        formats.join(", ")
    );
    std::fs::write(path, text).unwrap();
}

/// Creates a throw-away database next to `admin_url`'s and returns its URL.
pub(crate) async fn fresh_database(admin_url: &str, name: &str) -> String {
    let mut conn =
        sqlx::PgConnection::connect(admin_url).await.expect("PostgreSQL from PICTOR_TEST_DATABASE_URL answers");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
    let (base, _) = admin_url.split_once('?').unwrap_or((admin_url, ""));
    let (server, _) = base.rsplit_once('/').expect("a database URL with a path");
    let query = admin_url.split_once('?').map_or(String::new(), |(_, q)| format!("?{q}"));
    format!("{server}/{name}{query}")
}

/// Prints the end of the servers' log when the test fails.
pub(crate) struct DumpLogOnPanic(pub(crate) PathBuf);

impl Drop for DumpLogOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let text = std::fs::read_to_string(&self.0).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(80)..].join("\n");
            let _ = writeln!(std::io::stderr(), "---- server log (last 80 lines)\n{tail}");
        }
    }
}

/// Starts `pictor serve --role worker --config CONFIG` (no HTTP, so no
/// line to wait for), its stderr appended to `log`.
pub(crate) fn start_worker(config: &Path, log: &Path) -> Served {
    let stderr = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    let child = pictor()
        .args(["serve", "--role", "worker", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    Served { child, base: String::new() }
}

// ---------------------------------------------------------------- client

/// Uploads a JPEG; the new image's id, or the connection error once the
/// server is gone. Overload answers (429, 503) are retried.
pub(crate) async fn upload(client: &reqwest::Client, base: &str, body: &[u8]) -> Result<String, reqwest::Error> {
    loop {
        let request = client.post(format!("{base}/api/v1/img")).header("content-type", "image/jpeg");
        let response = request.body(body.to_vec()).send().await?;
        let status = response.status();
        if status == 429 || status == 503 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let text = response.text().await?;
        assert_eq!(status, 201, "upload: {text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        return Ok(answer["id"].as_str().unwrap().to_string());
    }
}

async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {url}");
    response.json().await.unwrap()
}

/// Every image's listing entry (no status), by id, following the pages.
async fn list_images(client: &reqwest::Client, base: &str) -> BTreeMap<String, Value> {
    let mut images = BTreeMap::new();
    let mut url = format!("{base}/api/v1/img?limit=1000");
    loop {
        let page = get_json(client, &url).await;
        for image in page["images"].as_array().unwrap() {
            images.insert(image["id"].as_str().unwrap().to_string(), image.clone());
        }
        match page["next"].as_str() {
            Some(next) => url = format!("{base}/api/v1/img?limit=1000&cursor={next}"),
            None => return images,
        }
    }
}

/// A small JPEG unlike the others: its size and colours depend on `i`.
pub(crate) fn distinct_jpeg(i: usize) -> Vec<u8> {
    let (w, h) = (40 + i as u32, 30 + (i as u32 % 7));
    let mut raw = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            raw.extend_from_slice(&[(x * 255 / w) as u8, (y * 255 / h) as u8, (i * 2) as u8]);
        }
    }
    let image = pictor_imaging::Image::from_raw(w, h, pictor_imaging::Channels::Rgb, raw).unwrap();
    pictor_imaging::encode::encode(&image, pictor_imaging::OutputFormat::Jpeg, &Default::default(), None).unwrap()
}

// ---------------------------------------------------------------- receiver

/// A webhook endpoint on 127.0.0.1 that records every delivery.
#[derive(Default)]
pub(crate) struct Receiver {
    /// (webhook-id, body) of every request, in arrival order.
    got: Mutex<Vec<(String, Value)>>,
}

impl Receiver {
    pub(crate) async fn start() -> (String, Arc<Self>) {
        let receiver = Arc::new(Self::default());
        let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, receiver)
    }

    /// The distinct webhook-ids of `image.processed` deliveries, by image.
    pub(crate) fn processed_images(&self) -> BTreeMap<String, Vec<String>> {
        let mut by_image: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (id, body) in self.got.lock().unwrap().iter() {
            assert_eq!(body["type"], "image.processed", "{body}");
            let image = body["data"]["id"].as_str().unwrap_or_else(|| panic!("no data.id: {body}"));
            let ids = by_image.entry(image.to_string()).or_default();
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        by_image
    }
}

async fn receive(State(receiver): State<Arc<Receiver>>, headers: HeaderMap, body: String) -> StatusCode {
    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
    receiver.got.lock().unwrap().push((id, body));
    StatusCode::OK
}
