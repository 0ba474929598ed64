//! The `probe` operation for longrun: the conformance fixture.
//!
//! It runs for a chosen time in a chosen number of steps, reports progress at
//! every step, honours cancellation at the next step (or within 20 ms while it
//! waits), and then succeeds with an echo of its request, with a chosen number of
//! bytes or with its input `data` as it is, or fails with a chosen error. See
//! [`operation`] for the params.
//!
//! The logic is plain Rust that builds and is tested natively, against the
//! [`operation::Host`] trait; only the `component` module, compiled for `wasm32`,
//! binds it to the `longrun:plugin/plugin` world of `spec/wit`.

// Only the generated component bindings may use `unsafe`.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod operation;

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod component;
