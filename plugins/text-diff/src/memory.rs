//! The diff in memory: a [`Sink`] that keeps the output and every progress
//! report, for native callers and tests.

use std::convert::Infallible;
use std::io::Write;

use crate::error::DiffError;
use crate::params::Params;
use crate::stages::{Sink, Stage, unified_diff};

/// One progress report: the stage, and `done` of `total` within it (a stage
/// entry reads `0` of `0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// The stage reported on.
    pub stage: Stage,
    /// Units done within the stage.
    pub done: u64,
    /// Units in the stage.
    pub total: u64,
}

/// A [`Sink`] that collects the diff text and the progress reports; it never
/// asks the diff to stop.
#[derive(Debug, Default)]
pub struct MemorySink {
    /// The diff text written so far.
    pub output: Vec<u8>,
    /// Every report, in order.
    pub reports: Vec<Report>,
    stage: Option<Stage>,
}

impl Sink for MemorySink {
    type Error = Infallible;

    fn stage(&mut self, stage: Stage) -> Result<(), Infallible> {
        self.stage = Some(stage);
        self.reports.push(Report {
            stage,
            done: 0,
            total: 0,
        });
        Ok(())
    }

    fn advance(&mut self, done: u64, total: u64) -> Result<(), Infallible> {
        let stage = self.stage.unwrap_or(Stage::Read);
        self.reports.push(Report { stage, done, total });
        Ok(())
    }

    fn output(&mut self) -> &mut dyn Write {
        &mut self.output
    }
}

/// The unified diff of two in-memory texts (empty when they are equal).
///
/// # Errors
///
/// Only [`DiffError::LineTooLong`], for a line longer than 4 GiB.
pub fn diff_bytes(
    left: &[u8],
    right: &[u8],
    params: &Params,
) -> Result<Vec<u8>, DiffError<Infallible>> {
    let mut sink = MemorySink::default();
    unified_diff(left, right, params, &mut sink)?;
    Ok(sink.output)
}
