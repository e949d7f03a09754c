//! What search and the map need from the EXIF fields, as plain values: the
//! camera's name and the moment the photo was taken.

use crate::Exif;

impl Exif {
    /// The camera as people name it: the model, prefixed by the make unless
    /// the model already starts with a word of it ("Canon EOS 5D", not
    /// "Canon Canon EOS 5D"; "Apple iPhone 4").
    pub fn camera(&self) -> Option<String> {
        let make = self.make.as_deref().map(clean).filter(|m| !m.is_empty());
        let model = self.model.as_deref().map(clean).filter(|m| !m.is_empty());
        match (make, model) {
            (Some(make), Some(model)) if starts_with_word_of(model, make) => Some(model.to_string()),
            (Some(make), Some(model)) => Some(format!("{make} {model}")),
            (one, other) => one.or(other).map(str::to_string),
        }
    }

    /// When the photo was taken, in Unix milliseconds: `date_time_original`
    /// with its `offset_time_original` (read as UTC without one). `None`
    /// when absent or not a real date (`0000:00:00 00:00:00`).
    pub fn taken_at_ms(&self) -> Option<i64> {
        let local = utc_ms(self.date_time_original.as_deref()?)?;
        let offset = self.offset_time_original.as_deref().map_or(Some(0), offset_ms)?;
        Some(local - offset)
    }
}

fn clean(text: &str) -> &str {
    text.trim_matches(|c: char| c == '\0' || c.is_whitespace())
}

fn starts_with_word_of(model: &str, make: &str) -> bool {
    let first = model.split_whitespace().next().unwrap_or("").to_lowercase();
    make.split_whitespace().any(|word| word.to_lowercase() == first)
}

/// `YYYY:MM:DD HH:MM:SS` (EXIF's form; any separators, so `2024-03-01
/// 00:00:00` too) as milliseconds since the epoch, read as UTC.
pub fn utc_ms(text: &str) -> Option<i64> {
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let valid = (1..=12).contains(&month) && (1..=31).contains(&day) && hour < 24 && minute < 60 && second < 61;
    if !valid || year == 0 {
        return None;
    }
    Some((days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second) * 1000)
}

/// `+02:00` or `-0530` as milliseconds east of UTC.
fn offset_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = text[1..].chars().filter(char::is_ascii_digit).collect();
    let hours: i64 = digits.get(..2)?.parse().ok()?;
    let minutes: i64 = digits.get(2..4).map_or(Some(0), |m| m.parse().ok())?;
    (hours <= 14 && minutes < 60).then_some(sign * (hours * 60 + minutes) * 60_000)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let doy = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exif(make: Option<&str>, model: Option<&str>, date: Option<&str>, offset: Option<&str>) -> Exif {
        Exif {
            make: make.map(Into::into),
            model: model.map(Into::into),
            date_time_original: date.map(Into::into),
            offset_time_original: offset.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn cameras_are_named_once() {
        let camera = |make, model| exif(make, model, None, None).camera();
        assert_eq!(camera(Some("Canon"), Some("Canon EOS 5D")).as_deref(), Some("Canon EOS 5D"));
        assert_eq!(camera(Some("Apple"), Some("iPhone 4")).as_deref(), Some("Apple iPhone 4"));
        let kodak = camera(Some("EASTMAN KODAK COMPANY"), Some("KODAK CX7530 ZOOM DIGITAL CAMERA"));
        assert_eq!(kodak.as_deref(), Some("KODAK CX7530 ZOOM DIGITAL CAMERA"));
        assert_eq!(camera(Some("FLIR\0 "), None).as_deref(), Some("FLIR"));
        assert_eq!(camera(Some(" "), Some("")), None);
    }

    #[test]
    fn the_moment_taken_counts_its_offset() {
        let at = |date, offset| exif(None, None, Some(date), offset).taken_at_ms();
        assert_eq!(at("1970:01:01 00:00:00", None), Some(0));
        assert_eq!(at("2024:03:01 00:00:00", None), Some(1_709_251_200_000));
        assert_eq!(at("2024:03:01 02:00:00", Some("+02:00")), Some(1_709_251_200_000));
        assert_eq!(at("2024:02:29 19:30:00", Some("-0430")), Some(1_709_251_200_000));
        assert_eq!(at("0000:00:00 00:00:00", None), None);
        assert_eq!(at("2024:13:01 00:00:00", None), None);
        assert_eq!(at("garbage", None), None);
        assert_eq!(at("2024:03:01 00:00:00", Some("Z?")), None);
        assert_eq!(exif(None, None, None, None).taken_at_ms(), None);
    }
}
