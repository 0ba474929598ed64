//! [`Inputs`] and [`Input`]: a run's inputs, which stay with the runner
//! until the plugin reads them, in pieces.

use std::io::{self, BufReader, Read};
use std::rc::Rc;

use crate::error::Error;
use crate::host::Host;
use crate::run::Run;

/// How many bytes [`InputReader`] asks the runner for at a time.
pub(crate) const READ_CHUNK_BYTES: u32 = 1 << 20;

/// The inputs of a run: those the request gave, in the order the
/// description declares them.
pub struct Inputs {
    inputs: Vec<Input>,
}

impl Inputs {
    pub(crate) fn new(inputs: Vec<Input>) -> Inputs {
        Inputs { inputs }
    }

    /// The input named `name`, if the request gave it.
    pub fn get(&self, name: &str) -> Option<&Input> {
        self.inputs.iter().find(|input| input.name == name)
    }

    /// The input named `name`, or an `invalid-input` error saying it is
    /// missing (the runner refuses a request without a required input, so
    /// this only fails for inputs the description does not require).
    pub fn require(&self, name: &str) -> Result<&Input, Error> {
        self.get(name)
            .ok_or_else(|| Error::invalid_input(format!("the input `{name}` is missing")))
    }

    /// Every given input, in declared order.
    pub fn iter(&self) -> impl Iterator<Item = &Input> {
        self.inputs.iter()
    }

    /// How many inputs were given.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Whether none were given.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }
}

/// One input: its name, media type and size. Its bytes are read on demand.
pub struct Input {
    host: Rc<dyn Host>,
    index: u32,
    name: String,
    media_type: String,
    size: u64,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("name", &self.name)
            .field("media_type", &self.media_type)
            .field("size", &self.size)
            .finish()
    }
}

impl Input {
    pub(crate) fn new(
        host: Rc<dyn Host>,
        index: u32,
        name: String,
        media_type: String,
        size: u64,
    ) -> Input {
        Input {
            host,
            index,
            name,
            media_type,
            size,
        }
    }

    /// The input's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its media type.
    pub fn media_type(&self) -> &str {
        &self.media_type
    }

    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Up to `length` bytes from `offset`: exactly `length` unless the input
    /// ends first (an offset at or past the end gives none).
    pub fn read_at(&self, offset: u64, length: usize) -> Result<Vec<u8>, Error> {
        if offset >= self.size || length == 0 {
            return Ok(Vec::new());
        }
        let wanted = length.min(usize::try_from(self.size - offset).unwrap_or(usize::MAX));
        let mut bytes = Vec::with_capacity(wanted);
        while bytes.len() < wanted {
            let at = offset + bytes.len() as u64;
            let ask = u32::try_from(wanted - bytes.len()).unwrap_or(u32::MAX);
            let piece = self.host.read_input(self.index, at, ask).map_err(|e| {
                Error::new("io-error", format!("reading input `{}`: {e}", self.name))
            })?;
            if piece.is_empty() {
                return Err(Error::new(
                    "io-error",
                    format!(
                        "input `{}` ended at byte {at}, before its size of {} bytes",
                        self.name, self.size
                    ),
                ));
            }
            bytes.extend_from_slice(&piece);
        }
        Ok(bytes)
    }

    /// The whole input in memory. Prefer [`Input::reader`] for inputs that
    /// may be large.
    pub fn bytes(&self) -> Result<Vec<u8>, Error> {
        let size = usize::try_from(self.size).map_err(|_| {
            Error::invalid_input(format!("input `{}` is too large to hold", self.name))
        })?;
        self.read_at(0, size)
    }

    /// The whole input as UTF-8 text, or an `invalid-input` error naming the
    /// first invalid byte.
    pub fn text(&self) -> Result<String, Error> {
        String::from_utf8(self.bytes()?).map_err(|e| {
            Error::invalid_input(format!(
                "input `{}` is not UTF-8 text (invalid byte at offset {})",
                self.name,
                e.utf8_error().valid_up_to()
            ))
        })
    }

    /// A buffered reader over the input, reading 1 MiB at a time. Its I/O
    /// errors carry an [`Error`], which `Error::from` gives back.
    ///
    /// It is a [`std::io::BufReader`], for which the standard library reads
    /// single bytes straight from the buffer: parsers that read a byte at a
    /// time, such as `serde_json::from_reader`, run at full speed on it.
    pub fn reader(&self) -> InputReader<'_> {
        self.source(None)
    }

    /// Like [`Input::reader`], and advances the current stage of `run` as it
    /// reads: `done_before + bytes read so far` of `total`. `done_before`
    /// and `total` let several inputs share one stage (pass `0` and
    /// [`Input::size`] for one input alone). A cancel seen while reporting
    /// ends the read with an error that carries [`Error::canceled`].
    ///
    /// ```no_run
    /// # use longrun_plugin::{Error, Inputs, Run};
    /// # fn parse(inputs: &Inputs, run: &mut Run) -> Result<(), Error> {
    /// let document = inputs.require("document")?;
    /// run.stage("parse")?;
    /// let reader = document.reader_with_progress(run, 0, document.size());
    /// let value: serde_json::Value = serde_json::from_reader(reader)
    ///     .map_err(|e| Error::invalid_input(format!("not JSON: {e}")))?;
    /// # Ok(()) }
    /// ```
    pub fn reader_with_progress<'a>(
        &'a self,
        run: &'a mut Run,
        done_before: u64,
        total: u64,
    ) -> InputReader<'a> {
        self.source(Some(ReadProgress {
            run,
            done_before,
            total,
        }))
    }

    fn source<'a>(&'a self, progress: Option<ReadProgress<'a>>) -> InputReader<'a> {
        BufReader::with_capacity(
            READ_CHUNK_BYTES as usize,
            InputSource {
                input: self,
                next: 0,
                progress,
            },
        )
    }
}

/// Reads an [`Input`] from its start, in 1 MiB pieces: a
/// [`BufReader`] over an [`InputSource`]. Made by [`Input::reader`] and
/// [`Input::reader_with_progress`].
pub type InputReader<'a> = BufReader<InputSource<'a>>;

/// The unbuffered source under an [`InputReader`]: each `read` asks the
/// runner for one piece of the input.
pub struct InputSource<'a> {
    input: &'a Input,
    /// The offset of the next piece to fetch.
    next: u64,
    progress: Option<ReadProgress<'a>>,
}

/// Where an [`InputSource`] reports the bytes it has read.
struct ReadProgress<'a> {
    run: &'a mut Run,
    done_before: u64,
    total: u64,
}

impl Read for InputSource<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let length = out.len().min(READ_CHUNK_BYTES as usize);
        let piece = self.input.read_at(self.next, length)?;
        out[..piece.len()].copy_from_slice(&piece);
        self.next += piece.len() as u64;
        if let Some(progress) = &mut self.progress {
            progress
                .run
                .advance(progress.done_before + self.next, progress.total)?;
        }
        Ok(piece.len())
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, Read};

    use crate::testing::Harness;
    use crate::{Description, Error, Inputs, Operation, Run};

    /// Copies input `data` to the result through `reader_with_progress`.
    struct CopyInput;

    impl Operation for CopyInput {
        type Params = serde_json::Value;

        fn describe() -> Description {
            Description::new("copy", "1.0.0").stage("copy", 1)
        }

        fn run(_: serde_json::Value, inputs: &Inputs, run: &mut Run) -> Result<(), Error> {
            let data = inputs.require("data")?;
            run.stage("copy")?;
            let mut copied = Vec::new();
            data.reader_with_progress(run, 0, data.size())
                .read_to_end(&mut copied)?;
            run.write_result(&copied)
        }
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn reads_every_byte_in_order_whatever_the_runner_hands_out() {
        let input = data(3 * (1 << 20) + 17);
        for max_read in [1 << 20, 65_537, 7] {
            let done = Harness::new("{}")
                .input("data", "application/octet-stream", input.clone())
                .max_read(max_read)
                .run::<CopyInput>();
            assert_eq!(done.result.unwrap(), input, "max_read {max_read}");
        }
    }

    #[test]
    fn progress_rises_with_the_bytes_read_to_the_whole() {
        let done = Harness::new("{}")
            .input("data", "application/octet-stream", data(4 << 20))
            .run::<CopyInput>();
        let percents = done.percents();
        done.result.unwrap();
        assert!(percents.windows(2).all(|w| w[0] <= w[1]), "{percents:?}");
        // A report for each of the four 1 MiB pieces besides the stage's own.
        assert!(percents.len() >= 5, "{percents:?}");
        assert_eq!(percents.last(), Some(&100.0));
    }

    #[test]
    fn a_cancel_seen_while_reading_ends_the_read_with_canceled() {
        let done = Harness::new("{}")
            .input("data", "application/octet-stream", data(4 << 20))
            .cancel_after(2)
            .run::<CopyInput>();
        assert!(done.result.unwrap_err().is_canceled());
    }

    #[test]
    fn the_plain_reader_is_a_bufread() {
        struct Lines;
        impl Operation for Lines {
            type Params = serde_json::Value;
            fn describe() -> Description {
                Description::new("lines", "1.0.0")
            }
            fn run(_: serde_json::Value, inputs: &Inputs, run: &mut Run) -> Result<(), Error> {
                let count = inputs.require("data")?.reader().lines().count();
                run.write_result(count.to_string().as_bytes())
            }
        }
        let done = Harness::new("{}")
            .input("data", "text/plain", b"a\nb\nc\n".to_vec())
            .max_read(1)
            .run::<Lines>();
        assert_eq!(done.result.unwrap(), b"3");
    }
}
