//! Overload, black-box: a burst of uncached transforms larger than the
//! workers and their waiting line gets only `200`s and quick `503`s with
//! `Retry-After` (never another error), and the refusals are counted in
//! `/metrics`; requests that fit in the line wait for a worker instead.

use crate::common;

use common::*;

both_backends!(a_burst_past_the_queue_gets_200_or_503_with_retry_after, a_burst_inside_the_queue_waits_and_is_served);

/// An uncached transform of `id` that is new for every `n`, and slow enough
/// that one worker is still busy with it when the rest of a burst arrives.
fn distinct_slow_transform(id: &str, n: u32) -> String {
    format!("/api/v1/img/{id}.jpg?resize={}x{}:fill:enlarge&blur=30", 1500 + n, 1500 + n)
}

async fn metrics(app: &TestApp) -> String {
    app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap()
}

fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// A server with one worker, a line of `queue`, a minute's wait and no
/// derivative cache.
async fn one_worker(backend: Backend, queue: usize) -> Option<TestApp> {
    TestApp::spawn(backend, |c| {
        c.limits.workers = 1;
        c.limits.queue = queue;
        c.limits.queue_wait_ms = 60_000;
        c.cache.max_bytes = 0;
    })
    .await
}

async fn a_burst_past_the_queue_gets_200_or_503_with_retry_after(backend: Backend) {
    let Some(app) = one_worker(backend, 2).await else { return };
    let id = app.upload_ok(jpeg(640, 480)).await["id"].as_str().unwrap().to_string();
    let requests = (0..24).map(|n| app.client.get(app.url(&distinct_slow_transform(&id, n))).send());
    let (mut served, mut refused) = (0, 0);
    for response in futures::future::join_all(requests).await {
        let response = response.unwrap();
        match response.status().as_u16() {
            200 => {
                assert_eq!(response.headers()["content-type"], "image/jpeg");
                assert_eq!(response.bytes().await.unwrap()[..3], [0xff, 0xd8, 0xff]);
                served += 1;
            }
            503 => {
                assert_eq!(response.headers()["retry-after"], "1");
                assert_problem(response, 503, "overloaded").await;
                refused += 1;
            }
            other => panic!("only 200 or 503 under overload, got {other}: {}", response.text().await.unwrap()),
        }
    }
    // One runs and two wait (and, with a minute to wait, are served): at
    // least three 200s; the other 21 found the line full.
    assert!(served >= 3, "{served} served, {refused} refused");
    assert!(refused > 0, "24 at once cannot all fit one worker and a line of 2: {served} served");
    let metrics = metrics(&app).await;
    assert_eq!(metric(&metrics, "pictor_image_jobs_rejected_total"), Some(refused), "{metrics}");
    assert_eq!(metric(&metrics, "pictor_image_jobs_wait_timeouts_total"), Some(0), "{metrics}");
    // Every admitted job is timed: the served ones and the upload's check.
    assert_eq!(metric(&metrics, "pictor_image_job_wait_seconds_count"), Some(served + 1), "{metrics}");
    // Nothing is left waiting or running, and the server still answers.
    assert_eq!(metric(&metrics, "pictor_image_jobs_waiting"), Some(0), "{metrics}");
    let again = app.client.get(app.url(&format!("/api/v1/img/{id}.jpg?thumbnail=64"))).send().await.unwrap();
    assert_eq!(again.status(), 200);
    app.shutdown().await;
}

async fn a_burst_inside_the_queue_waits_and_is_served(backend: Backend) {
    let Some(app) = one_worker(backend, 16).await else { return };
    let id = app.upload_ok(jpeg(1200, 900)).await["id"].as_str().unwrap().to_string();
    let requests =
        (0..12).map(|n| app.client.get(app.url(&format!("/api/v1/img/{id}.jpg?thumbnail={}", 100 + n))).send());
    for (n, response) in futures::future::join_all(requests).await.into_iter().enumerate() {
        let response = response.unwrap();
        assert_eq!(response.status(), 200, "request {n}: {}", response.text().await.unwrap());
    }
    let metrics = metrics(&app).await;
    assert_eq!(metric(&metrics, "pictor_image_jobs_rejected_total"), Some(0), "{metrics}");
    // The twelve, and the upload's check.
    assert_eq!(metric(&metrics, "pictor_image_job_wait_seconds_count"), Some(13), "{metrics}");
    app.shutdown().await;
}
