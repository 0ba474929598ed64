//! Why a diff failed: the host's own error (a failed read, a cancellation), an
//! input the diff cannot handle, or a failed write of the result.

use std::fmt;
use std::io;

use crate::lines::LineTooLong;

/// A failed diff. `E` is the host's error type, passed through untouched.
#[derive(Debug)]
pub enum DiffError<E> {
    /// The host failed: a read of an input, or a progress report that said the
    /// job was canceled.
    Host(E),
    /// An input has a line longer than the index accepts.
    LineTooLong {
        /// The input's name, `left` or `right`.
        input: &'static str,
        /// Which line, and how long.
        detail: LineTooLong,
    },
    /// An input gave fewer (or more) bytes than asked for: it is shorter than its
    /// declared size, or it changed while being read.
    ShortRead {
        /// The input's name, `left` or `right`.
        input: &'static str,
        /// Where the read started.
        offset: u64,
        /// How many bytes were asked for.
        expected: usize,
        /// How many came back.
        got: usize,
    },
    /// Writing the result failed.
    Write(io::Error),
}

impl<E> DiffError<E> {
    /// Whether the input (not the host) is at fault: the error maps to the code
    /// `invalid-input`.
    #[must_use]
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, Self::LineTooLong { .. } | Self::ShortRead { .. })
    }
}

impl<E> From<io::Error> for DiffError<E> {
    fn from(error: io::Error) -> Self {
        Self::Write(error)
    }
}

impl<E: fmt::Display> fmt::Display for DiffError<E> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Host(error) => error.fmt(formatter),
            Self::LineTooLong { input, detail } => write!(
                formatter,
                "the input `{input}` has a line longer than {} bytes: line {} (at byte {}) \
                 has more than {} bytes",
                detail.limit, detail.line, detail.offset, detail.limit
            ),
            Self::ShortRead {
                input,
                offset,
                expected,
                got,
            } => write!(
                formatter,
                "the input `{input}` gave {got} bytes at byte {offset}, expected {expected}: \
                 it is shorter than its declared size or changed while being read"
            ),
            Self::Write(error) => write!(formatter, "cannot write the result: {error}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for DiffError<E> {}
