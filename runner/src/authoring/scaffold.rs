//! `longrun plugin new NAME`: writes a plugin crate that builds as is, from
//! the templates in `runner/templates/plugin/` (placeholders `{{name}}`,
//! `{{crate_name}}`, `{{type_name}}` and `{{sdk_path}}`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::check::print_stdout;
use super::{EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, NewArgs};

/// The target plugins are built for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// The guest SDK in the source tree this binary was built from.
const DEFAULT_SDK_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins/sdk");

/// The package name of the guest SDK.
const SDK_PACKAGE: &str = "longrun-plugin";

/// The files of a new plugin crate: where each goes, and its template.
const TEMPLATES: [(&str, &str); 5] = [
    (
        "Cargo.toml",
        include_str!("../../templates/plugin/Cargo.toml.tmpl"),
    ),
    (
        ".cargo/config.toml",
        include_str!("../../templates/plugin/cargo-config.toml.tmpl"),
    ),
    (
        "src/lib.rs",
        include_str!("../../templates/plugin/lib.rs.tmpl"),
    ),
    (
        ".gitignore",
        include_str!("../../templates/plugin/gitignore.tmpl"),
    ),
    (
        "README.md",
        include_str!("../../templates/plugin/README.md.tmpl"),
    ),
];

/// Names a crate may not have: Rust's own crates and keywords.
const RESERVED_NAMES: &[&str] = &[
    "std",
    "core",
    "alloc",
    "test",
    "proc-macro",
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "gen",
];

/// What a new plugin is called, in each form the templates need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginNames {
    /// The operation and package name, e.g. `demo-op`.
    pub name: String,
    /// The library name, e.g. `demo_op` (the `.wasm` is called this).
    pub crate_name: String,
    /// The operation's type, e.g. `DemoOp`.
    pub type_name: String,
}

impl PluginNames {
    /// The names for the operation `name`, or why it cannot be one.
    pub fn new(name: &str) -> Result<PluginNames, String> {
        let valid = (1..=64).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(format!(
                "`{name}` is not a valid plugin name: use 1 to 64 lowercase letters, digits and \
                 '-', starting with a letter (it is the operation name and the crate name), \
                 e.g. `word-count`"
            ));
        }
        if RESERVED_NAMES.contains(&name) {
            return Err(format!(
                "`{name}` cannot be a crate name (it is a Rust keyword or a standard crate); \
                 pick another, e.g. `{name}-op`"
            ));
        }
        let type_name = name
            .split('-')
            .filter(|part| !part.is_empty())
            .map(|part| {
                let mut chars = part.chars();
                chars
                    .next()
                    .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect();
        Ok(PluginNames {
            name: name.to_owned(),
            crate_name: name.replace('-', "_"),
            type_name,
        })
    }
}

/// The files of a new plugin crate: relative path and content.
pub fn render(names: &PluginNames, sdk_dir: &Path) -> Vec<(&'static str, String)> {
    let sdk_path = toml_string_content(&sdk_dir.to_string_lossy());
    TEMPLATES
        .iter()
        .map(|(path, template)| {
            let text = template
                .replace("{{name}}", &names.name)
                .replace("{{crate_name}}", &names.crate_name)
                .replace("{{type_name}}", &names.type_name)
                .replace("{{sdk_path}}", &sdk_path);
            (*path, text)
        })
        .collect()
}

/// `text` escaped for the inside of a TOML basic string.
fn toml_string_content(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// The SDK's directory, canonical: `--sdk` or the one in the source tree;
/// an error if it does not hold the SDK crate.
fn sdk_dir(given: Option<&Path>) -> Result<PathBuf, String> {
    let (dir, how) = match given {
        Some(dir) => (dir.to_path_buf(), "--sdk"),
        None => (
            PathBuf::from(DEFAULT_SDK_DIR),
            "the longrun source tree this binary was built from",
        ),
    };
    let canonical = fs::canonicalize(&dir).map_err(|e| {
        format!(
            "the guest SDK `{SDK_PACKAGE}` is not at {} (from {how}): {e}; give the directory \
             of plugins/sdk in a longrun source tree with --sdk PATH",
            dir.display()
        )
    })?;
    let manifest = canonical.join("Cargo.toml");
    let text = fs::read_to_string(&manifest).map_err(|e| {
        format!(
            "{} (from {how}) is not the guest SDK: cannot read {}: {e}; give the directory of \
             plugins/sdk with --sdk PATH",
            canonical.display(),
            manifest.display()
        )
    })?;
    let declares_sdk = text
        .lines()
        .any(|line| line.replace(' ', "") == format!("name=\"{SDK_PACKAGE}\""));
    if !declares_sdk {
        return Err(format!(
            "{} (from {how}) is not the guest SDK: its Cargo.toml does not declare the package \
             `{SDK_PACKAGE}`; give the directory of plugins/sdk with --sdk PATH",
            manifest.display()
        ));
    }
    Ok(canonical)
}

/// Refuses an existing directory that is not empty.
fn check_destination(dir: &Path) -> Result<(), String> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(format!(
                    "{} already exists and is not empty; pick another NAME or --dir",
                    dir.display()
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Err(format!(
            "{} already exists and is a file; pick another NAME or --dir",
            dir.display()
        )),
        Err(e) => Err(format!("cannot use {}: {e}", dir.display())),
    }
}

/// Writes the crate's files under `dir`.
fn write_files(dir: &Path, files: &[(&str, String)]) -> Result<(), String> {
    for (path, text) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Whether `rustup` knows the wasm32-wasip2 target is installed: `None`
/// if rustup is not there to ask.
fn wasm_target_installed() -> Option<bool> {
    let output = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .any(|line| line.trim() == WASM_TARGET),
    )
}

/// `longrun plugin new`: the exit code.
pub fn new_plugin(args: &NewArgs) -> i32 {
    let names = match PluginNames::new(&args.name) {
        Ok(names) => names,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&names.name));
    let created = check_destination(&dir)
        .and_then(|()| sdk_dir(args.sdk.as_deref()))
        .and_then(|sdk| write_files(&dir, &render(&names, &sdk)).map(|()| sdk));
    let sdk = match created {
        Ok(sdk) => sdk,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_PROBLEM;
        }
    };
    print_stdout(&next_steps(&names, &dir, &sdk, wasm_target_installed()));
    EXIT_OK
}

/// What `new` prints: what it made and what to do next.
fn next_steps(names: &PluginNames, dir: &Path, sdk: &Path, target: Option<bool>) -> String {
    let wasm = format!("target/{WASM_TARGET}/release/{}.wasm", names.crate_name);
    let target_note = match target {
        Some(true) => String::new(),
        Some(false) => format!(
            "\nThe {WASM_TARGET} target is not installed; first run:\n  rustup target add \
             {WASM_TARGET}\n"
        ),
        None => format!(
            "\nBuilding needs the {WASM_TARGET} target of your Rust toolchain (with rustup: \
             rustup target add {WASM_TARGET}).\n"
        ),
    };
    let dir = dir.display();
    let mut text = format!(
        "Created the plugin `{}` in {dir} (guest SDK: {}).\n",
        names.name,
        sdk.display()
    );
    text.push_str(&target_note);
    text.push_str(&format!(
        "\nNext:\n\
         \x20 cd {dir}\n\
         \x20 cargo test-native      # the unit tests, natively\n\
         \x20 cargo build --release  # writes {wasm}\n\
         \x20 longrun plugin check {wasm}\n\
         \x20 longrun plugin run {wasm} --input text=@README.md --params '{{\"top\": 3}}'\n\
         To offer it, copy the .wasm into the plugins directory of \
         `longrun serve --plugins-dir DIR`.\n"
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_every_form() {
        let names = PluginNames::new("demo-op2").unwrap();
        assert_eq!(names.crate_name, "demo_op2");
        assert_eq!(names.type_name, "DemoOp2");
        assert_eq!(PluginNames::new("a--b-").unwrap().type_name, "AB");
    }

    #[test]
    fn bad_names_are_refused_with_the_rule() {
        for bad in ["", "2fast", "-a", "Demo", "a_b", "a b", &"a".repeat(65)] {
            let error = PluginNames::new(bad).unwrap_err();
            assert!(error.contains("lowercase letters"), "{bad}: {error}");
        }
        assert!(PluginNames::new("match").unwrap_err().contains("keyword"));
        assert!(PluginNames::new("a".repeat(64).as_str()).is_ok());
    }

    #[test]
    fn every_placeholder_is_filled_and_the_sdk_path_is_escaped() {
        let names = PluginNames::new("demo-op").unwrap();
        let files = render(&names, Path::new("/tmp/odd \"dir\"\\sdk"));
        assert_eq!(files.len(), TEMPLATES.len());
        for (path, text) in &files {
            assert!(!text.contains("{{"), "{path} keeps a placeholder");
        }
        let manifest = &files[0].1;
        assert!(
            manifest.contains(r#"path = "/tmp/odd \"dir\"\\sdk""#),
            "{manifest}"
        );
        assert!(manifest.contains("name = \"demo-op\""));
        let lib = &files.iter().find(|(p, _)| *p == "src/lib.rs").unwrap().1;
        assert!(lib.contains("pub struct DemoOp;"));
        assert!(lib.contains("export!(DemoOp)"));
    }

    #[test]
    fn a_non_empty_directory_is_refused() {
        let temp = tempfile::tempdir().unwrap();
        assert!(check_destination(temp.path()).is_ok());
        assert!(check_destination(&temp.path().join("new")).is_ok());
        fs::write(temp.path().join("x"), "").unwrap();
        let error = check_destination(temp.path()).unwrap_err();
        assert!(error.contains("not empty"), "{error}");
        let error = check_destination(&temp.path().join("x")).unwrap_err();
        assert!(error.contains("is a file"), "{error}");
    }

    #[test]
    fn the_sdk_in_the_source_tree_is_found() {
        let sdk = sdk_dir(None).unwrap();
        assert!(sdk.is_absolute() && sdk.ends_with("plugins/sdk"), "{sdk:?}");
        let error = sdk_dir(Some(Path::new(env!("CARGO_MANIFEST_DIR")))).unwrap_err();
        assert!(error.contains("not the guest SDK"), "{error}");
    }

    #[test]
    fn next_steps_say_how_to_get_the_target() {
        let names = PluginNames::new("demo-op").unwrap();
        let text = next_steps(&names, Path::new("demo-op"), Path::new("/sdk"), Some(false));
        assert!(text.contains("rustup target add wasm32-wasip2"), "{text}");
        assert!(text.contains("longrun plugin check target/wasm32-wasip2/release/demo_op.wasm"));
        let text = next_steps(&names, Path::new("demo-op"), Path::new("/sdk"), Some(true));
        assert!(!text.contains("rustup target add"), "{text}");
    }
}
