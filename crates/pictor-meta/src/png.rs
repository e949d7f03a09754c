//! PNG: metadata lives in chunks.
//!
//! The size is in IHDR; EXIF in `eXIf` (PNG 1.5), or, in files written by
//! ImageMagick before `eXIf` existed, hex-encoded in a text chunk keyed
//! `Raw profile type exif` (or `APP1`). The ICC profile is zlib-compressed
//! in `iCCP`; XMP is an `iTXt` keyed `XML:com.adobe.xmp`.

use miniz_oxide::inflate::decompress_to_vec_zlib_with_limit;

use crate::read::be32;
use crate::{Parts, corrupt};

/// Inflated chunks larger than this are ignored (ICC profiles are kilobytes).
const INFLATE_LIMIT: usize = 16 << 20;

pub fn parts(b: &[u8]) -> Result<Parts, crate::MetaError> {
    let mut parts = Parts::default();
    let mut chunks = Chunks { b, pos: 8 };
    match chunks.next() {
        Some((b"IHDR", data)) if data.len() >= 8 => {
            parts.width = be32(data, 0).unwrap_or(0);
            parts.height = be32(data, 4).unwrap_or(0);
        }
        _ => return Err(corrupt("PNG", "the first chunk is not a complete IHDR")),
    }
    for (kind, data) in chunks {
        match kind {
            b"eXIf" => parts.exif = Some(data.to_vec()),
            b"iCCP" if parts.icc.is_none() => parts.icc = iccp(data),
            b"tEXt" | b"zTXt" | b"iTXt" => text_chunk(kind, data, &mut parts),
            b"IEND" => break,
            _ => {}
        }
    }
    Ok(parts)
}

/// `(type, data)` of each chunk; stops at the first one cut short.
struct Chunks<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Chunks<'a> {
    type Item = (&'a [u8; 4], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let len = be32(self.b, self.pos)? as usize;
        let kind: &[u8; 4] = self.b.get(self.pos + 4..self.pos + 8)?.try_into().ok()?;
        let data = self.b.get(self.pos + 8..(self.pos + 8).checked_add(len)?)?;
        self.pos += 12 + len;
        Some((kind, data))
    }
}

/// Name, NUL, compression method, zlib data.
fn iccp(data: &[u8]) -> Option<Vec<u8>> {
    let nul = data.iter().position(|&c| c == 0)?;
    inflate(data.get(nul + 2..)?)
}

fn inflate(data: &[u8]) -> Option<Vec<u8>> {
    decompress_to_vec_zlib_with_limit(data, INFLATE_LIMIT).ok()
}

/// A text chunk that carries EXIF (ImageMagick's raw profile) or XMP;
/// others are skipped before anything is inflated.
fn text_chunk(kind: &[u8; 4], data: &[u8], parts: &mut Parts) {
    let Some(nul) = data.iter().position(|&c| c == 0) else { return };
    let is_exif = matches!(&data[..nul], b"Raw profile type exif" | b"Raw profile type APP1");
    let is_xmp = &data[..nul] == b"XML:com.adobe.xmp";
    if !(is_exif && parts.exif.is_none() || is_xmp && parts.xmp.is_none()) {
        return;
    }
    let rest = &data[nul + 1..];
    let text = match kind {
        b"tEXt" => Some(rest.to_vec()),
        b"zTXt" => rest.get(1..).and_then(inflate),
        _ => itxt_text(rest),
    };
    let Some(text) = text else { return };
    if is_exif {
        parts.exif = raw_profile(&text).map(|p| p.strip_prefix(b"Exif\0\0").map_or(p.clone(), <[u8]>::to_vec));
    } else {
        parts.xmp = Some(text);
    }
}

/// iTXt after the keyword: compression flag, method, language\0, translated keyword\0, text.
fn itxt_text(rest: &[u8]) -> Option<Vec<u8>> {
    let compressed = *rest.first()? == 1;
    let after_lang = rest.get(2..)?;
    let lang_end = after_lang.iter().position(|&c| c == 0)?;
    let after_translated = after_lang.get(lang_end + 1..)?;
    let translated_end = after_translated.iter().position(|&c| c == 0)?;
    let text = after_translated.get(translated_end + 1..)?;
    if compressed { inflate(text) } else { Some(text.to_vec()) }
}

/// ImageMagick's raw profile: `\n<name>\n <decimal length>\n<hex digits, wrapped>`.
/// Anything after the announced length (some writers leave junk) is ignored.
fn raw_profile(text: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(text);
    let mut lines = text.trim_start().splitn(3, '\n');
    let _name = lines.next()?;
    let len: usize = lines.next()?.trim().parse().ok()?;
    let digits: Vec<u8> = lines.next()?.bytes().filter(u8::is_ascii_hexdigit).take(len.checked_mul(2)?).collect();
    let nibble = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
    let bytes: Vec<u8> = digits.chunks_exact(2).map(|pair| nibble(pair[0]) << 4 | nibble(pair[1])).collect();
    (bytes.len() == len).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
        [&(data.len() as u32).to_be_bytes()[..], kind, data, &[0, 0, 0, 0]].concat()
    }

    fn png(extra: &[Vec<u8>]) -> Vec<u8> {
        let ihdr = [&15u32.to_be_bytes()[..], &7u32.to_be_bytes(), &[8, 2, 0, 0, 0]].concat();
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        out.extend(chunk(b"IHDR", &ihdr));
        extra.iter().for_each(|c| out.extend(c));
        out.extend(chunk(b"IEND", b""));
        out
    }

    #[test]
    fn exif_chunk_and_size() {
        let p = parts(&png(&[chunk(b"eXIf", b"MM\0*\0\0\0\x08")])).unwrap();
        assert_eq!((p.width, p.height), (15, 7));
        assert_eq!(p.exif.as_deref(), Some(&b"MM\0*\0\0\0\x08"[..]));
    }

    #[test]
    fn imagemagick_raw_profile() {
        let text = b"Raw profile type exif\0\nexif\n      14\n457869660000\n4d4d002a0000\n0008\n";
        let p = parts(&png(&[chunk(b"tEXt", text)])).unwrap();
        assert_eq!(p.exif.as_deref(), Some(&b"MM\0*\0\0\0\x08"[..]));
    }

    #[test]
    fn compressed_icc_profile() {
        let profile = b"not really a profile".to_vec();
        let z = miniz_oxide::deflate::compress_to_vec_zlib(&profile, 6);
        let p = parts(&png(&[chunk(b"iCCP", &[b"icc\0\0".as_slice(), &z].concat())])).unwrap();
        assert_eq!(p.icc, Some(profile));
    }

    #[test]
    fn missing_ihdr_is_corrupt() {
        assert!(parts(b"\x89PNG\r\n\x1a\n").is_err());
    }
}
