//! Compiled components cached on disk, so a restart does not recompile every
//! plugin.
//!
//! A cache entry is `<dir>/<wasm sha256>-<engine hash>.cwasm`, where the engine
//! hash covers everything that makes compiled code compatible with an engine
//! (wasmtime version, target, compiler settings; see
//! [`Engine::precompile_compatibility_hash`]). Entries are written to a
//! temporary file and renamed into place, so a reader never sees half a file.
//! An entry that fails to load is recompiled and overwritten.
//!
//! The cache is bounded ([`HostConfig::cache_max_bytes`](super::HostConfig)):
//! every plugin file that changes (a hot reload, a rebuild) adds an entry, so
//! after each new entry the least recently used ones are removed until the
//! entries fit. An entry's modification time is its last use: a hit sets
//! it. Removing the entry of a loaded plugin is harmless, since the loaded
//! code stays mapped; the plugin is only compiled again at its next load.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

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
    /// Least recently used entries removed to keep the cache in its bound.
    pub evicted: u64,
}

/// The compile cache of one engine.
pub(crate) struct CompileCache {
    dir: Option<PathBuf>,
    max_bytes: u64,
    engine_hash: String,
    hits: AtomicU64,
    compiled: AtomicU64,
    bad_entries: AtomicU64,
    write_failures: AtomicU64,
    evicted: AtomicU64,
}

impl CompileCache {
    /// A cache in `dir` (created when first written), or none, whose entries
    /// are kept to `max_bytes` in all.
    pub(crate) fn new(engine: &Engine, dir: Option<PathBuf>, max_bytes: u64) -> CompileCache {
        CompileCache {
            dir,
            max_bytes,
            engine_hash: engine_hash(engine),
            hits: AtomicU64::new(0),
            compiled: AtomicU64::new(0),
            bad_entries: AtomicU64::new(0),
            write_failures: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
        }
    }

    /// The counters so far.
    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            compiled: self.compiled.load(Ordering::Relaxed),
            bad_entries: self.bad_entries.load(Ordering::Relaxed),
            write_failures: self.write_failures.load(Ordering::Relaxed),
            evicted: self.evicted.load(Ordering::Relaxed),
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
                    mark_used(&path);
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
        match store(&component, &path) {
            Ok(()) => self.evict_beyond_bound(&path),
            Err(e) => {
                self.write_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    path = %path.display(),
                    error = %format!("{e:#}"),
                    "could not write the compiled plugin to the cache"
                );
            }
        }
        Ok(component)
    }

    /// Removes the least recently used entries, never `newest`, until the
    /// entries fit in the bound. Best effort: the cache only costs disk.
    fn evict_beyond_bound(&self, newest: &Path) {
        let Some(dir) = &self.dir else { return };
        let Ok(listing) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<(SystemTime, u64, PathBuf)> = listing
            .filter_map(Result::ok)
            .filter(|entry| is_entry_name(&entry.file_name().to_string_lossy()))
            .filter_map(|entry| {
                let meta = entry.metadata().ok()?;
                let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                Some((used, meta.len(), entry.path()))
            })
            .collect();
        let mut total: u64 = entries.iter().map(|(_, size, _)| size).sum();
        entries.sort();
        for (_, size, path) in entries {
            if total <= self.max_bytes {
                break;
            }
            if path == newest {
                continue;
            }
            match std::fs::remove_file(&path) {
                Ok(()) => {
                    total -= size;
                    self.evicted.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(path = %path.display(), "removed a compiled plugin from the cache to keep it in its bound");
                }
                Err(e) => tracing::warn!(
                    path = %path.display(),
                    error = %e,
                    "could not remove a compiled plugin from the cache"
                ),
            }
        }
    }
}

/// Whether `name` is a cache entry's file name (not a temporary file).
fn is_entry_name(name: &str) -> bool {
    name.ends_with(".cwasm") && !name.starts_with('.')
}

/// Records a use of the entry at `path` in its modification time, which
/// [`CompileCache::evict_beyond_bound`] orders by. Best effort.
fn mark_used(path: &Path) {
    let touched = std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|file| file.set_modified(SystemTime::now()));
    if let Err(e) = touched {
        tracing::debug!(path = %path.display(), error = %e, "could not mark a cache entry as used");
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Writes a fake entry of `size` bytes last used `age` ago.
    fn entry(dir: &Path, name: &str, size: usize, age: Duration) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, vec![0; size]).unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
        path
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_least_recently_used_entries_go_until_the_rest_fit() {
        let dir = tempfile::tempdir().unwrap();
        let hour = Duration::from_secs(3600);
        let newest = entry(dir.path(), "new.cwasm", 100, hour * 10);
        entry(dir.path(), "oldest.cwasm", 100, hour * 3);
        entry(dir.path(), "older.cwasm", 100, hour * 2);
        entry(dir.path(), "recent.cwasm", 100, hour);
        // Neither counted nor removed: a write in progress, a stranger.
        entry(dir.path(), ".tmp-1-0.cwasm", 1000, hour * 20);
        entry(dir.path(), "notes.txt", 1000, hour * 20);

        let cache = CompileCache::new(&Engine::default(), Some(dir.path().into()), 250);
        cache.evict_beyond_bound(&newest);
        assert_eq!(
            names(dir.path()),
            [".tmp-1-0.cwasm", "new.cwasm", "notes.txt", "recent.cwasm"],
            "the entry just written stays even though it looks oldest"
        );
        assert_eq!(cache.stats().evicted, 2);

        cache.evict_beyond_bound(&newest);
        assert_eq!(cache.stats().evicted, 2, "within the bound, nothing goes");
    }

    #[test]
    fn a_use_makes_an_entry_the_most_recent() {
        let dir = tempfile::tempdir().unwrap();
        let path = entry(dir.path(), "a.cwasm", 1, Duration::from_secs(3600));
        let before = std::fs::metadata(&path).unwrap().modified().unwrap();
        mark_used(&path);
        let after = std::fs::metadata(&path).unwrap().modified().unwrap();
        assert!(
            after > before + Duration::from_secs(3000),
            "{before:?} {after:?}"
        );
    }
}
