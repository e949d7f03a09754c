//! Scale-out, black-box (issue 17): two `pictor serve --role api` and two
//! `pictor serve --role worker` processes over one PostgreSQL database and
//! one S3 bucket prefix take 500 uploads, spread over both APIs, with a
//! webhook subscribed. One worker is SIGKILLed mid-batch, in the middle of
//! its steps; its leases lapse and the other worker finishes. Every image is
//! then processed exactly once: one execution, one `image.processed`, one
//! delivery id (`crash::assert_each_processed_exactly_once`).
//!
//! Needs `PICTOR_TEST_DATABASE_URL` and `PICTOR_TEST_S3_URL`
//! (`source .ci/services.sh`); SKIPPED otherwise.

use crate::crash::{
    DumpLogOnPanic, ONE_AT_A_TIME, Receiver, assert_each_processed_exactly_once, distinct_jpeg, fresh_scale_out,
    serve_as, start_worker, upload, write_config,
};

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

const IMAGES: usize = 500;
const UPLOADERS: usize = 8;
/// The worker is killed once this many images have been processed.
const KILL_AFTER_NOTICES: usize = 100;
const PATIENCE: Duration = Duration::from_secs(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_apis_and_two_workers_process_500_uploads_exactly_once_through_a_worker_kill() {
    let Some(scale_out) = fresh_scale_out("cluster", "cluster test").await else { return };
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (config, log) = (dir.path().join("pictor.toml"), dir.path().join("cluster.log"));
    write_config(&config, &dir.path().join("data"), Some(&scale_out));
    let _dump = DumpLogOnPanic(log.clone());
    let (hook_url, received) = Receiver::start().await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();

    // The first API migrates the database; the others find it ready.
    let apis = [serve_as(&config, &log, "api").await, serve_as(&config, &log, "api").await];
    let mut doomed = start_worker(&config, &log);
    let _survivor = start_worker(&config, &log);
    let subscribe = client.post(format!("{}/api/v1/webhooks", apis[0].base));
    let response = subscribe.json(&json!({ "url": hook_url, "events": ["image.processed"] })).send().await.unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());

    let bases: Arc<Vec<String>> = Arc::new(apis.iter().map(|api| api.base.clone()).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let accepted: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let uploaders: Vec<_> = (0..UPLOADERS)
        .map(|_| {
            let (client, bases, next, accepted) = (client.clone(), bases.clone(), next.clone(), accepted.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= IMAGES {
                        break;
                    }
                    let id = upload(&client, &bases[i % bases.len()], &distinct_jpeg(i)).await.expect("an upload");
                    assert!(accepted.lock().unwrap().insert(id), "two uploads got one id");
                }
            })
        })
        .collect();

    let start = Instant::now();
    while received.processed_images().len() < KILL_AFTER_NOTICES {
        assert!(start.elapsed() < PATIENCE, "{KILL_AFTER_NOTICES} images were not processed within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    doomed.kill();
    eprintln!(
        "a worker was SIGKILLed after {} image.processed notices and {} accepted uploads",
        received.processed_images().len(),
        accepted.lock().unwrap().len()
    );
    for task in uploaders {
        task.await.unwrap();
    }
    let accepted = accepted.lock().unwrap().clone();
    assert_eq!(accepted.len(), IMAGES);
    // Read back through the other API: both see one database.
    assert_each_processed_exactly_once(&client, &apis[1].base, &accepted, 0, &received).await;
}
