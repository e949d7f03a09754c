//! `pictor vision labels|moderate|faces|text IMAGE…`: run one model on local
//! files, without a server. `--json` prints one machine-readable document.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use pictor_vision::faces::FaceDetector;
use pictor_vision::labels::Labeler;
use pictor_vision::moderation::Moderator;
use pictor_vision::text::TextReader;
use serde_json::{Value, json};

use super::LimitArgs;
use super::args::ConfigArgs;

#[derive(Debug, Args)]
pub struct VisionArgs {
    /// Which model: labels, moderate, faces or text.
    #[arg(value_enum)]
    task: Task,
    /// Image files.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// Print JSON: labels with confidences and parents, the NSFW score,
    /// face boxes, text lines.
    #[arg(long)]
    json: bool,
    /// Most labels to print.
    #[arg(long, default_value_t = 5)]
    max_labels: usize,
    /// Least confidence a label needs.
    #[arg(long, default_value_t = 0.1)]
    min_confidence: f32,
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Task {
    Labels,
    Moderate,
    Faces,
    Text,
}

/// A loaded model, as one function from a picture to JSON.
type Model = Box<dyn Fn(&pictor_imaging::Image) -> pictor_vision::Result<Value>>;

fn load(args: &VisionArgs) -> anyhow::Result<Model> {
    let data_dir = args.config.load()?.data_dir;
    let (max, min) = (args.max_labels, args.min_confidence);
    Ok(match args.task {
        Task::Labels => {
            let model = Labeler::load(&data_dir)?;
            Box::new(move |img| Ok(json!({ "labels": model.labels(img, max, min)? })))
        }
        Task::Moderate => {
            let model = Moderator::load(&data_dir)?;
            Box::new(move |img| Ok(json!({ "nsfwScore": model.nsfw_score(img)? })))
        }
        Task::Faces => {
            let model = FaceDetector::load(&data_dir)?;
            Box::new(move |img| Ok(json!({ "faces": model.detect(img)? })))
        }
        Task::Text => {
            let model = TextReader::load(&data_dir)?;
            Box::new(move |img| Ok(json!({ "lines": model.read(img)? })))
        }
    })
}

pub fn run(args: VisionArgs) -> anyhow::Result<ExitCode> {
    let model = load(&args)?;
    let limits = args.limits.limits();
    let mut results = Vec::new();
    for path in &args.images {
        let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
        let image = pictor_imaging::decode(&bytes, &limits).with_context(|| path.display().to_string())?.image;
        let mut found = model(&image).with_context(|| path.display().to_string())?;
        found["file"] = path.display().to_string().into();
        if !args.json {
            print_plain(&found);
        }
        results.push(found);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_plain(found: &Value) {
    println!("{}", found["file"].as_str().unwrap_or_default());
    for label in found["labels"].as_array().into_iter().flatten() {
        let parents: Vec<&str> = label["parents"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        println!(
            "  {:.3} {} ({})",
            label["confidence"].as_f64().unwrap_or(0.0),
            label["name"].as_str().unwrap_or(""),
            parents.join(" < ")
        );
    }
    if let Some(score) = found["nsfwScore"].as_f64() {
        println!("  nsfw {score:.4}");
    }
    for face in found["faces"].as_array().into_iter().flatten() {
        let n = |k: &str| face[k].as_f64().unwrap_or(0.0);
        println!("  face {:.0},{:.0} {:.0}x{:.0} ({:.2})", n("x"), n("y"), n("width"), n("height"), n("confidence"));
    }
    for line in found["lines"].as_array().into_iter().flatten() {
        println!("  {:.2} {}", line["confidence"].as_f64().unwrap_or(0.0), line["text"].as_str().unwrap_or(""));
    }
}
