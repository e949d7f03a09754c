//! `pictor probe IN...`: what each header says, one line per file.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::thumbnail::summarise;

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Images to inspect.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

pub fn run(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    let mut failed = 0;
    for input in &args.inputs {
        let result = std::fs::read(input)
            .map_err(|e| e.to_string())
            .and_then(|bytes| pictor_imaging::probe(&bytes).map_err(|e| e.to_string()));
        match result {
            Ok(h) => {
                let (uw, uh) = h.upright_size();
                println!(
                    "{}\t{}\t{}x{} stored\t{}x{} upright\torientation {}\t{} frame(s)",
                    input.display(),
                    h.format,
                    h.width,
                    h.height,
                    uw,
                    uh,
                    h.orientation.exif_value(),
                    h.frames
                );
            }
            Err(err) => {
                failed += 1;
                eprintln!("{}: {err}", input.display());
            }
        }
    }
    Ok(summarise(args.inputs.len(), failed))
}
