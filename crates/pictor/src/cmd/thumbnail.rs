//! `pictor thumbnail IN... --size 256 -o DIR`: the batch thumbnailer.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use pictor_imaging::{EncodeOptions, OutputFormat, Pipeline};

use super::{LimitArgs, pool};

#[derive(Debug, Args)]
pub struct ThumbnailArgs {
    /// Images, or folders whose files are all taken.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Fit each thumbnail inside a SIZE×SIZE box (never enlarging).
    #[arg(long, short, default_value_t = 256)]
    size: u32,
    /// Output format: jpeg, png, webp, avif or gif.
    #[arg(long, short, default_value = "jpeg")]
    format: OutputFormat,
    /// Encoder quality, 1–100 (default depends on the format).
    #[arg(long, short)]
    quality: Option<u8>,
    /// Folder for the thumbnails, created if missing; each is named after its input.
    #[arg(long, short, default_value = ".")]
    output: PathBuf,
    /// Worker threads (default: one per core).
    #[arg(long, short)]
    jobs: Option<usize>,
    #[command(flatten)]
    limits: LimitArgs,
}

pub fn run(args: ThumbnailArgs) -> anyhow::Result<ExitCode> {
    if args.format == OutputFormat::Auto {
        anyhow::bail!("--format auto needs a client to negotiate with; pick jpeg, png, webp, avif or gif");
    }
    let mut pipeline = Pipeline::parse(&format!("thumbnail={}", args.size)).context("--size")?;
    pipeline.encode = EncodeOptions { quality: args.quality, ..Default::default() };
    pipeline.encode.validate().context("--quality")?;
    std::fs::create_dir_all(&args.output).with_context(|| format!("creating {}", args.output.display()))?;
    let jobs = plan(&expand(&args.inputs)?, &args.output, args.format);
    let limits = args.limits.limits();
    let failures = pool::for_each(&jobs, pool::jobs(args.jobs), |(input, output)| {
        let bytes = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
        let out = pipeline.run(&bytes, args.format, "", &limits).with_context(|| input.display().to_string())?;
        std::fs::write(output, out.bytes).with_context(|| format!("writing {}", output.display()))
    });
    Ok(summarise(jobs.len(), failures.len()))
}

/// Files named directly, plus the files inside named folders (sorted).
fn expand(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut inner: Vec<PathBuf> = std::fs::read_dir(input)
                .with_context(|| format!("listing {}", input.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            inner.sort();
            files.extend(inner);
        } else {
            files.push(input.clone());
        }
    }
    Ok(files)
}

/// Pairs each input with its output path; same-named inputs get `-2`, `-3`….
fn plan(inputs: &[PathBuf], dir: &Path, format: OutputFormat) -> Vec<(PathBuf, PathBuf)> {
    let mut taken = HashSet::new();
    inputs
        .iter()
        .map(|input| {
            let stem = input.file_stem().map_or("image".into(), |s| s.to_string_lossy().into_owned());
            let mut name = format!("{stem}.{}", format.extension());
            for n in 2.. {
                if taken.insert(name.clone()) {
                    break;
                }
                name = format!("{stem}-{n}.{}", format.extension());
            }
            (input.clone(), dir.join(name))
        })
        .collect()
}

/// Prints the outcome line and picks the exit code.
pub fn summarise(total: usize, failed: usize) -> ExitCode {
    if failed == 0 {
        eprintln!("{total} done");
        ExitCode::SUCCESS
    } else {
        eprintln!("{} done, {failed} failed", total - failed);
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_stems_get_distinct_outputs() {
        let inputs = [PathBuf::from("a/x.jpg"), PathBuf::from("b/x.png"), PathBuf::from("y.gif")];
        let plan = plan(&inputs, Path::new("out"), OutputFormat::Webp);
        let names: Vec<_> = plan.iter().map(|(_, o)| o.to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["out/x.webp", "out/x-2.webp", "out/y.webp"]);
    }
}
