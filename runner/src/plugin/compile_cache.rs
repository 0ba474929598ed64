//! Compiled components cached on disk, so a restart does not recompile every
//! plugin.
//!
//! A cache entry is `<dir>/<wasm sha256>-<engine hash>.cwasm`, where the engine
//! hash covers everything that makes compiled code compatible with an engine
//! (wasmtime version, target, compiler settings; see
//! [`Engine::precompile_compatibility_hash`]). Entries are written to a
//! temporary file and renamed into place, so a reader never sees half a file.
//! An entry that fails to load is recompiled and overwritten.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Counters of the compile cache, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Components loaded from the disk cache.
    pub hits: u64,
    /// Components compiled from wasm (no cache, no entry, or a bad entry).
    pub compiled: u64,
    /// Cache entries that existed but could not be loaded (then recompiled).
    pub bad_entries: u64,
    /// Cache entries that could not be written (the load still succeeded).
    pub write_failures: u64,
}

/// The compile cache of one engine.
pub(crate) struct CompileCache {
    dir: Option<PathBuf>,
    engine_hash: String,
    hits: AtomicU64,
    compiled: AtomicU64,
    bad_entries: AtomicU64,
    write_failures: AtomicU64,
}

impl CompileCache {
    /// A cache in `dir` (created when first written), or none.
    pub(crate) fn new(engine: &Engine, dir: Option<PathBuf>) -> CompileCache {
        CompileCache {
            dir,
            engine_hash: engine_hash(engine),
            hits: AtomicU64::new(0),
            compiled: AtomicU64::new(0),
            bad_entries: AtomicU64::new(0),
            write_failures: AtomicU64::new(0),
        }
    }

    /// The counters so far.
    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            compiled: self.compiled.load(Ordering::Relaxed),
            bad_entries: self.bad_entries.load(Ordering::Relaxed),
            write_failures: self.write_failures.load(Ordering::Relaxed),
        }
    }

    /// Where the compiled form of the wasm with this SHA-256 (hex) lives.
    pub(crate) fn entry_path(&self, wasm_sha256: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|dir| dir.join(format!("{wasm_sha256}-{}.cwasm", self.engine_hash)))
    }

    /// The component for `wasm` (whose SHA-256 hex is `wasm_sha256`): from the
    /// cache if it has a good entry, else compiled (and then cached).
    pub(crate) fn get_or_compile(
        &self,
        engine: &Engine,
        wasm_sha256: &str,
        wasm: &[u8],
    ) -> wasmtime::Result<Component> {
        let Some(path) = self.entry_path(wasm_sha256) else {
            self.compiled.fetch_add(1, Ordering::Relaxed);
            return Component::from_binary(engine, wasm);
        };
        if path.is_file() {
            // SAFETY: `deserialize_file` trusts the file to be a component that
            // wasmtime itself serialized for a compatible engine; loading
            // arbitrary bytes could run arbitrary native code. That holds here:
            // only `store` below writes into this cache directory, which the
            // operator gives the runner for its own use; the file is named
            // after the SHA-256 of the exact wasm bytes being loaded and the
            // hash of this engine's compilation settings, so it is the
            // compilation of this wasm by an engine like this one; files
            // appear only by an atomic rename of a fully written temporary
            // file, so a reader never sees a torn write; and wasmtime also
            // checks the file's header (its version and engine settings)
            // before using it, failing instead of running mismatched code.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(component);
                }
                Err(e) => {
                    self.bad_entries.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        path = %path.display(),
                        error = %format!("{e:#}"),
                        "compiled plugin in the cache could not be loaded; recompiling"
                    );
                }
            }
        }
        let component = Component::from_binary(engine, wasm)?;
        self.compiled.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = store(&component, &path) {
            self.write_failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                path = %path.display(),
                error = %format!("{e:#}"),
                "could not write the compiled plugin to the cache"
            );
        }
        Ok(component)
    }
}

/// Writes `component` to `path` through a temporary file in the same
/// directory and a rename.
fn store(component: &Component, path: &Path) -> anyhow::Result<()> {
    let bytes = component
        .serialize()
        .map_err(|e| anyhow::anyhow!("serializing: {e:#}"))?;
    let dir = path
        .parent()
        .ok_or_else(|| anyhow::anyhow!("cache path has no directory"))?;
    std::fs::create_dir_all(dir)?;
    let (tmp_path, mut file) = tempfile_in(dir)?;
    let written = file
        .write_all(&bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| {
            drop(file);
            std::fs::rename(&tmp_path, path)
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp_path);
        return Err(e.into());
    }
    Ok(())
}

/// Creates a new, uniquely named temporary file in `dir`.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".tmp-{}-{n}.cwasm", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Hex of the first 16 bytes of a SHA-256 over the engine's compatibility hash.
fn engine_hash(engine: &Engine) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(&hasher.0.finalize()[..16])
}

/// A [`Hasher`] that feeds everything into SHA-256, so the key does not depend
/// on std's unspecified `DefaultHasher` algorithm.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().unwrap_or_default())
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
