//! The `hostile` operation: a test-only plugin that misbehaves on request, so the
//! runner's sandbox can be shown to contain it (endless loop, memory bomb, file
//! access, panic, stack overflow, output and log floods, environment). It is never
//! bundled into the runner; its tests load it from `LONGRUN_HOSTILE_WASM`.
//!
//! The logic is plain Rust in [`behaviour`]; only the `component` module, compiled
//! for `wasm32`, binds it to the `longrun:plugin/plugin` world of `spec/wit`.

// Only the generated component bindings may use `unsafe`.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod behaviour;

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod component;
