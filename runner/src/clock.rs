//! Time, injected.
//!
//! Everything in longrun that depends on the wall clock (expiry deadlines, the
//! timestamps in job documents) asks a [`Clock`] rather than the system, so that
//! tests can move time forward without waiting.

use std::sync::Mutex;
use std::time::Duration;

use time::OffsetDateTime;

/// A source of the current UTC time.
pub trait Clock: Send + Sync + 'static {
    /// The current time, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Move the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().expect("clock lock");
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().expect("clock lock")
    }
}

/// Milliseconds since the Unix epoch: the form times take in the store.
pub fn to_millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The inverse of [`to_millis`].
pub fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Format as RFC 3339 UTC with milliseconds, e.g. `2026-11-21T23:02:42.123Z`.
pub fn rfc3339(t: OffsetDateTime) -> String {
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
    fn rfc3339_is_utc_with_millis() {
        let t = from_millis(1_795_000_000_123);
        let text = rfc3339(t);
        assert!(text.ends_with(".123Z"), "{text}");
        let parsed =
            OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339).unwrap();
        assert_eq!(to_millis(parsed), 1_795_000_000_123);
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(from_millis(0));
        assert_eq!(to_millis(clock.now()), 0);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(to_millis(clock.now()), 1500);
    }
}
