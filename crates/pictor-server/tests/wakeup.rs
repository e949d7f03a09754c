//! Waking idle workers across processes (issue 17): on PostgreSQL a due
//! job enqueued by one process is announced to all (LISTEN/NOTIFY), so a
//! worker process starts it at once instead of at its next poll, and idle
//! workers can poll seldom.

use crate::common;

use std::time::Duration;

use common::*;

/// Only a guard against a hang, far below the worker's poll below.
const HANG_GUARD: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_upload_to_an_api_process_wakes_a_worker_process_polling_every_ten_minutes() {
    let Some(api) = TestApp::spawn(Backend::PostgresS3, |_| {}).await else { return };
    let mut config = api.state.config.clone();
    config.workflow.run_workers = true;
    config.workflow.idle_poll_ms = 600_000;
    // The worker polls once as it starts, finds nothing, and then sleeps
    // for ten minutes unless something wakes it.
    let worker = TestApp::start(config, tempfile::tempdir().unwrap()).await;
    let mut listener = api.state.db.job_listener().await.unwrap().expect("PostgreSQL has LISTEN");

    let id = api.upload_ok(jpeg(64, 48)).await["id"].as_str().unwrap().to_string();
    tokio::time::timeout(HANG_GUARD, listener.recv()).await.expect("the new job is announced").unwrap();
    let start = tokio::time::Instant::now();
    loop {
        let image: serde_json::Value =
            api.client.get(api.url(&format!("/api/v1/img/{id}"))).send().await.unwrap().json().await.unwrap();
        if image["status"] == "processed" {
            break;
        }
        assert!(start.elapsed() < HANG_GUARD, "the worker process did not wake: {image}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.shutdown().await;
    api.shutdown().await;
}
