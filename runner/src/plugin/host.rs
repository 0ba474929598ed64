//! The [`PluginHost`]: the engine, the linker and the compile cache, and
//! [`PluginHost::load`], which turns wasm bytes into a runnable [`Plugin`].

use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Linker;

use super::compile_cache::{CacheStats, CompileCache};
use super::control::LoadTimeControl;
use super::description::Description;
use super::engine::{EpochTicker, HostConfig, build_engine};
use super::failure::RunFailure;
use super::run::{Plugin, call_in_sandbox};
use super::sandbox::{DESCRIBE_TIMEOUT, HostState, SandboxLimits, new_linker};
use super::world::GuestPre;

/// What every plugin of a host shares: the engine, the sandbox limits and
/// the epoch ticker (which runs as long as any of them is alive).
pub(crate) struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) limits: SandboxLimits,
    _ticker: EpochTicker,
}

/// Loads plugins and owns what they run on: one wasmtime engine (pooling
/// allocator, epoch interruption) with its epoch ticker thread, the linker and
/// the compile cache. Create one per process.
pub struct PluginHost {
    runtime: Arc<Runtime>,
    linker: Linker<HostState>,
    cache: CompileCache,
}

/// Why a plugin could not be loaded. Every message names the plugin's origin
/// and says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The plugin file could not be read.
    #[error("plugin {origin}: cannot read the file: {source}")]
    Read {
        /// The plugin's origin (its path).
        origin: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not WebAssembly at all.
    #[error("plugin {origin}: not a WebAssembly file (it does not start with \\0asm)")]
    NotWasm {
        /// The plugin's origin.
        origin: String,
    },
    /// The bytes are a core wasm module, not a component.
    #[error(
        "plugin {origin}: this is a core WebAssembly module, not a component; build it for the \
         wasm32-wasip2 target (or wrap it with `wasm-tools component new`) against the WIT world \
         longrun:plugin/plugin"
    )]
    NotAComponent {
        /// The plugin's origin.
        origin: String,
    },
    /// The component failed to validate or compile.
    #[error("plugin {origin}: the component does not compile: {message}")]
    Compile {
        /// The plugin's origin.
        origin: String,
        /// Wasmtime's explanation.
        message: String,
    },
    /// The component's imports or exports do not match what the runner
    /// provides and expects.
    #[error(
        "plugin {origin}: the component does not fit the runner: {message}; plugins must target \
         the world longrun:plugin/plugin@1.x and import nothing but WASI 0.2 and \
         longrun:plugin/host"
    )]
    Link {
        /// The plugin's origin.
        origin: String,
        /// Wasmtime's explanation (for example the missing import).
        message: String,
    },
    /// Calling `describe` failed.
    #[error("plugin {origin}: `describe` failed: {failure}")]
    Describe {
        /// The plugin's origin.
        origin: String,
        /// What went wrong.
        failure: RunFailure,
    },
    /// The description is not acceptable.
    #[error("plugin {origin}: invalid description: {problem}")]
    InvalidDescription {
        /// The plugin's origin.
        origin: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl PluginHost {
    /// Creates the engine (see [`HostConfig`]), the linker and the epoch
    /// ticker thread.
    pub fn new(config: HostConfig) -> anyhow::Result<PluginHost> {
        let engine = build_engine(&config)?;
        let linker = new_linker(&engine)
            .map_err(|e| anyhow::anyhow!("setting up the plugin linker: {e:#}"))?;
        let cache = CompileCache::new(&engine, config.cache_dir.clone(), config.cache_max_bytes);
        let ticker = EpochTicker::start(&engine)?;
        Ok(PluginHost {
            runtime: Arc::new(Runtime {
                engine,
                limits: SandboxLimits {
                    memory_limit_bytes: config.memory_limit_bytes,
                    max_output_bytes: config.max_output_bytes,
                    max_result_bytes: config.max_result_bytes,
                },
                _ticker: ticker,
            }),
            linker,
            cache,
        })
    }

    /// Compiles (or loads from the disk cache, keyed by the wasm's SHA-256
    /// and the engine's precompile compatibility hash), links and
    /// pre-instantiates the component, calls `describe` in a fresh sandbox,
    /// validates the description and returns the [`Plugin`].
    ///
    /// `origin` (e.g. `bundled:probe` or a file path) is used in error
    /// messages. Blocking and CPU-heavy on a cache miss (compilation).
    pub fn load(&self, origin: &str, wasm: &[u8]) -> Result<Plugin, LoadError> {
        let origin = origin.to_owned();
        if !wasm.starts_with(b"\0asm") {
            return Err(LoadError::NotWasm { origin });
        }
        // The preamble's version and layer: 1, 0 is a core module.
        if wasm.get(4..8) == Some(&[1, 0, 0, 0]) {
            return Err(LoadError::NotAComponent { origin });
        }
        let sha256 = hex::encode(Sha256::digest(wasm));
        let component = self
            .cache
            .get_or_compile(&self.runtime.engine, &sha256, wasm)
            .map_err(|e| LoadError::Compile {
                origin: origin.clone(),
                message: format!("{e:#}"),
            })?;
        let link_error = |e: wasmtime::Error| LoadError::Link {
            origin: origin.clone(),
            message: format!("{e:#}"),
        };
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(link_error)?;
        let pre = GuestPre::new(instance_pre).map_err(link_error)?;

        let control = Arc::new(LoadTimeControl {
            origin: origin.clone(),
        });
        let guest = call_in_sandbox(
            &self.runtime,
            &pre,
            control,
            DESCRIBE_TIMEOUT,
            |store, instance| instance.call_describe(store),
        )
        .map_err(|failure| LoadError::Describe {
            origin: origin.clone(),
            failure,
        })?;
        let description =
            Description::from_guest(guest).map_err(|problem| LoadError::InvalidDescription {
                origin: origin.clone(),
                problem,
            })?;
        tracing::debug!(
            plugin = %origin,
            operation = %description.name,
            version = %description.version,
            sha256 = %sha256,
            "loaded plugin"
        );
        Ok(Plugin::new(
            self.runtime.clone(),
            pre,
            description,
            sha256,
            origin,
        ))
    }

    /// The compile cache's counters.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// The memory limit of every run, in bytes.
    pub fn memory_limit_bytes(&self) -> u64 {
        self.runtime.limits.memory_limit_bytes
    }
}
