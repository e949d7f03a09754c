//! The one ICC profile fact Pictor shows: its description ("sRGB IEC61966-2.1",
//! "Display P3"), which tells users whether a wide-gamut original was kept.
//!
//! A profile is a 128-byte header, a tag count and a table of
//! `(signature, offset, size)`. The `desc` tag is of type `desc` in ICC v2
//! (a counted ASCII string) and `mluc` in v4 (UTF-16BE records per
//! language; English is preferred).

use crate::read::{be16, be32};

pub fn description(profile: &[u8]) -> Option<String> {
    let tag = find_tag(profile, b"desc")?;
    let text = match tag.get(..4)? {
        b"desc" => text_description(tag),
        b"mluc" => multi_localized(tag),
        _ => None,
    }?;
    let text = text.trim_end_matches(['\0', ' ']).trim_start().to_string();
    (!text.is_empty()).then_some(text)
}

/// The data of the tag with signature `sig`.
fn find_tag<'a>(p: &'a [u8], sig: &[u8; 4]) -> Option<&'a [u8]> {
    let count = be32(p, 128)? as usize;
    (0..count.min(1024)).find_map(|i| {
        let at = 132 + 12 * i;
        if p.get(at..at + 4)? != sig {
            return None;
        }
        let offset = be32(p, at + 4)? as usize;
        let size = be32(p, at + 8)? as usize;
        p.get(offset..offset.checked_add(size)?)
    })
}

/// v2 `desc`: type, reserved, ASCII length (including its NUL), ASCII.
fn text_description(tag: &[u8]) -> Option<String> {
    let len = be32(tag, 8)? as usize;
    let ascii = tag.get(12..12usize.checked_add(len)?.min(tag.len()))?;
    let end = ascii.iter().position(|&c| c == 0).unwrap_or(ascii.len());
    Some(String::from_utf8_lossy(&ascii[..end]).into_owned())
}

/// v4 `mluc`: record count and size, then (language, country, length, offset) records.
fn multi_localized(tag: &[u8]) -> Option<String> {
    let count = be32(tag, 8)? as usize;
    let record_size = be32(tag, 12)? as usize;
    let records: Vec<(&[u8], usize, usize)> = (0..count.min(256))
        .filter_map(|i| {
            let at = i.checked_mul(record_size)?.checked_add(16)?;
            Some((tag.get(at..at + 2)?, be32(tag, at + 4)? as usize, be32(tag, at + 8)? as usize))
        })
        .collect();
    let (_, len, offset) = records.iter().find(|(lang, ..)| *lang == b"en").or_else(|| records.first())?;
    let bytes = tag.get(*offset..offset.checked_add(*len)?)?;
    let units: Vec<u16> = (0..bytes.len() / 2).filter_map(|i| be16(bytes, 2 * i)).collect();
    Some(String::from_utf16_lossy(&units))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile_with_desc(tag: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; 128];
        p.extend(1u32.to_be_bytes());
        p.extend(b"desc");
        p.extend(144u32.to_be_bytes());
        p.extend((tag.len() as u32).to_be_bytes());
        p.extend(tag);
        p
    }

    #[test]
    fn v2_text_description() {
        let tag = [&b"desc\0\0\0\0"[..], &5u32.to_be_bytes(), b"sRGB\0", &[0; 20]].concat();
        assert_eq!(description(&profile_with_desc(&tag)).as_deref(), Some("sRGB"));
    }

    #[test]
    fn v4_multi_localized_prefers_english() {
        let de: Vec<u8> = "Farbe".encode_utf16().flat_map(u16::to_be_bytes).collect();
        let en: Vec<u8> = "Display P3".encode_utf16().flat_map(u16::to_be_bytes).collect();
        let header = [&b"mluc\0\0\0\0"[..], &2u32.to_be_bytes(), &12u32.to_be_bytes()].concat();
        let strings_at = (header.len() + 24) as u32;
        let rec =
            |lang: &[u8], len: usize, off: u32| [lang, b"XX", &(len as u32).to_be_bytes(), &off.to_be_bytes()].concat();
        let tag =
            [header, rec(b"de", de.len(), strings_at), rec(b"en", en.len(), strings_at + de.len() as u32), de, en]
                .concat();
        assert_eq!(description(&profile_with_desc(&tag)).as_deref(), Some("Display P3"));
    }

    #[test]
    fn garbage_has_no_description() {
        assert_eq!(description(b"short"), None);
        assert_eq!(description(&[0xFF; 200]), None);
    }
}
