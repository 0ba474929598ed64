//! The `json-merge` operation for longrun: a three-way merge of JSON documents.
//!
//! Given an `ancestor` and two or more versions derived from it (`version-1`,
//! `version-2`, optionally up to `version-8`, merged in that order), the merge
//! walks all the documents together from the root. At each location it compares
//! what each version has there (a value, or nothing: a deleted member) with the
//! ancestor:
//!
//! - if no version changed it, the ancestor's value (or absence) stays;
//! - if the versions that changed it all agree (the same value, or all deleted
//!   it), their change is taken;
//! - if the ancestor and every changed version have objects there, the objects
//!   are merged member by member, recursively;
//! - otherwise it is a conflict: it is reported with the ancestor's side and every
//!   version's side, and `onConflict` decides the merged value there (`ancestor`,
//!   the default, keeps the ancestor's; `first` takes the first version that
//!   changed it; `fail` fails the run with the error code `merge-conflict`).
//!
//! Arrays and scalars are atomic: arrays are never merged element by element, so
//! two different changes to one array are one conflict at the array.
//!
//! The result is `{"merged": <document>, "clean": bool, "conflicts": [...]}`;
//! see [`conflict`] for how a conflict is shown, with absence never confused
//! with `null`. Members of merged objects come out sorted by key (see [`mod@merge`]).
//!
//! The logic ([`merge()`], [`try_merge`]) is plain Rust over `serde_json::Value`,
//! built and tested natively; [`operation::JsonMerge`] runs it through the
//! longrun guest SDK, which [`longrun_plugin::export!`] turns into the component.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod conflict;
pub mod merge;
pub mod operation;
pub mod parse;
pub mod pointer;
pub mod progress;

pub use conflict::{Conflict, Side, VersionSide};
pub use merge::{Merge, Resolution, Version, merge, numbered, try_merge};
pub use operation::{JsonMerge, OnConflict, Params};
pub use progress::{Cancelled, Progress, count_nodes};

#[cfg(target_arch = "wasm32")]
longrun_plugin::export!(JsonMerge);
