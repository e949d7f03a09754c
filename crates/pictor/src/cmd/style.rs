//! `pictor style --style N | --blend N=W,… | --style-image FILE IN OUT
//! [--preview] [--max-side N]`: the style engine on one local file, without
//! a server, to try a style or time a full-resolution render.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::Args;
use pictor_imaging::{EncodeOptions, Image, OutputFormat};
use pictor_vision::style::{STYLE_COUNT, Style, Styles};

use super::LimitArgs;
use super::args::ConfigArgs;

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["style", "blend", "style_image"]))]
pub struct StyleArgs {
    /// One of the 26 built-in styles, 0–25.
    #[arg(long)]
    style: Option<usize>,
    /// A blend of built-in styles: `3=0.5,12=0.5` (weights are normalised).
    #[arg(long)]
    blend: Option<String>,
    /// Any picture, whose style is used.
    #[arg(long)]
    style_image: Option<PathBuf>,
    /// The photo to paint.
    input: PathBuf,
    /// Where to write; the format comes from the extension (jpeg, png, webp, avif).
    output: PathBuf,
    /// A 512-pixel preview with the watermark instead of the full render.
    #[arg(long)]
    preview: bool,
    /// Longest side of the render (default: the photo's own, full resolution).
    #[arg(long)]
    max_side: Option<u32>,
    /// Tile side for large renders (a multiple of 4).
    #[arg(long, default_value_t = pictor_vision::style::TILE)]
    tile: usize,
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    limits: LimitArgs,
}

/// `3=0.5,12=0.5` (or `3:0.5`; a bare `3` weighs 1) as a blend.
fn parse_blend(spec: &str) -> anyhow::Result<Style> {
    let mut parts = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (index, weight) = part.split_once(['=', ':']).unwrap_or((part, "1"));
        let index: usize = index.trim().parse().with_context(|| format!("style index in {part:?}"))?;
        let weight: f32 = weight.trim().parse().with_context(|| format!("weight in {part:?}"))?;
        parts.push((index, weight));
    }
    Style::blend(&parts)
        .with_context(|| format!("bad blend {spec:?}: indices 0–{}, weights non-negative, not all 0", STYLE_COUNT - 1))
}

fn read(path: &PathBuf, limits: &LimitArgs) -> anyhow::Result<Image> {
    let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
    Ok(pictor_imaging::decode(&bytes, &limits.limits()).with_context(|| path.display().to_string())?.image)
}

pub fn run(args: StyleArgs) -> anyhow::Result<ExitCode> {
    let ext = args.output.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
    let format: OutputFormat =
        ext.parse().with_context(|| format!("cannot tell the format of {}", args.output.display()))?;
    if format == OutputFormat::Auto {
        bail!("name the output with an image extension: .jpg, .png, .webp or .avif");
    }
    let style = match (&args.style, &args.blend, &args.style_image) {
        (Some(n), _, _) => Style::builtin(*n).with_context(|| format!("style {n}: use 0–{}", STYLE_COUNT - 1))?,
        (_, Some(spec), _) => parse_blend(spec)?,
        (_, _, Some(path)) => Style::Arbitrary(read(path, &args.limits)?),
        _ => unreachable!("clap requires one"),
    };
    let overlap = pictor_vision::style::OVERLAP;
    if !args.tile.is_multiple_of(4) || args.tile <= 2 * overlap {
        bail!("--tile must be a multiple of 4 over {}", 2 * overlap);
    }
    let data_dir = args.config.load()?.data_dir;
    let styles = Styles::load(&data_dir)?.with_tiles(args.tile, overlap);
    let image = read(&args.input, &args.limits)?;
    let started = Instant::now();
    let out = if args.preview {
        styles.preview(&image, &style)?
    } else {
        styles.render(&image, &style, args.max_side.unwrap_or(image.width().max(image.height())))?
    };
    let seconds = started.elapsed().as_secs_f64();
    let bytes = pictor_imaging::encode::encode(&out, format, &EncodeOptions::default(), None)?;
    std::fs::write(&args.output, bytes).with_context(|| args.output.display().to_string())?;
    eprintln!(
        "{} → {} ({}x{}, {seconds:.2} s)",
        args.input.display(),
        args.output.display(),
        out.width(),
        out.height()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blends_parse() {
        let Style::Blend(w) = parse_blend("3=0.5, 12:0.25,7").unwrap() else { panic!() };
        assert_eq!((w[3], w[12], w[7]), (0.5, 0.25, 1.0));
        assert!(parse_blend("26=1").is_err());
        assert!(parse_blend("3=-1").is_err());
        assert!(parse_blend("x=1").is_err());
        assert!(parse_blend("").is_err());
    }
}
