//! The workflow commands, black-box: `workflow validate|run` without a
//! server, and a separate `pictor worker` process doing the work for a
//! `serve` that runs none, then `executions ls|show` reading the result.

use crate::common;
use common::pictor;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

fn stdout_json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    })
}

/// Kills the child process when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn validate_lists_every_problem_with_state_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(
        dir.path(),
        "good.yaml",
        "StartAt: A\nStates:\n  A:\n    Type: Task\n    Resource: ${Extract}\n    End: true\n",
    );
    let map = write(dir.path(), "map.json", r#"{"${Extract}": "pictor:extract-metadata"}"#);
    let ok = pictor().args(["workflow", "validate"]).arg(&good).arg("--resource-map").arg(&map).output().unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let unmapped = pictor().args(["workflow", "validate"]).arg(&good).output().unwrap();
    assert_eq!(unmapped.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unmapped.stderr).contains("${Extract}"));
    let bad = write(
        dir.path(),
        "bad.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Bogus": 1, "Next": "Nowhere"}, "B": {"Type": "Teleport"}}}"#,
    );
    let out = pictor().args(["workflow", "validate"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let errors = String::from_utf8_lossy(&out.stderr);
    for needle in ["\"A\"", "Bogus", "Nowhere", "\"B\"", "Teleport"] {
        assert!(errors.contains(needle), "{needle} in {errors}");
    }
}

#[test]
fn run_with_input_prints_the_execution() {
    let dir = tempfile::tempdir().unwrap();
    let definition = write(
        dir.path(),
        "m.json",
        r#"{"StartAt": "Each", "States": {
             "Each": {"Type": "Map", "ItemsPath": "$.xs", "ItemProcessor": {"StartAt": "Double", "States": {
                 "Double": {"Type": "Pass", "Parameters": {"v.$": "States.MathAdd($, $)"}, "End": true}}},
               "ResultPath": "$.doubled", "Next": "Check"},
             "Check": {"Type": "Choice", "Choices": [{"Variable": "$.doubled[2].v", "NumericEquals": 6, "Next": "Done"}], "Default": "Boom"},
             "Boom": {"Type": "Fail", "Error": "Wrong", "CausePath": "States.Format('got {}', $.doubled[2].v)"},
             "Done": {"Type": "Succeed"}}}"#,
    );
    let run = |xs: &str| {
        let input = write(dir.path(), "in.json", &format!(r#"{{"xs": {xs}}}"#));
        pictor().args(["workflow", "run"]).arg(&definition).arg("--input").arg(input).output().unwrap()
    };
    let ok = run("[1, 2, 3]");
    assert!(ok.status.success());
    let ok = stdout_json(&ok);
    assert_eq!(ok["status"], "SUCCEEDED");
    assert_eq!(ok["output"]["doubled"], serde_json::json!([{"v": 2}, {"v": 4}, {"v": 6}]));
    assert_eq!(ok["history"][0]["type"], "ExecutionStarted");
    let failed = run("[1, 2, 5]");
    assert_eq!(failed.status.code(), Some(1));
    let failed = stdout_json(&failed);
    assert_eq!((failed["status"].as_str(), failed["error"].as_str()), (Some("FAILED"), Some("Wrong")));
    assert_eq!(failed["cause"], "got 10");
}

#[test]
fn run_with_image_uses_the_built_in_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("a.png");
    let pixels = pictor_imaging::Image::filled(64, 48, pictor_imaging::Rgba { r: 9, g: 9, b: 9, a: 255 });
    let png =
        pictor_imaging::encode::encode(&pixels, pictor_imaging::OutputFormat::Png, &Default::default(), None).unwrap();
    std::fs::write(&image, png).unwrap();
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pictor-jobs/src/default_workflow.json");
    let out = pictor().args(["workflow", "run"]).arg(&default).arg("--image").arg(&image).output().unwrap();
    let result = stdout_json(&out);
    assert_eq!(result["status"], "SUCCEEDED", "{result}");
    assert_eq!(result["output"]["extractedMetadata"]["format"], "PNG");
    assert_eq!(result["output"]["extractedMetadata"]["width"], 64);
    assert_eq!(result["output"]["parallelResults"][2]["thumbnails"].as_array().unwrap().len(), 8);
}

/// The AWS reference architecture's own shape: its Rekognition step mapped
/// to `pictor:detect-labels`, with no Catch. `workflow run` takes
/// `--data-dir` and uses the models installed there, while the run's
/// database and store stay throw-away ones; without models it fails with
/// `pictor.ModelsNotInstalled`.
#[test]
fn run_uses_the_models_of_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let definition = write(
        dir.path(),
        "reference.json",
        r#"{"StartAt": "ExtractImageMetadata", "States": {
             "ExtractImageMetadata": {"Type": "Task", "Resource": "${ExtractLambdaArn}", "ResultPath": "$.extractedMetadata", "Next": "Rekognition"},
             "Rekognition": {"Type": "Task", "Resource": "${RekognitionLambdaArn}", "ResultPath": "$.labels", "End": true}}}"#,
    );
    let map = write(
        dir.path(),
        "map.json",
        r#"{"${ExtractLambdaArn}": "pictor:extract-metadata", "${RekognitionLambdaArn}": "pictor:detect-labels"}"#,
    );
    let image = dir.path().join("a.png");
    let pixels = pictor_imaging::Image::filled(64, 48, pictor_imaging::Rgba { r: 90, g: 60, b: 30, a: 255 });
    let png =
        pictor_imaging::encode::encode(&pixels, pictor_imaging::OutputFormat::Png, &Default::default(), None).unwrap();
    std::fs::write(&image, png).unwrap();
    let run = |data_dir: &Path, image: &Path| {
        let out = pictor()
            .args(["workflow", "run"])
            .arg(&definition)
            .arg("--resource-map")
            .arg(&map)
            .arg("--image")
            .arg(image)
            .arg("--data-dir")
            .arg(data_dir)
            .output()
            .unwrap();
        stdout_json(&out)
    };
    let empty = tempfile::tempdir().unwrap();
    let without = run(empty.path(), &image);
    assert_eq!(
        (without["status"].as_str(), without["error"].as_str()),
        (Some("FAILED"), Some("pictor.ModelsNotInstalled"))
    );
    assert!(std::fs::read_dir(empty.path()).unwrap().next().is_none(), "the run wrote nothing into the data folder");
    let folder = |var: &str| std::env::var_os(var).map(std::path::PathBuf::from).filter(|p| p.is_dir());
    let (Some(models), Some(photos)) = (folder("PICTOR_TEST_MODELS"), folder("PICTOR_TEST_PHOTOS")) else {
        eprintln!(
            "SKIPPED: workflow run with models: PICTOR_TEST_MODELS and PICTOR_TEST_PHOTOS are not set (.ci/run sets them)"
        );
        return;
    };
    let before: Vec<_> = std::fs::read_dir(&models).unwrap().map(|e| e.unwrap().file_name()).collect();
    let with = run(&models, &photos.join("chelsea.png"));
    assert_eq!(with["status"], "SUCCEEDED", "{with}");
    let labels = &with["output"]["labels"]["labels"];
    assert!(
        labels.as_array().unwrap().iter().any(|l| l["parents"].as_array().unwrap().contains(&"cat".into())),
        "{labels}"
    );
    let after: Vec<_> = std::fs::read_dir(&models).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(before, after, "the run's database and store are not in the data folder");
}

/// Scale-out shape on one machine: `serve --role api` runs no workers, a
/// separate `serve --role worker` (what `pictor worker` runs) over the same
/// database and store does the work.
#[test]
fn a_separate_worker_process_runs_the_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut serve = pictor()
        .args(["serve", "--role", "api", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(serve.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let _serve = Running(serve);
    let base = line.trim().strip_prefix("listening on ").unwrap().to_string();
    let image = dir.path().join("a.png");
    let pixels = pictor_imaging::Image::filled(30, 20, pictor_imaging::Rgba { r: 1, g: 200, b: 3, a: 255 });
    std::fs::write(
        &image,
        pictor_imaging::encode::encode(&pixels, pictor_imaging::OutputFormat::Png, &Default::default(), None).unwrap(),
    )
    .unwrap();
    let upload = pictor().args(["upload", "--server", &base]).arg(&image).output().unwrap();
    assert!(upload.status.success());
    let id = String::from_utf8(upload.stdout).unwrap().split_whitespace().next().unwrap().to_string();

    let status = |id: &str| -> String {
        let body = reqwest_blocking(&format!("{base}/api/v1/img/{id}"));
        body["status"].as_str().unwrap_or_default().to_string()
    };
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(status(&id), "pending", "nothing runs without a worker");

    let worker = pictor()
        .args(["serve", "--role", "worker", "--data-dir"])
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _worker = Running(worker);
    let deadline = Instant::now() + Duration::from_secs(60);
    while status(&id) != "processed" {
        assert!(Instant::now() < deadline, "the worker did not process {id}");
        std::thread::sleep(Duration::from_millis(100));
    }

    let ls = pictor().args(["executions", "ls", "--json", "--data-dir"]).arg(&data).output().unwrap();
    let listed = stdout_json(&ls);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["image_id"], id.as_str());
    let execution = listed[0]["id"].as_str().unwrap();
    let show = pictor().args(["executions", "show", execution, "--data-dir"]).arg(&data).output().unwrap();
    let shown = stdout_json(&show);
    assert_eq!(shown["status"], "SUCCEEDED");
    assert_eq!(shown["events"].as_array().unwrap().last().unwrap()["type"], "ExecutionSucceeded");
    let missing = pictor().args(["executions", "show", "nope", "--data-dir"]).arg(&data).output().unwrap();
    assert!(!missing.status.success());
}

/// A GET over plain HTTP/1.1, parsed as JSON (no client crate needed).
fn reqwest_blocking(url: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(stream, "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_default()
}
