//! The WebAssembly plugin host: loads operation plugins and runs them sandboxed.
//!
//! Every operation the runner offers is a WebAssembly component (a *plugin*)
//! built against the WIT package `longrun:plugin` in `spec/wit/`, in one of
//! its two worlds:
//!
//! - `plugin` (1.0): exports `describe` (what the operation is) and `run`
//!   (params and inputs in, result bytes out);
//! - `chunked-plugin` (1.1): exports `describe` and `run-chunked`, and reads
//!   its inputs and writes its result in pieces through the `chunked-io`
//!   import, so a 100 MB input never has to fit in its memory at once. The
//!   guest SDK (`plugins/sdk`) targets this world.
//!
//! Both import `log`, `progress` and `is-cancelled` from the host. Which
//! world a component targets is found from its exports when it is loaded
//! ([`Plugin::world`]). Within major version 1 the package only grows, and
//! the linker accepts a plugin built against any 1.x up to the runner's own
//! (wasmtime matches semver-compatible import versions).
//!
//! # Loading
//!
//! [`PluginHost::load`] checks that the bytes are a component, compiles it (or
//! loads the compiled artifact from the disk cache, keyed by the wasm's SHA-256
//! and the engine's compatibility hash, see [`HostConfig::cache_dir`]), links
//! it against WASI and the host interface, pre-instantiates it (an
//! `InstancePre` that every run reuses), calls `describe` in a fresh sandbox and
//! validates the [`Description`]. The server does this for the bundled
//! plugins ([`bundled`]) and for every `*.wasm` in the plugins directory, and
//! again whenever a file there changes (`crate::operations::reload`).
//!
//! # The sandbox
//!
//! Each run ([`Plugin::run`]) gets a fresh `Store` instantiated from the cached
//! `InstancePre`, so nothing leaks from one job to the next. Inside it:
//!
//! - **No ambient capabilities.** The guest sees WASI p2, but with no preopened
//!   directories (any file access fails), no environment variables, no
//!   arguments, no network (TCP, UDP and name lookup are all denied) and an
//!   empty stdin. Clocks and randomness work.
//! - **Inputs by reference.** A run's inputs are usually the job's input
//!   files ([`InputData::File`]): a `plugin` gets each whole, a
//!   `chunked-plugin` reads the ranges it asks for. A `chunked-plugin`'s
//!   result goes where the request says ([`ResultTarget`]: memory, or a
//!   file as it is written) and is bounded by [`HostConfig::max_result_bytes`].
//! - **Bounded output.** stdout and stderr go to in-memory buffers of
//!   [`HostConfig::max_output_bytes`] each. Bytes past the bound are dropped
//!   silently (the guest's writes keep succeeding, so `println!` never panics)
//!   and the job is told that its output was truncated
//!   ([`RunControl::output`]). Log messages are capped at [`MAX_LOG_MESSAGE_BYTES`]
//!   each and [`MAX_LOG_BYTES_PER_RUN`] per run.
//! - **Memory cap.** Linear memory may not grow past
//!   [`HostConfig::memory_limit_bytes`]; an attempt traps and the run fails with
//!   [`RunFailure::MemoryLimit`]. Instances come from wasmtime's pooling
//!   allocator, sized from [`HostConfig::max_instances`], so instantiation is
//!   cheap and the total is bounded.
//! - **Deadline and cancel.** The engine uses epoch interruption: a background
//!   thread advances the epoch every [`EPOCH_TICK`] (10 ms), and at every tick
//!   a running store checks [`RunControl::is_cancelled`] and its wall-clock
//!   deadline ([`RunRequest::timeout`]). A plugin that spins without ever
//!   calling the host is still stopped within a tick or two of a cancel
//!   ([`RunFailure::Canceled`]) or of its deadline ([`RunFailure::Deadline`]).
//!   WASI sleeps (`monotonic-clock.subscribe-*`) wake early for a cancel or the
//!   deadline too, so a sleeping plugin cannot outlast them either.
//! - **Contained failures.** A trap, a Rust panic in the guest (a wasm
//!   `unreachable`), a stack overflow, an out-of-memory or a deadline fails only
//!   that run, with a [`RunFailure`] that says what happened and, where the
//!   backtrace has it, in which guest function. The host never panics because
//!   of a guest, and the same [`Plugin`] runs the next job normally.
//!
//! # Threads
//!
//! [`Plugin::run`] is blocking: the guest runs on the calling thread with
//! wasmtime's synchronous API. Call it from a worker thread (a plain
//! `std::thread` with the default 2 MiB stack, or `spawn_blocking`), never on an
//! async executor thread.
//!
//! Wasmtime's store data must be `'static`, so a borrowed `&dyn RunControl`
//! cannot live in the sandbox: [`Plugin::run`] starts a short-lived helper
//! thread per run that relays the guest's calls to it (and polls its cancel
//! flag every 5 ms). [`Plugin::run_shared`] takes an `Arc<dyn RunControl>`
//! instead, calls it directly and skips the helper thread: prefer it where
//! the per-job overhead matters.

mod bindings;
mod bundled;
mod chunked_io;
mod compile_cache;
mod control;
mod description;
mod engine;
mod failure;
mod host;
mod host_imports;
mod output_capture;
mod result_target;
mod run;
mod sandbox;
mod sleep;
mod world;

#[cfg(test)]
mod tests;

pub use bundled::bundled;
pub use chunked_io::InputData;
pub use compile_cache::CacheStats;
pub use control::{LogLevel, OutputStream, ProgressUpdate, RunControl};
pub use description::{Description, InputSpec, is_valid_operation_name};
pub use engine::{EPOCH_TICK, HostConfig};
pub use failure::RunFailure;
pub use host::{LoadError, PluginHost};
pub use result_target::{ResultData, ResultTarget};
pub use run::{Input, Output, Plugin, RunRequest};
pub use sandbox::{DESCRIBE_TIMEOUT, MAX_LOG_BYTES_PER_RUN, MAX_LOG_MESSAGE_BYTES};
