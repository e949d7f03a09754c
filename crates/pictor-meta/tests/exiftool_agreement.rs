//! Agreement with ExifTool 12.57 on the staged corpus (the acceptance bar).
//!
//! Files: every file under `camera_exif/` and `orientation/` in which ExifTool
//! found EXIF, i.e. whose entry in `expected/exiftool_keyfields_G1.json` has a
//! key in the `IFD0`, `IFD1`, `ExifIFD` or `GPS` group.
//!
//! Fields compared, and ExifTool's source for each (`-n`, so raw values):
//! - make, model: `IFD0:Make`, `IFD0:Model`
//! - date_time_original: `ExifIFD:DateTimeOriginal`
//! - exposure_time, f_number, iso, focal_length: `ExifIFD:*` (ISO: first value)
//! - orientation: `IFD0:Orientation`, else `IFD1:Orientation`
//! - gps: `Composite:GPSLatitude`/`Composite:GPSLongitude` (signed; ExifTool
//!   composes them only when the N/S, E/W references exist, as we do)
//! - altitude: `Composite:GPSAltitude` (signed), when both sides have a position
//! - size: the stored width × height (`File:`, `PNG:`, `RIFF:`, `GIF:` or, for TIFF, `IFD0:`);
//!   our 0×0 ("no readable size") counts as absent
//!
//! "Agree" means: both absent, or both present and equal, where
//! - strings are compared after trimming trailing NULs and spaces, and an
//!   empty string counts as absent (ExifTool prints `""` for empty values);
//! - ExifTool values that are not numbers (`""`, `"undef"`, `"inf"`) count as absent;
//! - rationals agree within a relative 1e-6 (ExifTool prints 10 significant digits);
//! - latitude/longitude agree within 1e-6 degrees, altitude within 1e-6 relative or 1e-6 m.
//!
//! A file agrees when every compared field agrees. The test prints a table of
//! per-field agreement and every mismatch, and requires at least 97% of files
//! to agree. It is skipped (with a message) when the corpus is not present.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pictor_meta::{Metadata, extract};
use serde_json::Value;

const REQUIRED: f64 = 0.97;

/// The test corpus, or `None` after printing why the test is skipped.
fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let found = dir.join("expected/exiftool_keyfields_G1.json").is_file().then_some(dir);
    if found.is_none() {
        eprintln!("SKIPPED: corpus not found at CARGO_MANIFEST_DIR/../../../shared/corpus");
    }
    found
}

/// A field's value on one side, in a comparable form.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Text(String),
    Num(f64),
    Pos(f64, f64),
    Size(u32, u32),
}

impl std::fmt::Display for V {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            V::Text(s) => write!(f, "{s:?}"),
            V::Num(n) => write!(f, "{n}"),
            V::Pos(a, b) => write!(f, "({a}, {b})"),
            V::Size(w, h) => write!(f, "{w}x{h}"),
        }
    }
}

fn show(v: &Option<V>) -> String {
    v.as_ref().map_or("-".into(), V::to_string)
}

const FIELDS: [&str; 11] = [
    "make",
    "model",
    "date_time_original",
    "exposure_time",
    "f_number",
    "iso",
    "focal_length",
    "orientation",
    "gps",
    "altitude",
    "size",
];

fn clean(s: &str) -> Option<String> {
    let s = s.trim_end_matches(['\0', ' ']).trim_start();
    (!s.is_empty()).then(|| s.to_string())
}

fn tool_text(e: &Value, key: &str) -> Option<V> {
    match e.get(key)? {
        Value::String(s) => clean(s).map(V::Text),
        Value::Number(n) => Some(V::Text(n.to_string())),
        _ => None,
    }
}

fn tool_num(e: &Value, key: &str) -> Option<f64> {
    match e.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.split_whitespace().next()?.parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    }
}

/// ExifTool's side of each field.
fn expected(e: &Value) -> BTreeMap<&'static str, Option<V>> {
    let num = |k: &str| tool_num(e, k).map(V::Num);
    let position = tool_num(e, "Composite:GPSLatitude").zip(tool_num(e, "Composite:GPSLongitude"));
    let size_groups = ["File", "PNG", "RIFF", "GIF", "IFD0"];
    let size = size_groups.iter().find_map(|g| {
        let w = tool_num(e, &format!("{g}:ImageWidth"))?;
        let h = tool_num(e, &format!("{g}:ImageHeight"))?;
        Some(V::Size(w as u32, h as u32))
    });
    BTreeMap::from([
        ("make", tool_text(e, "IFD0:Make")),
        ("model", tool_text(e, "IFD0:Model")),
        ("date_time_original", tool_text(e, "ExifIFD:DateTimeOriginal")),
        ("exposure_time", num("ExifIFD:ExposureTime")),
        ("f_number", num("ExifIFD:FNumber")),
        ("iso", num("ExifIFD:ISO")),
        ("focal_length", num("ExifIFD:FocalLength")),
        ("orientation", num("IFD0:Orientation").or_else(|| num("IFD1:Orientation"))),
        ("gps", position.map(|(a, b)| V::Pos(a, b))),
        ("altitude", position.and(num("Composite:GPSAltitude"))),
        ("size", size),
    ])
}

/// Our side of each field.
fn ours(m: &Metadata) -> BTreeMap<&'static str, Option<V>> {
    let text = |s: &Option<String>| s.as_deref().and_then(clean).map(V::Text);
    let x = &m.exif;
    BTreeMap::from([
        ("make", text(&x.make)),
        ("model", text(&x.model)),
        ("date_time_original", text(&x.date_time_original)),
        ("exposure_time", x.exposure_time.map(V::Num)),
        ("f_number", x.f_number.map(V::Num)),
        ("iso", x.iso.map(|n| V::Num(n.into()))),
        ("focal_length", x.focal_length.map(V::Num)),
        ("orientation", x.orientation.map(|n| V::Num(n.into()))),
        ("gps", m.gps.map(|g| V::Pos(g.latitude, g.longitude))),
        ("altitude", m.gps.and_then(|g| g.altitude).map(V::Num)),
        ("size", (m.width, m.height).ne(&(0, 0)).then_some(V::Size(m.width, m.height))),
    ])
}

fn agree(field: &str, a: &Option<V>, b: &Option<V>) -> bool {
    let close = |x: f64, y: f64, abs: f64| (x - y).abs() <= abs.max(1e-6 * x.abs().max(y.abs()));
    match (a, b) {
        (None, None) => true,
        (Some(V::Num(x)), Some(V::Num(y))) if field == "altitude" => close(*x, *y, 1e-6),
        (Some(V::Num(x)), Some(V::Num(y))) => close(*x, *y, 1e-12),
        (Some(V::Pos(a1, b1)), Some(V::Pos(a2, b2))) => (a1 - a2).abs() <= 1e-6 && (b1 - b2).abs() <= 1e-6,
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

fn has_exif(e: &Value) -> bool {
    let groups = ["IFD0:", "IFD1:", "ExifIFD:", "GPS:"];
    e.as_object().is_some_and(|o| o.keys().any(|k| groups.iter().any(|g| k.starts_with(g))))
}

/// Field-by-field agreement over a set of files.
#[derive(Default)]
struct Report {
    files: usize,
    agreeing: usize,
    /// Per field: (compared, agreeing).
    per_field: BTreeMap<&'static str, (usize, usize)>,
    mismatches: Vec<String>,
}

impl Report {
    /// Compares every entry of `expected/exiftool_keyfields_G1.json` that `wanted` keeps.
    fn of(corpus: &Path, wanted: impl Fn(&str, &Value) -> bool) -> Report {
        let text = std::fs::read_to_string(corpus.join("expected/exiftool_keyfields_G1.json")).unwrap();
        let entries: Vec<Value> = serde_json::from_str(&text).unwrap();
        let mut report = Report { per_field: FIELDS.iter().map(|f| (*f, (0, 0))).collect(), ..Report::default() };
        for e in &entries {
            let name = e["SourceFile"].as_str().unwrap_or_default();
            if wanted(name, e) {
                report.compare(name, &std::fs::read(corpus.join(name)).unwrap(), e);
            }
        }
        report
    }

    fn compare(&mut self, name: &str, bytes: &[u8], e: &Value) {
        self.files += 1;
        let theirs = expected(e);
        let mine = match extract(bytes) {
            Ok(m) => ours(&m),
            Err(err) => {
                self.mismatches.push(format!("{name}: extract failed: {err}"));
                FIELDS.iter().map(|f| (*f, None)).collect()
            }
        };
        let mut all = true;
        for field in FIELDS {
            let (a, b) = (&mine[field], &theirs[field]);
            if a.is_none() && b.is_none() {
                continue;
            }
            let counts = self.per_field.get_mut(field).unwrap();
            counts.0 += 1;
            if agree(field, a, b) {
                counts.1 += 1;
            } else {
                all = false;
                self.mismatches.push(format!("{name}: {field}: ours {} / exiftool {}", show(a), show(b)));
            }
        }
        self.agreeing += usize::from(all);
    }

    /// Prints the per-field table and every mismatch; returns the share of files agreeing.
    fn print(&self) -> f64 {
        eprintln!("\n{:<20} {:>8} {:>8} {:>8}", "field", "compared", "agree", "%");
        for (field, (compared, agree)) in &self.per_field {
            let pct = if *compared == 0 { 100.0 } else { 100.0 * *agree as f64 / *compared as f64 };
            eprintln!("{field:<20} {compared:>8} {agree:>8} {pct:>7.1}%");
        }
        eprintln!("\nmismatches ({}):", self.mismatches.len());
        self.mismatches.iter().for_each(|m| eprintln!("  {m}"));
        let share = self.agreeing as f64 / self.files.max(1) as f64;
        eprintln!("\nfiles agreeing on every field: {} of {} ({:.1}%)", self.agreeing, self.files, 100.0 * share);
        share
    }
}

#[test]
fn agrees_with_exiftool_on_camera_and_orientation_files() {
    let Some(corpus) = corpus() else { return };
    let report = Report::of(&corpus, |name, e| {
        (name.starts_with("camera_exif/") || name.starts_with("orientation/")) && has_exif(e)
    });
    let share = report.print();
    assert!(report.files > 0, "no camera/orientation files with EXIF found in the expected JSON");
    assert!(
        share >= REQUIRED,
        "only {} of {} files agree with exiftool (need {:.0}%)",
        report.agreeing,
        report.files,
        REQUIRED * 100.0
    );
}

/// Every HEIC and AVIF of the corpus outside `broken/`, with EXIF or not,
/// agrees with exiftool on every field: no tolerance for this family.
#[test]
fn every_heic_and_avif_agrees_with_exiftool() {
    let Some(corpus) = corpus() else { return };
    let heif = |name: &str| [".heic", ".heif", ".hif", ".avif"].iter().any(|x| name.to_lowercase().ends_with(x));
    let read_by_both = |name: &str| !name.contains("_metasize0") && !is_compact_heif(&corpus, name);
    let report = Report::of(&corpus, |name, _| !name.starts_with("broken/") && heif(name) && read_by_both(name));
    report.print();
    assert!(report.files >= 150, "only {} HEIC/AVIF files in the expected JSON", report.files);
    assert!(report.mismatches.is_empty(), "{} HEIC/AVIF disagreements", report.mismatches.len());
}

/// What exiftool 12.57 does not read, checked on its own: a `meta` box of
/// size 0 ("to the end of the file", ISO/IEC 14496-12 4.2), whose sizes
/// exiftool leaves out, and compact HEIF (`mini`), which it takes for MP4.
#[test]
fn heif_that_exiftool_cannot_read() {
    let Some(corpus) = corpus() else { return };
    let read = |name: &str| extract(&std::fs::read(corpus.join(name)).unwrap());
    let metasize0 = read("formats/avif-libavif/draw_points_idat_metasize0.avif").unwrap();
    assert_eq!((metasize0.width, metasize0.height), (33, 11));
    let compact = read("formats/heic-libheif/tests-data/lightning_mini.heif");
    assert!(matches!(compact, Err(pictor_meta::MetaError::UnsupportedFormat(_))), "{compact:?}");
}

/// A compact HEIF: the box after `ftyp` is `mini`, not `meta`.
fn is_compact_heif(corpus: &Path, name: &str) -> bool {
    let Ok(b) = std::fs::read(corpus.join(name)) else { return false };
    let after_ftyp = b.get(..4).map_or(0, |s| u32::from_be_bytes(s.try_into().unwrap()) as usize);
    b.get(after_ftyp + 4..after_ftyp + 8) == Some(b"mini")
}

/// ICC profile descriptions agree with ExifTool's `ProfileDescription`
/// (from `expected/exiftool.json`) on every file under `camera_exif/`,
/// `orientation/` and `formats/` that has one (JPEG, PNG, WebP, TIFF, GIF, HEIC, AVIF).
#[test]
fn icc_descriptions_agree_with_exiftool() {
    let Some(corpus) = corpus() else { return };
    let text = std::fs::read_to_string(corpus.join("expected/exiftool.json")).unwrap();
    let entries: Vec<Value> = serde_json::from_str(&text).unwrap();
    let sets = ["camera_exif/", "orientation/", "formats/"];
    let (mut checked, mut wrong) = (0, Vec::new());
    for e in &entries {
        let name = e["SourceFile"].as_str().unwrap_or_default();
        let Some(want) = tool_text(e, "ProfileDescription") else { continue };
        if !sets.iter().any(|s| name.starts_with(s)) {
            continue;
        }
        checked += 1;
        let got = extract(&std::fs::read(corpus.join(name)).unwrap()).ok().and_then(|m| m.icc_description).map(V::Text);
        if got.as_ref() != Some(&want) {
            wrong.push(format!("{name}: ours {} / exiftool {want}", show(&got)));
        }
    }
    eprintln!("ICC descriptions: {} of {checked} agree", checked - wrong.len());
    assert!(checked > 50, "too few files with an ICC profile description");
    assert!(wrong.is_empty(), "ICC descriptions differ:\n{}", wrong.join("\n"));
}
