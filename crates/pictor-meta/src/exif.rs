//! Reading the EXIF fields Pictor shows out of a TIFF-structured EXIF block.
//!
//! `kamadak-exif` does the IFD walking (with `continue_on_error`, so one bad
//! entry does not lose the rest); this module turns its values into plain
//! Rust types the way ExifTool reads them: strings trimmed of trailing NULs
//! and spaces, rationals as `f64`, GPS degrees/minutes/seconds folded into
//! signed decimal degrees. Orientation falls back to IFD1 (the thumbnail's
//! IFD) when IFD0 has none, as some cameras write it only there.

use exif::{Field, In, Reader, Tag, Value};

use crate::{Exif, Gps};

/// What an EXIF block yields.
#[derive(Debug, Default)]
pub struct Fields {
    pub exif: Exif,
    pub gps: Option<Gps>,
}

/// A parsed EXIF block; the reader can panic on hostile input, so it is guarded.
struct Block(exif::Exif);

impl Block {
    fn parse(tiff: &[u8]) -> Option<Self> {
        let mut tiff = tiff.strip_prefix(b"Exif\0\0").unwrap_or(tiff).to_vec();
        retype_ifd_pointers(&mut tiff);
        let read = std::panic::catch_unwind(move || {
            let result = Reader::new().continue_on_error(true).read_raw(tiff);
            result.or_else(|e| e.distill_partial_result(|_| {}))
        });
        read.ok()?.ok().map(Block)
    }

    fn field(&self, tag: Tag) -> Option<&Field> {
        self.0.get_field(tag, In::PRIMARY)
    }

    fn text(&self, tag: Tag) -> Option<String> {
        text(&self.field(tag)?.value)
    }

    fn number(&self, tag: Tag) -> Option<f64> {
        number(&self.field(tag)?.value, 0)
    }
}

/// Some writers type IFD0's Exif and GPS pointers as IFD (13) rather than
/// LONG (4); the reader only follows LONG ones, so those are retyped in place.
fn retype_ifd_pointers(tiff: &mut [u8]) {
    let le = tiff.starts_with(b"II");
    let u16_at = |b: &[u8], at: usize| {
        let v = b.get(at..at + 2)?;
        Some(if le { u16::from_le_bytes([v[0], v[1]]) } else { u16::from_be_bytes([v[0], v[1]]) })
    };
    let ifd0 = tiff.get(4..8).map(|v| {
        let v: [u8; 4] = v.try_into().unwrap_or_default();
        if le { u32::from_le_bytes(v) } else { u32::from_be_bytes(v) }
    });
    let Some(ifd0) = ifd0.map(|o| o as usize) else { return };
    let Some(count) = u16_at(tiff, ifd0) else { return };
    for i in 0..usize::from(count) {
        let at = ifd0 + 2 + 12 * i;
        let (Some(tag), Some(13)) = (u16_at(tiff, at), u16_at(tiff, at + 2)) else { continue };
        if matches!(tag, 0x8769 | 0x8825) {
            let long = if le { 4u16.to_le_bytes() } else { 4u16.to_be_bytes() };
            tiff[at + 2..at + 4].copy_from_slice(&long);
        }
    }
}

/// Reads the fields of an EXIF block; a block that cannot be parsed yields none.
pub fn read(tiff: &[u8]) -> Fields {
    let Some(block) = Block::parse(tiff) else {
        return Fields::default();
    };
    Fields { exif: exif_fields(&block), gps: gps(&block) }
}

fn exif_fields(b: &Block) -> Exif {
    Exif {
        make: b.text(Tag::Make),
        model: b.text(Tag::Model),
        date_time_original: b.text(Tag::DateTimeOriginal),
        offset_time_original: b.text(Tag::OffsetTimeOriginal),
        exposure_time: b.number(Tag::ExposureTime),
        f_number: b.number(Tag::FNumber),
        iso: b.field(Tag::PhotographicSensitivity).and_then(|f| uint(&f.value)),
        focal_length: b.number(Tag::FocalLength),
        lens_model: b.text(Tag::LensModel),
        orientation: orientation(b),
    }
}

/// IFD0's orientation, else IFD1's, as stored (values outside 1–8, such as
/// 0, are reported but turn nothing).
fn orientation(b: &Block) -> Option<u16> {
    let at = |ifd| u16::try_from(uint(&b.0.get_field(Tag::Orientation, ifd)?.value)?).ok();
    at(In::PRIMARY).or_else(|| at(In::THUMBNAIL))
}

/// The first element as an unsigned integer, whatever integer type the writer chose.
fn uint(value: &Value) -> Option<u32> {
    let n = number(value, 0)?;
    (n >= 0.0 && n.fract() == 0.0 && n <= f64::from(u32::MAX)).then_some(n as u32)
}

/// Latitude and longitude need their references (N/S, E/W), as ExifTool's
/// composite position and the reference architecture both require.
fn gps(b: &Block) -> Option<Gps> {
    let latitude = coordinate(b, Tag::GPSLatitude, Tag::GPSLatitudeRef, b'S')?;
    let longitude = coordinate(b, Tag::GPSLongitude, Tag::GPSLongitudeRef, b'W')?;
    Some(Gps { latitude, longitude, altitude: altitude(b) })
}

fn coordinate(b: &Block, tag: Tag, reference: Tag, negative: u8) -> Option<f64> {
    let degrees = dms(&b.field(tag)?.value)?;
    let reference = b.text(reference)?;
    let sign = if reference.as_bytes().first()?.eq_ignore_ascii_case(&negative) { -1.0 } else { 1.0 };
    Some(sign * degrees)
}

/// Degrees, minutes, seconds (trailing ones may be missing) as decimal
/// degrees. A component that is present but undefined (a zero denominator)
/// makes the whole coordinate undefined, as ExifTool reads it.
pub fn dms(value: &Value) -> Option<f64> {
    let count = match value {
        Value::Rational(v) => v.len(),
        Value::SRational(v) => v.len(),
        _ => 1,
    };
    let parts: Option<Vec<f64>> = (0..count.min(3)).map(|i| number(value, i)).collect();
    let parts = parts?;
    let (d, m, s) = (parts.first()?, parts.get(1).unwrap_or(&0.0), parts.get(2).unwrap_or(&0.0));
    Some(d + m / 60.0 + s / 3600.0)
}

/// Metres, negative when the reference says below sea level (1).
fn altitude(b: &Block) -> Option<f64> {
    let metres = b.number(Tag::GPSAltitude)?;
    let below = b.field(Tag::GPSAltitudeRef).and_then(|f| f.value.get_uint(0)) == Some(1);
    Some(if below { -metres } else { metres })
}

/// The first string of an ASCII value, trimmed; empty strings count as absent.
pub fn text(value: &Value) -> Option<String> {
    let Value::Ascii(strings) = value else { return None };
    let raw = strings.iter().find(|s| !s.is_empty())?;
    let s = String::from_utf8_lossy(raw);
    let s = s.trim_end_matches(['\0', ' ']).trim_start();
    (!s.is_empty()).then(|| s.to_string())
}

/// The `i`-th element of a numeric value as `f64`; a zero denominator or a
/// non-finite float yields `None`.
pub fn number(value: &Value, i: usize) -> Option<f64> {
    let n = match value {
        Value::Rational(v) => v.get(i).filter(|r| r.denom != 0).map(|r| r.to_f64()),
        Value::SRational(v) => v.get(i).filter(|r| r.denom != 0).map(|r| r.to_f64()),
        Value::Float(v) => v.get(i).map(|&f| f64::from(f)),
        Value::Double(v) => v.get(i).copied(),
        Value::SShort(v) => v.get(i).map(|&n| f64::from(n)),
        Value::SLong(v) => v.get(i).map(|&n| f64::from(n)),
        other => other.get_uint(i).map(f64::from),
    };
    n.filter(|n| n.is_finite())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One IFD entry, big-endian: tag, type, count, value-or-offset.
    fn entry(tag: u16, kind: u16, count: u32, value: u32) -> Vec<u8> {
        [tag.to_be_bytes().as_slice(), &kind.to_be_bytes(), &count.to_be_bytes(), &value.to_be_bytes()].concat()
    }

    /// A big-endian TIFF whose IFD0 has one entry per `(tag, type, count, value)`
    /// and `extra` appended after the IFD (offsets are counted from 0).
    pub(crate) fn tiff(entries: &[(u16, u16, u32, u32)], next_ifd: u32, extra: &[u8]) -> Vec<u8> {
        let mut out = b"MM\0*\0\0\0\x08".to_vec();
        out.extend((entries.len() as u16).to_be_bytes());
        for &(tag, kind, count, value) in entries {
            out.extend(entry(tag, kind, count, value));
        }
        out.extend(next_ifd.to_be_bytes());
        out.extend(extra);
        out
    }

    /// Where data appended after an IFD0 of `n` entries starts.
    pub(crate) fn after_ifd(n: usize) -> u32 {
        (8 + 2 + 12 * n + 4) as u32
    }

    pub(crate) fn tiff_with_orientation(o: u16) -> Vec<u8> {
        tiff(&[(0x0112, 3, 1, u32::from(o) << 16)], 0, &[])
    }

    #[test]
    fn reads_strings_and_rationals() {
        let base = after_ifd(3);
        let exif_ifd = base + 8;
        let mut extra = b"Canon\0\0\0".to_vec();
        extra.extend(1u16.to_be_bytes());
        extra.extend(entry(0x829A, 5, 1, exif_ifd + 18)); // ExposureTime, in the Exif IFD
        extra.extend(0u32.to_be_bytes());
        extra.extend([1u32.to_be_bytes(), 3u32.to_be_bytes()].concat()); // 1/3 s
        let t = tiff(&[(0x010F, 2, 8, base), (0x0112, 3, 1, 8 << 16), (0x8769, 4, 1, exif_ifd)], 0, &extra);
        let f = read(&t);
        assert_eq!(f.exif.make.as_deref(), Some("Canon"));
        assert!((f.exif.exposure_time.unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(f.exif.orientation, Some(8));
        assert_eq!(f.gps, None);
    }

    #[test]
    fn orientation_falls_back_to_ifd1() {
        let ifd1 = after_ifd(1);
        let mut extra = 1u16.to_be_bytes().to_vec();
        extra.extend(entry(0x0112, 3, 1, 6 << 16));
        extra.extend(0u32.to_be_bytes());
        // IFD0 holds only ImageWidth; IFD1 holds the orientation.
        let t = tiff(&[(0x0100, 4, 1, 10)], ifd1, &extra);
        assert_eq!(read(&t).exif.orientation, Some(6));
    }

    #[test]
    fn gps_is_signed_and_altitude_below_sea_level_negative() {
        use exif::Rational;
        let r = |num, denom| Rational { num, denom };
        assert_eq!(dms(&Value::Rational(vec![r(47, 1), r(30, 1), r(36, 1)])), Some(47.51));
        assert_eq!(number(&Value::Rational(vec![r(1, 0)]), 0), None);
        assert_eq!(text(&Value::Ascii(vec![b"Nikon  ".to_vec()])).as_deref(), Some("Nikon"));
        assert_eq!(text(&Value::Ascii(vec![b"   ".to_vec()])), None);
    }

    #[test]
    fn ifd_typed_exif_pointer_is_followed() {
        let exif_ifd = after_ifd(1);
        let mut extra = 1u16.to_be_bytes().to_vec();
        extra.extend(entry(0x8827, 4, 1, 200)); // ISO as LONG
        extra.extend(0u32.to_be_bytes());
        let t = tiff(&[(0x8769, 13, 1, exif_ifd)], 0, &extra);
        assert_eq!(read(&t).exif.iso, Some(200));
    }

    #[test]
    fn undefined_seconds_make_the_coordinate_undefined() {
        use exif::Rational;
        let r = |num, denom| Rational { num, denom };
        assert_eq!(dms(&Value::Rational(vec![r(48, 1), r(5332358, 100000), r(0, 0)])), None);
        assert_eq!(dms(&Value::Rational(vec![r(10, 1)])), Some(10.0));
    }

    #[test]
    fn garbage_yields_no_fields() {
        assert_eq!(read(b"MM\0*\xff\xff\xff\xff").exif, Exif::default());
        assert_eq!(read(b"").exif, Exif::default());
    }

    #[test]
    fn xmp_orientation_forms() {
        // The decoder's own reader, so that upright sizes match decoding.
        let xmp_orientation = |xmp: &[u8]| pictor_imaging::decode::xmp_orientation(xmp).map(|o| o.exif_value());
        assert_eq!(xmp_orientation(br#"<rdf:Description tiff:Orientation="6"/>"#), Some(6));
        assert_eq!(xmp_orientation(b"<tiff:Orientation>3</tiff:Orientation>"), Some(3));
        assert_eq!(xmp_orientation(b"<x/>"), None);
    }
}
