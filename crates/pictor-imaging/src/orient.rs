//! EXIF orientation: the eight ways a camera may store a picture, and the
//! pixel moves that make it upright. Applied before every other step.

use crate::image::Image;

/// EXIF Orientation tag values 1–8 (1 = already upright).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Orientation {
    #[default]
    Normal = 1,
    FlipH = 2,
    Rotate180 = 3,
    FlipV = 4,
    Transpose = 5,
    Rotate90 = 6,
    Transverse = 7,
    Rotate270 = 8,
}

impl Orientation {
    /// The orientation for an EXIF tag value; anything out of range is upright.
    pub fn from_exif(value: u32) -> Self {
        match value {
            2 => Self::FlipH,
            3 => Self::Rotate180,
            4 => Self::FlipV,
            5 => Self::Transpose,
            6 => Self::Rotate90,
            7 => Self::Transverse,
            8 => Self::Rotate270,
            _ => Self::Normal,
        }
    }

    pub fn exif_value(self) -> u16 {
        self as u16
    }

    /// True when making the picture upright swaps width and height.
    pub fn swaps_axes(self) -> bool {
        matches!(self, Self::Transpose | Self::Rotate90 | Self::Transverse | Self::Rotate270)
    }

    /// The upright size of a stored `(width, height)`.
    pub fn upright_size(self, (w, h): (u32, u32)) -> (u32, u32) {
        if self.swaps_axes() { (h, w) } else { (w, h) }
    }

    /// This orientation followed by `next`: what a HEIF file's chain of
    /// `irot` and `imir` properties amounts to, as one EXIF value.
    pub fn then(self, next: Self) -> Self {
        let ([a, b, c, d], [e, f, g, h]) = (next.matrix(), self.matrix());
        Self::from_matrix([a * e + b * g, a * f + b * h, c * e + d * g, c * f + d * h])
    }

    /// The orientation that turns a picture `quarters` × 90° anti-clockwise
    /// (HEIF `irot`).
    pub fn anticlockwise_quarters(quarters: u8) -> Self {
        (0..quarters % 4).fold(Self::Normal, |o, _| o.then(Self::Rotate270))
    }

    /// How the stored pixel at centred coordinates (x, y), y pointing down,
    /// moves when turned upright: `[a, b, c, d]` maps it to (ax + by, cx + dy).
    fn matrix(self) -> [i8; 4] {
        match self {
            Self::Normal => [1, 0, 0, 1],
            Self::FlipH => [-1, 0, 0, 1],
            Self::Rotate180 => [-1, 0, 0, -1],
            Self::FlipV => [1, 0, 0, -1],
            Self::Transpose => [0, 1, 1, 0],
            Self::Rotate90 => [0, -1, 1, 0],
            Self::Transverse => [0, -1, -1, 0],
            Self::Rotate270 => [0, 1, -1, 0],
        }
    }

    fn from_matrix(m: [i8; 4]) -> Self {
        const ALL: [Orientation; 8] = [
            Orientation::Normal,
            Orientation::FlipH,
            Orientation::Rotate180,
            Orientation::FlipV,
            Orientation::Transpose,
            Orientation::Rotate90,
            Orientation::Transverse,
            Orientation::Rotate270,
        ];
        ALL.into_iter().find(|o| o.matrix() == m).expect("the eight orientations are closed under composition")
    }

    /// Turns the stored pixels upright.
    pub fn apply(self, img: Image) -> Image {
        // Each orientation as (swap axes, mirror x, mirror y) of the source
        // lookup: upright (x, y) reads stored pixel at the mapped coordinate.
        let (swap, mirror_x, mirror_y) = match self {
            Self::Normal => return img,
            Self::FlipH => (false, true, false),
            Self::Rotate180 => (false, true, true),
            Self::FlipV => (false, false, true),
            Self::Transpose => (true, false, false),
            Self::Rotate90 => (true, false, true),
            Self::Transverse => (true, true, true),
            Self::Rotate270 => (true, true, false),
        };
        remap(&img, swap, mirror_x, mirror_y)
    }
}

/// Rebuilds `img` so that output `(x, y)` takes the source pixel at
/// `(y, x)` when `swap`, then mirrored along the flagged source axes.
pub(crate) fn remap(img: &Image, swap: bool, mirror_x: bool, mirror_y: bool) -> Image {
    let (sw, sh) = (img.width() as usize, img.height() as usize);
    let (dw, dh) = if swap { (sh, sw) } else { (sw, sh) };
    let n = img.channels().count();
    let src = img.data();
    let mut out = Vec::with_capacity(src.len());
    for y in 0..dh {
        for x in 0..dw {
            let (mut sx, mut sy) = if swap { (y, x) } else { (x, y) };
            if mirror_x {
                sx = sw - 1 - sx;
            }
            if mirror_y {
                sy = sh - 1 - sy;
            }
            let at = (sy * sw + sx) * n;
            out.extend_from_slice(&src[at..at + n]);
        }
    }
    Image::from_raw(dw as u32, dh as u32, img.channels(), out).expect("remap keeps the pixel count")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Channels;

    /// A 3x2 image whose pixel values are their own indices.
    fn numbered() -> Image {
        let data = (0u8..6).flat_map(|v| [v, v, v]).collect();
        Image::from_raw(3, 2, Channels::Rgb, data).unwrap()
    }

    fn firsts(img: &Image) -> Vec<u8> {
        img.data().chunks(3).map(|p| p[0]).collect()
    }

    #[test]
    fn composing_orientations_equals_applying_them_in_turn() {
        let all = (1..=8).map(Orientation::from_exif);
        for first in all.clone() {
            for next in all.clone() {
                let in_turn = next.apply(first.apply(numbered()));
                let composed = first.then(next).apply(numbered());
                assert_eq!(firsts(&composed), firsts(&in_turn), "{first:?} then {next:?}");
            }
        }
        assert_eq!(Orientation::anticlockwise_quarters(1), Orientation::Rotate270);
        assert_eq!(Orientation::anticlockwise_quarters(3), Orientation::Rotate90);
    }

    #[test]
    fn each_orientation_moves_pixels_like_exif_says() {
        // Stored:  0 1 2
        //          3 4 5
        let cases = [
            (Orientation::Normal, (3, 2), vec![0, 1, 2, 3, 4, 5]),
            (Orientation::FlipH, (3, 2), vec![2, 1, 0, 5, 4, 3]),
            (Orientation::Rotate180, (3, 2), vec![5, 4, 3, 2, 1, 0]),
            (Orientation::FlipV, (3, 2), vec![3, 4, 5, 0, 1, 2]),
            (Orientation::Transpose, (2, 3), vec![0, 3, 1, 4, 2, 5]),
            (Orientation::Rotate90, (2, 3), vec![3, 0, 4, 1, 5, 2]),
            (Orientation::Transverse, (2, 3), vec![5, 2, 4, 1, 3, 0]),
            (Orientation::Rotate270, (2, 3), vec![2, 5, 1, 4, 0, 3]),
        ];
        for (o, size, expected) in cases {
            let out = o.apply(numbered());
            assert_eq!((out.width(), out.height()), size, "{o:?}");
            assert_eq!(firsts(&out), expected, "{o:?}");
            assert_eq!(o.upright_size((3, 2)), size);
        }
    }
}
