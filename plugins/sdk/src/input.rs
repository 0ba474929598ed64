//! [`Inputs`] and [`Input`]: a run's inputs, which stay with the runner
//! until the plugin reads them, in pieces.

use std::io::{self, BufRead, Read};
use std::rc::Rc;

use crate::error::Error;
use crate::host::Host;

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
    pub fn reader(&self) -> InputReader<'_> {
        InputReader {
            input: self,
            next: 0,
            buffer: Vec::new(),
            consumed: 0,
        }
    }
}

/// Reads an [`Input`] from its start, in 1 MiB pieces.
/// Implements [`Read`] and [`BufRead`].
pub struct InputReader<'a> {
    input: &'a Input,
    /// The offset of the next piece to fetch.
    next: u64,
    buffer: Vec<u8>,
    consumed: usize,
}

impl InputReader<'_> {
    /// How many bytes have been consumed so far.
    pub fn position(&self) -> u64 {
        self.next - (self.buffer.len() - self.consumed) as u64
    }
}

impl Read for InputReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for InputReader<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.consumed == self.buffer.len() && self.next < self.input.size {
            self.buffer = self.input.read_at(self.next, READ_CHUNK_BYTES as usize)?;
            self.next += self.buffer.len() as u64;
            self.consumed = 0;
        }
        Ok(&self.buffer[self.consumed..])
    }

    fn consume(&mut self, amount: usize) {
        self.consumed = (self.consumed + amount).min(self.buffer.len());
    }
}
