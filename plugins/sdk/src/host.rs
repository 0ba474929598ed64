//! What a run needs from the runner, as a trait: the WIT imports in a
//! WebAssembly build ([`crate::guest`]), an in-memory stand-in in tests
//! ([`crate::testing`]).

/// The level of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Very detailed tracing.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal events.
    Info,
    /// Something unexpected that the run survives.
    Warn,
    /// A failure.
    Error,
}

/// A progress report, as the runner receives it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Report<'a> {
    /// The overall percentage, 0 to 100, if it changed.
    pub(crate) percent: Option<f64>,
    /// The current stage.
    pub(crate) stage: Option<&'a str>,
    /// A message for people.
    pub(crate) message: Option<&'a str>,
}

/// The runner's side of a run.
pub(crate) trait Host {
    /// Appends a line to the job's log.
    fn log(&self, level: LogLevel, message: &str);
    /// Reports progress; `false` once the job is canceled.
    fn progress(&self, report: Report<'_>) -> bool;
    /// Whether the job is canceled.
    fn is_cancelled(&self) -> bool;
    /// `min(length, size - offset)` bytes of input `index` from `offset`.
    fn read_input(&self, index: u32, offset: u64, length: u32) -> Result<Vec<u8>, String>;
    /// Appends bytes to the result.
    fn write_result(&self, data: &[u8]) -> Result<(), String>;
}
