//! HEIC and AVIF decode upright: with the size exiftool reports (its
//! `ImageSize` is the stored size; `Rotation` a quarter turn swaps it), with
//! the pixels of their un-rotated twin, and hostile files fail cleanly.
//! Phone HEICs make small thumbnails from their embedded thumbnail.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use fast_image_resize::FilterType;
use pictor_imaging::{ImageFormat, Limits, Pipeline};

/// True for the HEIF family this test is about.
fn is_heif(bytes: &[u8]) -> bool {
    matches!(ImageFormat::sniff(bytes), Some(ImageFormat::Heic | ImageFormat::Avif))
}

/// `(file, displayed width, displayed height)` for every HEIC/AVIF exiftool read outside `broken/`.
fn exiftool_upright_sizes(root: &Path) -> Vec<(String, u32, u32)> {
    let text = std::fs::read_to_string(root.join("expected/exiftool.json")).unwrap();
    let entries: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    entries
        .iter()
        .filter_map(|e| {
            let file = e["SourceFile"].as_str()?;
            let (w, h) = e["ImageSize"].as_str()?.split_once(' ')?;
            let (w, h) = (w.parse().ok()?, h.parse().ok()?);
            let quarter_turn = matches!(e["Rotation"].as_u64(), Some(90 | 270));
            Some((file.to_string(), if quarter_turn { (h, w) } else { (w, h) }))
        })
        .filter(|(file, _)| !file.starts_with("broken/"))
        .filter(|(file, _)| std::fs::read(root.join(file)).is_ok_and(|b| is_heif(&b)))
        .map(|(file, (w, h))| (file, w, h))
        .collect()
}

/// exiftool's `ImageSize` is the `ispe`, before the clean-aperture (`clap`)
/// crop; these samples have one, and this is their displayed size.
fn clean_aperture_size(file: &str) -> Option<(u32, u32)> {
    match file {
        "formats/heic-libheif/tests-data/rainbow-451x461.heic" => Some((451, 461)),
        // 12x34 cropped to 8x10, then turned a quarter.
        "orientation/libavif/clap_irot_imir_non_essential.avif" => Some((10, 8)),
        _ => None,
    }
}

/// Samples that must be refused: uncompressed HEIF (`unci`, not HEVC), and
/// exiftool's metadata-only HEIC, which carries no picture data.
fn refused_on_purpose(file: &str, code: &str) -> bool {
    let uncompressed = file.contains("/uncompressed_") || file.contains("/rgb_generic_compressed_");
    (uncompressed && code == "unsupported_format")
        || (file == "camera_exif/exiftool-t/QuickTime.heic" && code == "corrupt_image")
}

#[test]
fn heif_samples_decode_to_their_displayed_size() {
    let Some(root) = common::corpus("HEIC/AVIF sizes") else {
        return;
    };
    let mut wrong = Vec::new();
    let (mut heic, mut avif) = (0, 0);
    for (file, w, h) in exiftool_upright_sizes(&root) {
        let bytes = std::fs::read(root.join(&file)).unwrap();
        let format = ImageFormat::sniff(&bytes).unwrap();
        let (w, h) = clean_aperture_size(&file).unwrap_or((w, h));
        match pictor_imaging::decode(&bytes, &Limits::default()) {
            Err(e) if refused_on_purpose(&file, e.code()) => {}
            Ok(decoded) => {
                let got = (decoded.image.width(), decoded.image.height());
                if got != (w, h) || decoded.header.upright_size() != got {
                    wrong.push(format!(
                        "{file}: {got:?}, header {:?}, expected {:?}",
                        decoded.header.upright_size(),
                        (w, h)
                    ));
                }
                if format == ImageFormat::Heic { heic += 1 } else { avif += 1 }
            }
            Err(e) => wrong.push(format!("{file}: {e}")),
        }
    }
    eprintln!("HEIF sizes: {heic} HEIC and {avif} AVIF samples decoded");
    assert!(heic >= 5, "only {heic} HEIC samples found");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn heic_pixels_match_the_same_picture_in_png() {
    let Some(root) = common::corpus("HEIC pixels") else {
        return;
    };
    let dir = root.join("formats/pillow/avif");
    let heic = pictor_imaging::decode(&std::fs::read(dir.join("hopper.heif")).unwrap(), &Limits::default()).unwrap();
    let png =
        pictor_imaging::decode(&std::fs::read(dir.join("hopper_avif_write.png")).unwrap(), &Limits::default()).unwrap();
    let diff = common::mean_abs_diff(&heic.image, &png.image);
    // Two lossy encodings of one photo differ by a few levels; a wrong turn by tens.
    assert!(diff < 8.0, "hopper.heif differs from hopper_avif_write.png by {diff:.2} on average");
}

#[test]
fn broken_heif_files_fail_cleanly_and_quickly() {
    let Some(root) = common::corpus("broken HEIF") else {
        return;
    };
    pictor_imaging::decode::quiet_guarded_panics();
    let (mut refused, mut panicked) = (0, Vec::new());
    for file in common::files_under(&root, "broken") {
        let bytes = std::fs::read(root.join(&file)).unwrap();
        if !is_heif(&bytes) {
            continue;
        }
        let started = Instant::now();
        let result = pictor_imaging::decode(&bytes, &Limits::default());
        assert!(started.elapsed() < Duration::from_secs(10), "{file} took {:?}", started.elapsed());
        match result {
            Ok(_) => {}
            Err(e) => {
                assert!(matches!(e.code(), "corrupt_image" | "unsupported_format" | "image_too_large"), "{file}: {e}");
                if e.to_string().contains("the decoder failed on this file") {
                    panicked.push(format!("{file}: {e}"));
                }
                refused += 1;
            }
        }
    }
    eprintln!("broken HEIF: {refused} refused, of which {} by a caught panic", panicked.len());
    for line in &panicked {
        eprintln!("  caught panic: {line}");
    }
    assert!(refused >= 20, "only {refused} broken HEIF files refused");
}

#[test]
fn avif_rotations_and_mirrors_show_the_same_picture() {
    let Some(root) = common::corpus("AVIF irot/imir pixels") else {
        return;
    };
    let dir = root.join("formats/pillow/avif");
    let decode =
        |name: &str| pictor_imaging::decode(&std::fs::read(dir.join(name)).unwrap(), &Limits::default()).unwrap().image;
    let upright = decode("rot0mir0.avif");
    // Each file is its own lossy encoding (~8 levels apart); a wrong mirror is far more.
    let mirrored = pictor_imaging::Orientation::FlipH.apply(upright.clone());
    let wrong_turn = common::mean_abs_diff(&mirrored, &upright);
    assert!(wrong_turn > 20.0, "the mirrored sample differs by only {wrong_turn:.2}");
    for rot in 0..4 {
        for mir in 0..2 {
            let name = format!("rot{rot}mir{mir}.avif");
            let turned = decode(&name);
            let diff = if (turned.width(), turned.height()) == (upright.width(), upright.height()) {
                common::mean_abs_diff(&turned, &upright)
            } else {
                f64::INFINITY
            };
            assert!(
                diff < 12.0,
                "{name}: {}x{}, mean difference {diff:.2} from rot0mir0",
                turned.width(),
                turned.height()
            );
        }
    }
}

/// Phone HEICs with a 320×240 `thmb` item: one landscape, one turned by `irot`.
const WITH_THUMBNAILS: [&str; 2] = [
    "camera_exif/metadata-extractor/heic/IMG_1034.heic",
    "camera_exif/exif-samples/heic/mobile/iphone_13_pro_max.HEIC",
];

/// The samples of [`WITH_THUMBNAILS`], read; `None` (skipped) without the corpus.
fn thumbnail_samples(test: &str) -> Option<[(&'static str, Vec<u8>); 2]> {
    let root = common::corpus(test)?;
    Some(WITH_THUMBNAILS.map(|file| (file, std::fs::read(root.join(file)).unwrap())))
}

#[test]
fn heic_thumbnails_stand_in_for_small_outputs() {
    let Some(samples) = thumbnail_samples("HEIC embedded thumbnails") else {
        return;
    };
    for (file, bytes) in samples {
        let full = pictor_imaging::decode(&bytes, &Limits::default()).unwrap();
        let small = Pipeline::parse("thumbnail=256").unwrap().decode(&bytes, &Limits::default()).unwrap();
        let (w, h) = (small.image.width(), small.image.height());
        assert!(small.shrink >= 12 && w.max(h) == 320, "{file}: {w}x{h}, shrink {}", small.shrink);
        let (fw, fh) = (full.image.width(), full.image.height());
        assert_eq!(u64::from(w) * u64::from(fh), u64::from(h) * u64::from(fw), "{file}: upright aspect");
        // Compared at a quarter of the thumbnail's size: its own, softer
        // encoding differs in fine detail, not in what a thumbnail shows.
        let quarter = |image: &pictor_imaging::Image| common::resize(image, w / 4, h / 4, FilterType::Box);
        let (small, reference) = (quarter(&small.image), quarter(&full.image));
        let diff = common::mean_abs_diff(&small, &reference);
        let flipped = common::mean_abs_diff(&pictor_imaging::Orientation::Rotate180.apply(small), &reference);
        eprintln!("{file}: the thumbnail is {diff:.2} from the full decode ({flipped:.2} turned)");
        // 3-5 levels apart; a wrong turn is ~70.
        assert!(diff < 6.0 && flipped > 4.0 * diff, "{file}: {diff:.2} from the full decode ({flipped:.2} turned)");
    }
}

#[test]
fn heic_thumbnails_are_not_used_for_larger_outputs() {
    let Some(samples) = thumbnail_samples("HEIC full decodes") else {
        return;
    };
    for (file, bytes) in samples {
        let decoded = Pipeline::parse("thumbnail=512").unwrap().decode(&bytes, &Limits::default()).unwrap();
        let size = (decoded.image.width(), decoded.image.height());
        assert_eq!((decoded.shrink, size), (1, decoded.header.upright_size()), "{file}");
    }
}
