//! # longrun-conformance
//!
//! Checks any HTTP server against the longrun protocol, `spec/protocol.md`.
//!
//! The suite is a list of [`Check`]s, each citing the requirement IDs it
//! verifies, grouped by conformance class. A run ([`suite::run`]) reads the
//! server's service document, skips the classes the server does not claim,
//! runs the rest concurrently and turns what each check found into a
//! [`Verdict`]: `pass`, `fail` (a MUST broken), `warn` (a SHOULD broken),
//! `skip`, `blocked` (a check it needs did not pass) or `error` (the harness or
//! the environment failed). Reports ([`report`]) show every failure with the
//! requirement's text, the exchange that showed it and a curl command that
//! repeats it.
//!
//! The flow of a run, by module:
//!
//! - [`spec`]: the requirements, parsed from the embedded protocol text;
//! - [`checks`]: the checks, one module per section of the protocol;
//! - [`context`] and [`jobs`]: what a check is written with (a recording HTTP
//!   client, deadline-bounded waits, the `probe` fixture);
//! - [`receiver`]: the callback receiver;
//! - [`timestamps`]: GEN-2 timestamps, judged, parsed and written;
//! - [`suite`]: selection, scheduling and clean-up;
//! - [`verdict`], [`expected`] and [`report`]: results, known failures, output;
//! - [`fuzz`]: model-based fuzzing of job lifecycles.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use longrun_conformance::{checks, config::SuiteConfig, suite};
//!
//! let config = SuiteConfig::new("http://127.0.0.1:8080".parse()?);
//! let selected = suite::select(&checks::all(), &config).map_err(anyhow::Error::msg)?;
//! let report = suite::run(config, selected).await?;
//! assert_eq!(report.exit_code, 0, "{}", longrun_conformance::report::terminal::render(&report, false));
//! # Ok(()) }
//! ```

pub mod check;
pub mod checks;
pub mod config;
pub mod context;
pub mod exchange;
pub mod expected;
pub mod fuzz;
pub mod jobs;
pub mod receiver;
pub mod report;
pub mod server_info;
pub mod spec;
pub mod sse;
pub mod suite;
pub mod timestamps;
pub mod verdict;

pub use check::{Check, Finding, Outcome};
pub use verdict::Verdict;
