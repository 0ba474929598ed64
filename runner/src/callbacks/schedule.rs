//! The retry schedule: when the next attempt is due after a failed one.

use std::time::Duration;

use time::OffsetDateTime;

use super::{Backoff, RetryPolicy};

/// The wait after attempt `attempts` (1 = after the first) failed: the policy's
/// interval (doubling when exponential), at least the receiver's `Retry-After`,
/// at most `max_interval`.
pub fn wait_after(
    policy: &RetryPolicy,
    attempts: u32,
    retry_after: Option<Duration>,
    max_interval: Duration,
) -> Duration {
    let initial = Duration::from_secs(policy.initial_interval_seconds);
    let scheduled = match policy.backoff {
        Backoff::Fixed => initial,
        Backoff::Exponential => {
            let doublings = attempts.saturating_sub(1).min(32);
            initial.saturating_mul(1u32 << doublings.min(31))
        }
    };
    scheduled
        .max(retry_after.unwrap_or_default())
        .min(max_interval)
}

/// Parse a `Retry-After` value, delta seconds or an HTTP date, relative to `now`.
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let at = OffsetDateTime::from(at);
    Some(Duration::try_from(at - now).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock, from_millis};

    fn policy(backoff: Backoff) -> RetryPolicy {
        RetryPolicy {
            max_attempts: 10,
            initial_interval_seconds: 2,
            backoff,
        }
    }

    const CAP: Duration = Duration::from_secs(60);

    #[test]
    fn exponential_doubles_up_to_the_cap() {
        let waits: Vec<u64> = (1..=7)
            .map(|n| wait_after(&policy(Backoff::Exponential), n, None, CAP).as_secs())
            .collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(
            wait_after(&policy(Backoff::Exponential), u32::MAX, None, CAP),
            CAP
        );
    }

    #[test]
    fn fixed_stays() {
        for n in 1..5 {
            assert_eq!(
                wait_after(&policy(Backoff::Fixed), n, None, CAP),
                Duration::from_secs(2)
            );
        }
    }

    #[test]
    fn retry_after_lengthens_but_never_past_the_cap() {
        let p = policy(Backoff::Fixed);
        assert_eq!(
            wait_after(&p, 1, Some(Duration::from_secs(7)), CAP),
            Duration::from_secs(7)
        );
        assert_eq!(
            wait_after(&p, 1, Some(Duration::from_secs(1)), CAP),
            Duration::from_secs(2)
        );
        assert_eq!(wait_after(&p, 1, Some(Duration::from_secs(999)), CAP), CAP);
    }

    #[test]
    fn parses_retry_after_forms_against_injected_time() {
        // 2026-11-22T00:00:00Z
        let clock = ManualClock::new(from_millis(1_795_305_600_000));
        let now = clock.now();
        assert_eq!(parse_retry_after("5", now), Some(Duration::from_secs(5)));
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 00:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        clock.advance(Duration::from_secs(60));
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 00:00:30 GMT", clock.now()),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn a_schedule_unfolds_in_injected_time() {
        // Three failures with exponential backoff from 1 s: attempts at 0, 1, 3 s.
        let clock = ManualClock::new(from_millis(0));
        let p = RetryPolicy {
            max_attempts: 3,
            initial_interval_seconds: 1,
            backoff: Backoff::Exponential,
        };
        let mut due = clock.now();
        let mut times = vec![];
        for attempt in 1..=p.max_attempts {
            clock.advance(Duration::try_from(due - clock.now()).unwrap_or_default());
            times.push(crate::clock::to_millis(clock.now()));
            due = clock.now() + wait_after(&p, attempt, None, CAP);
        }
        assert_eq!(times, [0, 1000, 3000]);
    }
}
