//! The few metadata facts decoding needs: orientation (from EXIF or XMP)
//! and the JPEG marker payloads that carry EXIF and ICC.
//! Full metadata extraction lives in a crate of its own.

use crate::orient::Orientation;

/// The orientation in a raw EXIF (TIFF) block, if any.
pub fn exif_orientation(exif: &[u8]) -> Option<Orientation> {
    let exif = exif.strip_prefix(b"Exif\0\0").unwrap_or(exif);
    let parsed = exif::Reader::new().read_raw(exif.to_vec()).ok()?;
    let field = parsed.get_field(exif::Tag::Orientation, exif::In::PRIMARY)?;
    field.value.get_uint(0).map(Orientation::from_exif)
}

/// The `tiff:Orientation` of an XMP packet, as attribute or element.
pub fn xmp_orientation(xmp: &[u8]) -> Option<Orientation> {
    let text = std::str::from_utf8(xmp).ok()?;
    let at = text.find("tiff:Orientation")? + "tiff:Orientation".len();
    let rest =
        text[at..].trim_start_matches(|c: char| c == '=' || c == '>' || c == '"' || c == '\'' || c.is_whitespace());
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().map(Orientation::from_exif)
}

/// EXIF, then XMP, then upright.
pub fn orientation(exif: Option<&[u8]>, xmp: Option<&[u8]>) -> Orientation {
    exif.and_then(exif_orientation).or_else(|| xmp.and_then(xmp_orientation)).unwrap_or_default()
}

/// Payloads a JPEG carries in APPn markers.
#[derive(Debug, Default)]
pub struct JpegMarkers {
    pub exif: Option<Vec<u8>>,
    pub xmp: Option<Vec<u8>>,
    pub icc: Option<Vec<u8>>,
    /// An Adobe APP14 marker: CMYK samples are stored inverted.
    pub adobe: bool,
}

impl JpegMarkers {
    /// Collects from `(marker number, payload)` pairs, e.g. `(1, APP1 data)`.
    pub fn collect<'a>(markers: impl Iterator<Item = (u8, &'a [u8])>) -> Self {
        let mut out = Self::default();
        let mut icc_chunks: Vec<(u8, &[u8])> = Vec::new();
        for (app, data) in markers {
            match app {
                1 if data.starts_with(b"Exif\0\0") && out.exif.is_none() => out.exif = Some(data[6..].to_vec()),
                1 if data.starts_with(b"http://ns.adobe.com/xap/1.0/\0") => {
                    out.xmp = Some(data[29..].to_vec());
                }
                2 if data.starts_with(b"ICC_PROFILE\0") && data.len() > 14 => icc_chunks.push((data[12], &data[14..])),
                14 if data.starts_with(b"Adobe") => out.adobe = true,
                _ => {}
            }
        }
        // ICC profiles span several APP2 markers, numbered from 1.
        icc_chunks.sort_by_key(|(seq, _)| *seq);
        if !icc_chunks.is_empty() {
            out.icc = Some(icc_chunks.iter().flat_map(|(_, d)| d.iter().copied()).collect());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xmp_orientation_as_attribute_or_element() {
        assert_eq!(xmp_orientation(br#"<rdf:Description tiff:Orientation="6"/>"#), Some(Orientation::Rotate90));
        assert_eq!(xmp_orientation(b"<tiff:Orientation>3</tiff:Orientation>"), Some(Orientation::Rotate180));
        assert_eq!(xmp_orientation(b"<x/>"), None);
    }

    #[test]
    fn icc_chunks_are_joined_in_order() {
        let a = [b"ICC_PROFILE\0\x02\x02".as_slice(), b"world"].concat();
        let b = [b"ICC_PROFILE\0\x01\x02".as_slice(), b"hello "].concat();
        let m = JpegMarkers::collect([(2, &a[..]), (2, &b[..]), (14, b"Adobe\0")].into_iter());
        assert_eq!(m.icc.as_deref(), Some(&b"hello world"[..]));
        assert!(m.adobe);
    }
}
