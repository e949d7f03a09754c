//! Encoding an [`Image`] into JPEG, PNG, WebP, AVIF or GIF bytes.
//!
//! Each format has one small function. Metadata is stripped unless asked
//! for; when kept, the EXIF block goes along with its orientation reset to
//! 1, since the pixels are already upright.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::{ImagingError, Result, invalid};
use crate::format::OutputFormat;
use crate::image::{Channels, Image, Rgba};

/// Knobs for the encoders; `None` picks each format's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct EncodeOptions {
    /// 1–100. Defaults: JPEG 80, WebP 80, AVIF 60.
    pub quality: Option<u8>,
    /// Progressive JPEG.
    pub progressive: bool,
    /// Lossless WebP.
    pub lossless: bool,
    /// AVIF encoder speed, 1 (slowest, smallest) – 10. Default 6.
    pub speed: Option<u8>,
    /// Keep EXIF (stripped by default).
    pub keep_metadata: bool,
}

impl EncodeOptions {
    pub fn validate(&self) -> Result<()> {
        if self.quality.is_some_and(|q| !(1..=100).contains(&q)) {
            return Err(invalid("quality must be between 1 and 100"));
        }
        if self.speed.is_some_and(|s| !(1..=10).contains(&s)) {
            return Err(invalid("speed must be between 1 and 10"));
        }
        Ok(())
    }
}

/// Encodes `img` as `format` (which must be concrete, not `Auto`).
/// `exif` is written only when `opts.keep_metadata`.
pub fn encode(img: &Image, format: OutputFormat, opts: &EncodeOptions, exif: Option<&[u8]>) -> Result<Vec<u8>> {
    opts.validate()?;
    let exif = if opts.keep_metadata { exif.map(crate::exif::with_upright_orientation) } else { None };
    let exif = exif.as_deref();
    match format {
        OutputFormat::Jpeg => jpeg(img, opts, exif),
        OutputFormat::Png => png(img, exif),
        OutputFormat::Webp => webp(img, opts, exif),
        OutputFormat::Avif => avif(img, opts, exif),
        OutputFormat::Gif => gif(img),
        OutputFormat::Auto => Err(invalid("format 'auto' must be negotiated before encoding")),
    }
}

fn jpeg(img: &Image, opts: &EncodeOptions, exif: Option<&[u8]>) -> Result<Vec<u8>> {
    // JPEG has no alpha: composite onto white, as browsers show it.
    let flat;
    let img = if img.has_alpha_channel() {
        flat = img.clone().flatten(Rgba::WHITE);
        &flat
    } else {
        img
    };
    let result = catch_unwind(AssertUnwindSafe(|| -> std::io::Result<Vec<u8>> {
        let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
        c.set_fastest_defaults();
        c.set_size(img.width() as usize, img.height() as usize);
        c.set_quality(f32::from(opts.quality.unwrap_or(80)));
        c.set_chroma_sampling_pixel_sizes((2, 2), (2, 2));
        c.set_optimize_coding(true);
        if opts.progressive {
            c.set_progressive_mode();
        }
        let mut started = c.start_compress(Vec::with_capacity(img.data().len() / 8))?;
        if let Some(exif) = exif.filter(|e| e.len() < 65_000) {
            started.write_marker(mozjpeg::Marker::APP(1), &[b"Exif\0\0", exif].concat());
        }
        started.write_scanlines(img.data())?;
        started.finish()
    }));
    match result {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(ImagingError::InvalidOperation(format!("JPEG encoding failed: {e}"))),
        Err(_) => Err(ImagingError::InvalidOperation("JPEG encoding failed inside libjpeg".into())),
    }
}

fn png(img: &Image, exif: Option<&[u8]>) -> Result<Vec<u8>> {
    let fail = |e: png::EncodingError| ImagingError::InvalidOperation(format!("PNG encoding failed: {e}"));
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, img.width(), img.height());
    encoder.set_color(match img.channels() {
        Channels::Rgb => png::ColorType::Rgb,
        Channels::Rgba => png::ColorType::Rgba,
    });
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(fail)?;
    if let Some(exif) = exif {
        writer.write_chunk(png::chunk::ChunkType(*b"eXIf"), exif).map_err(fail)?;
    }
    writer.write_image_data(img.data()).map_err(fail)?;
    writer.finish().map_err(fail)?;
    Ok(out)
}

fn webp(img: &Image, opts: &EncodeOptions, exif: Option<&[u8]>) -> Result<Vec<u8>> {
    let encoder = match img.channels() {
        Channels::Rgb => webp::Encoder::from_rgb(img.data(), img.width(), img.height()),
        Channels::Rgba => webp::Encoder::from_rgba(img.data(), img.width(), img.height()),
    };
    let encoded =
        if opts.lossless { encoder.encode_lossless() } else { encoder.encode(f32::from(opts.quality.unwrap_or(80))) };
    if encoded.is_empty() {
        return Err(invalid("WebP encoding failed (sides must be at most 16383 pixels)"));
    }
    Ok(match exif {
        Some(exif) => crate::exif::add_to_webp(&encoded, exif, img.width(), img.height()),
        None => encoded.to_vec(),
    })
}

fn avif(img: &Image, opts: &EncodeOptions, exif: Option<&[u8]>) -> Result<Vec<u8>> {
    let quality = f32::from(opts.quality.unwrap_or(60));
    let mut encoder = ravif::Encoder::new()
        .with_quality(quality)
        .with_alpha_quality(quality)
        .with_speed(opts.speed.unwrap_or(6))
        .with_num_threads(Some(1));
    if let Some(exif) = exif {
        encoder = encoder.with_exif(exif.to_vec());
    }
    let (w, h) = (img.width() as usize, img.height() as usize);
    let fail = |e: ravif::Error| ImagingError::InvalidOperation(format!("AVIF encoding failed: {e}"));
    let encoded = match img.channels() {
        Channels::Rgb => {
            let px: Vec<ravif::RGB8> = img.data().chunks_exact(3).map(|p| ravif::RGB8::new(p[0], p[1], p[2])).collect();
            encoder.encode_rgb(ravif::Img::new(&px[..], w, h)).map_err(fail)?
        }
        Channels::Rgba => {
            let px: Vec<ravif::RGBA8> =
                img.data().chunks_exact(4).map(|p| ravif::RGBA8::new(p[0], p[1], p[2], p[3])).collect();
            encoder.encode_rgba(ravif::Img::new(&px[..], w, h)).map_err(fail)?
        }
    };
    Ok(encoded.avif_file)
}

fn gif(img: &Image) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let color = match img.channels() {
        Channels::Rgb => image::ExtendedColorType::Rgb8,
        Channels::Rgba => image::ExtendedColorType::Rgba8,
    };
    image::codecs::gif::GifEncoder::new_with_speed(&mut out, 10).encode(
        img.data(),
        img.width(),
        img.height(),
        color,
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::ImageFormat;

    fn sample(alpha: bool) -> Image {
        let mut data = Vec::new();
        for y in 0..32u8 {
            for x in 0..48u8 {
                data.extend_from_slice(&[x * 5, y * 7, 128]);
                if alpha {
                    data.push(if x < 24 { 255 } else { 0 });
                }
            }
        }
        Image::from_raw(48, 32, if alpha { Channels::Rgba } else { Channels::Rgb }, data).unwrap()
    }

    #[test]
    fn every_format_roundtrips_through_the_decoder() {
        for format in [OutputFormat::Jpeg, OutputFormat::Png, OutputFormat::Webp, OutputFormat::Gif] {
            for alpha in [false, true] {
                let bytes = encode(&sample(alpha), format, &EncodeOptions::default(), None).unwrap();
                let decoded = crate::decode::decode(&bytes, &Default::default()).unwrap();
                assert_eq!((decoded.image.width(), decoded.image.height()), (48, 32), "{format} alpha={alpha}");
                assert_eq!(
                    decoded.header.format.name(),
                    if format == OutputFormat::Jpeg { "jpeg" } else { format.name() }
                );
                let keeps_alpha = alpha && format != OutputFormat::Jpeg;
                assert_eq!(decoded.image.has_transparency(), keeps_alpha, "{format} alpha={alpha}");
            }
        }
    }

    #[test]
    fn avif_encodes_a_valid_file() {
        let opts = EncodeOptions { speed: Some(10), ..Default::default() };
        let bytes = encode(&sample(true), OutputFormat::Avif, &opts, None).unwrap();
        assert_eq!(ImageFormat::sniff(&bytes), Some(ImageFormat::Avif));
    }

    #[test]
    fn quality_changes_jpeg_size() {
        let low = encode(
            &sample(false),
            OutputFormat::Jpeg,
            &EncodeOptions { quality: Some(10), ..Default::default() },
            None,
        );
        let high = encode(
            &sample(false),
            OutputFormat::Jpeg,
            &EncodeOptions { quality: Some(95), ..Default::default() },
            None,
        );
        assert!(low.unwrap().len() < high.unwrap().len());
        let bad = EncodeOptions { quality: Some(0), ..Default::default() };
        assert!(encode(&sample(false), OutputFormat::Jpeg, &bad, None).is_err());
    }

    #[test]
    fn progressive_jpeg_decodes() {
        let opts = EncodeOptions { progressive: true, ..Default::default() };
        let bytes = encode(&sample(false), OutputFormat::Jpeg, &opts, None).unwrap();
        assert!(bytes.windows(2).any(|w| w == [0xFF, 0xC2]), "SOF2 marker present");
        crate::decode::decode(&bytes, &Default::default()).unwrap();
    }
}
