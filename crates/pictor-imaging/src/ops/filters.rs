//! Per-pixel and neighbourhood filters: mirrors, blur, sharpen, grey.

use image::{ImageBuffer, Pixel, imageops};

use crate::image::{Channels, Image};
use crate::orient::remap;

pub fn flip(img: &Image) -> Image {
    remap(img, false, false, true)
}

pub fn flop(img: &Image) -> Image {
    remap(img, false, true, false)
}

pub fn blur(img: Image, sigma: f32) -> Image {
    with_buffer(img, |buf| imageops::blur(buf, sigma), |buf| imageops::blur(buf, sigma))
}

pub fn sharpen(img: Image, sigma: f32) -> Image {
    with_buffer(img, |buf| imageops::unsharpen(buf, sigma, 0), |buf| imageops::unsharpen(buf, sigma, 0))
}

/// Replaces colour with its Rec. 709 luma; alpha is kept.
pub fn grayscale(mut img: Image) -> Image {
    let n = img.channels().count();
    for p in img.data_mut().chunks_exact_mut(n) {
        let y = ((u32::from(p[0]) * 54 + u32::from(p[1]) * 183 + u32::from(p[2]) * 19 + 128) >> 8) as u8;
        p[..3].fill(y);
    }
    img
}

type Buf<P> = ImageBuffer<P, Vec<u8>>;

/// Runs an `image::imageops` filter on our pixels without copying them.
fn with_buffer(
    img: Image,
    rgb: impl FnOnce(&Buf<image::Rgb<u8>>) -> Buf<image::Rgb<u8>>,
    rgba: impl FnOnce(&Buf<image::Rgba<u8>>) -> Buf<image::Rgba<u8>>,
) -> Image {
    let (w, h, channels) = (img.width(), img.height(), img.channels());
    let data = match channels {
        Channels::Rgb => rgb(&buffer(w, h, img.into_data())).into_raw(),
        Channels::Rgba => rgba(&buffer(w, h, img.into_data())).into_raw(),
    };
    Image::from_raw(w, h, channels, data).expect("filters keep the size")
}

fn buffer<P: Pixel<Subpixel = u8>>(w: u32, h: u32, data: Vec<u8>) -> Buf<P> {
    ImageBuffer::from_raw(w, h, data).expect("Image keeps its size invariant")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Rgba;

    fn edge() -> Image {
        // Left half black, right half white.
        let data = (0..8 * 8).flat_map(|i| if i % 8 < 4 { [0; 3] } else { [255; 3] }).collect();
        Image::from_raw(8, 8, Channels::Rgb, data).unwrap()
    }

    #[test]
    fn blur_softens_an_edge_and_sharpen_steepens_it() {
        let (before, blurred) = (edge(), blur(edge(), 1.5));
        let at = |img: &Image, x: usize| img.data()[(3 * 8 + x) * 3];
        assert_eq!(at(&before, 3), 0);
        assert!(at(&blurred, 3) > 20, "black side picks up light");
        let sharpened = sharpen(blur(edge(), 1.0), 1.0);
        assert!(at(&sharpened, 3) < at(&blur(edge(), 1.0), 3));
    }

    #[test]
    fn grayscale_equalises_channels() {
        let img = grayscale(Image::filled(1, 1, Rgba { r: 255, g: 0, b: 0, a: 128 }));
        let p = img.data();
        assert!(p[0] == p[1] && p[1] == p[2] && p[3] == 128);
        assert_eq!(p[0], 54);
    }

    #[test]
    fn mirrors() {
        let img = Image::from_raw(2, 1, Channels::Rgb, vec![1, 1, 1, 2, 2, 2]).unwrap();
        assert_eq!(flop(&img).data(), &[2, 2, 2, 1, 1, 1]);
        assert_eq!(flip(&img).data(), img.data());
    }
}
