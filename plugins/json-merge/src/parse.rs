//! Parsing the inputs as JSON, streamed from the runner, with progress.
//!
//! Each input is parsed with `serde_json::from_reader` straight from
//! [`Input::reader`], so its text is never held whole in memory. Progress in
//! the stage is the share of all the inputs' bytes read so far, reported
//! every [`REPORT_EVERY_BYTES`] and at the end of each input; a cancel seen
//! there stops the parse at once.

use std::io::{self, Read};

use longrun_plugin::{Error, Input, Run};
use serde_json::Value;

/// How many bytes are read between two progress reports.
pub const REPORT_EVERY_BYTES: u64 = 64 * 1024;

/// Parses every input in `inputs`, in order, advancing the current stage of
/// `run` by bytes read.
///
/// # Errors
///
/// `invalid-input` naming the input and the line and column where its JSON
/// goes wrong; `canceled`, or the SDK's `io-error`, while reading.
pub fn parse_all(inputs: &[&Input], run: &mut Run) -> Result<Vec<Value>, Error> {
    let total: u64 = inputs.iter().map(|input| input.size()).sum();
    let mut done = 0;
    let mut documents = Vec::with_capacity(inputs.len());
    for input in inputs {
        let counted = Counted {
            inner: input.reader(),
            run: &mut *run,
            done,
            total,
            unreported: 0,
        };
        let document = serde_json::from_reader(counted).map_err(|error| not_json(input, error))?;
        documents.push(document);
        done += input.size();
        run.advance(done, total)?;
    }
    Ok(documents)
}

/// The error for an input that did not parse.
fn not_json(input: &Input, error: serde_json::Error) -> Error {
    if error.is_io() {
        // Reading failed (or the job was canceled): that error, as the SDK made it.
        return Error::from(io::Error::from(error));
    }
    Error::invalid_input(format!(
        "the input `{}` is not valid JSON: {error}",
        input.name()
    ))
}

/// A reader that advances the run's progress as bytes go through it.
struct Counted<'r, R> {
    inner: R,
    run: &'r mut Run,
    /// Bytes of all the inputs read so far.
    done: u64,
    /// Bytes of all the inputs.
    total: u64,
    unreported: u64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.done += read as u64;
        self.unreported += read as u64;
        if self.unreported >= REPORT_EVERY_BYTES {
            self.unreported = 0;
            self.run.advance(self.done, self.total)?;
        }
        Ok(read)
    }
}
