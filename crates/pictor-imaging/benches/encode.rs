//! Encode cost of each output format at 1024 px.
//!
//!     cargo bench -p pictor-imaging --bench encode -- [IMAGE]
//!
//! IMAGE defaults to the 20 MP wallpaper that `bench/thumbnail.sh`
//! downloads. The picture is decoded and resized once; then each format is
//! encoded repeatedly for about a second, and the mean time is printed with
//! its ratio to JPEG's.

use std::time::{Duration, Instant};

use pictor_imaging::encode::encode;
use pictor_imaging::{EncodeOptions, Limits, OutputFormat, Pipeline};

fn main() {
    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/work/batch/r01-Kleiber.jpg");
    let path = std::env::args().skip(1).find(|a| !a.starts_with('-')).unwrap_or(default.into());
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!("SKIPPED encode bench: no image at {path} (run bench/thumbnail.sh first, or pass a path)");
        return;
    };
    let pipeline = Pipeline::parse("thumbnail=1024").unwrap();
    let img =
        pipeline.transform(pipeline.decode(&bytes, &Limits::default()).unwrap().image, &Limits::default()).unwrap();
    println!("encode cost at {}x{} from {path}", img.width(), img.height());
    println!("{:<16} {:>10} {:>10} {:>8}", "format", "ms/encode", "bytes", "x jpeg");
    let mut jpeg_ms = None;
    let cases: [(&str, OutputFormat, EncodeOptions); 7] = [
        ("jpeg q80", OutputFormat::Jpeg, EncodeOptions::default()),
        ("jpeg progressive", OutputFormat::Jpeg, EncodeOptions { progressive: true, ..Default::default() }),
        ("png", OutputFormat::Png, EncodeOptions::default()),
        ("webp q80", OutputFormat::Webp, EncodeOptions::default()),
        ("webp lossless", OutputFormat::Webp, EncodeOptions { lossless: true, ..Default::default() }),
        ("gif", OutputFormat::Gif, EncodeOptions::default()),
        ("avif q60 speed 6", OutputFormat::Avif, EncodeOptions::default()),
    ];
    for (name, format, opts) in cases {
        let (ms, size) = time(|| encode(&img, format, &opts, None).unwrap().len());
        let base = *jpeg_ms.get_or_insert(ms);
        println!("{name:<16} {ms:>10.2} {size:>10} {:>8.1}", ms / base);
    }
}

/// Mean milliseconds per call over about a second (at least 3 calls).
fn time(mut f: impl FnMut() -> usize) -> (f64, usize) {
    let size = f(); // warm-up
    let start = Instant::now();
    let mut runs = 0u32;
    while runs < 3 || start.elapsed() < Duration::from_secs(1) {
        std::hint::black_box(f());
        runs += 1;
    }
    (start.elapsed().as_secs_f64() * 1000.0 / f64::from(runs), size)
}
