//! `pictor convert IN OUT [OP...]`: one image through an operation chain.
//!
//! Operations use the URL syntax, as separate arguments or one query
//! string: `thumbnail=400 rotate=90` or `'thumbnail=400&rotate=90'`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use pictor_imaging::{OutputFormat, Pipeline};

use super::LimitArgs;

#[derive(Debug, Args)]
#[command(after_help = "OPERATIONS (applied in order):
  thumbnail=N | WxH            fit inside a box, never enlarging
  resize=WxH[:FIT][:enlarge]   FIT: cover, contain, fill, inside (default), outside
  crop=X,Y,W,H | W:H[:GRAVITY] GRAVITY: centre, n, ne, e, se, s, sw, w, nw, entropy, attention (smart)
  rotate=DEG[:COLOR]           90/180/270 exactly; other angles on a COLOR background
  flip  flop  grayscale        mirror vertically / horizontally, drop colour
  blur=SIGMA  sharpen=SIGMA    gaussian blur, unsharp mask
  flatten[=COLOR]  pad=N[:COLOR] | pad=T,R,B,L[:COLOR]
ENCODING: quality=1..100 progressive lossless speed=1..10 metadata=keep|strip
COLOR: rrggbb, rrggbbaa, white, black or transparent

Example: pictor convert photo.jpg card.webp resize=800x600:cover sharpen=0.5 quality=75")]
pub struct ConvertArgs {
    /// The image to read.
    input: PathBuf,
    /// Where to write; the format comes from its extension unless --format is given.
    output: PathBuf,
    /// Operations, e.g. thumbnail=200 rotate=180 (see below).
    operations: Vec<String>,
    /// Output format: jpeg, png, webp, avif or gif.
    #[arg(long, short)]
    format: Option<OutputFormat>,
    #[command(flatten)]
    limits: LimitArgs,
}

pub fn run(args: ConvertArgs) -> anyhow::Result<ExitCode> {
    let format = match args.format {
        Some(f) => f,
        None => {
            let ext = args.output.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
            ext.parse().with_context(|| format!("cannot tell the format of {}: add --format", args.output.display()))?
        }
    };
    if format == OutputFormat::Auto {
        anyhow::bail!("format auto needs a client to negotiate with; pick jpeg, png, webp, avif or gif");
    }
    let pipeline = Pipeline::parse(&args.operations.join("&"))?;
    let bytes = std::fs::read(&args.input).with_context(|| format!("reading {}", args.input.display()))?;
    let out =
        pipeline.run(&bytes, format, "", &args.limits.limits()).with_context(|| args.input.display().to_string())?;
    std::fs::write(&args.output, &out.bytes).with_context(|| format!("writing {}", args.output.display()))?;
    eprintln!(
        "{} → {} ({}x{} {}, {} bytes)",
        args.input.display(),
        args.output.display(),
        out.width,
        out.height,
        out.format,
        out.bytes.len()
    );
    Ok(ExitCode::SUCCESS)
}
