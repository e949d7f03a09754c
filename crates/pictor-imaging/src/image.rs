//! The in-memory picture every step works on: 8-bit sRGB, with or without
//! alpha, rows packed with no padding.
//!
//! One simple type keeps the steps small: decoders convert into it once,
//! encoders read it once, and nothing in between deals with bit depths,
//! palettes or colour spaces.

use crate::error::{Result, invalid};

/// Channel layout of an [`Image`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channels {
    Rgb,
    Rgba,
}

impl Channels {
    pub fn count(self) -> usize {
        match self {
            Self::Rgb => 3,
            Self::Rgba => 4,
        }
    }
}

/// A decoded, upright, 8-bit sRGB image.
#[derive(Clone, PartialEq, Eq)]
pub struct Image {
    width: u32,
    height: u32,
    channels: Channels,
    data: Vec<u8>,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Image({}x{} {:?})", self.width, self.height, self.channels)
    }
}

impl Image {
    /// Wraps a pixel buffer; fails unless its length matches the size.
    pub fn from_raw(width: u32, height: u32, channels: Channels, data: Vec<u8>) -> Result<Self> {
        let expected = width as usize * height as usize * channels.count();
        if width == 0 || height == 0 || data.len() != expected {
            return Err(invalid(format!(
                "pixel buffer of {} bytes does not hold a {width}x{height} {channels:?} image",
                data.len()
            )));
        }
        Ok(Self { width, height, channels, data })
    }

    /// A new image filled with one colour.
    pub fn filled(width: u32, height: u32, color: Rgba) -> Self {
        let channels = if color.a == 255 { Channels::Rgb } else { Channels::Rgba };
        let pixel = &color.as_array()[..channels.count()];
        let data = pixel.repeat(width as usize * height as usize);
        Self { width, height, channels, data }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn channels(&self) -> Channels {
        self.channels
    }

    pub fn has_alpha_channel(&self) -> bool {
        self.channels == Channels::Rgba
    }

    /// True when some pixel is not fully opaque.
    pub fn has_transparency(&self) -> bool {
        self.has_alpha_channel() && self.data.chunks_exact(4).any(|p| p[3] != 255)
    }

    pub fn data(&self) -> &[u8] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    /// Bytes per row.
    pub fn stride(&self) -> usize {
        self.width as usize * self.channels.count()
    }

    /// The same picture with an alpha channel (opaque where there was none).
    pub fn into_rgba(self) -> Image {
        match self.channels {
            Channels::Rgba => self,
            Channels::Rgb => {
                let mut data = Vec::with_capacity(self.data.len() / 3 * 4);
                for p in self.data.chunks_exact(3) {
                    data.extend_from_slice(&[p[0], p[1], p[2], 255]);
                }
                Image { data, channels: Channels::Rgba, ..self }
            }
        }
    }

    /// Drops alpha by compositing onto `background`.
    pub fn flatten(self, background: Rgba) -> Image {
        if self.channels == Channels::Rgb {
            return self;
        }
        let bg = [background.r, background.g, background.b];
        let mut data = Vec::with_capacity(self.data.len() / 4 * 3);
        for p in self.data.chunks_exact(4) {
            let a = u32::from(p[3]);
            for c in 0..3 {
                let v = (u32::from(p[c]) * a + u32::from(bg[c]) * (255 - a) + 127) / 255;
                data.push(v as u8);
            }
        }
        Image { data, channels: Channels::Rgb, ..self }
    }

    /// Peak signal-to-noise ratio against another image of the same size
    /// and layout, in dB (identical images give about 138 dB).
    pub fn psnr(&self, other: &Image) -> f64 {
        assert_eq!((self.width, self.height, self.channels), (other.width, other.height, other.channels));
        let squared: f64 =
            self.data.iter().zip(&other.data).map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2)).sum();
        let mse = (squared / self.data.len() as f64).max(1e-12);
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

/// An 8-bit colour with alpha, parsed from `rrggbb`, `rrggbbaa` or a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgba {
    pub r: u8,
    pub g: u8,
    pub b: u8,
    pub a: u8,
}

impl Rgba {
    pub const WHITE: Rgba = Rgba { r: 255, g: 255, b: 255, a: 255 };
    pub const BLACK: Rgba = Rgba { r: 0, g: 0, b: 0, a: 255 };
    pub const TRANSPARENT: Rgba = Rgba { r: 0, g: 0, b: 0, a: 0 };

    pub fn as_array(self) -> [u8; 4] {
        [self.r, self.g, self.b, self.a]
    }

    /// Parses `white`, `black`, `transparent`, or hex with an optional `#`.
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "white" => return Ok(Self::WHITE),
            "black" => return Ok(Self::BLACK),
            "transparent" | "none" => return Ok(Self::TRANSPARENT),
            _ => {}
        }
        let hex = s.trim_start_matches('#');
        let bad = || invalid(format!("colour '{s}': use rrggbb, rrggbbaa, white, black or transparent"));
        if !(hex.len() == 6 || hex.len() == 8) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
        let a = if hex.len() == 8 { byte(6)? } else { 255 };
        Ok(Self { r: byte(0)?, g: byte(2)?, b: byte(4)?, a })
    }
}

impl std::fmt::Display for Rgba {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02x}{:02x}{:02x}", self.r, self.g, self.b)?;
        if self.a != 255 {
            write!(f, "{:02x}", self.a)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_raw_checks_length() {
        assert!(Image::from_raw(2, 2, Channels::Rgb, vec![0; 12]).is_ok());
        assert!(Image::from_raw(2, 2, Channels::Rgb, vec![0; 11]).is_err());
        assert!(Image::from_raw(0, 2, Channels::Rgb, vec![]).is_err());
    }

    #[test]
    fn flatten_blends_alpha() {
        let img = Image::from_raw(1, 1, Channels::Rgba, vec![255, 0, 0, 128]).unwrap();
        let flat = img.flatten(Rgba::BLACK);
        assert_eq!(flat.data(), &[128, 0, 0]);
        assert_eq!(flat.channels(), Channels::Rgb);
    }

    #[test]
    fn colours_parse_and_print() {
        assert_eq!(Rgba::parse("#ff8000").unwrap(), Rgba { r: 255, g: 128, b: 0, a: 255 });
        assert_eq!(Rgba::parse("00000080").unwrap().a, 128);
        assert_eq!(Rgba::parse("ff8000").unwrap().to_string(), "ff8000");
        assert!(Rgba::parse("red!").is_err());
    }
}
