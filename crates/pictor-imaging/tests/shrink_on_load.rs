//! Shrink-on-load must not cost visible quality: a thumbnail decoded at
//! 1/2, 1/4 or 1/8 scale is within 1 dB PSNR of one resized with Lanczos
//! from the full-resolution decode, both measured against the exact
//! area-average of the full-resolution picture.

mod common;

use common::resize;
use fast_image_resize::FilterType;
use pictor_imaging::{ImageFormat, Limits, Pipeline};

#[test]
fn shrunk_thumbnails_match_full_decode_quality() {
    let Some(root) = common::corpus("shrink-on-load quality") else {
        return;
    };
    // The larger camera JPEGs of the corpus.
    let mut photos: Vec<(u64, String)> = common::files_under(&root, "camera_exif")
        .into_iter()
        .filter_map(|f| {
            let bytes = std::fs::read(root.join(&f)).ok()?;
            let header = pictor_imaging::probe(&bytes).ok()?;
            let pixels = u64::from(header.width) * u64::from(header.height);
            (header.format == ImageFormat::Jpeg && header.width.min(header.height) >= 1200).then_some((pixels, f))
        })
        .collect();
    photos.sort();
    photos.reverse();
    photos.truncate(6);
    assert!(photos.len() >= 3, "the corpus has large camera JPEGs");

    let pipeline = Pipeline::parse("thumbnail=256").unwrap();
    // Each photo as shot, and re-encoded as a progressive JPEG (decoded from its DC scans).
    let progressive = pictor_imaging::EncodeOptions { progressive: true, quality: Some(90), ..Default::default() };
    let cases = photos.iter().flat_map(|(_, file)| {
        let bytes = std::fs::read(root.join(file)).unwrap();
        let full = pictor_imaging::decode(&bytes, &Limits::default()).unwrap().image;
        let reencoded =
            pictor_imaging::encode::encode(&full, pictor_imaging::OutputFormat::Jpeg, &progressive, None).unwrap();
        [(file.clone(), bytes), (format!("{file} (progressive)"), reencoded)]
    });
    for (file, bytes) in cases {
        let shrunk = pipeline.decode(&bytes, &Limits::default()).unwrap();
        assert!(shrunk.shrink >= 2, "{file}: decoded at 1/{}", shrunk.shrink);
        let thumb = pipeline.transform(shrunk.image, &Limits::default()).unwrap().flatten(pictor_imaging::Rgba::WHITE);
        let (w, h) = (thumb.width(), thumb.height());
        let full = pictor_imaging::decode(&bytes, &Limits::default()).unwrap().image;
        let lanczos = resize(&full, w, h, FilterType::Lanczos3);
        let truth = resize(&full, w, h, FilterType::Box);
        let (p_shrunk, p_full) = (thumb.psnr(&truth), lanczos.psnr(&truth));
        eprintln!("{file}: 1/{} decode {p_shrunk:.2} dB, full decode {p_full:.2} dB", shrunk.shrink);
        assert!(p_shrunk >= p_full - 1.0, "{file}: shrink-on-load {p_shrunk:.2} dB vs full {p_full:.2} dB");
    }
}
