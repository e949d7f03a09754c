//! `pictor upload` and `pictor get`: clients of a running server.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

/// How to reach the server.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// The server's base URL.
    #[arg(long, env = "PICTOR_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// An API key or JWT, sent as `Authorization: Bearer`.
    #[arg(long, env = "PICTOR_API_KEY", hide_env_values = true)]
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
    /// Files, or folders to upload every file under.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Uploads in flight at once.
    #[arg(long, short = 'j', default_value_t = 4)]
    jobs: usize,
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
    let files = collect_files(&args.paths)?;
    anyhow::ensure!(!files.is_empty(), "no files found under the given paths");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let failed = runtime.block_on(upload_all(&args, files))?;
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

async fn upload_all(args: &UploadArgs, files: Vec<PathBuf>) -> anyhow::Result<usize> {
    let client = reqwest::Client::new();
    let bar = Arc::new(ProgressBar::new(files.len() as u64));
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} uploaded  {elapsed} elapsed, {eta} left")?);
    let results = futures::stream::iter(files)
        .map(|path| {
            let (client, bar) = (client.clone(), bar.clone());
            async move {
                let result = upload_one(&args.server, &client, &path).await;
                // Ids go to stdout (for scripts), failures to stderr, both
                // above the bar.
                bar.suspend(|| match &result {
                    Ok(id) => println!("{id}  {}", path.display()),
                    Err(e) => eprintln!("failed  {}: {e:#}", path.display()),
                });
                bar.inc(1);
                result
            }
        })
        .buffer_unordered(args.jobs.max(1))
        .collect::<Vec<_>>()
        .await;
    bar.finish_and_clear();
    let failed = results.iter().filter(|r| r.is_err()).count();
    if failed > 0 {
        eprintln!("{failed} of {} uploads failed", results.len());
    }
    Ok(failed)
}

async fn upload_one(server: &ServerArgs, client: &reqwest::Client, path: &Path) -> anyhow::Result<String> {
    let bytes = tokio::fs::read(path).await.with_context(|| format!("reading {}", path.display()))?;
    let response = server
        .request(client, reqwest::Method::POST, "/api/v1/img")
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .body(bytes)
        .send()
        .await?;
    let json = answer(response).await?;
    json["id"].as_str().map(str::to_string).context("the server's answer has no id")
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

fn collect_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        walk(path, &mut files).with_context(|| format!("reading {}", path.display()))?;
    }
    files.sort();
    Ok(files)
}

fn walk(path: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        for entry in std::fs::read_dir(path)? {
            walk(&entry?.path(), files)?;
        }
    } else {
        files.push(path.to_path_buf());
    }
    Ok(())
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
