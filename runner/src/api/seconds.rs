//! Whole seconds in headers and query parameters (`Prefer: wait=N`,
//! `waitSeconds=N`).
//!
//! Like HTTP's delay-seconds (RFC 9111 section 1.2.2), a value is one or more
//! ASCII digits and nothing else (no sign, no spaces); a value too large for 64
//! bits means "as long as possible" and is kept at the largest one, so that the
//! server's maximum caps it.

/// Parse whole seconds, or `None` when `text` is not a run of ASCII digits.
pub fn parse_seconds(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse::<u64>().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::parse_seconds;

    #[test]
    fn digits_only_and_saturating() {
        assert_eq!(parse_seconds("0"), Some(0));
        assert_eq!(parse_seconds("10"), Some(10));
        assert_eq!(parse_seconds("99999999999999999999999"), Some(u64::MAX));
        for bad in ["", "+2", "-1", " 2", "2 ", "1.5", "soon", "0x10"] {
            assert_eq!(parse_seconds(bad), None, "{bad:?}");
        }
    }
}
