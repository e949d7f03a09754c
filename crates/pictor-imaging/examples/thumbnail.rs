//! A 256-px JPEG thumbnail as `pictor thumbnail` makes one (decode with the
//! pipeline's shrink hint, Lanczos-3, JPEG q80), from this crate alone, so
//! that `bench/heic.sh` builds no server crates. `--full` decodes every
//! pixel first: no embedded HEIC thumbnail, no JPEG shrink-on-load.
//!
//! ```sh
//! cargo run --release -p pictor-imaging --example thumbnail -- IN OUT [--full]
//! ```

use pictor_imaging::{EncodeOptions, Limits, OutputFormat, Pipeline};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let full = args.iter().any(|a| a == "--full");
    let paths: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [input, output] = paths[..] else {
        return Err("usage: thumbnail IN OUT [--full]".into());
    };
    let bytes = std::fs::read(input)?;
    let (limits, pipeline) = (Limits::default(), Pipeline::parse("thumbnail=256")?);
    let decoded = if full { pictor_imaging::decode(&bytes, &limits)? } else { pipeline.decode(&bytes, &limits)? };
    let image = pipeline.transform(decoded.image, &limits)?;
    let jpeg = pictor_imaging::encode::encode(&image, OutputFormat::Jpeg, &EncodeOptions::default(), None)?;
    std::fs::write(output, jpeg)?;
    Ok(())
}
