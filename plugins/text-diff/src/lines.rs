//! The line index of a text: per line only where it starts and a 128-bit hash
//! of its bytes, never the text itself.
//!
//! A line ends after `\n` (so `\r\n` lines keep their `\r`, and a text's last
//! line may lack the `\n`). The hash covers the line's bytes including its
//! terminator, so `a` and `a\n` are different lines, as they are to `diff`.
//!
//! The index is fed the text in chunks of any size ([`LineIndexer::feed`]); a line
//! split across chunks is hashed with a streaming XXH3, which gives the same
//! value as hashing it in one piece. Memory: 24 bytes a line (an 8-byte start and
//! a 16-byte hash); a line's length is the distance to the next start.

use std::ops::Range;

use xxhash_rust::xxh3::{Xxh3Default, xxh3_128};

/// The longest line the index accepts, in bytes (its `\n` included).
pub const MAX_LINE_LEN: u64 = u32::MAX as u64;

/// A line longer than [`MAX_LINE_LEN`] bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTooLong {
    /// The 1-based number of the line.
    pub line: u64,
    /// Its byte offset in the text.
    pub offset: u64,
    /// How many bytes of it were seen before giving up (more than the limit).
    pub len: u64,
    /// The limit it broke.
    pub limit: u64,
}

/// Builds a [`LineIndex`] from a text fed in chunks.
pub struct LineIndexer {
    starts: Vec<u64>,
    hashes: Vec<u128>,
    /// Hashes the start of a line that a chunk boundary cut; empty otherwise.
    partial: Xxh3Default,
    /// Whether `partial` holds the beginning of the current line.
    in_line: bool,
    line_start: u64,
    position: u64,
    max_line_len: u64,
}

impl Default for LineIndexer {
    fn default() -> Self {
        Self::new()
    }
}

impl LineIndexer {
    /// An indexer for a text of unknown size.
    #[must_use]
    pub fn new() -> Self {
        Self::with_max_line_len(MAX_LINE_LEN)
    }

    /// An indexer that rejects lines longer than `max_line_len` bytes (tests use
    /// small limits; [`LineIndexer::new`] uses [`MAX_LINE_LEN`]).
    #[must_use]
    pub fn with_max_line_len(max_line_len: u64) -> Self {
        Self {
            starts: Vec::new(),
            hashes: Vec::new(),
            partial: Xxh3Default::new(),
            in_line: false,
            line_start: 0,
            position: 0,
            max_line_len,
        }
    }

    /// Reserves room for about `bytes` more bytes of text, guessing the line count
    /// from a typical line length so a big text does not grow the index in many
    /// doublings.
    pub fn reserve_for(&mut self, bytes: u64) {
        const TYPICAL_LINE_LEN: u64 = 64;
        let lines = usize::try_from(bytes / TYPICAL_LINE_LEN).unwrap_or(0);
        self.starts.reserve(lines);
        self.hashes.reserve(lines);
    }

    /// Feeds the next chunk of the text.
    ///
    /// # Errors
    ///
    /// [`LineTooLong`] once the current line grows past the limit.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), LineTooLong> {
        let mut rest = chunk;
        while let Some(newline) = rest.iter().position(|&byte| byte == b'\n') {
            let (piece, tail) = rest.split_at(newline + 1);
            self.end_line(piece)?;
            rest = tail;
        }
        if !rest.is_empty() {
            self.position += rest.len() as u64;
            self.check_len()?;
            if !self.in_line {
                self.partial.reset();
                self.in_line = true;
            }
            self.partial.update(rest);
        }
        Ok(())
    }

    /// Ends the index: the text's last line may lack its `\n`.
    ///
    /// # Errors
    ///
    /// Never in practice ([`LineIndexer::feed`] already checked the length); kept
    /// for symmetry with `feed`.
    pub fn finish(mut self) -> Result<LineIndex, LineTooLong> {
        if self.position > self.line_start {
            self.check_len()?;
            let hash = self.partial.digest128();
            self.push(hash);
        }
        self.starts.push(self.position);
        self.starts.shrink_to_fit();
        self.hashes.shrink_to_fit();
        Ok(LineIndex {
            spans: LineSpans {
                starts: self.starts,
            },
            hashes: self.hashes,
        })
    }

    /// Ends the current line with `piece`, its last bytes (ending in `\n`).
    fn end_line(&mut self, piece: &[u8]) -> Result<(), LineTooLong> {
        self.position += piece.len() as u64;
        self.check_len()?;
        let hash = if self.in_line {
            self.partial.update(piece);
            self.partial.digest128()
        } else {
            xxh3_128(piece)
        };
        self.push(hash);
        Ok(())
    }

    fn push(&mut self, hash: u128) {
        self.starts.push(self.line_start);
        self.hashes.push(hash);
        self.line_start = self.position;
        self.in_line = false;
    }

    fn check_len(&self) -> Result<(), LineTooLong> {
        let len = self.position - self.line_start;
        if len > self.max_line_len {
            return Err(LineTooLong {
                line: self.hashes.len() as u64 + 1,
                offset: self.line_start,
                len,
                limit: self.max_line_len,
            });
        }
        Ok(())
    }
}

/// The index of one text: its lines' hashes (for the diff) and spans (to read
/// the lines back when rendering).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineIndex {
    /// Where each line is.
    pub spans: LineSpans,
    /// The XXH3-128 of each line's bytes, terminator included.
    pub hashes: Vec<u128>,
}

/// Where each line of a text is: line `i` is bytes `starts[i]..starts[i + 1]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineSpans {
    /// One start per line, then the text's size.
    starts: Vec<u64>,
}

impl LineSpans {
    /// The number of lines.
    #[must_use]
    pub fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// Whether the text has no lines (is empty).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The byte range of the lines `lines` (a range of 0-based line numbers,
    /// within `0..=len()`).
    ///
    /// # Panics
    ///
    /// When `lines` reaches past the last line.
    #[must_use]
    pub fn bytes(&self, lines: Range<usize>) -> Range<u64> {
        self.starts[lines.start]..self.starts[lines.end]
    }

    /// The byte range of line `line` (0-based).
    ///
    /// # Panics
    ///
    /// When there is no such line.
    #[must_use]
    pub fn line(&self, line: usize) -> Range<u64> {
        self.bytes(line..line + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(chunks: &[&[u8]]) -> LineIndex {
        let mut indexer = LineIndexer::new();
        for chunk in chunks {
            indexer.feed(chunk).unwrap();
        }
        indexer.finish().unwrap()
    }

    fn lines(index: &LineIndex) -> Vec<Range<u64>> {
        (0..index.spans.len())
            .map(|line| index.spans.line(line))
            .collect()
    }

    #[test]
    fn lines_end_after_newline_and_the_last_may_lack_it() {
        let text = b"a\r\n\nlast";
        let index = index(&[text]);
        assert_eq!(lines(&index), [0..3, 3..4, 4..8]);
        assert_eq!(
            index.hashes,
            [xxh3_128(b"a\r\n"), xxh3_128(b"\n"), xxh3_128(b"last")]
        );
        assert_eq!(index.spans.bytes(0..3), 0..8);
    }

    #[test]
    fn empty_text_has_no_lines() {
        let index = index(&[]);
        assert!(index.spans.is_empty());
        assert!(index.hashes.is_empty());
        assert_eq!(index.spans.bytes(0..0), 0..0);
    }

    #[test]
    fn a_line_without_and_with_newline_differ() {
        assert_ne!(index(&[b"a"]).hashes, index(&[b"a\n"]).hashes);
    }

    #[test]
    fn chunking_does_not_change_the_index() {
        let text: Vec<u8> = (0..3000u32)
            .flat_map(|n| {
                let mut line = "x".repeat((n % 300) as usize).into_bytes();
                line.extend_from_slice(if n % 7 == 0 { b"\r\n" } else { b"\n" });
                line
            })
            .chain(*b"tail without newline")
            .collect();
        let whole = index(&[&text]);
        for size in [1, 2, 3, 17, 64, 240, 1000, 4096] {
            let chunks: Vec<&[u8]> = text.chunks(size).collect();
            assert_eq!(index(&chunks), whole, "chunks of {size}");
        }
    }

    #[test]
    fn too_long_lines_are_rejected_even_across_chunks() {
        let mut indexer = LineIndexer::with_max_line_len(4);
        indexer.feed(b"12\r\nab").unwrap();
        assert_eq!(
            indexer.feed(b"cde\n"),
            Err(LineTooLong {
                line: 2,
                offset: 4,
                len: 6,
                limit: 4
            })
        );
        let mut indexer = LineIndexer::with_max_line_len(4);
        indexer.feed(b"12345").unwrap_err();
        let mut indexer = LineIndexer::with_max_line_len(4);
        indexer.feed(b"1234").unwrap();
        assert_eq!(indexer.finish().unwrap().spans.len(), 1);
    }
}
