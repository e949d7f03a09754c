//! Test harness: starts a real Pictor in-process on a random port, over
//! either embedded backend (SQLite + local folder) or the scale-out ones
//! (PostgreSQL + S3) named by `PICTOR_TEST_DATABASE_URL` and
//! `PICTOR_TEST_S3_URL`, which `.ci/run` starts.

#![allow(dead_code)]

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use pictor_jobs::Runtime;
use pictor_server::Server;
use pictor_server::config::Config;
use sqlx::Connection;
use tokio::sync::oneshot;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Local,
    PostgresS3,
}

/// A running server and a client for it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// The server's state and job runtime: `state.drain()` runs the queued
    /// jobs to completion (tests wait for workflows this way, not by sleeping).
    pub state: Arc<Runtime>,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// Prints a skip line that test output capture cannot hide.
pub fn skip(why: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}

impl TestApp {
    /// Starts a server; `None` (after printing SKIPPED) when the backend is
    /// not available on this machine.
    pub async fn spawn(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mut config =
            Config { listen: "127.0.0.1:0".into(), data_dir: dir.path().to_path_buf(), ..Config::default() };
        config.log.filter = "warn".into();
        // The API suites test the HTTP layer; suites about the workflow and
        // webhooks turn the workers on in their `tweak`.
        config.workflow.run_workers = false;
        if backend == Backend::PostgresS3 {
            let (Ok(pg), Ok(s3)) = (std::env::var("PICTOR_TEST_DATABASE_URL"), std::env::var("PICTOR_TEST_S3_URL"))
            else {
                skip(
                    "PostgreSQL/S3 variant: PICTOR_TEST_DATABASE_URL and PICTOR_TEST_S3_URL are not set (.ci/run sets them)",
                );
                return None;
            };
            let unique = uuid::Uuid::new_v4().simple().to_string();
            config.database = fresh_database(&pg, &format!("t_{unique}")).await;
            config.store = format!("{s3}&prefix=t-{unique}");
        }
        tweak(&mut config);
        Some(Self::start(config, dir).await)
    }

    /// Starts a server on exactly this config (its data dir is `dir`).
    pub async fn start(config: Config, dir: tempfile::TempDir) -> Self {
        let server = Server::build(config).await.expect("server starts");
        let base = format!("http://{}", server.local_addr());
        let state = server.runtime();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        Self { base, client: reqwest::Client::new(), state, dir, stop: Some(stop), task: Some(task) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server and waits for it to drain.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    /// Runs every queued job, and those they enqueue, to completion: the
    /// effects of earlier requests (workflows, deliveries) are then done.
    pub async fn drain(&self) -> usize {
        self.state.drain().await
    }

    /// Runs the queue dry, skipping ahead through the waits of jobs due
    /// later (retries) instead of sleeping; returns the waits skipped.
    pub async fn settle(&self) -> Vec<std::time::Duration> {
        self.state.settle().await.expect("settling the job queue")
    }

    /// Uploads raw bytes; returns the response.
    pub async fn upload_raw(&self, bytes: Vec<u8>, content_type: &str) -> reqwest::Response {
        self.client.post(self.url("/api/v1/img")).header("content-type", content_type).body(bytes).send().await.unwrap()
    }

    /// Uploads and returns the JSON answer, asserting 201.
    pub async fn upload_ok(&self, bytes: Vec<u8>) -> serde_json::Value {
        let response = self.upload_raw(bytes, "image/jpeg").await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }
}

/// Creates a throw-away database next to `admin_url`'s and returns its URL.
/// A server on moto's S3 (which keeps storage classes and answers
/// RestoreObject; `.ci/services.sh` starts it), over PostgreSQL when that
/// is there too; `None`, saying SKIPPED for `what`, without moto.
pub async fn on_moto(what: &str, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let Ok(moto) = std::env::var("PICTOR_TEST_MOTO_URL") else {
        skip(&format!("{what} on S3: PICTOR_TEST_MOTO_URL is not set (.ci/services.sh starts moto[server])"));
        return None;
    };
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let database = match std::env::var("PICTOR_TEST_DATABASE_URL") {
        Ok(pg) => fresh_database(&pg, &format!("t_{unique}")).await,
        Err(_) => String::new(),
    };
    TestApp::spawn(Backend::Local, |config| {
        tweak(config);
        config.store = format!("{moto}&prefix=t-{unique}");
        config.database = database;
    })
    .await
}

/// Gives image `id` the labels `names` (as the vision step would).
pub async fn label(app: &TestApp, id: &str, names: &[&str]) {
    let labels: Vec<pictor_db::ImageLabel> = names
        .iter()
        .map(|name| pictor_db::ImageLabel { name: name.to_string(), confidence: 0.9, direct: true, parents: vec![] })
        .collect();
    app.state.db.set_image_labels(id, &labels).await.unwrap();
}

pub async fn fresh_database(admin_url: &str, name: &str) -> String {
    let mut conn =
        sqlx::PgConnection::connect(admin_url).await.expect("PostgreSQL from PICTOR_TEST_DATABASE_URL answers");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
    let mut url = url::Url::parse(admin_url).unwrap();
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Asserts a problem+json answer with this status and code.
pub async fn assert_problem(response: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "wrong status for expected {code}");
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    body
}

/// A small JPEG made by the engine itself: `w`×`h`, a gradient.
pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
    encode(w, h, pictor_imaging::OutputFormat::Jpeg)
}

pub fn png(w: u32, h: u32) -> Vec<u8> {
    encode(w, h, pictor_imaging::OutputFormat::Png)
}

/// A PNG of one colour: many pixels in few bytes.
pub fn flat_png(w: u32, h: u32) -> Vec<u8> {
    let image = pictor_imaging::Image::filled(w, h, pictor_imaging::Rgba { r: 200, g: 10, b: 10, a: 255 });
    pictor_imaging::encode::encode(&image, pictor_imaging::OutputFormat::Png, &Default::default(), None).unwrap()
}

/// An image of noise in `format`: it does not compress, so it is about as
/// large as its pixels. `seed` makes it distinct.
pub fn noise(w: u32, h: u32, seed: u32, format: pictor_imaging::OutputFormat) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761) | 1;
    let raw: Vec<u8> = (0..w * h * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    let image = pictor_imaging::Image::from_raw(w, h, pictor_imaging::Channels::Rgb, raw).unwrap();
    pictor_imaging::encode::encode(&image, format, &Default::default(), None).unwrap()
}

/// A PNG of noise: as large as its pixels.
pub fn noise_png(w: u32, h: u32, seed: u32) -> Vec<u8> {
    noise(w, h, seed, pictor_imaging::OutputFormat::Png)
}

fn encode(w: u32, h: u32, format: pictor_imaging::OutputFormat) -> Vec<u8> {
    let mut raw = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            raw.extend_from_slice(&[(x * 255 / w.max(1)) as u8, (y * 255 / h.max(1)) as u8, 128]);
        }
    }
    let image = pictor_imaging::Image::from_raw(w, h, pictor_imaging::Channels::Rgb, raw).unwrap();
    pictor_imaging::encode::encode(&image, format, &Default::default(), None).unwrap()
}

/// The shared test corpus, or `None` (with a SKIPPED line) on a user's machine.
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PICTOR_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"));
    if dir.join("SOURCES.md").is_file() {
        Some(dir)
    } else {
        skip("../shared/corpus is absent (it ships beside the repository in CI only)");
        None
    }
}

/// Runs the same async test body against both backends.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod local {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::common::Backend::Local).await })*
        }
        mod postgres_s3 {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::common::Backend::PostgresS3).await })*
        }
    };
}
