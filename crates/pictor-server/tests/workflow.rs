//! The workflow engine end to end, black-box over HTTP: uploads start the
//! default workflow, its effects show in the image's JSON, executions and
//! their history are readable, reprocessing runs again, and the event
//! stream shows it all live. The tests run the queue with `drain`: no
//! worker loops, no sleeping.

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::Value;

fn small_thumbnails(config: &mut pictor_server::Config) {
    config.workflow.thumbnail_sizes = vec![64, 128];
}

async fn json(app: &TestApp, path: &str) -> Value {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.unwrap()
}

/// Runs the queue dry, then reads the image, which must be settled.
async fn settled(app: &TestApp, id: &str) -> Value {
    app.drain().await;
    let image = json(app, &format!("/api/v1/img/{id}")).await;
    assert!(!matches!(image["status"].as_str(), Some("pending" | "processing")), "not settled: {image}");
    image
}

/// Runs the queue dry, then returns the executions of `id`: `count` of
/// them, all finished.
async fn finished_executions(app: &TestApp, id: &str, count: usize) -> Vec<Value> {
    app.drain().await;
    let list = json(app, &format!("/api/v1/img/{id}/executions")).await;
    let executions = list["executions"].as_array().unwrap().clone();
    assert_eq!(executions.len(), count, "{executions:?}");
    assert!(executions.iter().all(|e| e["status"] != "RUNNING"), "{executions:?}");
    executions
}

async fn upload_runs_the_default_workflow(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, small_thumbnails).await else { return };
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
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
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
    let Some(app) = TestApp::spawn(backend, small_thumbnails).await else { return };
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

/// Phone photos (an iPhone's HEIC, an AVIF turned by its container) run the
/// default workflow like any JPEG: processed, with upright thumbnails.
async fn phone_formats_run_the_default_workflow(backend: Backend) {
    let Some(corpus) = corpus() else { return };
    let Some(app) = TestApp::spawn(backend, small_thumbnails).await else { return };
    let photos = [
        ("camera_exif/exif-samples/heic/mobile/iphone_13_pro_max.HEIC", "image/heic", "HEIC"),
        ("formats/pillow/avif/rot1mir0.avif", "image/avif", "AVIF"),
    ];
    for (file, mime, format) in photos {
        let response = app.upload_raw(std::fs::read(corpus.join(file)).unwrap(), mime).await;
        assert_eq!(response.status(), 201, "{file}");
        let id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
        let image = settled(&app, &id).await;
        assert_eq!(image["status"], "processed", "{file}: {image}");
        assert_eq!(image["metadata"]["format"], format);
        let upright = (image["metadata"]["upright_width"].as_u64(), image["metadata"]["upright_height"].as_u64());
        let thumbnail = &image["thumbnails"].as_array().expect("thumbnails listed")[0];
        let (w, h) = (thumbnail["width"].as_u64().unwrap(), thumbnail["height"].as_u64().unwrap());
        let (uw, uh) = (upright.0.expect("upright width"), upright.1.expect("upright height"));
        assert_eq!(w > h, uw > uh, "{file}: thumbnail {w}x{h} of an upright {uw}x{uh}");
    }
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
        small_thumbnails(c);
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
    let Some(app) = TestApp::spawn(backend, small_thumbnails).await else { return };
    let mut stream = app.client.get(app.url("/api/v1/events")).send().await.unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let id = app.upload_ok(jpeg(50, 50)).await["id"].as_str().unwrap().to_string();
    let runtime = app.state.clone();
    let drained = tokio::spawn(async move { runtime.drain().await });
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
    assert!(drained.await.unwrap() >= 2, "the upload's dispatch and execution ran");
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
    let Some(app) = TestApp::spawn(backend, small_thumbnails).await else { return };
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

/// Writes `definition` to a file and starts a server that runs it on upload.
async fn with_definition(backend: Backend, definition: &str) -> Option<(TestApp, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reference.json");
    std::fs::write(&path, definition).unwrap();
    let path = path.display().to_string();
    let app = TestApp::spawn(backend, move |c| {
        c.workflow.definition = path;
        c.workflow.resource_map.insert("${ExtractLambdaArn}".into(), "pictor:extract-metadata".into());
        c.workflow.resource_map.insert("${StoreLambdaArn}".into(), "pictor:store-metadata".into());
    })
    .await?;
    Some((app, dir))
}

fn kinds(events: Vec<pictor_db::Event>) -> Vec<String> {
    events.into_iter().map(|e| e.kind).collect()
}

/// A definition that never calls `pictor:webhook` (as the AWS reference
/// architecture's) still settles the image when its execution ends:
/// `processed` with one `image.processed`, carrying what it stored.
async fn status_follows_a_successful_execution_without_notify(backend: Backend) {
    let definition = r#"{"StartAt": "Extract", "States": {
        "Extract": {"Type": "Task", "Resource": "${ExtractLambdaArn}", "ResultPath": "$.extractedMetadata", "Next": "Store"},
        "Store": {"Type": "Task", "Resource": "${StoreLambdaArn}", "ResultPath": null, "End": true}}}"#;
    let Some((app, _dir)) = with_definition(backend, definition).await else { return };
    let id = app.upload_ok(jpeg(30, 20)).await["id"].as_str().unwrap().to_string();
    let image = settled(&app, &id).await;
    assert_eq!(image["status"], "processed", "{image}");
    assert_eq!(finished_executions(&app, &id, 1).await[0]["status"], "SUCCEEDED");
    let events = app.state.db.events_for(&id).await.unwrap();
    let processed: Vec<_> = events.iter().filter(|e| e.kind == "image.processed").collect();
    assert_eq!(processed.len(), 1, "{:?}", kinds(events.clone()));
    assert_eq!(processed[0].payload["status"], "processed");
    assert_eq!(processed[0].payload["metadata"]["format"], "JPEG");
    // Reprocessing settles it again, once more.
    app.client.post(app.url(&format!("/api/v1/img/{id}/reprocess"))).send().await.unwrap();
    assert_eq!(settled(&app, &id).await["status"], "processed");
    let again = kinds(app.state.db.events_for(&id).await.unwrap());
    assert_eq!(again.iter().filter(|k| *k == "image.processed").count(), 2, "{again:?}");
    app.shutdown().await;
}

/// A failing execution fails its image, with the error, and records
/// `image.failed` once.
async fn status_follows_a_failed_execution(backend: Backend) {
    let definition = r#"{"StartAt": "Extract", "States": {
        "Extract": {"Type": "Task", "Resource": "${ExtractLambdaArn}", "ResultPath": "$.extractedMetadata", "Next": "Boom"},
        "Boom": {"Type": "Fail", "Error": "Custom.Broken", "Cause": "the definition says so"}}}"#;
    let Some((app, _dir)) = with_definition(backend, definition).await else { return };
    let id = app.upload_ok(png(10, 10)).await["id"].as_str().unwrap().to_string();
    assert_eq!(settled(&app, &id).await["status"], "failed");
    let execution = &finished_executions(&app, &id, 1).await[0];
    assert_eq!((execution["status"].as_str(), execution["error"].as_str()), (Some("FAILED"), Some("Custom.Broken")));
    let events = app.state.db.events_for(&id).await.unwrap();
    let failed: Vec<_> = events.iter().filter(|e| e.kind == "image.failed").collect();
    assert_eq!(failed.len(), 1, "{:?}", kinds(events.clone()));
    assert_eq!(failed[0].payload["error"], "Custom.Broken");
    assert_eq!(failed[0].payload["cause"], "the definition says so");
    assert!(!events.iter().any(|e| e.kind == "image.processed"));
    app.shutdown().await;
}

/// `[workflows.NAME] on = [...]` starts another workflow on another event,
/// without touching the image's status.
async fn configured_events_start_their_workflows(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("after.json");
    std::fs::write(&path, r#"{"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": true}}}"#).unwrap();
    let path = path.display().to_string();
    let Some(app) = TestApp::spawn(backend, move |c| {
        small_thumbnails(c);
        let spec = pictor_server::config::WorkflowSpec {
            on: vec!["image.processed".into()],
            definition: path,
            ..Default::default()
        };
        c.workflows.insert("after-processing".into(), spec);
    })
    .await
    else {
        return;
    };
    let id = app.upload_ok(png(16, 16)).await["id"].as_str().unwrap().to_string();
    assert_eq!(settled(&app, &id).await["status"], "processed");
    let all = json(&app, "/api/v1/executions").await;
    let after: Vec<&Value> =
        all["executions"].as_array().unwrap().iter().filter(|e| e["workflow"] == "after").collect();
    assert_eq!(after.len(), 1, "{all}");
    assert_eq!(after[0]["status"], "SUCCEEDED");
    let execution = json(&app, &format!("/api/v1/executions/{}", after[0]["id"].as_str().unwrap())).await;
    assert_eq!(execution["input"]["eventKind"], "image.processed");
    assert_eq!(execution["input"]["imageId"], id.as_str());
    assert_eq!(execution["output"]["eventKind"], "image.processed", "the Pass state echoes its input");
    let processed = kinds(app.state.db.events_for(&id).await.unwrap());
    assert_eq!(processed.iter().filter(|k| *k == "image.processed").count(), 1, "{processed:?}");
    app.shutdown().await;
}

both_backends!(
    status_follows_a_successful_execution_without_notify,
    status_follows_a_failed_execution,
    configured_events_start_their_workflows,
    camera_photos_get_their_exif_and_gps,
    upload_runs_the_default_workflow,
    reprocess_runs_again_and_processed_is_recorded_once_per_run,
    unsupported_types_are_rejected,
    phone_formats_run_the_default_workflow,
    events_stream_live,
);
