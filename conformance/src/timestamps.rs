//! Timestamps as the protocol writes them (GEN-2: RFC 3339 in UTC with `Z` and
//! exactly three fractional digits, `2026-11-21T23:02:42.123Z`): judging,
//! parsing and writing them.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Whether `text` is a GEN-2 timestamp: `YYYY-MM-DDTHH:MM:SS.mmmZ`, and a real
/// instant.
pub fn is_gen2(text: &str) -> bool {
    parse_gen2(text).is_some()
}

/// A strict GEN-2 timestamp, parsed; `None` for any other text.
pub fn parse_gen2(text: &str) -> Option<OffsetDateTime> {
    let shaped = text.len() == 24
        && text.bytes().enumerate().all(|(i, c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'.',
            23 => c == b'Z',
            _ => c.is_ascii_digit(),
        });
    if shaped { parse(text) } else { None }
}

/// A strict GEN-2 timestamp member, parsed; `None` for anything else.
pub fn gen2_value(value: &Value) -> Option<OffsetDateTime> {
    parse_gen2(value.as_str()?)
}

/// Any RFC 3339 timestamp, parsed (for values already judged, or judged
/// elsewhere).
pub fn parse(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// An RFC 3339 timestamp member, parsed.
pub fn value(value: &Value) -> Option<OffsetDateTime> {
    parse(value.as_str()?)
}

/// Milliseconds from the RFC 3339 timestamp `from` to `to`.
pub fn millis_between(from: &Value, to: &Value) -> Option<i128> {
    Some((value(to)? - value(from)?).whole_milliseconds())
}

/// A time in the GEN-2 form (UTC, milliseconds).
pub fn format_gen2(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gen2_is_strict() {
        assert!(is_gen2("2026-11-21T23:02:42.123Z"));
        assert!(!is_gen2("2026-11-21T23:02:42Z"));
        assert!(!is_gen2("2026-11-21T23:02:42.123456Z"));
        assert!(!is_gen2("2026-11-21T23:02:42.123+00:00"));
        assert!(!is_gen2("2026-13-21T23:02:42.123Z"));
        assert!(parse("2026-11-21T23:02:42+01:00").is_some());
    }

    #[test]
    fn format_round_trips() {
        let t = parse_gen2("2026-11-21T23:02:42.007Z").unwrap();
        assert_eq!(format_gen2(t), "2026-11-21T23:02:42.007Z");
    }
}
