//! `pictor upload`, `pictor import` and `pictor get`: clients of a running
//! server.
//!
//! `pictor upload DIR [--recursive]` sends files through direct uploads
//! (`POST /api/v1/uploads` with JSON → a presigned PUT URL or POST form per
//! file → the bytes to the store → `complete`), several at once. Each file
//! is hashed first and sent along: the server answers content it already
//! has with that image, so running it again sends nothing new.
//!
//! `pictor import SOURCE` asks the server to import an S3 prefix or a
//! folder on the server (`POST /api/v1/imports`; the server does the work,
//! resumably) and follows its counters with a progress bar until it ends;
//! `--detach` prints the import's id and returns at once.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::Digest as _;

/// How to reach the server.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// The server's base URL.
    #[arg(long, env = "PICTOR_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// An API key or JWT, sent as `Authorization: Bearer`.
    #[arg(long, visible_alias = "key", env = "PICTOR_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
}

impl ServerArgs {
    fn request(&self, client: &reqwest::Client, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let builder = client.request(method, format!("{}{path}", self.server.trim_end_matches('/')));
        match &self.api_key {
            Some(key) => builder.bearer_auth(key),
            None => builder,
        }
    }
}

#[derive(Debug, Args)]
pub struct UploadArgs {
    /// Files, or folders to upload the files in.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Also upload the files in the folders' subfolders.
    #[arg(long, short = 'r')]
    recursive: bool,
    /// Uploads in flight at once.
    #[arg(long, short = 'j', default_value_t = 4)]
    jobs: usize,
    /// How to send the bytes: `put` (a presigned URL) or `post` (an S3
    /// browser-upload form).
    #[arg(long, default_value = "put", value_parser = ["put", "post"])]
    form: String,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// `s3://bucket/prefix?endpoint=…&region=…&access_key_id=…&secret_access_key=…`,
    /// or a folder on the server (sent as an absolute path; the server
    /// imports only folders under its `import.local_roots`).
    source: String,
    /// Print the import's id and return without following it.
    #[arg(long)]
    detach: bool,
    /// Milliseconds between looks at the import's progress.
    #[arg(long, default_value_t = 500, hide = true)]
    poll_ms: u64,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// The image id.
    id: String,
    /// Output file; its extension picks the format (jpg, png, webp, avif, gif).
    #[arg(long, short = 'o')]
    output: PathBuf,
    /// Fit within this many pixels.
    #[arg(long)]
    thumbnail: Option<u32>,
    /// More operations, as in a transform URL: `rotate=90&grayscale`.
    #[arg(long)]
    ops: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
}

pub fn upload(args: UploadArgs) -> anyhow::Result<ExitCode> {
    let files = collect_files(&args.paths, args.recursive)?;
    anyhow::ensure!(!files.is_empty(), "no files found under the given paths");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let failed = runtime.block_on(upload_all(&args, files))?;
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// What became of one file.
enum Outcome {
    /// Uploaded as this new image.
    Uploaded(String),
    /// Its content is stored already, as this image: nothing was sent.
    Duplicate(String),
    /// Not an image (by its first bytes): not sent.
    Skipped,
}

/// Uploads `files` through direct uploads, `args.jobs` at a time: each is
/// hashed here first, and the server answers a content it already has
/// with that image (so a second run sends nothing). Returns the failures.
async fn upload_all(args: &UploadArgs, files: Vec<PathBuf>) -> anyhow::Result<usize> {
    let client = reqwest::Client::new();
    let total_bytes: u64 = files.iter().map(|f| std::fs::metadata(f).map_or(0, |m| m.len())).sum();
    let bar = Arc::new(ProgressBar::new(total_bytes));
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec}  {msg}  {elapsed} elapsed, {eta} left",
    )?);
    let started = std::time::Instant::now();
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = files.len();
    let results = futures::stream::iter(files)
        .map(|path| {
            let (client, bar, done) = (client.clone(), bar.clone(), done.clone());
            async move {
                let result = upload_one(args, &client, &path).await;
                // Ids go to stdout (for scripts), failures to stderr, both
                // above the bar.
                bar.suspend(|| match &result {
                    Ok((Outcome::Uploaded(id), _)) => println!("{id}  {}", path.display()),
                    Ok((Outcome::Duplicate(id), _)) => println!("{id}  {}  (duplicate)", path.display()),
                    Ok((Outcome::Skipped, _)) => eprintln!("skipped  {}: not an image", path.display()),
                    Err(e) => eprintln!("failed  {}: {e:#}", path.display()),
                });
                let size = std::fs::metadata(&path).map_or(0, |m| m.len());
                bar.inc(size);
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                let rate = n as f64 / started.elapsed().as_secs_f64().max(0.001);
                bar.set_message(format!("{n}/{count} files, {rate:.1} files/s"));
                result.map(|(outcome, _)| outcome)
            }
        })
        .buffer_unordered(args.jobs.max(1))
        .collect::<Vec<_>>()
        .await;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64().max(0.001);
    let (mut uploaded, mut duplicates, mut skipped, mut failed) = (0, 0, 0, 0);
    for result in &results {
        match result {
            Ok(Outcome::Uploaded(_)) => uploaded += 1,
            Ok(Outcome::Duplicate(_)) => duplicates += 1,
            Ok(Outcome::Skipped) => skipped += 1,
            Err(_) => failed += 1,
        }
    }
    eprintln!(
        "{uploaded} uploaded, {duplicates} duplicates, {skipped} skipped (not images), {failed} failed, \
         of {count} files in {seconds:.1} s ({:.1} files/s, {:.1} MB/s)",
        count as f64 / seconds,
        total_bytes as f64 / 1e6 / seconds,
    );
    Ok(failed)
}

/// Uploads one file: hash, ask, send, complete.
async fn upload_one(args: &UploadArgs, client: &reqwest::Client, path: &Path) -> anyhow::Result<(Outcome, u64)> {
    let bytes = tokio::fs::read(path).await.with_context(|| format!("reading {}", path.display()))?;
    let size = bytes.len() as u64;
    let Some(format) = pictor_imaging::ImageFormat::sniff(&bytes) else { return Ok((Outcome::Skipped, size)) };
    let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
    let name = path.file_name().map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let request = serde_json::json!({
        "files": [{ "name": name, "size": size, "content_type": format.mime(), "sha256": sha256 }],
        "form": args.form,
    });
    let response = args.server.request(client, reqwest::Method::POST, "/api/v1/uploads").json(&request).send().await?;
    let tickets = answer(response).await?;
    let ticket = &tickets["uploads"][0];
    if let Some(earlier) = ticket["duplicate_of"].as_str() {
        return Ok((Outcome::Duplicate(earlier.to_string()), size));
    }
    let (Some(id), Some(url)) = (ticket["id"].as_str(), ticket["url"].as_str()) else {
        anyhow::bail!("the server's answer has no upload: {tickets}");
    };
    let sent = match ticket["method"].as_str() {
        Some("POST") => {
            let mut form = reqwest::multipart::Form::new();
            for (field, value) in ticket["fields"].as_object().into_iter().flatten() {
                form = form.text(field.clone(), value.as_str().unwrap_or_default().to_string());
            }
            let part = reqwest::multipart::Part::bytes(bytes).file_name(name).mime_str(format.mime())?;
            client.post(url).multipart(form.part("file", part)).send().await?
        }
        _ => {
            let mut put = client.put(url).body(bytes);
            for (header, value) in ticket["headers"].as_object().into_iter().flatten() {
                put = put.header(header.as_str(), value.as_str().unwrap_or_default());
            }
            put.send().await?
        }
    };
    if !sent.status().is_success() {
        let status = sent.status();
        let body = sent.text().await.unwrap_or_default();
        anyhow::bail!("sending the file: {status}: {}", body.chars().take(300).collect::<String>());
    }
    let path = format!("/api/v1/uploads/{id}/complete");
    let response = args.server.request(client, reqwest::Method::POST, &path).send().await?;
    let image = answer(response).await?;
    let image_id = image["id"].as_str().context("the server's answer has no image id")?;
    Ok((Outcome::Uploaded(image_id.to_string()), size))
}

/// The JSON body of a 2xx answer, or the problem's detail as the error.
async fn answer(response: reqwest::Response) -> anyhow::Result<serde_json::Value> {
    let status = response.status();
    let body = response.bytes().await?;
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    if !status.is_success() {
        let detail =
            json["detail"].as_str().map_or_else(|| String::from_utf8_lossy(&body).into_owned(), str::to_string);
        anyhow::bail!("{status}: {detail}");
    }
    Ok(json)
}

fn collect_files(paths: &[PathBuf], recursive: bool) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        walk(path, recursive, true, &mut files).with_context(|| format!("reading {}", path.display()))?;
    }
    files.sort();
    Ok(files)
}

/// The files at `path`: itself, or those in it (in its subfolders too when
/// `recursive`; hidden entries of a folder are left out).
fn walk(path: &Path, recursive: bool, top: bool, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        if !top && !recursive {
            return Ok(());
        }
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            if !entry.file_name().to_string_lossy().starts_with('.') {
                walk(&entry.path(), recursive, false, files)?;
            }
        }
    } else {
        files.push(path.to_path_buf());
    }
    Ok(())
}

pub fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let source = if args.source.starts_with("s3://") {
        args.source.clone()
    } else {
        let path = Path::new(args.source.strip_prefix("file://").unwrap_or(&args.source));
        std::path::absolute(path).with_context(|| format!("the folder {}", path.display()))?.display().to_string()
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(import_and_follow(&args, &source))
}

async fn import_and_follow(args: &ImportArgs, source: &str) -> anyhow::Result<ExitCode> {
    let client = reqwest::Client::new();
    let request = serde_json::json!({ "source": source });
    let response = args.server.request(&client, reqwest::Method::POST, "/api/v1/imports").json(&request).send().await?;
    let mut import = answer(response).await?;
    let id = import["id"].as_str().context("the server's answer has no import id")?.to_string();
    println!("{id}");
    if args.detach {
        return Ok(ExitCode::SUCCESS);
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg}  {elapsed}")?);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let started = std::time::Instant::now();
    let count = |import: &serde_json::Value, field: &str| import[field].as_i64().unwrap_or(0);
    let path = format!("/api/v1/imports/{id}");
    while matches!(import["state"].as_str(), Some("queued" | "running")) {
        let rate = count(&import, "seen") as f64 / started.elapsed().as_secs_f64().max(0.001);
        bar.set_message(format!(
            "{}: {} files, {rate:.1} files/s; {} imported, {} duplicates, {} skipped, {} failed",
            import["source"].as_str().unwrap_or_default(),
            count(&import, "seen"),
            count(&import, "imported"),
            count(&import, "duplicates"),
            count(&import, "skipped"),
            count(&import, "failed"),
        ));
        tokio::time::sleep(std::time::Duration::from_millis(args.poll_ms)).await;
        let response = args.server.request(&client, reqwest::Method::GET, &path).send().await?;
        import = answer(response).await?;
    }
    bar.finish_and_clear();
    for problem in import["problems"].as_array().into_iter().flatten() {
        eprintln!(
            "skipped  {}: {}",
            problem["key"].as_str().unwrap_or_default(),
            problem["reason"].as_str().unwrap_or_default()
        );
    }
    let seconds = started.elapsed().as_secs_f64().max(0.001);
    let state = import["state"].as_str().unwrap_or("unknown");
    eprintln!(
        "import {state}: {} imported, {} duplicates, {} skipped, {} failed, of {} files ({:.1} MB) in {seconds:.1} s ({:.1} files/s)",
        count(&import, "imported"),
        count(&import, "duplicates"),
        count(&import, "skipped"),
        count(&import, "failed"),
        count(&import, "seen"),
        count(&import, "bytes") as f64 / 1e6,
        count(&import, "seen") as f64 / seconds,
    );
    if let Some(error) = import["error"].as_str() {
        eprintln!("error: {error}");
    }
    Ok(if state == "done" && count(&import, "failed") == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

pub fn get(args: GetArgs) -> anyhow::Result<ExitCode> {
    let format = args.output.extension().and_then(|e| e.to_str()).unwrap_or("jpg").to_ascii_lowercase();
    let mut query: Vec<String> = Vec::new();
    if let Some(size) = args.thumbnail {
        query.push(format!("thumbnail={size}"));
    }
    query.extend(args.ops.clone());
    let path = format!("/api/v1/img/{}.{format}?{}", args.id, query.join("&"));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let bytes = runtime.block_on(async {
        let response = args.server.request(&reqwest::Client::new(), reqwest::Method::GET, &path).send().await?;
        if !response.status().is_success() {
            answer(response).await?;
            unreachable!("answer fails on non-2xx");
        }
        anyhow::Ok(response.bytes().await?)
    })?;
    std::fs::write(&args.output, &bytes).with_context(|| format!("writing {}", args.output.display()))?;
    eprintln!("wrote {} ({} bytes)", args.output.display(), bytes.len());
    Ok(ExitCode::SUCCESS)
}
