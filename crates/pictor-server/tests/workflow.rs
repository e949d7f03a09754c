//! The workflow engine end to end, black-box over HTTP: uploads start the
//! default workflow, its effects show in the image's JSON, executions and
//! their history are readable, reprocessing runs again, and the event
//! stream shows it all live.

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::Value;

fn with_workers(config: &mut pictor_server::Config) {
    config.workflow.run_workers = true;
    config.workflow.thumbnail_sizes = vec![64, 128];
}

async fn json(app: &TestApp, path: &str) -> Value {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.unwrap()
}

/// Polls the image until its status is no longer pending/processing.
async fn settled(app: &TestApp, id: &str) -> Value {
    for _ in 0..600 {
        let image = json(app, &format!("/api/v1/img/{id}")).await;
        if !matches!(image["status"].as_str(), Some("pending" | "processing")) {
            return image;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("image {id} was not processed within 30 s");
}

/// Polls until the executions of `id` are all finished, and returns them.
async fn finished_executions(app: &TestApp, id: &str, count: usize) -> Vec<Value> {
    for _ in 0..600 {
        let list = json(app, &format!("/api/v1/img/{id}/executions")).await;
        let executions = list["executions"].as_array().unwrap().clone();
        if executions.len() >= count && executions.iter().all(|e| e["status"] != "RUNNING") {
            return executions;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("executions of {id} did not finish within 30 s");
}

async fn upload_runs_the_default_workflow(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, with_workers).await else { return };
    let id = app.upload_ok(jpeg(300, 200)).await["id"].as_str().unwrap().to_string();
    let image = settled(&app, &id).await;
    assert_eq!(image["status"], "processed", "{image}");
    assert_eq!(image["metadata"]["format"], "JPEG");
    assert_eq!((image["metadata"]["width"].as_u64(), image["metadata"]["height"].as_u64()), (Some(300), Some(200)));
    assert_eq!(image["referenceMetadata"]["format"], "JPEG");
    assert_eq!(image["referenceMetadata"]["dimensions"]["width"], 300);
    let thumbnails = image["thumbnails"].as_array().expect("thumbnails listed");
    assert_eq!(thumbnails.len(), 4, "2 sizes × webp, jpeg: {thumbnails:?}");
    // Each listed thumbnail is served, from the cache the task filled.
    for thumb in thumbnails {
        let response = app.client.get(app.url(thumb["url"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["etag"].to_str().unwrap(), thumb["etag"].as_str().unwrap());
    }
    let executions = finished_executions(&app, &id, 1).await;
    // The job is settled just after the execution's end is recorded.
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        if metrics.contains("pictor_queue_jobs_total{kind=\"execution.run\",outcome=\"done\"} 1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(metrics.contains("pictor_queue_jobs_total{kind=\"execution.run\",outcome=\"done\"} 1"), "{metrics}");
    assert!(metrics.contains("pictor_queue_depth{state=\"dead\"} 0"), "{metrics}");
    assert_eq!(executions.len(), 1);
    assert_eq!(executions[0]["status"], "SUCCEEDED");
    assert_eq!(executions[0]["workflow"], "default");
    let execution = json(&app, &format!("/api/v1/executions/{}", executions[0]["id"].as_str().unwrap())).await;
    assert_eq!(execution["input"]["imageId"], id.as_str());
    assert_eq!(execution["output"]["notified"]["event"], "image.processed");
    let events: Vec<&str> =
        execution["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(events.first(), Some(&"ExecutionStarted"));
    assert_eq!(events.last(), Some(&"ExecutionSucceeded"));
    for state in ["ExtractImageMetadata", "ImageTypeCheck", "StoreImageMetadata", "ParallelProcessing", "Notify"] {
        assert!(
            execution["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["state"] == state && e["type"].as_str().unwrap().ends_with("StateExited")),
            "{state} ran: {events:?}"
        );
    }
    let ids: Vec<u64> = execution["events"].as_array().unwrap().iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
    app.shutdown().await;
}

async fn reprocess_runs_again_and_processed_is_recorded_once_per_run(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, with_workers).await else { return };
    let id = app.upload_ok(png(40, 30)).await["id"].as_str().unwrap().to_string();
    finished_executions(&app, &id, 1).await;
    let response = app.client.post(app.url(&format!("/api/v1/img/{id}/reprocess"))).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let started: Value = response.json().await.unwrap();
    assert_eq!(started["status"], "RUNNING");
    let executions = finished_executions(&app, &id, 2).await;
    assert!(executions.iter().all(|e| e["status"] == "SUCCEEDED"), "{executions:?}");
    let processed =
        app.state.db.events_for(&id).await.unwrap().into_iter().filter(|e| e.kind == "image.processed").count();
    assert_eq!(processed, 2, "one image.processed per execution");
    let missing = app.client.post(app.url("/api/v1/img/nope/reprocess")).send().await.unwrap();
    assert_problem(missing, 404, "not_found").await;
    let missing = app.client.get(app.url("/api/v1/executions/nope")).send().await.unwrap();
    assert_problem(missing, 404, "not_found").await;
    app.shutdown().await;
}

/// A definition that branches on the format rejects what it does not take:
/// the image is marked rejected and the execution fails with the Fail
/// state's error.
async fn unsupported_types_are_rejected(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let definition = dir.path().join("only-png.json");
    std::fs::write(
        &definition,
        r#"{"StartAt": "Extract", "States": {
            "Extract": {"Type": "Task", "Resource": "${ExtractLambdaArn}", "ResultPath": "$.extractedMetadata", "Next": "Check"},
            "Check": {"Type": "Choice", "Choices": [{"Variable": "$.extractedMetadata.format", "StringEquals": "PNG", "Next": "Done"}], "Default": "Reject"},
            "Reject": {"Type": "Task", "Resource": "pictor:reject", "ResultPath": null, "Next": "NotSupportedImageType"},
            "NotSupportedImageType": {"Type": "Fail", "Error": "NotSupportedImageType", "Cause": "Image type not supported!"},
            "Done": {"Type": "Task", "Resource": "pictor:webhook", "End": true}}}"#,
    )
    .unwrap();
    let path = definition.display().to_string();
    let Some(app) = TestApp::spawn(backend, move |c| {
        with_workers(c);
        c.workflow.definition = path;
        c.workflow.resource_map.insert("${ExtractLambdaArn}".into(), "pictor:extract-metadata".into());
    })
    .await
    else {
        return;
    };
    let jpeg_id = app.upload_ok(jpeg(20, 20)).await["id"].as_str().unwrap().to_string();
    let png_id = app.upload_ok(png(20, 20)).await["id"].as_str().unwrap().to_string();
    assert_eq!(settled(&app, &jpeg_id).await["status"], "rejected");
    assert_eq!(settled(&app, &png_id).await["status"], "processed");
    let failed = &finished_executions(&app, &jpeg_id, 1).await[0];
    assert_eq!((failed["status"].as_str(), failed["error"].as_str()), (Some("FAILED"), Some("NotSupportedImageType")));
    assert_eq!(failed["cause"], "Image type not supported!");
    assert_eq!(failed["workflow"], "only-png");
    let kinds: Vec<String> = app.state.db.events_for(&jpeg_id).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&"image.rejected".to_string()), "{kinds:?}");
    app.shutdown().await;
}

/// The live stream shows the caller's upload and its execution's steps.
async fn events_stream_live(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, with_workers).await else { return };
    let mut stream = app.client.get(app.url("/api/v1/events")).send().await.unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let id = app.upload_ok(jpeg(50, 50)).await["id"].as_str().unwrap().to_string();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !text.contains("event: image.processed") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk()).await.expect("events arrive").unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    for kind in ["image.created", "execution.started", "execution.step"] {
        assert!(text.contains(&format!("event: {kind}")), "{kind} in {text}");
    }
    assert!(text.contains(&id));
    // Resuming after the first event replays the rest.
    let first_id = text.lines().find_map(|l| l.strip_prefix("id: ")).unwrap().to_string();
    let mut resumed =
        app.client.get(app.url("/api/v1/events")).header("last-event-id", &first_id).send().await.unwrap();
    let chunk = tokio::time::timeout(Duration::from_secs(10), resumed.chunk()).await.unwrap().unwrap().unwrap();
    let replay = String::from_utf8_lossy(&chunk);
    assert!(!replay.contains(&format!("id: {first_id}\n")) && replay.contains("id: "), "{replay}");
    app.shutdown().await;
}

/// Real camera photos from the corpus go through the default workflow, and
/// what it stores agrees with exiftool's readings of them.
async fn camera_photos_get_their_exif_and_gps(backend: Backend) {
    let Some(corpus) = corpus() else { return };
    let expected: Vec<Value> =
        serde_json::from_slice(&std::fs::read(corpus.join("expected/exiftool_keyfields_G1.json")).unwrap()).unwrap();
    let with_gps: Vec<&Value> = expected
        .iter()
        .filter(|e| {
            e["SourceFile"]
                .as_str()
                .is_some_and(|f| f.starts_with("camera_exif/") && f.to_lowercase().ends_with(".jpg"))
        })
        .filter(|e| e.get("Composite:GPSLatitude").is_some_and(Value::is_f64))
        .collect();
    assert!(with_gps.len() >= 20, "the corpus has camera JPEGs with GPS");
    let Some(app) = TestApp::spawn(backend, with_workers).await else { return };
    let mut uploaded = Vec::new();
    for entry in &with_gps {
        let bytes = std::fs::read(corpus.join(entry["SourceFile"].as_str().unwrap())).unwrap();
        let response = app.upload_raw(bytes, "image/jpeg").await;
        if response.status() == 201 {
            let body: Value = response.json().await.unwrap();
            uploaded.push((body["id"].as_str().unwrap().to_string(), *entry));
        }
    }
    assert!(uploaded.len() * 10 >= with_gps.len() * 9, "{} of {} uploaded", uploaded.len(), with_gps.len());
    for (id, exiftool) in &uploaded {
        let image = settled(&app, id).await;
        let file = exiftool["SourceFile"].as_str().unwrap();
        assert_eq!(image["status"], "processed", "{file}: {image}");
        let gps = &image["metadata"]["gps"];
        for (ours, theirs) in [("latitude", "Composite:GPSLatitude"), ("longitude", "Composite:GPSLongitude")] {
            let (a, b) = (gps[ours].as_f64().unwrap(), exiftool[theirs].as_f64().unwrap());
            assert!((a - b).abs() < 1e-6, "{file}: {ours} {a} vs exiftool {b}");
        }
        if let Some(make) = exiftool["IFD0:Make"].as_str() {
            assert_eq!(image["metadata"]["exif"]["make"].as_str().map(str::trim), Some(make.trim()), "{file}");
            assert_eq!(image["referenceMetadata"]["exifMake"].as_str().map(str::trim), Some(make.trim()), "{file}");
        }
        let direction = image["referenceMetadata"]["geo"]["latitude"]["Direction"].as_str();
        let south = exiftool["Composite:GPSLatitude"].as_f64().unwrap() < 0.0;
        assert_eq!(direction, Some(if south { "S" } else { "N" }), "{file}");
    }
    app.shutdown().await;
}

both_backends!(
    camera_photos_get_their_exif_and_gps,
    upload_runs_the_default_workflow,
    reprocess_runs_again_and_processed_is_recorded_once_per_run,
    unsupported_types_are_rejected,
    events_stream_live,
);
