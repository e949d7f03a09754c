//! Every file of the shared corpus, uploaded: each lands (201) or gets a
//! 4xx problem, never a 5xx, and the server stays up throughout.

use crate::common;

use std::path::{Path, PathBuf};

use common::*;

both_backends!(every_corpus_file_is_a_201_or_a_4xx_problem);

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

async fn every_corpus_file_is_a_201_or_a_4xx_problem(backend: Backend) {
    let Some(corpus) = corpus() else { return };
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let all: Vec<PathBuf> =
        files_under(&corpus).into_iter().filter(|p| !p.starts_with(corpus.join("expected"))).collect();
    // The scale-out backends get every fifth file: the same code paths, at a
    // cost CI can afford twice.
    let files: Vec<&PathBuf> =
        all.iter().enumerate().filter(|(i, _)| backend == Backend::Local || i % 5 == 0).map(|(_, p)| p).collect();
    let (mut landed, mut refused, mut wrong) = (0, 0, Vec::new());
    let client = &app;
    for chunk in files.chunks(4) {
        let uploads = chunk.iter().map(|path| async move {
            let bytes = std::fs::read(path).unwrap();
            (path, client.upload_raw(bytes, "application/octet-stream").await)
        });
        for (path, response) in futures::future::join_all(uploads).await {
            match answer(response).await {
                Ok(true) => landed += 1,
                Ok(false) => refused += 1,
                Err(why) => wrong.push(format!("{}: {why}", path.display())),
            }
        }
    }
    // Every wrong answer at once, ahead of anything else the run printed.
    assert!(wrong.is_empty(), "{} of {} files got a wrong answer:\n{}", wrong.len(), files.len(), wrong.join("\n"));
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    assert!(landed > 0 && refused > 0, "landed {landed}, refused {refused}");
    let _ =
        std::io::Write::write_fmt(&mut std::io::stderr(), format_args!("corpus: {landed} landed, {refused} refused\n"));
    app.shutdown().await;
}

/// `Ok(true)` for 201, `Ok(false)` for a 4xx problem with a code, and what
/// was wrong otherwise.
async fn answer(response: reqwest::Response) -> Result<bool, String> {
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let body = response.text().await.unwrap_or_default();
    match status {
        201 => Ok(true),
        400..=499 if content_type == "application/problem+json" => {
            let problem: serde_json::Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
            if problem["code"].is_string() { Ok(false) } else { Err(format!("{status} without a code: {body}")) }
        }
        _ => Err(format!("{status} {content_type}: {body}")),
    }
}
