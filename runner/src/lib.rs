//! longrun: a self-hosted runner for long-running operations.
pub mod plugin;
