//! The `json-compare` operation for longrun: a structural diff of two JSON
//! documents into an RFC 6902 JSON Patch plus a summary.
//!
//! The logic is plain Rust ([`compare()`]) that builds and is tested natively;
//! [`operation::JsonCompare`] runs it through the guest SDK
//! ([`longrun_plugin`]), which exports it as a component of the world
//! `longrun:plugin/chunked-plugin` when built for `wasm32`.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod compare;
pub mod operation;
pub mod patch;
pub mod pointer;

pub use compare::{Cancelled, Options, Progress, compare, try_compare};
pub use patch::{Comparison, PatchOp, Summary};

longrun_plugin::export!(operation::JsonCompare);
