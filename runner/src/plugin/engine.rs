//! The process-wide wasmtime [`Engine`]: its configuration (pooling allocator,
//! epoch interruption) and the thread that ticks its epoch.

use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; a running plugin checks its cancel flag and
/// deadline once per tick, so this bounds how long a stop takes.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

// The pool's totals are these per-slot figures times the slot count; the
// per-component maxima stay unlimited, so a component over a figure still
// loads and only the total across live instances is bounded. Measured for
// scale: a CPython component from componentize-py 0.25
// (plugins/python-word-count) has 14 core instances, 1 memory and 2 tables
// (5,674 and 89 elements); a Rust component has 1 memory, a few core
// instances and tables.

/// Linear memories the pool provides per instance slot. A Rust component
/// usually has one; components built by other toolchains may have a few.
const MEMORIES_PER_INSTANCE: u32 = 2;
/// Core instances per component instance (the main module plus the small
/// shim and adapter modules that component tooling adds). 24, not 16: a
/// CPython component already has 14 (its interpreter, libc and
/// dynamically linked libraries are modules of their own), and a full pool
/// of them must fit with room for a toolchain update. Cheap: the bound
/// limits instance metadata, which is allocated on demand.
const CORE_INSTANCES_PER_INSTANCE: u32 = 24;
/// Tables per component instance (main module plus shims).
const TABLES_PER_INSTANCE: u32 = 8;
/// Elements per table: generous for large guests (interpreters, big Rust
/// binaries), cheap since tables are reserved, not committed.
const TABLE_ELEMENTS: usize = 100_000;
/// Per-instance metadata bound (`VMContext`s); large guests need more than the
/// 1 MiB default.
const INSTANCE_METADATA_BYTES: usize = 4 << 20;

/// Configuration of the [`PluginHost`](super::PluginHost).
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Where compiled components are cached (created if missing); `None` keeps
    /// no disk cache and compiles every plugin at every start.
    pub cache_dir: Option<PathBuf>,
    /// The most bytes the entries of the disk cache may take together
    /// (default 2 GiB); past it the least recently used are removed.
    pub cache_max_bytes: u64,
    /// The most linear memory one run may use, in bytes (default 512 MiB). A
    /// plugin that tries to grow past it fails with
    /// [`RunFailure::MemoryLimit`](super::RunFailure::MemoryLimit).
    pub memory_limit_bytes: u64,
    /// How many plugin instances may be alive at once: the pooling allocator's
    /// slot count. Give it the number of workers plus some headroom for loads
    /// (each load runs `describe` in an instance of its own). Default 16.
    pub max_instances: u32,
    /// The bound, per stream, on captured stdout and stderr (default 64 KiB).
    /// Output past it is dropped, not an error, and the run reports it as
    /// truncated.
    pub max_output_bytes: usize,
    /// The largest result a plugin of the world `chunked-plugin` may write,
    /// in bytes (default 1 GiB); a `write-result` past it fails, and so
    /// does the run unless the plugin copes.
    pub max_result_bytes: u64,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            cache_dir: None,
            cache_max_bytes: 2 << 30,
            memory_limit_bytes: 512 << 20,
            max_instances: 16,
            max_output_bytes: 64 << 10,
            max_result_bytes: 1 << 30,
        }
    }
}

/// Builds the engine for `config`: Cranelift, the pooling allocator and epoch
/// interruption.
pub(crate) fn build_engine(config: &HostConfig) -> anyhow::Result<Engine> {
    anyhow::ensure!(
        config.max_instances >= 1,
        "max_instances must be at least 1"
    );
    anyhow::ensure!(
        config.memory_limit_bytes >= 64 << 10,
        "memory_limit_bytes must be at least one wasm page (64 KiB), got {}",
        config.memory_limit_bytes
    );
    let memory_limit = usize::try_from(config.memory_limit_bytes).unwrap_or(usize::MAX);
    let slots = config.max_instances;

    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(slots)
        .total_core_instances(slots.saturating_mul(CORE_INSTANCES_PER_INSTANCE))
        .total_memories(slots.saturating_mul(MEMORIES_PER_INSTANCE))
        .total_tables(slots.saturating_mul(TABLES_PER_INSTANCE))
        .max_component_instance_size(INSTANCE_METADATA_BYTES)
        .max_core_instance_size(INSTANCE_METADATA_BYTES)
        .table_elements(TABLE_ELEMENTS)
        // Each memory slot reserves the default 4 GiB (plus guard) of address
        // space, which lets compiled code skip bounds checks; the memory cap
        // itself is enforced per store by the limiter. The slot may not be
        // smaller than the cap.
        .max_memory_size(memory_limit);

    let mut wasm = Config::new();
    wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .epoch_interruption(true)
        .wasm_component_model(true)
        // Function names only (no DWARF file:line), whatever the
        // WASMTIME_BACKTRACE_DETAILS environment says: cheaper, and the trap
        // messages stay predictable.
        .wasm_backtrace_details(wasmtime::WasmBacktraceDetails::Disable)
        .cranelift_opt_level(wasmtime::OptLevel::Speed)
        .parallel_compilation(true);
    Engine::new(&wasm).map_err(|e| anyhow::anyhow!("creating the wasm engine: {e:#}"))
}

/// Advances the engine's epoch every [`EPOCH_TICK`] on a background thread,
/// until dropped.
///
/// Shared (through an `Arc`) by the host and every plugin it loaded, so the
/// ticks keep coming for as long as anything can still run wasm.
pub(crate) struct EpochTicker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    /// Starts the ticker thread for `engine`.
    pub(crate) fn start(engine: &Engine) -> anyhow::Result<EpochTicker> {
        let (stop, stopped) = mpsc::channel::<()>();
        let engine = engine.clone();
        let thread = std::thread::Builder::new()
            .name("longrun-epoch".into())
            .spawn(move || {
                // Ends when the sender is dropped (or sends).
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(EPOCH_TICK) {
                    engine.increment_epoch();
                }
            })?;
        Ok(EpochTicker {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
