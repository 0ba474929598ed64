//! Renders hunks in the unified format of `diff -u`, reading back from the
//! inputs just the lines each hunk shows.
//!
//! The format, as GNU diff writes it and GNU patch reads it:
//!
//! ```text
//! --- <left label>
//! +++ <right label>
//! @@ -<left range> +<right range> @@
//!  <a context line, from left>
//! -<a line only in left>
//! +<a line only in right>
//! \ No newline at end of file
//! ```
//!
//! A range is `start,count` with 1-based `start`; a count of 1 is left out
//! (`start`), and an empty range names the line before it (`start - 1,0`), so a
//! hunk against an empty text reads `-0,0`. Within a hunk, a changed block shows
//! its removed lines before its added ones. The marker `\ No newline at end of
//! file` follows a text's last line when it lacks its `\n`.

use std::fmt::Write as _;
use std::ops::Range;

use similar::{DiffOp, DiffTag};

use crate::error::DiffError;
use crate::lines::LineSpans;
use crate::source::Source;
use crate::stages::Sink;

/// The most bytes read from an input at once, unless a single line is longer.
pub const READ_CHUNK: usize = 1 << 20;

/// What follows a line that lacks its `\n`.
const NO_NEWLINE: &[u8] = b"\n\\ No newline at end of file\n";

/// The two `---`/`+++` header lines.
#[must_use]
pub fn file_header(left_label: &str, right_label: &str) -> String {
    format!("--- {left_label}\n+++ {right_label}\n")
}

/// A hunk's range as GNU diff prints it: `lines` are 0-based line numbers.
#[must_use]
pub fn number_range(lines: &Range<usize>) -> String {
    match lines.len() {
        0 => format!("{},0", lines.start),
        1 => format!("{}", lines.start + 1),
        count => format!("{},{count}", lines.start + 1),
    }
}

/// The lines of both texts a hunk covers, from its first op to its last.
#[must_use]
pub fn hunk_ranges(hunk: &[DiffOp]) -> (Range<usize>, Range<usize>) {
    let (Some(first), Some(last)) = (hunk.first(), hunk.last()) else {
        return (0..0, 0..0);
    };
    (
        first.old_range().start..last.old_range().end,
        first.new_range().start..last.new_range().end,
    )
}

/// The `@@ … @@` line of a hunk.
#[must_use]
pub fn hunk_header(hunk: &[DiffOp]) -> String {
    let (left, right) = hunk_ranges(hunk);
    let mut header = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        header,
        "@@ -{} +{} @@",
        number_range(&left),
        number_range(&right)
    );
    header
}

/// How many lines a hunk prints (context lines once).
#[must_use]
pub fn hunk_lines(hunk: &[DiffOp]) -> u64 {
    hunk.iter()
        .map(|op| match op.tag() {
            DiffTag::Equal | DiffTag::Delete => op.old_range().len(),
            DiffTag::Insert => op.new_range().len(),
            DiffTag::Replace => op.old_range().len() + op.new_range().len(),
        } as u64)
        .sum()
}

/// One text as the renderer reads it.
pub struct Text<'a, S: ?Sized> {
    /// The input's name, for errors: `left` or `right`.
    pub name: &'static str,
    /// Its bytes.
    pub source: &'a S,
    /// Where its lines are.
    pub spans: &'a LineSpans,
}

/// Writes hunks to a [`Sink`], counting the lines written for progress.
pub struct Renderer<'a, L: ?Sized, R: ?Sized> {
    /// The text the diff applies to.
    pub left: Text<'a, L>,
    /// The text the diff gives.
    pub right: Text<'a, R>,
    /// Lines written so far.
    pub done: u64,
    /// Lines to write in all.
    pub total: u64,
}

impl<L: ?Sized, R: ?Sized> Renderer<'_, L, R> {
    /// Writes one hunk: its header and its lines, reading them from the inputs
    /// in pieces of at most [`READ_CHUNK`] bytes (or one line) and reporting
    /// progress after each piece.
    ///
    /// # Errors
    ///
    /// A failed read or write, a short read, or the sink's error (cancellation).
    pub fn hunk<K>(&mut self, hunk: &[DiffOp], sink: &mut K) -> Result<(), DiffError<K::Error>>
    where
        K: Sink,
        L: Source<K::Error>,
        R: Source<K::Error>,
    {
        sink.output().write_all(hunk_header(hunk).as_bytes())?;
        let (left, right) = (&self.left, &self.right);
        let (done, total) = (&mut self.done, self.total);
        for op in hunk {
            match op.tag() {
                DiffTag::Equal => write_lines(left, b' ', op.old_range(), sink, done, total)?,
                DiffTag::Delete => write_lines(left, b'-', op.old_range(), sink, done, total)?,
                DiffTag::Insert => write_lines(right, b'+', op.new_range(), sink, done, total)?,
                DiffTag::Replace => {
                    write_lines(left, b'-', op.old_range(), sink, done, total)?;
                    write_lines(right, b'+', op.new_range(), sink, done, total)?;
                }
            }
        }
        Ok(())
    }
}

/// Writes the lines `lines` of `text`, each after `prefix`, reading contiguous
/// pieces of at most [`READ_CHUNK`] bytes (at least one line). After each
/// piece it adds the piece's lines to `done` and reports `done` of `total`.
fn write_lines<S, K>(
    text: &Text<'_, S>,
    prefix: u8,
    lines: Range<usize>,
    sink: &mut K,
    done: &mut u64,
    total: u64,
) -> Result<(), DiffError<K::Error>>
where
    S: Source<K::Error> + ?Sized,
    K: Sink,
{
    let mut first = lines.start;
    while first < lines.end {
        let start = text.spans.line(first).start;
        let mut end = first + 1;
        while end < lines.end && text.spans.line(end).end - start <= READ_CHUNK as u64 {
            end += 1;
        }
        let bytes = text.spans.bytes(first..end);
        let expected = usize::try_from(bytes.end - start).unwrap_or(usize::MAX);
        let piece = text
            .source
            .read_at(start, expected)
            .map_err(DiffError::Host)?;
        if piece.len() != expected {
            return Err(DiffError::ShortRead {
                input: text.name,
                offset: start,
                expected,
                got: piece.len(),
            });
        }
        let output = sink.output();
        let mut at: usize = 0;
        for line in first..end {
            let len = text.spans.line(line);
            let len = usize::try_from(len.end - len.start).unwrap_or(usize::MAX);
            let bytes = piece.get(at..at.saturating_add(len)).unwrap_or_default();
            at += len;
            output.write_all(&[prefix])?;
            output.write_all(bytes)?;
            if !bytes.ends_with(b"\n") {
                output.write_all(NO_NEWLINE)?;
            }
        }
        *done += (end - first) as u64;
        sink.advance(*done, total).map_err(DiffError::Host)?;
        first = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_gnu_diff() {
        assert_eq!(number_range(&(0..0)), "0,0");
        assert_eq!(number_range(&(4..4)), "4,0");
        assert_eq!(number_range(&(4..5)), "5");
        assert_eq!(number_range(&(4..7)), "5,3");
    }

    #[test]
    fn hunk_header_spans_all_ops() {
        let hunk = [
            DiffOp::Equal {
                old_index: 2,
                new_index: 2,
                len: 3,
            },
            DiffOp::Delete {
                old_index: 5,
                old_len: 1,
                new_index: 5,
            },
            DiffOp::Insert {
                old_index: 6,
                new_index: 5,
                new_len: 2,
            },
        ];
        assert_eq!(hunk_header(&hunk), "@@ -3,4 +3,5 @@\n");
        assert_eq!(hunk_lines(&hunk), 6);
        let insert_only = [DiffOp::Insert {
            old_index: 0,
            new_index: 0,
            new_len: 1,
        }];
        assert_eq!(hunk_header(&insert_only), "@@ -0,0 +1 @@\n");
    }
}
