//! Shared helpers for the corpus-driven tests.
//!
//! The corpus lives outside the repository (`../shared/corpus` beside the
//! checkout, or `$PICTOR_CORPUS`). Users do not have it; tests that need it
//! print a visible SKIPPED line and pass.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The corpus folder, or `None` after printing why the test is skipped.
pub fn corpus(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("PICTOR_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"));
    if dir.join("SOURCES.md").is_file() {
        Some(dir)
    } else {
        // Written to the stream itself, not through eprintln!, so that the
        // test harness's output capture cannot hide the skip.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: no test corpus at {} (set PICTOR_CORPUS to run it)",
            dir.display()
        );
        None
    }
}

/// Every file below `dir`, sorted, as paths relative to `root`.
pub fn files_under(root: &Path, dir: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.join(dir)];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// Mean absolute difference per channel sample (0–255) of two RGB(A) images of equal size.
pub fn mean_abs_diff(a: &pictor_imaging::Image, b: &pictor_imaging::Image) -> f64 {
    assert_eq!((a.width(), a.height()), (b.width(), b.height()));
    let (a, b) = (a.clone().flatten(pictor_imaging::Rgba::WHITE), b.clone().flatten(pictor_imaging::Rgba::WHITE));
    let sum: u64 = a.data().iter().zip(b.data()).map(|(x, y)| u64::from(x.abs_diff(*y))).sum();
    sum as f64 / a.data().len() as f64
}

/// `img` resized to exactly `w`×`h` with `filter`, flattened on white.
pub fn resize(
    img: &pictor_imaging::Image,
    w: u32,
    h: u32,
    filter: fast_image_resize::FilterType,
) -> pictor_imaging::Image {
    use fast_image_resize::images::{Image as FirImage, ImageRef};
    use fast_image_resize::{PixelType, ResizeAlg, ResizeOptions, Resizer};
    let img = img.clone().flatten(pictor_imaging::Rgba::WHITE);
    let src = ImageRef::new(img.width(), img.height(), img.data(), PixelType::U8x3).unwrap();
    let mut dst = FirImage::new(w, h, PixelType::U8x3);
    Resizer::new().resize(&src, &mut dst, &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(filter))).unwrap();
    pictor_imaging::Image::from_raw(w, h, pictor_imaging::Channels::Rgb, dst.into_vec()).unwrap()
}
