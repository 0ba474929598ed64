//! [`Error`]: why a run failed, as a code and a message.

use std::fmt;

/// Why a run failed: a short machine-readable `code` (the job's
/// `error.code`) and a `message` for people (its `error.detail`).
///
/// Codes are lowercase words joined by `-`. The SDK itself uses
/// `invalid-params`, `invalid-input`, `canceled` and `io-error`; pick your
/// own for the rest (`merge-conflict`, `too-large`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    code: String,
    message: String,
}

impl Error {
    /// An error with `code` and `message`.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Error {
        Error {
            code: code.into(),
            message: message.into(),
        }
    }

    /// `invalid-params`: the params are not what the operation needs.
    pub fn invalid_params(message: impl Into<String>) -> Error {
        Error::new("invalid-params", message)
    }

    /// `invalid-input`: an input's bytes are not what the operation needs.
    pub fn invalid_input(message: impl Into<String>) -> Error {
        Error::new("invalid-input", message)
    }

    /// `canceled`: the job was canceled and the run stopped. The runner
    /// reports the job as canceled, not failed.
    pub fn canceled() -> Error {
        Error::new("canceled", "the job was canceled")
    }

    /// The code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether this is [`Error::canceled`].
    pub fn is_canceled(&self) -> bool {
        self.code == "canceled"
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

/// An I/O error while reading an input or writing the result becomes
/// `io-error`, unless it carries an [`Error`] (as [`crate::InputReader`]'s
/// and [`crate::Output`]'s errors do), which is passed on as is.
impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Error {
        match error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<Error>())
        {
            Some(inner) => inner.clone(),
            None => Error::new("io-error", error.to_string()),
        }
    }
}

impl From<Error> for std::io::Error {
    fn from(error: Error) -> std::io::Error {
        std::io::Error::other(error)
    }
}
