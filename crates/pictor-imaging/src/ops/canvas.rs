//! Canvas moves shared by several steps: cutting a rectangle out, scaling
//! to an exact size, and placing the picture on a larger coloured canvas.

use fast_image_resize::images::{Image as FirImage, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::Ctx;
use crate::error::Result;
use crate::image::{Channels, Image, Rgba};

/// Resamples to exactly `width`×`height` with Lanczos-3.
pub fn resize_exact(img: &Image, width: u32, height: u32) -> Image {
    if (width, height) == (img.width(), img.height()) {
        return img.clone();
    }
    let pixel_type = match img.channels() {
        Channels::Rgb => PixelType::U8x3,
        Channels::Rgba => PixelType::U8x4,
    };
    let src = ImageRef::new(img.width(), img.height(), img.data(), pixel_type).expect("Image keeps its size invariant");
    let mut dst = FirImage::new(width, height, pixel_type);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new().resize(&src, &mut dst, &options).expect("same pixel type on both sides");
    Image::from_raw(width, height, img.channels(), dst.into_vec()).expect("resizer fills the buffer")
}

/// Copies the `w`×`h` rectangle at `(x, y)`; the caller keeps it in bounds.
pub fn cut(img: &Image, x: u32, y: u32, w: u32, h: u32) -> Image {
    let n = img.channels().count();
    let stride = img.stride();
    let mut out = Vec::with_capacity(w as usize * h as usize * n);
    for row in y..y + h {
        let start = row as usize * stride + x as usize * n;
        out.extend_from_slice(&img.data()[start..start + w as usize * n]);
    }
    Image::from_raw(w, h, img.channels(), out).expect("cut stays in bounds")
}

/// Adds borders `[top, right, bottom, left]` of `color`.
pub fn pad(img: Image, [top, right, bottom, left]: [u32; 4], color: Rgba, ctx: &Ctx) -> Result<Image> {
    let w = u64::from(img.width()) + u64::from(left) + u64::from(right);
    let h = u64::from(img.height()) + u64::from(top) + u64::from(bottom);
    ctx.check_output(w, h)?;
    let alpha = img.has_alpha_channel() || color.a != 255;
    let src = if alpha { img.into_rgba() } else { img };
    let mut canvas = Image::filled(w as u32, h as u32, color);
    if alpha {
        canvas = canvas.into_rgba();
    }
    let n = if alpha { Channels::Rgba.count() } else { Channels::Rgb.count() };
    let (src_stride, dst_stride) = (src.stride(), canvas.stride());
    for row in 0..src.height() as usize {
        let dst_start = (row + top as usize) * dst_stride + left as usize * n;
        canvas.data_mut()[dst_start..dst_start + src_stride]
            .copy_from_slice(&src.data()[row * src_stride..(row + 1) * src_stride]);
    }
    Ok(canvas)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_places_picture_inside_borders() {
        let img = Image::filled(1, 1, Rgba::BLACK);
        let out = pad(img, [1, 2, 0, 1], Rgba::WHITE, &Ctx::new(100)).unwrap();
        assert_eq!((out.width(), out.height()), (4, 2));
        let firsts: Vec<u8> = out.data().chunks(3).map(|p| p[0]).collect();
        assert_eq!(firsts, vec![255, 255, 255, 255, 255, 0, 255, 255]);
    }

    #[test]
    fn transparent_padding_adds_alpha() {
        let out = pad(Image::filled(1, 1, Rgba::BLACK), [0, 1, 0, 0], Rgba::TRANSPARENT, &Ctx::new(9)).unwrap();
        assert_eq!(out.data(), &[0, 0, 0, 255, 0, 0, 0, 0]);
    }

    #[test]
    fn cut_copies_a_window() {
        let data = (0u8..12).collect();
        let img = Image::from_raw(2, 2, Channels::Rgb, data).unwrap();
        assert_eq!(cut(&img, 1, 1, 1, 1).data(), &[9, 10, 11]);
    }
}
