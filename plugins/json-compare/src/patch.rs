//! The result of a comparison: an RFC 6902 JSON Patch and a summary.

use serde::Serialize;
use serde_json::Value;

/// One JSON Patch operation (RFC 6902 section 4).
///
/// Serializes as `{"op": "add", "path": …, "value": …}` and so on. The
/// comparison emits only `add`, `remove` and `replace`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum PatchOp {
    /// Insert `value` at `path` (into an array: before the element now there).
    Add {
        /// Where, as a JSON Pointer (RFC 6901).
        path: String,
        /// What to insert.
        value: Value,
    },
    /// Remove the value at `path`.
    Remove {
        /// Where, as a JSON Pointer (RFC 6901).
        path: String,
    },
    /// Replace the value at `path` with `value`.
    Replace {
        /// Where, as a JSON Pointer (RFC 6901).
        path: String,
        /// The new value.
        value: Value,
    },
}

impl PatchOp {
    /// The operation's target as a JSON Pointer.
    #[must_use]
    pub fn path(&self) -> &str {
        match self {
            Self::Add { path, .. } | Self::Remove { path } | Self::Replace { path, .. } => path,
        }
    }
}

/// How many operations of each kind a patch holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The number of `add` operations.
    pub added: u64,
    /// The number of `remove` operations.
    pub removed: u64,
    /// The number of `replace` operations.
    pub replaced: u64,
}

impl Summary {
    /// Counts the operations of `patch`.
    #[must_use]
    pub fn of(patch: &[PatchOp]) -> Self {
        let mut summary = Self::default();
        for op in patch {
            match op {
                PatchOp::Add { .. } => summary.added += 1,
                PatchOp::Remove { .. } => summary.removed += 1,
                PatchOp::Replace { .. } => summary.replaced += 1,
            }
        }
        summary
    }
}

/// The outcome of comparing two documents; serializes as the operation's result
/// `{"equal": …, "patch": […], "summary": {…}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Whether the documents are equal (under the options used): the patch is empty.
    pub equal: bool,
    /// Operations that, applied in order to the left document, give the right one.
    pub patch: Vec<PatchOp>,
    /// Counts of the operations in `patch`.
    pub summary: Summary,
}

impl Comparison {
    /// Builds a comparison from a patch, deriving `equal` and `summary`.
    #[must_use]
    pub fn from_patch(patch: Vec<PatchOp>) -> Self {
        Self {
            equal: patch.is_empty(),
            summary: Summary::of(&patch),
            patch,
        }
    }
}
