//! What a check is, and how it reports what it found.
//!
//! A [`Check`] is one async function with a stable ID, the requirements it cites,
//! the conformance class it belongs to and the checks it needs first. It returns
//! `Ok(())` when every assertion held, or the first [`Finding`]:
//!
//! - a *violation* of a cited requirement, raised with [`ensure!`](crate::ensure)
//!   (at the requirement's own level) or [`ensure_should!`](crate::ensure_should)
//!   (for the SHOULD part of a requirement that also has a MUST part);
//! - a *skip* with its reason, when the server cannot be checked this way (a limit
//!   too large to reach, a feature it does not configure);
//! - an *error* of the harness or the environment (the server cannot be reached,
//!   the callback receiver never got a request).
//!
//! The suite turns findings into verdicts (`crate::verdict`).

use futures::future::BoxFuture;

use crate::context::Ctx;
use crate::spec::Level;

/// What a check returns.
pub type Outcome = Result<(), Finding>;

/// Why a check did not pass.
#[derive(Debug, Clone)]
pub enum Finding {
    /// The server broke a requirement.
    Violation {
        /// The requirement's ID.
        requirement: &'static str,
        /// The level of the broken part (usually the requirement's own).
        level: Level,
        /// What was expected and what was seen.
        message: String,
    },
    /// The check does not apply to this server; the reason says why.
    Skip(String),
    /// The harness or the environment failed; the check says nothing about the
    /// server.
    Error(String),
}

impl Finding {
    /// A violation of `requirement` at its own level in the spec.
    pub fn violation(requirement: &'static str, message: impl Into<String>) -> Finding {
        let level = crate::spec::spec()
            .get(requirement)
            .map_or(Level::Must, |r| r.level);
        Finding::Violation {
            requirement,
            level,
            message: message.into(),
        }
    }

    /// A violation of the SHOULD part of `requirement`.
    pub fn should(requirement: &'static str, message: impl Into<String>) -> Finding {
        Finding::Violation {
            requirement,
            level: Level::Should,
            message: message.into(),
        }
    }

    /// A harness or environment error.
    pub fn error(message: impl Into<String>) -> Finding {
        Finding::Error(message.into())
    }

    /// A skip with its reason.
    pub fn skip(reason: impl Into<String>) -> Finding {
        Finding::Skip(reason.into())
    }
}

/// One check of the suite.
pub struct Check {
    /// Stable ID, `<area>.<what>`, for example `create.accepted`.
    pub id: &'static str,
    /// One line saying what it checks.
    pub title: &'static str,
    /// The conformance class; the check is skipped when the server does not claim it.
    pub class: &'static str,
    /// Every requirement an assertion of the check cites.
    pub requirements: &'static [&'static str],
    /// Checks that must pass first; when one does not, this one is `blocked`.
    pub needs: &'static [&'static str],
    /// How many jobs the check keeps running at once (0 for checks that start no
    /// job). The suite never runs checks whose jobs would exceed the server's
    /// `limits.workers`, so a check's job starts without waiting for others'.
    pub jobs: u32,
    /// The check needs the server to itself (it fills the workers or the queue).
    pub exclusive: bool,
    /// The check itself.
    pub run: fn(Ctx) -> BoxFuture<'static, Outcome>,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("id", &self.id)
            .field("class", &self.class)
            .field("requirements", &self.requirements)
            .finish_non_exhaustive()
    }
}

/// Return a violation of `$req` (at its level in the spec) unless `$cond` holds.
///
/// ```ignore
/// ensure!(resp.status == 202, "JOB-CREATE-1", "expected 202, got {}", resp.status);
/// ```
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $req:literal, $($fmt:tt)+) => {
        // A binding, so that `!` never applies to a comparison of floats.
        {
            let holds: bool = $cond;
            if !holds {
                return Err($crate::check::Finding::violation($req, format!($($fmt)+)));
            }
        }
    };
}

/// Return a violation of the SHOULD part of `$req` unless `$cond` holds.
#[macro_export]
macro_rules! ensure_should {
    ($cond:expr, $req:literal, $($fmt:tt)+) => {
        {
            let holds: bool = $cond;
            if !holds {
                return Err($crate::check::Finding::should($req, format!($($fmt)+)));
            }
        }
    };
}
