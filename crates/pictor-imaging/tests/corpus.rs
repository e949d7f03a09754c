//! Every file of the shared corpus goes through decode and a thumbnail
//! pipeline: each gives an image or a typed error, none panics or hangs,
//! the files that must be refused are refused, and decoded sizes agree
//! with exiftool's.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pictor_imaging::{ImagingError, Limits, OutputFormat, Pipeline};

/// A file still decoding after this long is reported as a hang.
const HANG: Duration = Duration::from_secs(30);

#[derive(Debug)]
enum Outcome {
    Decoded { width: u32, height: u32 },
    Refused(ImagingError),
    Panicked(String),
}

struct Run {
    file: String,
    outcome: Outcome,
    elapsed: Duration,
}

fn run_one(root: &Path, file: &str) -> Outcome {
    let bytes = std::fs::read(root.join(file)).unwrap();
    let work = || -> Result<(u32, u32), ImagingError> {
        let header = pictor_imaging::probe(&bytes)?;
        let full = pictor_imaging::decode(&bytes, &Limits::default())?;
        let (uw, uh) = header.upright_size();
        assert_eq!((full.image.width(), full.image.height()), (uw, uh), "{file}: upright size");
        let thumb =
            Pipeline::parse("thumbnail=256").unwrap().run(&bytes, OutputFormat::Jpeg, "", &Limits::default())?;
        assert!(thumb.width <= 256 && thumb.height <= 256);
        Ok((header.width, header.height))
    };
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(Ok((width, height))) => Outcome::Decoded { width, height },
        Ok(Err(err)) => Outcome::Refused(err),
        Err(panic) => Outcome::Panicked(
            panic
                .downcast_ref::<String>()
                .cloned()
                .or(panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default(),
        ),
    }
}

/// What each worker is on, and since when (for the watchdog).
type Busy = Arc<Mutex<Vec<Option<(String, Instant)>>>>;

/// Runs every file on all cores, with a watchdog that fails on a hang.
fn run_all(root: &Path, files: &[String]) -> Vec<Run> {
    let next = AtomicUsize::new(0);
    let runs = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let busy: Busy = Arc::new(Mutex::new(vec![None; workers]));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let (busy, done) = (busy.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(500));
                for (file, since) in busy.lock().unwrap().iter().flatten() {
                    if since.elapsed() > HANG {
                        eprintln!("HANG: {file} has been decoding for over {HANG:?}");
                        std::process::abort();
                    }
                }
            }
        })
    };
    std::thread::scope(|s| {
        for slot in 0..workers {
            let (next, runs, busy) = (&next, &runs, &busy);
            s.spawn(move || {
                while let Some(file) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                    busy.lock().unwrap()[slot] = Some((file.clone(), Instant::now()));
                    let start = Instant::now();
                    let outcome = run_one(root, file);
                    let elapsed = start.elapsed();
                    busy.lock().unwrap()[slot] = None;
                    runs.lock().unwrap().push(Run { file: file.clone(), outcome, elapsed });
                }
            });
        }
    });
    done.store(true, Ordering::Relaxed);
    watchdog.join().unwrap();
    let mut runs = runs.into_inner().unwrap();
    runs.sort_by(|a, b| a.file.cmp(&b.file));
    runs
}

/// Files the corpus notes say a decoder must refuse.
fn must_refuse(file: &str) -> bool {
    let name = file.rsplit('/').next().unwrap();
    file.starts_with("broken/bombs-")
        || (file.starts_with("formats/pngsuite/") && name.starts_with('x'))
        || (file.starts_with("formats/png-image-png-bugfixes/") && name.starts_with("x_"))
        || file.starts_with("broken/image-rs/bad/")
        || ["broken/pillow/truncated_jpeg.jpg", "broken/pillow/truncated_image.png"].contains(&file)
}

/// Valid files of the formats the engine promises to read.
fn must_decode(file: &str) -> bool {
    let name = file.rsplit('/').next().unwrap();
    (file.starts_with("formats/pngsuite/") && !name.starts_with('x') && name.ends_with(".png"))
        || (file.starts_with("formats/png-image-png-bugfixes/") && !name.starts_with("x_") && name.ends_with(".png"))
        || (file.starts_with("formats/webp-libwebp-test-data/") && name.ends_with(".webp"))
        || ["testorig.jpg", "testimgint.jpg", "testimgari.jpg"]
            .iter()
            .any(|f| file == format!("formats/jpeg-libjpeg-turbo/{f}"))
        || file.starts_with("orientation/recurser/") && name.ends_with(".jpg")
}

/// exiftool's stored width and height for each file.
fn exiftool_sizes(root: &Path) -> HashMap<String, (u64, u64)> {
    let text = std::fs::read_to_string(root.join("expected/exiftool.json")).unwrap();
    let entries: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    entries
        .iter()
        .filter_map(|e| {
            let size = (e.get("ImageWidth")?.as_u64()?, e.get("ImageHeight")?.as_u64()?);
            Some((e.get("SourceFile")?.as_str()?.to_string(), size))
        })
        .collect()
}

#[test]
fn every_corpus_file_decodes_or_is_refused_with_a_typed_error() {
    let Some(root) = common::corpus("corpus decode") else {
        return;
    };
    // Decoder panics caught by guard_panics are expected here; keep the log clean.
    pictor_imaging::quiet_guarded_panics();
    let files: Vec<String> = ["broken", "camera_exif", "exif_edge", "formats", "orientation", "wrong_type"]
        .iter()
        .flat_map(|set| common::files_under(&root, set))
        .collect();
    let runs = run_all(&root, &files);
    let exiftool = exiftool_sizes(&root);

    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for run in &runs {
        match &run.outcome {
            Outcome::Panicked(msg) => problems.push(format!("PANIC {}: {msg}", run.file)),
            Outcome::Decoded { width, height } => {
                *counts.entry("decoded").or_default() += 1;
                if must_refuse(&run.file) {
                    problems.push(format!("ACCEPTED {} ({width}x{height}), which must be refused", run.file));
                }
                // exiftool reports these before their clean-aperture crop; `tests/heif.rs` checks them.
                let cropped = [
                    "formats/heic-libheif/tests-data/rainbow-451x461.heic",
                    "orientation/libavif/clap_irot_imir_non_essential.avif",
                ];
                let size_known = (run.file.starts_with("formats/") || run.file.starts_with("orientation/"))
                    && !cropped.contains(&run.file.as_str());
                if let Some(&(ew, eh)) = exiftool.get(&run.file).filter(|_| size_known)
                    && (u64::from(*width), u64::from(*height)) != (ew, eh)
                {
                    problems.push(format!("SIZE {}: decoded {width}x{height}, exiftool says {ew}x{eh}", run.file));
                }
            }
            Outcome::Refused(err) => {
                *counts.entry(err.code()).or_default() += 1;
                if must_decode(&run.file) {
                    problems.push(format!("REFUSED {}: {err}", run.file));
                }
                // A valid 12-bit JPEG is a format this build cannot read, not corrupt data.
                if run.file.ends_with("monkey12.jpg") && err.code() != "unsupported_format" {
                    problems.push(format!("CODE {}: {err} should be unsupported_format", run.file));
                }
            }
        }
    }
    let slowest = runs.iter().max_by_key(|r| r.elapsed).unwrap();
    eprintln!("{} files: {counts:?}; slowest {} in {:?}", runs.len(), slowest.file, slowest.elapsed);
    assert!(counts.get("decoded").copied().unwrap_or(0) > 1000, "most of the corpus is decodable: {counts:?}");
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}
