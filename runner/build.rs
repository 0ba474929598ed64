//! Builds the guest plugins (`plugins/*`) as WebAssembly components for the runner.
//!
//! 1. Makes sure the `wasm32-wasip2` target is installed for the toolchain whose
//!    `rustc` builds this crate (`rustup target add` when it is not).
//! 2. Runs a nested `cargo build --profile plugin --target wasm32-wasip2` for the
//!    plugin crates, in its own target directory (`<target-dir>/plugins`), so
//!    it never waits on the build-directory lock the outer cargo holds. The outer
//!    build's own variables (flags, target, wrappers, `CARGO_CFG_*`, …) are removed
//!    from its environment; the jobserver (`CARGO_MAKEFLAGS`) is kept, so the nested
//!    build shares the outer build's job slots.
//! 3. Checks that each artifact is a component and copies it into `OUT_DIR`:
//!    `bundled/<operation>.wasm` for each bundled operation (for `include_bytes!`) and
//!    `test-plugins/hostile.wasm`, whose absolute path is given to the crate as
//!    `env!("LONGRUN_HOSTILE_WASM")`.
//!
//! The nested cargo is a no-op (about a second) when the plugins are up to date,
//! and this script only reruns when the plugin sources, the WIT, the lock file or
//! the workspace manifest change.

use std::env;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

/// The target the guest plugins are built for.
const WASM_TARGET: &str = "wasm32-wasip2";

/// The cargo profile the guest plugins are built with (see the workspace manifest).
const PROFILE: &str = "plugin";

/// One plugin: its package, its artifact's file name, and where it goes in `OUT_DIR`.
struct Plugin {
    package: &'static str,
    artifact: &'static str,
    destination: &'static str,
}

const PLUGINS: [Plugin; 5] = [
    Plugin {
        package: "longrun-probe",
        artifact: "longrun_probe.wasm",
        destination: "bundled/probe.wasm",
    },
    Plugin {
        package: "longrun-json-compare",
        artifact: "longrun_json_compare.wasm",
        destination: "bundled/json-compare.wasm",
    },
    Plugin {
        package: "longrun-json-merge",
        artifact: "longrun_json_merge.wasm",
        destination: "bundled/json-merge.wasm",
    },
    Plugin {
        package: "longrun-text-diff",
        artifact: "longrun_text_diff.wasm",
        destination: "bundled/text-diff.wasm",
    },
    Plugin {
        package: "longrun-hostile",
        artifact: "longrun_hostile.wasm",
        destination: "test-plugins/hostile.wasm",
    },
];

/// Watched for changes: everything the plugin build reads, relative to the workspace.
const INPUTS: [&str; 9] = [
    "plugins/probe",
    "plugins/json-compare",
    "plugins/json-merge",
    "plugins/text-diff",
    "plugins/hostile",
    "plugins/sdk",
    "spec/wit",
    "Cargo.lock",
    "Cargo.toml",
];

/// Variables cargo sets for the outer build (or its build scripts) that must not
/// reach the nested cargo: it would build for the wrong target, with the host's
/// flags, through clippy, into the outer target directory, or hand them on to the
/// plugins' own build scripts and crates.
const REMOVED_VARIABLES: [&str; 26] = [
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_RUSTC_CURRENT_DIR",
    "CARGO_TARGET_TMPDIR",
    "OUT_DIR",
    "TARGET",
    "HOST",
    "NUM_JOBS",
    "OPT_LEVEL",
    "DEBUG",
    "PROFILE",
    "RUSTC_LINKER",
    "CLIPPY_ARGS",
    "CLIPPY_CONF_DIR",
];

/// Prefixes of variables removed for the same reason.
const REMOVED_PREFIXES: [&str; 5] = [
    "CARGO_CFG_",
    "CARGO_FEATURE_",
    "CARGO_PKG_",
    "DEP_",
    "__CARGO_",
];

fn main() {
    let manifest_dir = PathBuf::from(required_var("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .parent()
        .expect("the runner crate lives in the workspace root")
        .to_path_buf();
    let out_dir = PathBuf::from(required_var("OUT_DIR"));

    println!("cargo:rerun-if-changed=build.rs");
    for input in INPUTS {
        println!("cargo:rerun-if-changed={}", workspace.join(input).display());
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");

    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

    ensure_wasm_target(&rustc, &workspace);
    let target_dir = plugin_target_dir(&workspace, &out_dir);
    let started = Instant::now();
    let log = build_plugins(&cargo, &workspace, &target_dir);
    let elapsed = started.elapsed();

    let artifacts = target_dir.join(WASM_TARGET).join(PROFILE);
    for plugin in &PLUGINS {
        let source = artifacts.join(plugin.artifact);
        let destination = out_dir.join(plugin.destination);
        install_component(plugin.package, &source, &destination);
    }
    let hostile = out_dir.join("test-plugins/hostile.wasm");
    println!("cargo:rustc-env=LONGRUN_HOSTILE_WASM={}", hostile.display());

    // The nested build's own output, for whoever wonders what it did.
    let mut record = log;
    record.push_str(&format!("\nnested plugin build took {:.1?}\n", elapsed));
    write_if_changed(&out_dir.join("plugins-build.log"), record.as_bytes());
}

/// Reads a variable cargo always sets for build scripts.
fn required_var(name: &str) -> OsString {
    env::var_os(name).unwrap_or_else(|| panic!("cargo did not set {name} for the build script"))
}

/// Installs the `wasm32-wasip2` target with rustup unless `rustc` already has it.
fn ensure_wasm_target(rustc: &OsStr, workspace: &Path) {
    if wasm_target_installed(rustc) {
        return;
    }
    let mut rustup = Command::new("rustup");
    rustup
        .current_dir(workspace)
        .args(["target", "add", WASM_TARGET]);
    // Name the toolchain that `rustc` belongs to, when it is a rustup toolchain, so
    // the target lands where this very compiler looks for it. Otherwise rustup picks
    // the toolchain as usual (`RUSTUP_TOOLCHAIN`, overrides, rust-toolchain.toml).
    let toolchain = rustup_toolchain_of(rustc);
    if let Some(toolchain) = &toolchain {
        rustup.args(["--toolchain", toolchain]);
    }
    let outcome = rustup.output();
    // A concurrent build may have installed it meanwhile: judge by the result.
    if wasm_target_installed(rustc) {
        println!(
            "cargo:warning=installed the Rust target {WASM_TARGET} with `{}`",
            describe(&rustup)
        );
        return;
    }
    let detail = match outcome {
        Ok(output) => format!(
            "`{}` failed ({}):\n{}",
            describe(&rustup),
            output.status,
            text(&output.stderr)
        ),
        Err(error) => format!("cannot run `rustup`: {error}"),
    };
    let install = match &toolchain {
        Some(toolchain) => format!("rustup target add {WASM_TARGET} --toolchain {toolchain}"),
        None => format!("rustup target add {WASM_TARGET}"),
    };
    panic!(
        "\n\nThe Rust target `{WASM_TARGET}` is not installed for {rustc:?}, and installing it \
         failed.\nThe runner embeds its plugins as WebAssembly components built for that target. \
         Install it with\n\n    {install}\n\nand build again.\n\n{detail}\n"
    );
}

/// Whether `rustc --print target-libdir --target wasm32-wasip2` names an existing directory.
fn wasm_target_installed(rustc: &OsStr) -> bool {
    let Ok(output) = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", WASM_TARGET])
        .output()
    else {
        return false;
    };
    output.status.success() && Path::new(text(&output.stdout).trim()).is_dir()
}

/// The rustup toolchain name of `rustc`, from its sysroot `…/toolchains/<name>`.
fn rustup_toolchain_of(rustc: &OsStr) -> Option<String> {
    let output = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let sysroot = PathBuf::from(text(&output.stdout).trim());
    let parent = sysroot.parent()?;
    if parent.file_name()? != "toolchains" {
        return None;
    }
    Some(sysroot.file_name()?.to_str()?.to_owned())
}

/// Where the nested build puts its files: `plugins/` in the outer target directory.
///
/// The outer target directory is `CARGO_TARGET_DIR` when that is an absolute path,
/// else the nearest ancestor of `OUT_DIR` that cargo marked with `CACHEDIR.TAG` (that
/// also covers `build.target-dir` set in a config file), else `<workspace>/target`.
fn plugin_target_dir(workspace: &Path, out_dir: &Path) -> PathBuf {
    let outer = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| {
            out_dir
                .ancestors()
                .skip(1)
                .find(|dir| dir.join("CACHEDIR.TAG").is_file())
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| workspace.join("target"));
    outer.join("plugins")
}

/// Runs the nested cargo build and returns its output; panics with its stderr when it fails.
fn build_plugins(cargo: &OsStr, workspace: &Path, target_dir: &Path) -> String {
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["build", "--profile", PROFILE, "--target", WASM_TARGET])
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    for plugin in &PLUGINS {
        command.args(["-p", plugin.package]);
    }
    for (name, _) in env::vars_os() {
        if let Some(name) = name.to_str()
            && is_outer_build_variable(name)
        {
            command.env_remove(name);
        }
    }

    let output = command.output().unwrap_or_else(|error| {
        panic!(
            "cannot run the nested plugin build `{}`: {error}",
            describe(&command)
        )
    });
    let stderr = text(&output.stderr);
    if !output.status.success() {
        panic!(
            "\n\nBuilding the WebAssembly plugins failed ({}).\nCommand: {}\n\n{}\n",
            output.status,
            describe(&command),
            stderr
        );
    }
    forward_warnings(&output);
    format!("$ {}\n{}", describe(&command), stderr)
}

/// Whether `name` is one of the outer build's variables the nested cargo must not see.
fn is_outer_build_variable(name: &str) -> bool {
    REMOVED_VARIABLES.contains(&name)
        || REMOVED_PREFIXES
            .iter()
            .any(|prefix| name.starts_with(prefix))
}

/// Repeats the nested build's warnings as build-script warnings, so they are seen.
fn forward_warnings(output: &Output) {
    let stderr = text(&output.stderr);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("warning:") && !line.contains("generated"))
        .take(20)
        .collect();
    for line in warnings {
        println!("cargo:warning=plugin build: {line}");
    }
}

/// Checks that `source` is a WebAssembly component and copies it to `destination`.
fn install_component(package: &str, source: &Path, destination: &Path) {
    let bytes = fs::read(source).unwrap_or_else(|error| {
        panic!(
            "the plugin build did not produce {} for `{package}`: {error}",
            source.display()
        )
    });
    // A component is `\0asm`, then the version 0x0d and the layer 0x01 (a core
    // module has version 1, layer 0).
    let is_component =
        bytes.len() >= 8 && bytes[0..4] == *b"\0asm" && bytes[4..8] == [0x0d, 0x00, 0x01, 0x00];
    if !is_component {
        let header: Vec<String> = bytes
            .iter()
            .take(8)
            .map(|byte| format!("{byte:02x}"))
            .collect();
        panic!(
            "{} (from `{package}`) is not a WebAssembly component (header {}); the `{WASM_TARGET}` \
             target should produce components: is the toolchain's wasm-component-ld missing?",
            source.display(),
            header.join(" ")
        );
    }
    write_if_changed(destination, &bytes);
}

/// Writes `bytes` to `path` unless it already holds exactly them, so an unchanged
/// plugin keeps its modification time.
fn write_if_changed(path: &Path, bytes: &[u8]) {
    if fs::read(path).is_ok_and(|existing| existing == bytes) {
        return;
    }
    let parent = path.parent().expect("the destination is inside OUT_DIR");
    fs::create_dir_all(parent)
        .unwrap_or_else(|error| panic!("cannot create {}: {error}", parent.display()));
    let mut file = fs::File::create(path)
        .unwrap_or_else(|error| panic!("cannot create {}: {error}", path.display()));
    file.write_all(bytes)
        .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
}

/// The command line of `command`, for messages.
fn describe(command: &Command) -> String {
    let mut line = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
