//! The operations the runner offers, by name: the bundled plugins and those
//! in the plugins directory.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;

use super::host::PluginHost;
use super::run::Plugin;

/// The plugins compiled into the binary, as `(name, wasm)`; their origins are
/// `bundled:<name>`.
pub fn bundled() -> &'static [(&'static str, &'static [u8])] {
    static BUNDLED: &[(&str, &[u8])] = &[
        (
            "probe",
            include_bytes!(concat!(env!("OUT_DIR"), "/bundled/probe.wasm")),
        ),
        (
            "json-compare",
            include_bytes!(concat!(env!("OUT_DIR"), "/bundled/json-compare.wasm")),
        ),
        (
            "json-merge",
            include_bytes!(concat!(env!("OUT_DIR"), "/bundled/json-merge.wasm")),
        ),
        (
            "text-diff",
            include_bytes!(concat!(env!("OUT_DIR"), "/bundled/text-diff.wasm")),
        ),
    ];
    BUNDLED
}

/// The operations the runner offers, by name.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    plugins: BTreeMap<String, Plugin>,
}

impl Registry {
    /// Loads the bundled plugins (normally [`bundled()`]) and then every
    /// `*.wasm` file in `dir`, if given, in file-name order. A bundled plugin
    /// that fails to load is an error. A plugin from the directory that fails
    /// to load, or offers an operation name already taken, is not offered: the
    /// reason, naming its origin, is logged, and the others are served.
    pub fn load(
        host: &PluginHost,
        bundled: &[(&str, &[u8])],
        dir: Option<&Path>,
    ) -> anyhow::Result<Registry> {
        let mut registry = Registry::default();
        for (name, wasm) in bundled {
            let plugin = host.load(&format!("bundled:{name}"), wasm)?;
            registry.insert(plugin)?;
        }
        if let Some(dir) = dir {
            for path in Registry::wasm_files(dir)? {
                let origin = path.display().to_string();
                let loaded = std::fs::read(&path)
                    .map_err(|source| super::LoadError::Read {
                        origin: origin.clone(),
                        source,
                    })
                    .map_err(anyhow::Error::from)
                    .and_then(|wasm| Ok(host.load(&origin, &wasm)?))
                    .and_then(|plugin| registry.insert(plugin));
                if let Err(e) = loaded {
                    tracing::error!("plugin {origin} is not offered: {e:#}");
                }
            }
        }
        Ok(registry)
    }

    /// Adds a plugin; an error if its operation name is taken.
    pub fn insert(&mut self, plugin: Plugin) -> anyhow::Result<()> {
        if let Some(existing) = self.plugins.get(plugin.name()) {
            anyhow::bail!(
                "two plugins offer the operation {:?}: {} and {}; remove or rename one of them",
                plugin.name(),
                existing.origin(),
                plugin.origin()
            );
        }
        self.plugins.insert(plugin.name().to_owned(), plugin);
        Ok(())
    }

    /// The plugin offering operation `name`.
    pub fn get(&self, name: &str) -> Option<&Plugin> {
        self.plugins.get(name)
    }

    /// Every plugin, sorted by operation name.
    pub fn iter(&self) -> impl Iterator<Item = &Plugin> {
        self.plugins.values()
    }

    /// How many operations there are.
    pub fn len(&self) -> usize {
        self.plugins.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }

    /// The plugin files of the plugins directory `dir`: the `*.wasm` files
    /// directly in it, sorted by file name (the order in which they are
    /// loaded, so the first by file name wins an operation name).
    pub fn wasm_files(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
        wasm_files(dir)
    }
}

/// The `*.wasm` files directly in `dir`, sorted by file name.
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
