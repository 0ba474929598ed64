//! The `json-compare` operation for longrun: a structural diff of two JSON
//! documents into an RFC 6902 JSON Patch plus a summary.
//!
//! The logic is plain Rust ([`compare()`], [`operation::run`]) that builds and is
//! tested natively; only the `component` module, compiled for `wasm32`, binds it to
//! the `longrun:plugin/plugin` world of `spec/wit`.

// Only the generated component bindings may use `unsafe`.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod compare;
pub mod operation;
pub mod patch;
pub mod pointer;

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod component;

pub use compare::{Cancelled, Options, Progress, compare, try_compare};
pub use patch::{Comparison, PatchOp, Summary};
