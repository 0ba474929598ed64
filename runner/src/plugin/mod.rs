//! The wasmtime plugin host.
