//! Builds the Python example plugin (`plugins/python-word-count/app.py`) into
//! a WebAssembly component with componentize-py, for the tests.
//!
//! It needs only `python3` (with its `venv` module; `LONGRUN_TEST_PYTHON`
//! names another interpreter) and PyPI: the first build creates a virtual
//! environment under the cargo target directory
//! (`<CARGO_TARGET_TMPDIR>/python-plugin/venv-<version>`), pip-installs
//! componentize-py [`COMPONENTIZE_PY_VERSION`] into it and runs
//!
//! ```text
//! componentize-py -d spec/wit -w plugin componentize -p <copy of the app> app -o <out>.wasm
//! ```
//!
//! componentize-py generates the `wit_world` bindings module from the WIT
//! itself, so no separate `bindings` step is needed.
//!
//! The component is cached as `python-plugin/word-count-<key>.wasm`, where the
//! key is a SHA-256 over the pinned version, `app.py` and every file of
//! `spec/wit`; a rerun with the same key builds nothing. Builds take an
//! exclusive lock on `python-plugin/build.lock`, so concurrent test processes
//! build once, and the component is written to a temporary file and renamed
//! into place, so nobody sees half a file.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use sha2::{Digest, Sha256};

/// The componentize-py release the example is built with (PyPI). Its output
/// targets WASI 0.2 (imports `wasi:*@0.2.9`, which wasmtime 48 links through
/// semver matching) and embeds CPython 3.14.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// The WIT world the plugin targets (in `spec/wit`).
const WORLD: &str = "plugin";

/// The Python module that holds the plugin (`app.py`).
const APP_MODULE: &str = "app";

/// The built component.
#[derive(Debug, Clone)]
pub struct Component {
    /// Where the component is (inside the target directory; do not modify).
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// How long this process spent building it (the venv set-up included),
    /// or `None` when a cached build was reused.
    pub build_time: Option<Duration>,
}

/// The word-count component, built on first use and shared by every caller in
/// this process.
pub fn word_count() -> &'static Component {
    static BUILT: OnceLock<Result<Component, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| build(&Sources::word_count()).map_err(|e| format!("{e:#}")));
    match built {
        Ok(component) => component,
        Err(e) => panic!("building the Python plugin failed: {e}"),
    }
}

/// What a build reads.
struct Sources {
    /// The directory holding `app.py`.
    app_dir: PathBuf,
    /// The WIT package directory.
    wit_dir: PathBuf,
    /// The output's file-name prefix.
    name: &'static str,
}

impl Sources {
    fn word_count() -> Sources {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the runner crate lives in the workspace root")
            .to_path_buf();
        Sources {
            app_dir: root.join("plugins/python-word-count"),
            wit_dir: root.join("spec/wit"),
            name: "word-count",
        }
    }

    /// `app.py`.
    fn app(&self) -> PathBuf {
        self.app_dir.join(format!("{APP_MODULE}.py"))
    }
}

/// The directory everything is built in, kept across test runs.
fn work_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-plugin")
}

/// Builds the component of `sources`, or reuses the cached one.
fn build(sources: &Sources) -> anyhow::Result<Component> {
    let work = work_dir();
    let key = cache_key(sources)?;
    let out = work.join(format!("{}-{key}.wasm", sources.name));
    if let Some(component) = cached(&out)? {
        return Ok(component);
    }
    fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let lock_path = work.join("build.lock");
    let lock = File::create(&lock_path)
        .with_context(|| format!("creating the lock file {}", lock_path.display()))?;
    lock.lock()
        .with_context(|| format!("locking {}", lock_path.display()))?;
    // Another process may have built it while this one waited for the lock.
    if let Some(component) = cached(&out)? {
        return Ok(component);
    }
    let started = Instant::now();
    let componentize = install_componentize_py(&work)?;
    componentize_app(sources, &componentize, &work, &out)?;
    let build_time = started.elapsed();
    remove_stale_outputs(&work, sources.name, &out);
    let mut component = cached(&out)?.with_context(|| {
        format!(
            "componentize-py reported success but wrote no {}",
            out.display()
        )
    })?;
    component.build_time = Some(build_time);
    Ok(component)
}

/// The component at `out`, if it was built before.
fn cached(out: &Path) -> anyhow::Result<Option<Component>> {
    match fs::metadata(out) {
        Ok(meta) => Ok(Some(Component {
            path: out.to_path_buf(),
            size: meta.len(),
            build_time: None,
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", out.display())),
    }
}

/// Hex of the first 16 bytes of a SHA-256 over everything the build depends on:
/// the componentize-py version, the world, `app.py` and every file under the
/// WIT directory (by relative path).
fn cache_key(sources: &Sources) -> anyhow::Result<String> {
    let mut hasher = Sha256::new();
    let mut add = |label: &str, bytes: &[u8]| {
        hasher.update((label.len() as u64).to_le_bytes());
        hasher.update(label.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    add("componentize-py", COMPONENTIZE_PY_VERSION.as_bytes());
    add("world", WORLD.as_bytes());
    let app = sources.app();
    add(
        "app",
        &fs::read(&app).with_context(|| format!("reading {}", app.display()))?,
    );
    for file in files_under(&sources.wit_dir)? {
        let relative = file
            .strip_prefix(&sources.wit_dir)
            .unwrap_or(&file)
            .to_string_lossy()
            .into_owned();
        let bytes = fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        add(&relative, &bytes);
    }
    Ok(hex::encode(&hasher.finalize()[..16]))
}

/// Every file under `dir`, recursively, sorted by path.
fn files_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?;
        for entry in entries {
            let path = entry
                .with_context(|| format!("listing {}", dir.display()))?
                .path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The `componentize-py` executable of a virtual environment in `work` that
/// has [`COMPONENTIZE_PY_VERSION`] installed; creates the environment first
/// if needed.
fn install_componentize_py(work: &Path) -> anyhow::Result<PathBuf> {
    let venv = work.join(format!("venv-{COMPONENTIZE_PY_VERSION}"));
    let bin = venv.join(if cfg!(windows) { "Scripts" } else { "bin" });
    let componentize = bin.join("componentize-py");
    // Written once pip has succeeded, so an interrupted install is redone.
    let installed = venv.join("longrun-installed");
    if installed.is_file() && componentize.is_file() {
        return Ok(componentize);
    }
    if venv.exists() {
        fs::remove_dir_all(&venv)
            .with_context(|| format!("removing the incomplete venv {}", venv.display()))?;
    }
    let python = std::env::var_os("LONGRUN_TEST_PYTHON").unwrap_or_else(|| "python3".into());
    run(
        Command::new(&python).arg("-m").arg("venv").arg(&venv),
        &format!(
            "creating a Python virtual environment with `{} -m venv` (Python 3 with its venv module is needed; set LONGRUN_TEST_PYTHON to use another interpreter)",
            python.to_string_lossy()
        ),
    )?;
    run(
        Command::new(bin.join("python"))
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--quiet",
            ])
            .arg(format!("componentize-py=={COMPONENTIZE_PY_VERSION}")),
        &format!("installing componentize-py {COMPONENTIZE_PY_VERSION} from PyPI with pip"),
    )?;
    let version = run(
        Command::new(&componentize).arg("--version"),
        "asking componentize-py for its version",
    )?;
    let said = String::from_utf8_lossy(&version.stdout);
    if said.split_whitespace().last() != Some(COMPONENTIZE_PY_VERSION) {
        bail!(
            "expected componentize-py {COMPONENTIZE_PY_VERSION} in {}, but it says `{}`",
            venv.display(),
            said.trim()
        );
    }
    fs::write(&installed, COMPONENTIZE_PY_VERSION)
        .with_context(|| format!("writing {}", installed.display()))?;
    Ok(componentize)
}

/// Runs componentize-py on a copy of the app (it writes `__pycache__` next to
/// the sources it imports, which must not land in the repository) and moves
/// the component to `out`.
fn componentize_app(
    sources: &Sources,
    componentize: &Path,
    work: &Path,
    out: &Path,
) -> anyhow::Result<()> {
    let staging = work.join(format!("src-{}", std::process::id()));
    if staging.exists() {
        fs::remove_dir_all(&staging).with_context(|| format!("removing {}", staging.display()))?;
    }
    fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
    let app = sources.app();
    fs::copy(&app, staging.join(format!("{APP_MODULE}.py")))
        .with_context(|| format!("copying {} to {}", app.display(), staging.display()))?;
    let partial = out.with_extension(format!("wasm.partial-{}", std::process::id()));
    let venv = componentize
        .parent()
        .and_then(Path::parent)
        .context("componentize-py is not inside a venv")?;
    let built = run(
        Command::new(componentize)
            .arg("--quiet")
            .arg("-d")
            .arg(&sources.wit_dir)
            .arg("-w")
            .arg(WORLD)
            .arg("componentize")
            .arg("-p")
            .arg(&staging)
            .arg(APP_MODULE)
            .arg("-o")
            .arg(&partial)
            .current_dir(&staging)
            // Only this venv's site-packages join the app's path, not whatever
            // the machine's Python has installed.
            .env("VIRTUAL_ENV", venv)
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME"),
        &format!(
            "building {} into a component with componentize-py",
            app.display()
        ),
    )
    .and_then(|_| {
        fs::rename(&partial, out)
            .with_context(|| format!("renaming {} to {}", partial.display(), out.display()))
    });
    let _ = fs::remove_dir_all(&staging);
    if built.is_err() {
        let _ = fs::remove_file(&partial);
    }
    built
}

/// Removes components of `name` built from older sources, keeping `keep`.
fn remove_stale_outputs(work: &Path, name: &str, keep: &Path) {
    let Ok(entries) = fs::read_dir(work) else {
        return;
    };
    let prefix = format!("{name}-");
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        let stale = path != keep
            && path.extension().is_some_and(|ext| ext == "wasm")
            && path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix));
        if stale {
            let _ = fs::remove_file(&path);
        }
    }
}

/// Runs `command`, failing with `what`, the exit status and the command's
/// output unless it succeeds.
fn run(command: &mut Command, what: &str) -> anyhow::Result<Output> {
    let output = command
        .output()
        .with_context(|| format!("{what}: could not start {:?}", command.get_program()))?;
    if !output.status.success() {
        bail!(
            "{what}: {:?} exited with {}\n--- stdout\n{}\n--- stderr\n{}",
            command,
            output.status,
            String::from_utf8_lossy(&output.stdout).trim_end(),
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    Ok(output)
}
