//! The summary shape of the AWS serverless image-recognition reference
//! architecture (its `transform-metadata` Lambda), so that tooling written
//! for it can read Pictor's metadata unchanged.
//!
//! That Lambda maps GraphicsMagick `identify` output to:
//! `creationTime` (EXIF DateTimeOriginal as stored), `geo` (`latitude` and
//! `longitude` as `{D, M, S, Direction}`, only when both coordinates and
//! both references exist), `exifMake`, `exifModel` (each omitted when
//! absent), and always `dimensions` (`{width, height}` as stored),
//! `fileSize` (GraphicsMagick's human-readable size, e.g. `"1.354MB"`) and
//! `format` (GraphicsMagick's name, e.g. `"JPEG"`).
//!
//! The Lambda divides each EXIF rational; we hold decimal degrees, so D and
//! M are whole numbers and S carries the rest (rounded to 1e-6 s). A camera
//! that stores fractional degrees (e.g. `46.8/1, 0/1, 0/1`) therefore gives
//! the same position in a different split.

use serde_json::{Map, Value, json};

use crate::Metadata;

pub fn reference_shape(m: &Metadata) -> Value {
    let mut out = Map::new();
    if let Some(t) = &m.exif.date_time_original {
        out.insert("creationTime".into(), json!(t));
    }
    if let Some(gps) = &m.gps {
        let geo = json!({
            "latitude": dms(gps.latitude, 'N', 'S'),
            "longitude": dms(gps.longitude, 'E', 'W'),
        });
        out.insert("geo".into(), geo);
    }
    if let Some(make) = &m.exif.make {
        out.insert("exifMake".into(), json!(make));
    }
    if let Some(model) = &m.exif.model {
        out.insert("exifModel".into(), json!(model));
    }
    out.insert("dimensions".into(), json!({ "width": m.width, "height": m.height }));
    out.insert("fileSize".into(), json!(human_size(m.file_size)));
    out.insert("format".into(), json!(m.format));
    Value::Object(out)
}

/// Signed decimal degrees as `{D, M, S, Direction}`.
fn dms(degrees: f64, positive: char, negative: char) -> Value {
    let direction = if degrees < 0.0 { negative } else { positive };
    let micro_seconds = (degrees.abs() * 3600.0 * 1e6).round() as u64;
    let (d, rest) = (micro_seconds / 3_600_000_000, micro_seconds % 3_600_000_000);
    let (m, s) = (rest / 60_000_000, rest % 60_000_000);
    json!({ "D": d, "M": m, "S": plain_number(s as f64 / 1e6), "Direction": direction.to_string() })
}

/// A whole number as an integer (as JavaScript prints it), else a float.
fn plain_number(x: f64) -> Value {
    if x.fract() == 0.0 { json!(x as u64) } else { json!(x) }
}

/// GraphicsMagick's size notation: four significant digits, decimal units.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["", "K", "M", "G", "T", "P", "E"];
    if bytes < 1000 {
        return format!("{bytes}B");
    }
    let mut x = bytes as f64;
    let mut unit = 0;
    while x >= 1000.0 && unit + 1 < UNITS.len() {
        x /= 1000.0;
        unit += 1;
    }
    let integer_digits = if x >= 100.0 {
        3
    } else if x >= 10.0 {
        2
    } else {
        1
    };
    let text = format!("{:.*}", 4 - integer_digits, x);
    let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { &text };
    format!("{text}{}B", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Exif, Gps};

    fn sample() -> Metadata {
        Metadata {
            format: "JPEG".into(),
            mime: "image/jpeg".into(),
            width: 4032,
            height: 3024,
            upright_width: 4032,
            upright_height: 3024,
            file_size: 1_354_000,
            frames: 1,
            icc_description: None,
            exif: Exif {
                make: Some("LGE".into()),
                model: Some("Nexus 5X".into()),
                date_time_original: Some("2016:04:09 14:08:13".into()),
                ..Exif::default()
            },
            gps: Some(Gps {
                latitude: 46.0 + 49.0 / 60.0 + 32.43 / 3600.0,
                longitude: -(121.0 + 43.0 / 60.0 + 41.88 / 3600.0),
                altitude: Some(2720.0),
            }),
        }
    }

    #[test]
    fn matches_the_reference_sample_output() {
        let expected = json!({
            "creationTime": "2016:04:09 14:08:13",
            "geo": {
                "latitude": { "D": 46, "M": 49, "S": 32.43, "Direction": "N" },
                "longitude": { "D": 121, "M": 43, "S": 41.88, "Direction": "W" }
            },
            "exifMake": "LGE",
            "exifModel": "Nexus 5X",
            "dimensions": { "width": 4032, "height": 3024 },
            "fileSize": "1.354MB",
            "format": "JPEG"
        });
        assert_eq!(reference_shape(&sample()), expected);
    }

    #[test]
    fn absent_fields_are_omitted() {
        let m = Metadata { exif: Exif::default(), gps: None, ..sample() };
        let v = reference_shape(&m);
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["dimensions", "fileSize", "format"]);
    }

    #[test]
    fn sizes_read_like_graphicsmagick() {
        assert_eq!(human_size(512), "512B");
        assert_eq!(human_size(354_250), "354.2KB");
        assert_eq!(human_size(12_000_000), "12MB");
    }
}
