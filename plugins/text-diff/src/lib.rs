//! The `text-diff` operation for longrun: a unified diff (`diff -u`, the format
//! GNU patch applies) of the inputs `left` and `right`.
//!
//! Built for big inputs (two 100 MB texts in a 512 MiB wasm memory): neither text
//! is ever held whole.
//!
//! 1. `read` streams each input in 1 MiB pieces and keeps per line only its
//!    start offset and a 128-bit hash of its bytes ([`lines`]).
//! 2. `diff` runs Myers over the two hash sequences ([`line_diff`]).
//! 3. `render` groups the changes into hunks with `context` lines and reads back
//!    from the inputs, by offset, just the lines each hunk shows ([`unified`]).
//!
//! # Memory
//!
//! Per line of both texts: 24 bytes of index (an 8-byte offset and a 16-byte
//! hash; a line's length is the distance to the next offset), plus the diff's
//! working set while `diff` runs (a few machine words a line; the hashes are
//! dropped after it), plus one piece of at most 1 MiB (or one line) at a time.
//! Natively, two 100 MB texts of about 31-byte lines (6.4 million lines in all)
//! took about 150 MB beyond the texts themselves. The index grows with the line
//! count, not the byte count: texts of very short lines need more, and 100 MB of
//! empty lines would not fit in 512 MiB.
//!
//! # Comparing lines by hash
//!
//! Two lines count as equal when their XXH3-128 hashes are equal. XXH3-128 is not
//! a cryptographic hash, but for inputs not built to collide it behaves as a
//! random function: two different lines share a hash with probability about
//! 2^-128. Two 100 MB texts have at most about 2·10^8 lines, so at most about
//! (2·10^8)^2 / 2 = 2·10^16 < 2^55 pairs of lines; by the union bound the chance
//! that any two different lines collide is below 2^-73. A collision would make
//! the diff treat the two lines as equal: the output could show the left one as
//! context where `right` has the other, wrong at that line only.
//!
//! The logic is plain Rust over the [`Source`] and [`Sink`] traits, built and tested
//! natively; [`operation`] binds it to the longrun guest SDK as [`TextDiff`].

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod line_diff;
pub mod lines;
pub mod memory;
pub mod operation;
pub mod params;
pub mod source;
pub mod stages;
pub mod unified;

pub use error::DiffError;
pub use memory::{MemorySink, Report, diff_bytes};
pub use operation::TextDiff;
pub use params::{PARAMS_SCHEMA, Params};
pub use source::Source;
pub use stages::{Sink, Stage, Summary, unified_diff};

#[cfg(target_arch = "wasm32")]
longrun_plugin::export!(TextDiff);
