//! Parsing the inputs as JSON, streamed from the runner, with progress.
//!
//! Each input is parsed with `serde_json::from_reader` straight from
//! [`Input::reader_with_progress`], so its text is never held whole in
//! memory. Progress in the stage is the share of all the inputs' bytes read
//! so far, reported as each piece arrives and at the end of each input; a
//! cancel seen there stops the parse at once.

use std::io;

use longrun_plugin::{Error, Input, Run};
use serde_json::Value;

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
        let reader = input.reader_with_progress(run, done, total);
        let document = serde_json::from_reader(reader).map_err(|error| not_json(input, error))?;
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
