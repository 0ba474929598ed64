//! Hot reload of the plugins directory: new, changed and removed `*.wasm`
//! files are picked up while the runner serves.
//!
//! [`PluginSources`] remembers what it last saw of every plugin file: its size
//! and modification time, the SHA-256 of the content it last read, and the
//! operation that file offers. [`PluginSources::rescan`] compares the
//! directory with that memory:
//!
//! - A file whose size and modification time are unchanged is not read.
//! - A new or changed file is read and hashed; content already offered (a
//!   `touch`) or already known not to load is not loaded again. Other content
//!   is loaded with [`PluginHost::load`] (compiled, described, its params
//!   schema compiled).
//! - A changed file that fails to load keeps its previous version offered; a
//!   new file that fails is not offered. Either way the reason is logged once
//!   per content, not at every scan.
//! - A removed file's operation is no longer offered.
//!
//! [`PluginSources::offered`] then makes the [`OperationSet`]: the bundled
//! plugins (which never change) first, then the directory's in file-name
//! order; a file that offers an operation name already taken is not offered
//! (logged once). [`watch`] runs a scan every interval on a blocking thread
//! (compilation is CPU-heavy) and publishes a changed set to [`Operations`],
//! logging each operation loaded, replaced or removed.
//!
//! Jobs are not affected by a change until their next attempt starts: an
//! attempt holds the [`Plugin`](crate::plugin::Plugin) it started with (see
//! [`Executor::resolve`](crate::jobs::Executor::resolve)).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;

use sha2::{Digest, Sha256};
use tokio::sync::watch as channel;
use tokio::task::JoinHandle;

use super::{Operation, OperationSet, Operations};
use crate::plugin::PluginHost;

/// The size and modification time of a file: when both are unchanged, the
/// file is taken to be unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    size: u64,
    modified: Option<SystemTime>,
}

impl Stamp {
    fn of(path: &Path) -> std::io::Result<Stamp> {
        let metadata = std::fs::metadata(path)?;
        Ok(Stamp {
            size: metadata.len(),
            modified: metadata.modified().ok(),
        })
    }
}

/// What was last seen of one plugin file.
#[derive(Default)]
struct FileState {
    /// The stamp of the content last read; `None` until a read succeeds.
    stamp: Option<Stamp>,
    /// The operation the file offers: its last content that loaded.
    offered: Option<Arc<Operation>>,
    /// What was last logged about the file (a failed content's SHA-256, or a
    /// read error), so that a problem is logged once, not at every scan.
    logged: Option<String>,
}

/// The plugins the runner offers and where they come from: the bundled ones
/// and the plugins directory as last scanned.
pub struct PluginSources {
    host: Arc<PluginHost>,
    bundled: Vec<Arc<Operation>>,
    dir: Option<PathBuf>,
    /// By file name, so in the order that decides who wins a name.
    files: BTreeMap<OsString, FileState>,
    /// The last error reading the directory itself, logged once.
    dir_error: Option<String>,
    /// Plugins not offered because their name is taken, already logged.
    shadowed: BTreeSet<String>,
}

impl PluginSources {
    /// Loads the bundled plugins (normally [`crate::plugin::bundled`]) and
    /// every `*.wasm` file in `dir`, if given. A bundled plugin that fails to
    /// load, two bundled plugins with one name, or a plugins directory that
    /// cannot be read is an error. A plugin file that fails to load is not
    /// offered; the reason, naming the file, is logged. Blocking: compiles
    /// plugins.
    pub fn load(
        host: Arc<PluginHost>,
        bundled: &[(&str, &[u8])],
        dir: Option<&Path>,
    ) -> anyhow::Result<PluginSources> {
        let mut names = OperationSet::default();
        let mut operations = Vec::new();
        for (name, wasm) in bundled {
            let plugin = host.load(&format!("bundled:{name}"), wasm)?;
            let operation = Arc::new(Operation::new(plugin).map_err(anyhow::Error::msg)?);
            names
                .insert(operation.clone())
                .map_err(anyhow::Error::msg)?;
            operations.push(operation);
        }
        let mut sources = PluginSources {
            host,
            bundled: operations,
            dir: dir.map(Path::to_path_buf),
            files: BTreeMap::new(),
            dir_error: None,
            shadowed: BTreeSet::new(),
        };
        sources.scan()?;
        Ok(sources)
    }

    /// The plugins directory, if there is one.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Looks at the plugins directory again and loads what is new or changed.
    /// Returns whether what the directory offers may have changed. A
    /// directory that cannot be read keeps what it offered (logged once).
    /// Blocking: reads files and compiles plugins.
    pub fn rescan(&mut self) -> bool {
        match self.scan() {
            Ok(changed) => {
                self.dir_error = None;
                changed
            }
            Err(e) => {
                let message = format!("{e:#}");
                if self.dir_error.as_deref() != Some(message.as_str()) {
                    tracing::error!("{message}; the plugins loaded from it stay offered");
                    self.dir_error = Some(message);
                }
                false
            }
        }
    }

    /// The operations on offer: the bundled plugins, then those of the
    /// directory in file-name order. A plugin whose operation name is already
    /// taken is not offered; that is logged the first time it happens.
    pub fn offered(&mut self) -> OperationSet {
        let mut set = OperationSet::default();
        for operation in &self.bundled {
            // Bundled names were checked to be distinct by `load`.
            let _ = set.insert(operation.clone());
        }
        let mut shadowed = BTreeSet::new();
        for operation in self.files.values().filter_map(|f| f.offered.as_ref()) {
            if let Err(e) = set.insert(operation.clone()) {
                let key = format!(
                    "{}\n{}",
                    operation.plugin.origin(),
                    operation.plugin.sha256()
                );
                if !self.shadowed.contains(&key) {
                    tracing::error!("plugin {} is not offered: {e}", operation.plugin.origin());
                }
                shadowed.insert(key);
            }
        }
        self.shadowed = shadowed;
        set
    }

    /// One scan of the directory; an error only when the directory itself
    /// cannot be read.
    fn scan(&mut self) -> anyhow::Result<bool> {
        let Some(dir) = self.dir.clone() else {
            return Ok(false);
        };
        let paths = wasm_files(&dir)?;
        let present: BTreeSet<OsString> = paths
            .iter()
            .filter_map(|p| p.file_name().map(OsString::from))
            .collect();
        let mut changed = false;
        self.files.retain(|name, file| {
            let keep = present.contains(name);
            changed |= !keep && file.offered.is_some();
            keep
        });
        for path in paths {
            let Some(name) = path.file_name().map(OsString::from) else {
                continue;
            };
            let file = self.files.entry(name).or_default();
            changed |= scan_file(&self.host, &path, file);
        }
        Ok(changed)
    }
}

/// Look at one plugin file again; returns whether what it offers changed.
fn scan_file(host: &PluginHost, path: &Path, file: &mut FileState) -> bool {
    let origin = path.display().to_string();
    let read = Stamp::of(path).and_then(|stamp| {
        if file.stamp == Some(stamp) {
            return Ok(None);
        }
        std::fs::read(path).map(|wasm| Some((stamp, wasm)))
    });
    let (stamp, wasm) = match read {
        Ok(Some(read)) => read,
        Ok(None) => return false,
        // Removed since it was listed: the next scan sees it gone.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return false,
        Err(e) => {
            // Tried again at the next scan (a file may be unreadable for a
            // moment while it is replaced), but logged once.
            let message = format!("the file cannot be read: {e}");
            if file.logged.as_deref() != Some(message.as_str()) {
                tracing::error!("{}", keeps_or_not_offered(&origin, file, &message));
                file.logged = Some(message);
            }
            return false;
        }
    };
    file.stamp = Some(stamp);
    let sha256 = hex::encode(Sha256::digest(&wasm));
    if file
        .offered
        .as_ref()
        .is_some_and(|op| op.plugin.sha256() == sha256)
    {
        // The same content again (touched, or put back after a bad copy).
        file.logged = None;
        return false;
    }
    if file.logged.as_deref() == Some(sha256.as_str()) {
        return false;
    }
    let loaded = host
        .load(&origin, &wasm)
        .map_err(|e| e.to_string())
        .and_then(Operation::new);
    match loaded {
        Ok(operation) => {
            file.offered = Some(Arc::new(operation));
            file.logged = None;
            true
        }
        Err(reason) => {
            let message = format!("its content (sha256 {sha256}) does not load: {reason}");
            tracing::error!("{}", keeps_or_not_offered(&origin, file, &message));
            file.logged = Some(sha256);
            false
        }
    }
}

/// The error line for a plugin file that cannot be loaded now: what stays
/// offered, and why.
fn keeps_or_not_offered(origin: &str, file: &FileState, reason: &str) -> String {
    match &file.offered {
        Some(previous) => format!(
            "plugin {origin} changed, but {reason}; its previous version stays offered \
             (operation `{}` {}, sha256 {})",
            previous.name(),
            previous.plugin.description().version,
            previous.plugin.sha256()
        ),
        None => format!("plugin {origin} is not offered: {reason}"),
    }
}

/// Log, at info, every operation that `new` offers and `old` did not
/// (loaded), that both offer from different plugins (replaced), and that only
/// `old` offered (removed).
pub fn log_changes(old: &OperationSet, new: &OperationSet) {
    /// Where a plugin came from and which one it is.
    fn plugin(op: &Operation) -> String {
        format!(
            "{} (version {}, sha256 {})",
            op.plugin.origin(),
            op.plugin.description().version,
            op.plugin.sha256()
        )
    }
    let names: BTreeSet<&str> = old.iter().chain(new.iter()).map(|op| op.name()).collect();
    for name in names {
        match (old.get(name), new.get(name)) {
            (None, Some(added)) => {
                tracing::info!("plugin `{name}` loaded from {}", plugin(added));
            }
            (Some(before), Some(after))
                if before.plugin.sha256() != after.plugin.sha256()
                    || before.plugin.origin() != after.plugin.origin() =>
            {
                tracing::info!(
                    "plugin `{name}` replaced: now {}, was {}",
                    plugin(after),
                    plugin(before)
                );
            }
            (Some(removed), None) => {
                tracing::info!("plugin `{name}` removed: was {}", plugin(removed));
            }
            _ => {}
        }
    }
}

/// The task that keeps [`Operations`] in step with the plugins directory;
/// it stops when this is dropped.
pub struct Watch {
    task: JoinHandle<()>,
    scans: channel::Receiver<u64>,
}

impl Watch {
    /// How many scans have completed so far; changes after each one. The
    /// second scan to complete after a change to the directory has seen it.
    pub fn scans(&self) -> channel::Receiver<u64> {
        self.scans.clone()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Rescan `sources` every `interval` (which must not be zero) and publish
/// each change to `operations`. Must be called inside a tokio runtime.
pub fn watch(sources: PluginSources, operations: Arc<Operations>, interval: Duration) -> Watch {
    let (done, scans) = channel::channel(0u64);
    let sources = Arc::new(Mutex::new(sources));
    let task = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is at once; the sources were just loaded.
        ticker.tick().await;
        loop {
            ticker.tick().await;
            let sources = sources.clone();
            let operations = operations.clone();
            let scanned = tokio::task::spawn_blocking(move || {
                // After a panic the state is still usable: at worst one file
                // is not tried again until it changes again.
                let mut sources = sources.lock().unwrap_or_else(|e| e.into_inner());
                if sources.rescan() {
                    let new = Arc::new(sources.offered());
                    let old = operations.replace(new.clone());
                    log_changes(&old, &new);
                }
            })
            .await;
            if let Err(e) = scanned {
                tracing::error!("a scan of the plugins directory failed: {e}");
            }
            done.send_modify(|n| *n += 1);
        }
    });
    Watch { task, scans }
}

/// The plugin files of the plugins directory `dir`: the `*.wasm` files
/// directly in it, sorted by file name (the order in which they are loaded,
/// so the first by file name wins an operation name).
fn wasm_files(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the plugins directory {}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry
            .with_context(|| format!("cannot read the plugins directory {}", dir.display()))?;
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "wasm") && path.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}
