//! Verdicts, the results of checks, and the exit code of a run.
//!
//! | Verdict | Meaning | Exit code |
//! |---|---|---|
//! | `pass` | every assertion held | 0 |
//! | `fail` | a MUST was broken (or a SHOULD, with `--strict`) | 1 |
//! | `warn` | a SHOULD was broken | 0 (1 with `--strict`) |
//! | `skip` | the check does not apply (class not claimed, …); the reason says why | 0 |
//! | `blocked` | a check it needs did not pass; it names that check | 0 |
//! | `error` | the harness or the environment failed | 3 |
//!
//! A check listed in the expected-failures file that fails is reported as an
//! expected failure and does not fail the run; one that passes fails the run, so
//! that the file is kept true. A run with failures exits 1 even when errors also
//! happened; a run in which no check passed or failed exits 4 ("nothing ran").

use serde::Serialize;

use crate::check::Check;
use crate::exchange::Exchange;
use crate::spec::Level;

/// The verdict of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum Verdict {
    /// Every assertion held.
    Pass,
    /// A MUST was broken.
    Fail {
        /// The requirement's ID.
        requirement: String,
        /// Its level.
        level: Level,
        /// What was expected and what was seen.
        message: String,
    },
    /// A SHOULD was broken.
    Warn {
        /// The requirement's ID.
        requirement: String,
        /// Its level.
        level: Level,
        /// What was expected and what was seen.
        message: String,
    },
    /// The check does not apply.
    Skip {
        /// Why.
        reason: String,
    },
    /// A check this one needs did not pass.
    Blocked {
        /// The ID of that check.
        by: String,
    },
    /// The harness or the environment failed.
    Error {
        /// What failed.
        message: String,
    },
}

impl Verdict {
    /// The verdict's name as reports print it.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail { .. } => "fail",
            Verdict::Warn { .. } => "warn",
            Verdict::Skip { .. } => "skip",
            Verdict::Blocked { .. } => "blocked",
            Verdict::Error { .. } => "error",
        }
    }

    /// The broken requirement, for `fail` and `warn`.
    pub fn requirement(&self) -> Option<&str> {
        match self {
            Verdict::Fail { requirement, .. } | Verdict::Warn { requirement, .. } => {
                Some(requirement)
            }
            _ => None,
        }
    }
}

/// An entry of the expected-failures file that matched a check.
#[derive(Debug, Clone, Serialize)]
pub struct Expected {
    /// Why the failure is expected.
    pub reason: String,
}

/// What one check found, with everything a report shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    /// The check's ID.
    pub id: &'static str,
    /// What it checks.
    pub title: &'static str,
    /// Its class.
    pub class: &'static str,
    /// The requirements it cites.
    pub requirements: &'static [&'static str],
    /// The verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Set when the expected-failures file lists the check and it did fail.
    pub expected_failure: Option<Expected>,
    /// Every exchange the check made, in order.
    pub exchanges: Vec<Exchange>,
    /// How long it ran.
    pub duration_ms: u64,
}

impl CheckResult {
    /// A result without exchanges (skipped, blocked, not run).
    pub fn without_run(check: &'static Check, verdict: Verdict) -> CheckResult {
        CheckResult {
            id: check.id,
            title: check.title,
            class: check.class,
            requirements: check.requirements,
            verdict,
            expected_failure: None,
            exchanges: Vec::new(),
            duration_ms: 0,
        }
    }

    /// Whether this result fails the run.
    pub fn fails_run(&self, strict: bool) -> bool {
        if self.expected_failure.is_some() {
            return false;
        }
        match self.verdict {
            Verdict::Fail { .. } => true,
            Verdict::Warn { .. } => strict,
            _ => false,
        }
    }

    /// The exchange a failure report shows: the last one made before the
    /// finding.
    pub fn last_exchange(&self) -> Option<&Exchange> {
        self.exchanges.last()
    }
}

/// Counts of verdicts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// `pass`.
    pub pass: usize,
    /// `fail` (not expected).
    pub fail: usize,
    /// `warn` (not expected).
    pub warn: usize,
    /// `skip`.
    pub skip: usize,
    /// `blocked`.
    pub blocked: usize,
    /// `error`.
    pub error: usize,
    /// Failures the expected-failures file lists.
    #[serde(rename = "expectedFailure")]
    pub expected_failure: usize,
}

impl Counts {
    /// Count the verdicts of `results`.
    pub fn of(results: &[CheckResult]) -> Counts {
        let mut counts = Counts::default();
        for r in results {
            if r.expected_failure.is_some() {
                counts.expected_failure += 1;
                continue;
            }
            match r.verdict {
                Verdict::Pass => counts.pass += 1,
                Verdict::Fail { .. } => counts.fail += 1,
                Verdict::Warn { .. } => counts.warn += 1,
                Verdict::Skip { .. } => counts.skip += 1,
                Verdict::Blocked { .. } => counts.blocked += 1,
                Verdict::Error { .. } => counts.error += 1,
            }
        }
        counts
    }
}

/// The process exit codes.
pub mod exit {
    /// Every required check passed.
    pub const PASSED: i32 = 0;
    /// At least one conformance failure.
    pub const FAILED: i32 = 1;
    /// The command line was wrong.
    pub const USAGE: i32 = 2;
    /// The harness or the environment failed.
    pub const ERROR: i32 = 3;
    /// No check ran.
    pub const NOTHING_RAN: i32 = 4;
}

/// The exit code of a run with these results.
pub fn exit_code(results: &[CheckResult], strict: bool) -> i32 {
    if results.iter().any(|r| r.fails_run(strict)) {
        return exit::FAILED;
    }
    if results
        .iter()
        .any(|r| matches!(r.verdict, Verdict::Error { .. }))
    {
        return exit::ERROR;
    }
    let ran = results.iter().any(|r| {
        r.expected_failure.is_some()
            || matches!(
                r.verdict,
                Verdict::Pass | Verdict::Fail { .. } | Verdict::Warn { .. }
            )
    });
    if ran { exit::PASSED } else { exit::NOTHING_RAN }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(verdict: Verdict) -> CheckResult {
        CheckResult {
            id: "x.y",
            title: "",
            class: "core",
            requirements: &[],
            verdict,
            expected_failure: None,
            exchanges: Vec::new(),
            duration_ms: 0,
        }
    }

    fn fail() -> Verdict {
        Verdict::Fail {
            requirement: "SVC-3".into(),
            level: Level::Must,
            message: String::new(),
        }
    }

    fn warn() -> Verdict {
        Verdict::Warn {
            requirement: "EVENTS-7".into(),
            level: Level::Should,
            message: String::new(),
        }
    }

    #[test]
    fn exit_codes_follow_the_table() {
        let error = || Verdict::Error {
            message: String::new(),
        };
        let skip = || Verdict::Skip {
            reason: String::new(),
        };
        assert_eq!(exit_code(&[result(Verdict::Pass)], false), exit::PASSED);
        assert_eq!(
            exit_code(&[result(Verdict::Pass), result(warn())], false),
            exit::PASSED
        );
        assert_eq!(
            exit_code(&[result(Verdict::Pass), result(warn())], true),
            exit::FAILED
        );
        assert_eq!(
            exit_code(&[result(fail()), result(error())], false),
            exit::FAILED
        );
        assert_eq!(
            exit_code(&[result(Verdict::Pass), result(error())], false),
            exit::ERROR
        );
        assert_eq!(exit_code(&[result(skip())], false), exit::NOTHING_RAN);
        assert_eq!(exit_code(&[], false), exit::NOTHING_RAN);
        let mut expected = result(fail());
        expected.expected_failure = Some(Expected {
            reason: "known".into(),
        });
        assert_eq!(exit_code(&[expected.clone()], false), exit::PASSED);
        let counts = Counts::of(&[expected, result(Verdict::Pass), result(warn())]);
        assert_eq!(
            (
                counts.pass,
                counts.warn,
                counts.expected_failure,
                counts.fail
            ),
            (1, 1, 1, 0)
        );
    }
}
