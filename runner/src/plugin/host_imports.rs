//! The `longrun:plugin/host` interface, as the guest calls it: `log`,
//! `progress` and `is-cancelled`, passed on to the job's [`RunControl`].
//!
//! [`RunControl`]: super::RunControl

use super::bindings::longrun::plugin::{host, types};
use super::control::{LogLevel, ProgressUpdate};
use super::sandbox::{HostState, MAX_LOG_BYTES_PER_RUN, MAX_LOG_MESSAGE_BYTES};

impl types::Host for HostState {}

impl host::Host for HostState {
    fn log(&mut self, level: types::LogLevel, message: String) {
        let message = cap_message(message, MAX_LOG_MESSAGE_BYTES);
        let budget = &mut self.log_budget;
        if budget.used.saturating_add(message.len()) > MAX_LOG_BYTES_PER_RUN {
            budget.dropped += 1;
            return;
        }
        budget.used += message.len();
        self.watch.control.log(level.into(), &message);
    }

    fn progress(&mut self, update: types::ProgressUpdate) -> bool {
        let control = &self.watch.control;
        control.progress(convert_progress(update));
        !control.is_cancelled()
    }

    fn is_cancelled(&mut self) -> bool {
        self.watch.control.is_cancelled()
    }
}

impl From<types::LogLevel> for LogLevel {
    fn from(level: types::LogLevel) -> LogLevel {
        match level {
            types::LogLevel::Trace => LogLevel::Trace,
            types::LogLevel::Debug => LogLevel::Debug,
            types::LogLevel::Info => LogLevel::Info,
            types::LogLevel::Warn => LogLevel::Warn,
            types::LogLevel::Error => LogLevel::Error,
        }
    }
}

/// The marker appended to a cut log message.
const CUT_MARKER: &str = " … [message truncated]";

/// `message`, cut to at most `max` bytes (marker included) at a character
/// boundary.
pub(crate) fn cap_message(mut message: String, max: usize) -> String {
    if message.len() <= max {
        return message;
    }
    let mut end = max.saturating_sub(CUT_MARKER.len());
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    message.truncate(end);
    message.push_str(CUT_MARKER);
    message
}

/// The host's view of a guest's progress update.
pub(crate) fn convert_progress(update: types::ProgressUpdate) -> ProgressUpdate {
    ProgressUpdate {
        percent: update.amount.and_then(percent),
        stage: update.stage,
        message: update.message,
    }
}

/// An amount as a percentage in `0..=100`, or `None` if it says nothing.
fn percent(amount: types::Amount) -> Option<f64> {
    let value = match amount {
        types::Amount::Percent(p) => p,
        types::Amount::Fraction((_, 0)) => return None,
        types::Amount::Fraction((done, total)) => done as f64 / total as f64 * 100.0,
    };
    if value.is_nan() {
        None
    } else {
        Some(value.clamp(0.0, 100.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pct(amount: types::Amount) -> Option<f64> {
        convert_progress(types::ProgressUpdate {
            amount: Some(amount),
            stage: None,
            message: None,
        })
        .percent
    }

    #[test]
    fn amounts_become_clamped_percentages() {
        assert_eq!(pct(types::Amount::Percent(42.5)), Some(42.5));
        assert_eq!(pct(types::Amount::Percent(-3.0)), Some(0.0));
        assert_eq!(pct(types::Amount::Percent(250.0)), Some(100.0));
        assert_eq!(pct(types::Amount::Percent(f64::INFINITY)), Some(100.0));
        assert_eq!(pct(types::Amount::Percent(f64::NAN)), None);
        assert_eq!(pct(types::Amount::Fraction((1, 4))), Some(25.0));
        assert_eq!(pct(types::Amount::Fraction((5, 4))), Some(100.0));
        assert_eq!(pct(types::Amount::Fraction((0, 0))), None);
        assert_eq!(
            pct(types::Amount::Fraction((u64::MAX, u64::MAX))),
            Some(100.0)
        );
    }

    #[test]
    fn stage_and_message_pass_through() {
        let update = convert_progress(types::ProgressUpdate {
            amount: None,
            stage: Some("parse".into()),
            message: Some("hi".into()),
        });
        assert_eq!(
            update,
            ProgressUpdate {
                percent: None,
                stage: Some("parse".into()),
                message: Some("hi".into()),
            }
        );
    }

    #[test]
    fn long_messages_are_cut_at_a_char_boundary() {
        assert_eq!(cap_message("short".into(), 100), "short");
        let long = "é".repeat(100); // 200 bytes
        let cut = cap_message(long, 64);
        assert!(cut.len() <= 64, "{}", cut.len());
        assert!(cut.ends_with(CUT_MARKER));
        assert!(cut.starts_with("éé"));
    }
}
