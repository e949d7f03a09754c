//! HEIF colour signalling and AVIF grids, on tiny files made with avifenc
//! and pillow-heif and kept in `tests/data` (see its README), so these
//! never skip.

mod common;

use pictor_imaging::{Image, Limits};

fn decode(name: &str) -> Image {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
    pictor_imaging::decode(&std::fs::read(path).unwrap(), &Limits::default()).unwrap().image
}

/// The centre pixel of each third of a picture of three side-by-side patches.
fn patches(image: &Image) -> [[u8; 3]; 3] {
    let (w, h, n) = (image.width() as usize, image.height() as usize, image.channels().count());
    assert_eq!(w, 3 * h, "three square patches");
    [h / 2, w / 2, w - h / 2].map(|x| {
        let at = (h / 2 * w + x) * n;
        [image.data()[at], image.data()[at + 1], image.data()[at + 2]]
    })
}

fn assert_close(name: &str, got: [[u8; 3]; 3], want: [[u8; 3]; 3]) {
    let close = got.iter().flatten().zip(want.iter().flatten()).all(|(a, b)| a.abs_diff(*b) <= 3);
    assert!(close, "{name}: {got:?}, expected {want:?}");
}

#[test]
fn nclx_display_p3_becomes_srgb() {
    // P3 (180, 80, 60) is sRGB (194, 72, 52); red clips to sRGB red; grey stays grey.
    assert_close("p3-nclx.avif", patches(&decode("p3-nclx.avif")), [[255, 0, 0], [194, 72, 52], [128, 128, 128]]);
}

#[test]
fn heic_nclx_display_p3_becomes_srgb() {
    assert_close("p3-nclx.heic", patches(&decode("p3-nclx.heic")), [[255, 0, 0], [194, 72, 52], [128, 128, 128]]);
}

#[test]
fn nclx_bt2020_becomes_srgb_through_its_own_matrix() {
    let got = patches(&decode("bt2020-nclx.avif"));
    assert_close("bt2020-nclx.avif", got, [[255, 0, 0], [219, 51, 52], [128, 128, 128]]);
}

#[test]
fn nclx_srgb_limited_range_is_left_as_coded() {
    let got = patches(&decode("srgb-limited.avif"));
    assert_close("srgb-limited.avif", got, [[255, 0, 0], [180, 80, 60], [128, 128, 128]]);
}

#[test]
fn avif_grid_matches_the_single_picture() {
    let (grid, single, png) = (decode("grid.avif"), decode("single.avif"), decode("picture.png"));
    assert_eq!((grid.width(), grid.height()), (256, 128));
    // Lossy encodes are a couple of levels off; a misplaced tile is tens.
    let (to_single, to_png) = (common::mean_abs_diff(&grid, &single), common::mean_abs_diff(&grid, &png));
    assert!(to_single < 3.0 && to_png < 3.0, "grid differs by {to_single:.2} from single, {to_png:.2} from the PNG");
    let swapped = pictor_imaging::Orientation::FlipH.apply(grid);
    assert!(common::mean_abs_diff(&swapped, &png) > 20.0, "the picture is not asymmetric enough to tell");
}
