//! The derivative cache's single-flight across processes (issue 17): two
//! servers over one PostgreSQL database and S3 prefix (two processes in
//! all but name: separate memory tiers and workers), asked at once for the
//! same cold derivative, compute it once between them.

use crate::common;

use common::*;

/// The `pictor_derivatives_computed_total` a server reports.
async fn computed(app: &TestApp) -> u64 {
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let line = text.lines().find(|l| l.starts_with("pictor_derivatives_computed_total ")).expect("the counter");
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_compute_a_cold_derivative_once() {
    let Some(first) = TestApp::spawn(Backend::PostgresS3, |_| {}).await else { return };
    let second = TestApp::start(first.state.config.clone(), tempfile::tempdir().unwrap()).await;
    let id = first.upload_ok(jpeg(640, 480)).await["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/img/{id}.webp?thumbnail=77");
    let requests = (0..10).map(|i| {
        let app = if i % 2 == 0 { &first } else { &second };
        app.client.get(app.url(&path)).send()
    });
    let mut bodies = Vec::new();
    for response in futures::future::join_all(requests).await {
        let response = response.unwrap();
        assert_eq!(response.status(), 200);
        bodies.push(response.bytes().await.unwrap());
    }
    assert!(bodies.windows(2).all(|pair| pair[0] == pair[1]), "every caller gets the same bytes");
    assert_eq!(computed(&first).await + computed(&second).await, 1, "computed once between the two");
    second.shutdown().await;
    first.shutdown().await;
}
