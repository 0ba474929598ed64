//! The job state machine, in one place.
//!
//! ```text
//!            ┌──────────── cancel ────────────┐
//!            │                                ▼
//!  submit ─► queued ─► running ─┬─► succeeded
//!              ▲          │     ├─► failed
//!              └─ crash ──┘     └─► canceled
//!             (attempt + 1)
//! ```
//!
//! - A job starts `queued` once its request is committed.
//! - A worker takes it `running`.
//! - It ends `succeeded`, `failed` or `canceled`; these are terminal and never change.
//! - A queued job can be canceled directly.
//! - Only crash recovery moves a job backwards: a job that was `running` when the
//!   process died goes back to `queued` with its `attempt` raised, or, past the
//!   attempt limit, to `failed`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Accepted and waiting for a worker.
    Queued,
    /// A worker is running its plugin.
    Running,
    /// Finished with a result.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Stopped at a client's request.
    Canceled,
}

impl Status {
    /// Every status, in life order.
    pub const ALL: [Status; 5] = [
        Status::Queued,
        Status::Running,
        Status::Succeeded,
        Status::Failed,
        Status::Canceled,
    ];

    /// Whether the job has ended. Terminal states never change.
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed | Status::Canceled)
    }

    /// Whether the job is still active (queued or running).
    pub fn is_active(self) -> bool {
        !self.is_terminal()
    }

    /// Whether the state machine allows `self → next` in normal operation
    /// (crash recovery's `running → queued` is [`Status::can_recover_to`]).
    pub fn can_become(self, next: Status) -> bool {
        use Status::*;
        matches!(
            (self, next),
            (Queued, Running)
                | (Queued, Canceled)
                | (Running, Succeeded)
                | (Running, Failed)
                | (Running, Canceled)
        )
    }

    /// Whether crash recovery may move a job from `self` to `next`.
    pub fn can_recover_to(self, next: Status) -> bool {
        matches!(
            (self, next),
            (Status::Running, Status::Queued) | (Status::Running, Status::Failed)
        )
    }

    /// The lowercase name used on the wire and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Canceled => "canceled",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| {
                format!("unknown status `{s}`: expected one of queued, running, succeeded, failed, canceled")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_have_no_way_out() {
        for from in Status::ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in Status::ALL {
                assert!(!from.can_become(to), "{from} -> {to}");
                assert!(!from.can_recover_to(to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), s);
        }
        assert!("done".parse::<Status>().is_err());
    }
}
