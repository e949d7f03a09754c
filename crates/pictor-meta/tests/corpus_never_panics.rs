//! `extract` must return `Ok` or a typed error, quickly, for every file in
//! the corpus: fuzzer crash files, truncated files, polyglots and non-images
//! included. Skipped (with a message) when the corpus is not present.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pictor_meta::{MetaError, extract};

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    dir.is_dir().then_some(dir)
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path.file_name() != Some("expected".as_ref()) {
                files(&path, out);
            }
        } else {
            out.push(path);
        }
    }
}

#[test]
fn every_corpus_file_gives_ok_or_a_typed_error() {
    let Some(corpus) = corpus() else {
        eprintln!("SKIPPED: corpus not found at CARGO_MANIFEST_DIR/../../../shared/corpus");
        return;
    };
    let mut all = Vec::new();
    files(&corpus, &mut all);
    let (mut ok, mut unsupported, mut corrupt, mut panicked, mut slow) = (0, 0, 0, Vec::new(), Vec::new());
    for path in &all {
        let bytes = std::fs::read(path).unwrap();
        let started = Instant::now();
        match std::panic::catch_unwind(|| extract(&bytes)) {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(MetaError::UnsupportedFormat(_))) => unsupported += 1,
            Ok(Err(MetaError::Corrupt(msg))) => {
                assert!(!msg.is_empty(), "{}: empty error message", path.display());
                corrupt += 1;
            }
            Err(_) => panicked.push(path.display().to_string()),
        }
        if started.elapsed() > Duration::from_secs(2) {
            slow.push(format!("{} ({:?})", path.display(), started.elapsed()));
        }
    }
    eprintln!("{} files: {ok} ok, {unsupported} unsupported, {corrupt} corrupt", all.len());
    assert!(all.len() > 1000, "corpus looks incomplete: {} files", all.len());
    assert!(panicked.is_empty(), "extract panicked on:\n{}", panicked.join("\n"));
    assert!(slow.is_empty(), "extract took over 2 s on:\n{}", slow.join("\n"));
}
