//! Running an [`Operation`] natively, in memory, for tests: no runner, no
//! WebAssembly.
//!
//! ```
//! # use longrun_plugin::{Description, Error, Inputs, Operation, Run};
//! # struct Echo;
//! # impl Operation for Echo {
//! #     type Params = serde_json::Value;
//! #     fn describe() -> Description { Description::new("echo", "1.0.0").stage("copy", 1) }
//! #     fn run(_: serde_json::Value, inputs: &Inputs, run: &mut Run) -> Result<(), Error> {
//! #         run.stage("copy")?;
//! #         let data = inputs.require("data")?.bytes()?;
//! #         run.write_result(&data)
//! #     }
//! # }
//! use longrun_plugin::testing::Harness;
//!
//! let done = Harness::new("{}")
//!     .input("data", "text/plain", b"hello".to_vec())
//!     .run::<Echo>();
//! assert_eq!(done.stages(), ["copy"]);
//! assert_eq!(done.result.unwrap(), b"hello");
//! ```
//!
//! The harness does not validate params against the params schema (the
//! runner does that before a run); it does hand the inputs over in the
//! order the description declares them, as the runner does.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::Operation;
use crate::error::Error;
use crate::guest::{Announced, run_with};
use crate::host::{Host, LogLevel, Report};

/// A run to make: params, inputs, and when to cancel.
#[derive(Debug, Clone)]
pub struct Harness {
    params: String,
    inputs: Vec<(String, String, Vec<u8>)>,
    cancel_after_reports: Option<usize>,
    max_read_bytes: u32,
}

/// One progress report the operation made.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressReport {
    /// The overall percentage, if the report had one.
    pub percent: Option<f64>,
    /// The stage, if the report named one.
    pub stage: Option<String>,
    /// The message, if the report had one.
    pub message: Option<String>,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct TestRun {
    /// The result bytes, or the error the run returned.
    pub result: Result<Vec<u8>, Error>,
    /// The media type the operation set, if it set one.
    pub media_type: Option<String>,
    /// Every progress report, in order.
    pub progress: Vec<ProgressReport>,
    /// Every log line, in order.
    pub log: Vec<(LogLevel, String)>,
    /// The largest single read of an input the operation asked for.
    pub largest_read: u32,
}

impl TestRun {
    /// The stages the run entered, in order, each once per change.
    pub fn stages(&self) -> Vec<&str> {
        let mut stages: Vec<&str> = Vec::new();
        for stage in self.progress.iter().filter_map(|p| p.stage.as_deref()) {
            if stages.last() != Some(&stage) {
                stages.push(stage);
            }
        }
        stages
    }

    /// The percentages reported, in order.
    pub fn percents(&self) -> Vec<f64> {
        self.progress.iter().filter_map(|p| p.percent).collect()
    }
}

impl Harness {
    /// A run with `params` (JSON text) and no inputs.
    pub fn new(params: impl Into<String>) -> Harness {
        Harness {
            params: params.into(),
            inputs: Vec::new(),
            cancel_after_reports: None,
            max_read_bytes: u32::MAX,
        }
    }

    /// Adds the input `name` with its media type and bytes.
    pub fn input(
        mut self,
        name: impl Into<String>,
        media_type: impl Into<String>,
        data: Vec<u8>,
    ) -> Harness {
        self.inputs.push((name.into(), media_type.into(), data));
        self
    }

    /// Cancels the job once the operation has made `reports` progress
    /// reports: that report, and every later one, answers "stop".
    pub fn cancel_after(mut self, reports: usize) -> Harness {
        self.cancel_after_reports = Some(reports);
        self
    }

    /// Serves at most `bytes` per input read, as a runner may not (it serves
    /// what is asked); for testing readers.
    pub fn max_read(mut self, bytes: u32) -> Harness {
        self.max_read_bytes = bytes.max(1);
        self
    }

    /// Runs `O` to the end.
    pub fn run<O: Operation>(self) -> TestRun {
        let declared = O::describe();
        let mut inputs = self.inputs;
        inputs.sort_by_key(|(name, _, _)| {
            declared
                .inputs()
                .iter()
                .position(|spec| spec.name() == name)
                .unwrap_or(usize::MAX)
        });
        let announced = inputs
            .iter()
            .map(|(name, media_type, data)| Announced {
                name: name.clone(),
                media_type: media_type.clone(),
                size: data.len() as u64,
            })
            .collect();
        let host = Rc::new(MemoryHost {
            inputs: inputs.into_iter().map(|(_, _, data)| data).collect(),
            result: RefCell::default(),
            progress: RefCell::default(),
            log: RefCell::default(),
            cancel_after_reports: self.cancel_after_reports,
            max_read_bytes: self.max_read_bytes,
            largest_read: Cell::new(0),
        });
        let outcome = run_with::<O>(host.clone(), &self.params, announced);
        let (result, media_type) = match outcome {
            Ok(media_type) => (Ok(host.result.take()), media_type),
            Err(error) => (Err(error), None),
        };
        TestRun {
            result,
            media_type,
            progress: host.progress.take(),
            log: host.log.take(),
            largest_read: host.largest_read.get(),
        }
    }
}

/// The runner's side of a test run, in memory.
struct MemoryHost {
    inputs: Vec<Vec<u8>>,
    result: RefCell<Vec<u8>>,
    progress: RefCell<Vec<ProgressReport>>,
    log: RefCell<Vec<(LogLevel, String)>>,
    cancel_after_reports: Option<usize>,
    max_read_bytes: u32,
    largest_read: Cell<u32>,
}

impl Host for MemoryHost {
    fn log(&self, level: LogLevel, message: &str) {
        self.log.borrow_mut().push((level, message.to_owned()));
    }

    fn progress(&self, report: Report<'_>) -> bool {
        let mut progress = self.progress.borrow_mut();
        progress.push(ProgressReport {
            percent: report.percent,
            stage: report.stage.map(str::to_owned),
            message: report.message.map(str::to_owned),
        });
        !self.is_cancelled_after(progress.len())
    }

    fn is_cancelled(&self) -> bool {
        self.is_cancelled_after(self.progress.borrow().len())
    }

    fn read_input(&self, index: u32, offset: u64, length: u32) -> Result<Vec<u8>, String> {
        let data = self
            .inputs
            .get(index as usize)
            .ok_or_else(|| format!("there is no input {index}"))?;
        let start = usize::try_from(offset)
            .ok()
            .filter(|&start| start <= data.len())
            .ok_or_else(|| format!("offset {offset} is past the end ({} bytes)", data.len()))?;
        self.largest_read.set(self.largest_read.get().max(length));
        let length = length.min(self.max_read_bytes) as usize;
        let end = start.saturating_add(length).min(data.len());
        Ok(data[start..end].to_vec())
    }

    fn write_result(&self, data: &[u8]) -> Result<(), String> {
        self.result.borrow_mut().extend_from_slice(data);
        Ok(())
    }
}

impl MemoryHost {
    fn is_cancelled_after(&self, reports: usize) -> bool {
        self.cancel_after_reports
            .is_some_and(|after| reports >= after)
    }
}
