//! [`Run`]: what a running operation reports through (progress, log,
//! cancellation) and writes its result to ([`Output`]).

use std::io::{self, Write};
use std::rc::Rc;

use crate::error::Error;
use crate::host::{Host, LogLevel, Report};
use crate::progress::StageProgress;

/// How many result bytes are gathered before they are sent to the runner.
const OUTPUT_CHUNK_BYTES: usize = 1 << 20;

/// The run in progress: progress by stage, the log, cancellation and the
/// result.
pub struct Run {
    host: Rc<dyn Host>,
    progress: StageProgress,
    cancelled: bool,
    output: Output,
    media_type: Option<String>,
}

impl Run {
    pub(crate) fn new(host: Rc<dyn Host>, stages: &[(String, u32)]) -> Run {
        Run {
            output: Output {
                host: host.clone(),
                buffer: Vec::new(),
                written: 0,
            },
            host,
            progress: StageProgress::new(stages),
            cancelled: false,
            media_type: None,
        }
    }

    /// Enters the stage `name`, one the description declares, and reports
    /// it. `Err(canceled)` once the job is canceled; an error too if the
    /// stage is not declared (a bug in the plugin, reported as `bad-stage`).
    pub fn stage(&mut self, name: &str) -> Result<(), Error> {
        let step = self
            .progress
            .enter(name)
            .map_err(|message| Error::new("bad-stage", message))?;
        let go_on = self.host.progress(Report {
            percent: Some(step.percent),
            stage: Some(step.stage),
            message: None,
        });
        self.note(go_on)
    }

    /// Reports that `done` of `total` units of the current stage are done
    /// (bytes, items, …). Cheap enough to call for every unit: the runner
    /// hears of it only when the overall percentage has risen by 0.1 or the
    /// stage is complete. `Err(canceled)` once the job is canceled.
    pub fn advance(&mut self, done: u64, total: u64) -> Result<(), Error> {
        if self.cancelled {
            return Err(Error::canceled());
        }
        let Some(step) = self.progress.advance(done, total) else {
            return Ok(());
        };
        let go_on = self.host.progress(Report {
            percent: Some(step.percent),
            stage: Some(step.stage),
            message: None,
        });
        self.note(go_on)
    }

    /// Sets the progress message people see, in the current stage.
    pub fn message(&mut self, message: &str) -> Result<(), Error> {
        let go_on = self.host.progress(Report {
            percent: None,
            stage: self.progress.current(),
            message: Some(message),
        });
        self.note(go_on)
    }

    /// `Err(canceled)` if the job has been canceled. Asks the runner, so
    /// call it now and then in long loops that do not call
    /// [`Run::advance`].
    pub fn check_cancelled(&mut self) -> Result<(), Error> {
        let go_on = !self.is_cancelled();
        self.note(go_on)
    }

    /// Whether the job has been canceled.
    pub fn is_cancelled(&mut self) -> bool {
        self.cancelled = self.cancelled || self.host.is_cancelled();
        self.cancelled
    }

    /// Appends `message` to the job's log at `level`.
    pub fn log(&self, level: LogLevel, message: &str) {
        self.host.log(level, message);
    }

    /// Logs at [`LogLevel::Info`].
    pub fn info(&self, message: &str) {
        self.log(LogLevel::Info, message);
    }

    /// Logs at [`LogLevel::Warn`].
    pub fn warn(&self, message: &str) {
        self.log(LogLevel::Warn, message);
    }

    /// Where the result goes: bytes written here are sent to the runner in
    /// 1 MiB pieces. Wrap it in nothing: it buffers already.
    pub fn output(&mut self) -> &mut Output {
        &mut self.output
    }

    /// Appends `bytes` to the result.
    pub fn write_result(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.output.write_all(bytes).map_err(Error::from)
    }

    /// Sets the result's media type, when it differs from the description's
    /// `result_media_type`.
    pub fn set_media_type(&mut self, media_type: impl Into<String>) {
        self.media_type = Some(media_type.into());
    }

    /// Sends what is left of the result; the media type to return.
    pub(crate) fn finish(mut self) -> Result<Option<String>, Error> {
        self.output.flush().map_err(Error::from)?;
        Ok(self.media_type)
    }

    fn note(&mut self, go_on: bool) -> Result<(), Error> {
        if !go_on {
            self.cancelled = true;
        }
        if self.cancelled {
            Err(Error::canceled())
        } else {
            Ok(())
        }
    }
}

/// The result of a run, written in pieces: implements [`Write`]. Its
/// errors carry an [`Error`] (for example when the result exceeds the
/// runner's bound), which `Error::from` gives back.
pub struct Output {
    host: Rc<dyn Host>,
    buffer: Vec<u8>,
    written: u64,
}

impl Output {
    /// How many bytes have been written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let sent = self.host.write_result(&self.buffer);
        self.buffer.clear();
        sent.map_err(|message| Error::new("result-too-large", message).into())
    }
}

impl Write for Output {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.buffer.len() + bytes.len() > OUTPUT_CHUNK_BYTES {
            self.send()?;
        }
        if bytes.len() >= OUTPUT_CHUNK_BYTES {
            // Large writes go straight through, without a copy into the buffer.
            self.host
                .write_result(bytes)
                .map_err(|message| io::Error::from(Error::new("result-too-large", message)))?;
        } else {
            self.buffer.extend_from_slice(bytes);
        }
        self.written += bytes.len() as u64;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}
