//! Colour management: embedded ICC profiles become sRGB.
//!
//! A profile that cannot be parsed or linked is ignored rather than failing
//! the image: wrong-but-visible colours beat a lost upload.

use moxcms::{
    CicpColorPrimaries, CicpProfile, ColorProfile, DataColorSpace, Layout, MatrixCoefficients, TransferCharacteristics,
    TransformOptions,
};

use crate::image::{Channels, Image};

/// Converts `img` from the colour space of `icc` into sRGB in place.
/// Returns whether a conversion was applied.
pub fn to_srgb(img: &mut Image, icc: &[u8]) -> bool {
    let Ok(src) = ColorProfile::new_from_slice(icc) else {
        return false;
    };
    src.color_space == DataColorSpace::Rgb && convert(img, &src)
}

/// Converts `img` from the colour space that H.273 code points name (an
/// `nclx` box without an ICC profile) into sRGB. Unspecified primaries are
/// taken as sRGB's, an unspecified transfer as sRGB's curve; HDR transfers
/// (PQ, HLG) are left alone, as they need tone mapping, not a profile.
pub fn cicp_to_srgb(img: &mut Image, primaries: u16, transfer: u16) -> bool {
    let transfer = if transfer == 2 { 13 } else { transfer };
    if matches!(primaries, 1 | 2) || matches!(transfer, 16 | 18) {
        return false;
    }
    let code = |v: u16| u8::try_from(v).ok();
    let (Some(Ok(color_primaries)), Some(Ok(transfer_characteristics))) =
        (code(primaries).map(CicpColorPrimaries::try_from), code(transfer).map(TransferCharacteristics::try_from))
    else {
        return false;
    };
    let mut src = ColorProfile::new_srgb();
    let cicp = CicpProfile {
        color_primaries,
        transfer_characteristics,
        matrix_coefficients: MatrixCoefficients::Bt709,
        full_range: true,
    };
    src.update_rgb_colorimetry_from_cicp(cicp);
    convert(img, &src)
}

/// Converts `img` from the RGB profile `src` into sRGB, unless `src` has sRGB's primaries.
fn convert(img: &mut Image, src: &ColorProfile) -> bool {
    if is_srgb(src) {
        return false;
    }
    let layout = match img.channels() {
        Channels::Rgb => Layout::Rgb,
        Channels::Rgba => Layout::Rgba,
    };
    let dst = ColorProfile::new_srgb();
    let Ok(transform) = src.create_transform_8bit(layout, &dst, layout, TransformOptions::default()) else {
        return false;
    };
    let input = img.data().to_vec();
    transform.transform(&input, img.data_mut()).is_ok()
}

/// Converts 4-channel CMYK samples to RGB, through `icc` when it is a
/// usable CMYK profile, else with the plain complement formula.
///
/// `inverted` is true for Adobe-style files that store 255 for "no ink".
pub fn cmyk_to_rgb(cmyk: &[u8], inverted: bool, icc: Option<&[u8]>) -> Vec<u8> {
    let normal: Vec<u8>;
    let ink = if inverted {
        normal = cmyk.iter().map(|v| 255 - v).collect();
        &normal[..]
    } else {
        cmyk
    };
    if let Some(rgb) = icc.and_then(|icc| cmyk_through_profile(ink, icc)) {
        return rgb;
    }
    ink.chunks_exact(4)
        .flat_map(|p| {
            let k = 255 - u32::from(p[3]);
            let channel = |c: u8| ((255 - u32::from(c)) * k / 255) as u8;
            [channel(p[0]), channel(p[1]), channel(p[2])]
        })
        .collect()
}

fn cmyk_through_profile(ink: &[u8], icc: &[u8]) -> Option<Vec<u8>> {
    let src = ColorProfile::new_from_slice(icc).ok()?;
    if src.color_space != DataColorSpace::Cmyk {
        return None;
    }
    let dst = ColorProfile::new_srgb();
    let transform = src.create_transform_8bit(Layout::Rgba, &dst, Layout::Rgb, TransformOptions::default()).ok()?;
    let mut rgb = vec![0u8; ink.len() / 4 * 3];
    transform.transform(ink, &mut rgb).ok()?;
    Some(rgb)
}

/// Profiles whose primaries are sRGB's: converting would be a costly no-op.
/// (Their tone curve is sRGB's in practice; a rare odd curve costs a
/// slightly-off tone, never data.)
fn is_srgb(profile: &ColorProfile) -> bool {
    let srgb = ColorProfile::new_srgb();
    let close = |a: moxcms::Xyzd, b: moxcms::Xyzd| (a.x - b.x).abs() + (a.y - b.y).abs() + (a.z - b.z).abs() < 3e-3;
    close(profile.red_colorant, srgb.red_colorant)
        && close(profile.green_colorant, srgb.green_colorant)
        && close(profile.blue_colorant, srgb.blue_colorant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_cmyk_complement() {
        // No ink = white; full black ink = black; full cyan = (0,255,255).
        let rgb = cmyk_to_rgb(&[0, 0, 0, 0, 0, 0, 0, 255, 255, 0, 0, 0], false, None);
        assert_eq!(rgb, vec![255, 255, 255, 0, 0, 0, 0, 255, 255]);
        // Adobe files store the complement.
        assert_eq!(cmyk_to_rgb(&[255, 255, 255, 255], true, None), vec![255, 255, 255]);
    }

    #[test]
    fn nclx_conversion_leaves_srgb_and_hdr_alone() {
        let mut img = Image::from_raw(1, 1, Channels::Rgb, vec![180, 80, 60]).unwrap();
        assert!(!cicp_to_srgb(&mut img, 1, 13), "BT.709 primaries are sRGB's");
        assert!(!cicp_to_srgb(&mut img, 2, 2), "unspecified");
        assert!(!cicp_to_srgb(&mut img, 9, 16), "PQ needs tone mapping");
        assert_eq!(img.data(), &[180, 80, 60]);
        // Display P3 with an unspecified transfer, read as sRGB's curve: (194, 72, 52).
        assert!(cicp_to_srgb(&mut img, 12, 2));
        let want = [194u8, 72, 52];
        assert!(img.data().iter().zip(want).all(|(a, b)| a.abs_diff(b) <= 2), "{:?}", img.data());
    }

    #[test]
    fn garbage_profile_is_ignored() {
        let mut img = Image::from_raw(1, 1, Channels::Rgb, vec![10, 20, 30]).unwrap();
        assert!(!to_srgb(&mut img, b"not a profile"));
        assert_eq!(img.data(), &[10, 20, 30]);
    }
}
