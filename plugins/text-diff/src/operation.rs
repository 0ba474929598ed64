//! The `text-diff` operation on the longrun guest SDK: its description, and
//! [`unified_diff`] run over the SDK's inputs and output.

use std::io::Write;

use longrun_plugin::{Description, Error, Input, InputSpec, Inputs, Operation, Run};

use crate::error::DiffError;
use crate::params::{PARAMS_SCHEMA, Params};
use crate::source::Source;
use crate::stages::{Sink, Stage, unified_diff};

/// The operation name.
pub const NAME: &str = "text-diff";
/// The media type of the result.
pub const RESULT_MEDIA_TYPE: &str = "text/x-diff";

/// The `text-diff` operation: a unified diff of the inputs `left` and `right`.
pub struct TextDiff;

impl Operation for TextDiff {
    type Params = Params;

    fn describe() -> Description {
        let description = Description::new(NAME, env!("CARGO_PKG_VERSION"))
            .title("Diff two texts")
            .description(
                "A unified diff (the `diff -u` format GNU patch applies) that turns `left` into \
                 `right`, with `context` unchanged lines around each change and the labels \
                 `leftLabel`/`rightLabel` on the `---`/`+++` lines. Lines end after `\\n`; any \
                 bytes are accepted, `\\r` stays part of a line, and a last line without `\\n` \
                 is marked `\\ No newline at end of file`. Equal inputs give an empty result. \
                 Built for large inputs: lines are compared by 128-bit hashes and read back only \
                 for the hunks that show them.",
            );
        Stage::ALL
            .into_iter()
            .fold(description, |description, stage| {
                description.stage(stage.name(), stage.weight())
            })
            .input(
                InputSpec::new("left")
                    .description("The original text: the diff applies to it.")
                    .required(),
            )
            .input(
                InputSpec::new("right")
                    .description("The changed text: applying the diff to `left` gives it.")
                    .required(),
            )
            .params_schema(PARAMS_SCHEMA)
            .result_media_type(RESULT_MEDIA_TYPE)
    }

    fn run(params: Params, inputs: &Inputs, run: &mut Run) -> Result<(), Error> {
        let left = inputs.require("left")?;
        let right = inputs.require("right")?;
        let summary =
            unified_diff(left, right, &params, &mut RunSink { run }).map_err(into_error)?;
        let outcome = if summary.hunks == 0 {
            "the texts are equal".to_owned()
        } else {
            format!(
                "hunks: {}, lines removed: {}, lines added: {}",
                summary.hunks, summary.removed, summary.added
            )
        };
        run.info(&format!(
            "`left` has {} lines, `right` {}; {outcome}",
            summary.left_lines, summary.right_lines
        ));
        Ok(())
    }
}

impl Source<Error> for Input {
    fn size(&self) -> u64 {
        Input::size(self)
    }

    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, Error> {
        Input::read_at(self, offset, len)
    }
}

/// The SDK's [`Run`] as the diff's [`Sink`].
struct RunSink<'a> {
    run: &'a mut Run,
}

impl Sink for RunSink<'_> {
    type Error = Error;

    fn stage(&mut self, stage: Stage) -> Result<(), Error> {
        self.run.stage(stage.name())
    }

    fn advance(&mut self, done: u64, total: u64) -> Result<(), Error> {
        self.run.advance(done, total)
    }

    fn output(&mut self) -> &mut dyn Write {
        self.run.output()
    }
}

/// The SDK error for a failed diff: the host's own errors as they are, an
/// unusable input as `invalid-input`, a failed write as the error it carries.
fn into_error(error: DiffError<Error>) -> Error {
    match error {
        DiffError::Host(error) => error,
        DiffError::Write(error) => Error::from(error),
        invalid @ (DiffError::LineTooLong { .. } | DiffError::ShortRead { .. }) => {
            Error::invalid_input(invalid.to_string())
        }
    }
}
