//! longrun: a self-hosted runner for long-running operations.
//!
//! Clients start an operation over HTTP and get `202 Accepted` with the job's
//! URL; they poll it, long-poll it or stream its events, cancel it, delete it and
//! download its result. Every operation is a WebAssembly component (a plugin)
//! run sandboxed by wasmtime.
//!
//! The modules follow a job's flow:
//!
//! - [`api`]: the HTTP protocol of `spec/protocol.md`;
//! - [`intake`]: a start request checked and resolved into a [`jobs::NewJob`];
//! - [`jobs`]: the state machine, queue, workers, expiry and crash recovery;
//! - [`store`]: durable records ([`store::JobStore`], SQLite by default) and files;
//! - [`plugin`]: the wasmtime host that runs plugins in their sandbox;
//! - [`callbacks`]: calling clients back, durably, when their jobs end.
//!
//! Around them: [`operations`] (the plugins on offer, with compiled schemas),
//! [`url_guard`] (what outbound URLs may reach), [`confine`] (file paths kept
//! inside their roots), [`problem`] (RFC 9457 errors),
//! [`clock`] (injected time), [`config`], [`cli`] and [`server`] (wiring), and
//! [`authoring`] (the `longrun plugin` commands for plugin authors).

pub mod api;
pub mod authoring;
pub mod callbacks;
pub mod cli;
pub mod clock;
pub mod config;
pub mod confine;
pub mod intake;
pub mod jobs;
pub mod operations;
pub mod plugin;
pub mod problem;
pub mod server;
pub mod store;
pub mod url_guard;
