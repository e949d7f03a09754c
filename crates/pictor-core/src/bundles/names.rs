//! Zip entry names: each photo's own file name when it has one, made safe
//! to extract anywhere (no folders, no `..`, no control or reserved
//! characters, a sane length) and unique in the bundle, case-insensitively,
//! since the people unzipping it may be on Windows or macOS.

use std::collections::HashSet;

/// The longest entry name kept, in characters (extension included).
const MAX_CHARS: usize = 120;

/// Hands out unique, safe names.
#[derive(Default)]
pub struct Names {
    taken: HashSet<String>,
}

impl Names {
    /// A name for a photo called `name` (if it has one) stored as `format`
    /// (`jpeg`, `png`, …): unique among those handed out before.
    pub fn next(&mut self, name: Option<&str>, format: &str, id: &str) -> String {
        let ext = extension(format);
        let (stem, ext) = match name.map(sanitize).filter(|n| !n.is_empty()) {
            Some(clean) => split(&clean, ext),
            None => (id.to_string(), ext.to_string()),
        };
        let mut candidate = join(&stem, &ext);
        let mut n = 2;
        while !self.taken.insert(candidate.to_lowercase()) {
            candidate = join(&format!("{stem} ({n})"), &ext);
            n += 1;
        }
        candidate
    }
}

/// The usual file extension of an image format name as Pictor records it.
fn extension(format: &str) -> &str {
    match format.to_ascii_lowercase().as_str() {
        "jpeg" | "jpg" => "jpg",
        "png" => "png",
        "webp" => "webp",
        "gif" => "gif",
        "tiff" | "tif" => "tif",
        "bmp" => "bmp",
        "avif" => "avif",
        "heic" | "heif" => "heic",
        _ => "bin",
    }
}

/// The last path segment of `name` without characters that are unsafe or
/// reserved in file names, trimmed of dots and spaces at either end.
fn sanitize(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .map(|c| if c.is_control() || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') { '_' } else { c })
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| c == '.' || c.is_whitespace());
    if is_reserved(trimmed) { format!("_{trimmed}") } else { trimmed.to_string() }
}

/// Windows' reserved device names (`CON`, `NUL`, `COM1`, …), with or
/// without an extension.
fn is_reserved(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or_default().to_ascii_uppercase();
    matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.as_bytes()[3].is_ascii_digit())
}

/// Stem and extension: the name's own extension when it has one, else the
/// format's. The stem is cut to fit [`MAX_CHARS`].
fn split(name: &str, format_ext: &str) -> (String, String) {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty() && (1..=5).contains(&ext.len()) && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            (stem.to_string(), ext.to_string())
        }
        _ => (name.to_string(), format_ext.to_string()),
    };
    let room = MAX_CHARS.saturating_sub(ext.chars().count() + 1 + 8);
    (stem.chars().take(room).collect::<String>().trim_end().to_string(), ext)
}

fn join(stem: &str, ext: &str) -> String {
    format!("{stem}.{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_unique_and_keep_extensions() {
        let mut names = Names::default();
        assert_eq!(names.next(Some("lake.JPG"), "jpeg", "i1"), "lake.JPG");
        assert_eq!(names.next(Some("LAKE.jpg"), "jpeg", "i2"), "LAKE (2).jpg", "case-insensitively unique");
        assert_eq!(names.next(Some("lake.JPG"), "jpeg", "i3"), "lake (3).JPG");
        assert_eq!(names.next(Some("../../etc/passwd"), "png", "i4"), "passwd.png");
        assert_eq!(names.next(Some("C:\\Users\\x\\IMG 1.heic"), "heic", "i5"), "IMG 1.heic");
        assert_eq!(names.next(Some("a\u{0}b?c.png"), "png", "i6"), "a_b_c.png");
        assert_eq!(names.next(Some("..."), "gif", "i7"), "i7.gif");
        assert_eq!(names.next(None, "webp", "i8"), "i8.webp");
        assert_eq!(names.next(Some("con.jpg"), "jpeg", "i9"), "_con.jpg");
        let long = names.next(Some(&"x".repeat(500)), "jpeg", "i10");
        assert!(long.chars().count() <= MAX_CHARS && long.ends_with(".jpg"), "{long}");
        assert_eq!(names.next(Some(".hidden"), "png", "i11"), "hidden.png");
    }
}
