//! JPEG: metadata lives in the markers before the first scan.
//!
//! EXIF is the first APP1 starting `Exif\0`, XMP an APP1 with Adobe's
//! namespace, the ICC profile is split over numbered APP2 `ICC_PROFILE`
//! chunks, and the stored size is in the frame header (SOFn). The walk stops
//! at the first scan (SOS), so entropy-coded data is never read.

use crate::read::be16;
use crate::{Parts, corrupt};

const XMP_PREFIX: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";

pub fn parts(b: &[u8]) -> Result<Parts, crate::MetaError> {
    let mut parts = Parts::default();
    let mut icc_chunks: Vec<(u8, &[u8])> = Vec::new();
    let mut saw_frame = false;
    for (marker, payload) in Markers::new(b) {
        match marker {
            0xE1 if payload.starts_with(b"Exif\0") && parts.exif.is_none() => {
                parts.exif = payload.get(6..).map(<[u8]>::to_vec);
            }
            0xE1 if payload.starts_with(XMP_PREFIX) && parts.xmp.is_none() => {
                parts.xmp = Some(payload[XMP_PREFIX.len()..].to_vec());
            }
            0xE2 if payload.starts_with(b"ICC_PROFILE\0") && payload.len() > 14 => {
                icc_chunks.push((payload[12], &payload[14..]));
            }
            m if is_frame_header(m) && !saw_frame => {
                let (Some(h), Some(w)) = (be16(payload, 1), be16(payload, 3)) else {
                    return Err(corrupt("JPEG", "frame header is cut short"));
                };
                (parts.width, parts.height, saw_frame) = (u32::from(w), u32::from(h), true);
            }
            _ => {}
        }
    }
    // EXIF without a picture (cut short, or an EXIF-only test file) is
    // still worth reporting; the size is then unknown (0×0).
    if !saw_frame && parts.exif.is_none() {
        return Err(corrupt("JPEG", "no frame header (SOF) before the image data"));
    }
    icc_chunks.sort_by_key(|(seq, _)| *seq);
    if !icc_chunks.is_empty() {
        parts.icc = Some(icc_chunks.iter().flat_map(|(_, d)| d.iter().copied()).collect());
    }
    Ok(parts)
}

/// SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC).
fn is_frame_header(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

/// `(marker, payload)` of each segment from SOI up to the first SOS.
struct Markers<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Markers<'a> {
    fn new(b: &'a [u8]) -> Self {
        Self { b, pos: 2 }
    }
}

impl Markers<'_> {
    /// The position of the next `FF xx` with `xx` a marker code (C0–FE).
    fn resync(&self) -> Option<usize> {
        let rest = self.b.get(self.pos..)?;
        let at = rest.windows(2).position(|w| w[0] == 0xFF && (0xC0..=0xFE).contains(&w[1]))?;
        Some(self.pos + at)
    }
}

impl<'a> Iterator for Markers<'a> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if *self.b.get(self.pos)? != 0xFF {
                // A segment length that is off leaves us in its data (ExifTool
                // recovers the same way): resynchronise on the next marker.
                self.pos = self.resync()?;
            }
            // Any number of 0xFF fill bytes may precede a marker.
            while self.b.get(self.pos + 1) == Some(&0xFF) {
                self.pos += 1;
            }
            let marker = *self.b.get(self.pos + 1)?;
            if matches!(marker, 0x01 | 0xD0..=0xD7) {
                self.pos += 2; // standalone markers carry no length
                continue;
            }
            if matches!(marker, 0xD9 | 0xDA) {
                return None; // EOI, or SOS: the scan starts, metadata is over
            }
            let len = usize::from(be16(self.b, self.pos + 2)?);
            // A segment cut short by the end of the file still yields what is there.
            let end = (self.pos + 2 + len).min(self.b.len()).max(self.pos + 4);
            let payload = self.b.get(self.pos + 4..end)?;
            self.pos += 2 + len;
            return Some((marker, payload));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        [&[0xFF, marker][..], &((payload.len() + 2) as u16).to_be_bytes(), payload].concat()
    }

    /// SOI, APP1 Exif, SOF0 of `w`×`h`, SOS.
    pub(crate) fn jpeg_with_app1(tiff: &[u8], w: u16, h: u16) -> Vec<u8> {
        let sof = [&[8u8][..], &h.to_be_bytes(), &w.to_be_bytes(), &[1, 1, 0x11, 0]].concat();
        [
            &b"\xFF\xD8"[..],
            &segment(0xE1, &[b"Exif\0\0".as_slice(), tiff].concat()),
            &segment(0xC0, &sof),
            &segment(0xDA, &[1, 1, 0, 0, 63, 0]),
        ]
        .concat()
    }

    #[test]
    fn finds_exif_icc_and_size() {
        let mut j = jpeg_with_app1(b"MM\0*\0\0\0\x08", 640, 480);
        let icc2 = segment(0xE2, b"ICC_PROFILE\0\x02\x02world");
        let icc1 = segment(0xE2, b"ICC_PROFILE\0\x01\x02hello ");
        j.splice(2..2, [icc2, icc1].concat());
        let p = parts(&j).unwrap();
        assert_eq!((p.width, p.height), (640, 480));
        assert_eq!(p.exif.as_deref(), Some(&b"MM\0*\0\0\0\x08"[..]));
        assert_eq!(p.icc.as_deref(), Some(&b"hello world"[..]));
    }

    #[test]
    fn resynchronises_after_a_wrong_segment_length() {
        let mut j = jpeg_with_app1(b"MM\0*\0\0\0\x08", 8, 9);
        j.splice(2..2, [0xFF, 0xE0, 0x00, 0x04, 0xAA, 0xBB, 0x3F, 0x3E]); // APP0 two bytes longer than it says
        let p = parts(&j).unwrap();
        assert_eq!((p.width, p.height), (8, 9));
        assert!(p.exif.is_some());
    }

    #[test]
    fn exif_without_a_frame_has_unknown_size() {
        let j = jpeg_with_app1(b"MM\0*\0\0\0\x08", 8, 9);
        let app1_only = &j[..j.len() - 23]; // without SOF (13 bytes) and SOS (10)
        let p = parts(app1_only).unwrap();
        assert_eq!((p.width, p.height), (0, 0));
    }

    #[test]
    fn missing_frame_header_is_corrupt() {
        assert!(parts(b"\xFF\xD8\xFF\xD9").is_err());
        assert!(parts(b"\xFF\xD8\xFF\xE1\xFF\xFF").is_err());
    }
}
