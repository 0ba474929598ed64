//! The diff from end to end, host-independent: index both inputs (`read`),
//! diff the line hashes (`diff`), write the hunks (`render`), reporting each
//! stage and its progress to a [`Sink`].

use std::io::Write;

use similar::group_diff_ops;

use crate::error::DiffError;
use crate::line_diff::diff_lines;
use crate::lines::{LineIndex, LineIndexer};
use crate::params::Params;
use crate::source::Source;
use crate::unified::{READ_CHUNK, Renderer, Text, file_header, hunk_lines};

/// A stage of the diff, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Index both inputs' lines.
    Read,
    /// Diff the line hashes.
    Diff,
    /// Write the hunks, reading back the lines they show.
    Render,
}

impl Stage {
    /// All stages, in order.
    pub const ALL: [Stage; 3] = [Stage::Read, Stage::Diff, Stage::Render];

    /// The stage's name, as the host reports it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Stage::Read => "read",
            Stage::Diff => "diff",
            Stage::Render => "render",
        }
    }

    /// The stage's share of the overall progress (the weights sum to 100).
    #[must_use]
    pub fn weight(self) -> u32 {
        match self {
            Stage::Read => 45,
            Stage::Diff => 10,
            Stage::Render => 45,
        }
    }
}

/// Where a diff reports progress and writes its text: the host, or a test.
pub trait Sink {
    /// What a report can fail with, typically "the job was canceled".
    type Error;

    /// Enters `stage`.
    ///
    /// # Errors
    ///
    /// When the diff should stop (the job was canceled).
    fn stage(&mut self, stage: Stage) -> Result<(), Self::Error>;

    /// Reports `done` of `total` units of the current stage.
    ///
    /// # Errors
    ///
    /// When the diff should stop (the job was canceled).
    fn advance(&mut self, done: u64, total: u64) -> Result<(), Self::Error>;

    /// Where the diff text goes.
    fn output(&mut self) -> &mut dyn Write;
}

/// What a diff found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Lines in `left`.
    pub left_lines: usize,
    /// Lines in `right`.
    pub right_lines: usize,
    /// Hunks written; 0 when the texts are equal (and nothing was written).
    pub hunks: usize,
    /// Lines only in `left`.
    pub removed: usize,
    /// Lines only in `right`.
    pub added: usize,
}

/// Writes the unified diff that turns `left` into `right` to `sink.output()`;
/// equal texts give no output at all.
///
/// Lines are compared by their XXH3-128 hashes (see the crate docs for why
/// that is safe), so neither text is ever held whole: memory is 24 bytes a line
/// of both texts, the diff's working set, and one piece of at most
/// [`READ_CHUNK`] bytes (or one line) at a time.
///
/// # Errors
///
/// [`DiffError::Host`] for a failed read or a stop requested by the sink,
/// [`DiffError::LineTooLong`] or [`DiffError::ShortRead`] for an unusable input,
/// [`DiffError::Write`] when the output fails.
pub fn unified_diff<L, R, K>(
    left: &L,
    right: &R,
    params: &Params,
    sink: &mut K,
) -> Result<Summary, DiffError<K::Error>>
where
    L: Source<K::Error> + ?Sized,
    R: Source<K::Error> + ?Sized,
    K: Sink,
{
    sink.stage(Stage::Read).map_err(DiffError::Host)?;
    let total = left.size().saturating_add(right.size());
    let mut done = 0;
    let left_index = index("left", left, sink, &mut done, total)?;
    let right_index = index("right", right, sink, &mut done, total)?;
    if total == 0 {
        // Nothing to read: the stage is complete all the same.
        sink.advance(0, 0).map_err(DiffError::Host)?;
    }

    sink.stage(Stage::Diff).map_err(DiffError::Host)?;
    let ops = diff_lines(&left_index.hashes, &right_index.hashes, sink).map_err(DiffError::Host)?;
    let (left_spans, right_spans) = (left_index.spans, right_index.spans);
    drop((left_index.hashes, right_index.hashes));

    sink.stage(Stage::Render).map_err(DiffError::Host)?;
    let mut summary = Summary {
        left_lines: left_spans.len(),
        right_lines: right_spans.len(),
        ..Summary::default()
    };
    for op in &ops {
        let (_, removed, added) = op.as_tag_tuple();
        if op.tag() != similar::DiffTag::Equal {
            summary.removed += removed.len();
            summary.added += added.len();
        }
    }
    let hunks = group_diff_ops(ops, params.context);
    summary.hunks = hunks.len();
    if hunks.is_empty() {
        sink.advance(1, 1).map_err(DiffError::Host)?;
        return Ok(summary);
    }
    let mut renderer = Renderer {
        left: Text {
            name: "left",
            source: left,
            spans: &left_spans,
        },
        right: Text {
            name: "right",
            source: right,
            spans: &right_spans,
        },
        done: 0,
        total: hunks.iter().map(|hunk| hunk_lines(hunk)).sum(),
    };
    sink.output()
        .write_all(file_header(&params.left_label, &params.right_label).as_bytes())?;
    for hunk in &hunks {
        renderer.hunk(hunk, sink)?;
    }
    sink.output().flush()?;
    Ok(summary)
}

/// Indexes one input in pieces of [`READ_CHUNK`] bytes, adding them to `done`
/// and reporting `done` of `total` after each.
fn index<S, K>(
    name: &'static str,
    source: &S,
    sink: &mut K,
    done: &mut u64,
    total: u64,
) -> Result<LineIndex, DiffError<K::Error>>
where
    S: Source<K::Error> + ?Sized,
    K: Sink,
{
    let size = source.size();
    let mut indexer = LineIndexer::new();
    indexer.reserve_for(size);
    let mut offset = 0;
    while offset < size {
        let expected =
            usize::try_from(size - offset).map_or(READ_CHUNK, |left| left.min(READ_CHUNK));
        let chunk = source.read_at(offset, expected).map_err(DiffError::Host)?;
        if chunk.len() != expected {
            return Err(DiffError::ShortRead {
                input: name,
                offset,
                expected,
                got: chunk.len(),
            });
        }
        indexer
            .feed(&chunk)
            .map_err(|detail| DiffError::LineTooLong {
                input: name,
                detail,
            })?;
        offset += expected as u64;
        *done += expected as u64;
        sink.advance(*done, total).map_err(DiffError::Host)?;
    }
    indexer.finish().map_err(|detail| DiffError::LineTooLong {
        input: name,
        detail,
    })
}
