//! What a component shows the outside: the names it imports and exports (its
//! top level only), read from the binary without compiling it, and what they
//! say: which imports the runner does not provide, which version of the WIT
//! package `longrun:plugin` the plugin was built against.

use wasmparser::{Encoding, Parser, Payload};

/// The WIT package plugins are built against.
pub const PLUGIN_PACKAGE: &str = "longrun:plugin";

/// The interfaces of [`PLUGIN_PACKAGE`] the runner provides.
const PLUGIN_INTERFACES: [&str; 3] = ["types", "host", "chunked-io"];

/// The WASI 0.2 packages the runner links (most of them deny access).
const WASI_PACKAGES: [&str; 6] = [
    "wasi:cli",
    "wasi:clocks",
    "wasi:filesystem",
    "wasi:io",
    "wasi:random",
    "wasi:sockets",
];

/// A component's top-level import and export names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentSurface {
    /// Import names, e.g. `longrun:plugin/host@1.1.0`, `wasi:io/streams@0.2.3`.
    pub imports: Vec<String>,
    /// Export names, e.g. `describe`, `run-chunked`.
    pub exports: Vec<String>,
}

impl ComponentSurface {
    /// Reads the names from `wasm`; `None` if it is not a component that
    /// parses.
    pub fn read(wasm: &[u8]) -> Option<ComponentSurface> {
        let mut surface = ComponentSurface::default();
        // How deep in nested modules and components the parser is.
        let mut depth = 0usize;
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.ok()? {
                Payload::Version { encoding, .. }
                    if depth == 0 && encoding != Encoding::Component =>
                {
                    return None;
                }
                Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
                Payload::End(_) => depth = depth.saturating_sub(1),
                Payload::ComponentImportSection(reader) if depth == 0 => {
                    for import in reader {
                        surface.imports.push(import.ok()?.name.name.to_owned());
                    }
                }
                Payload::ComponentExportSection(reader) if depth == 0 => {
                    for export in reader {
                        surface.exports.push(export.ok()?.name.name.to_owned());
                    }
                }
                _ => {}
            }
        }
        Some(surface)
    }

    /// The imports the runner does not provide.
    pub fn unknown_imports(&self) -> Vec<&str> {
        self.imports
            .iter()
            .map(String::as_str)
            .filter(|name| !is_provided(name))
            .collect()
    }

    /// The highest version of [`PLUGIN_PACKAGE`] among the imports, e.g.
    /// `1.1.0`; `None` if the component imports nothing of it.
    pub fn plugin_package_version(&self) -> Option<semver::Version> {
        self.imports
            .iter()
            .filter_map(|name| {
                let (path, version) = split_version(name);
                let (package, _) = path.split_once('/')?;
                (package == PLUGIN_PACKAGE).then_some(version?)
            })
            .filter_map(|version| semver::Version::parse(version).ok())
            .max()
    }

    /// Whether the exports fit one of the plugin worlds: `describe` and
    /// `run` or `run-chunked`.
    pub fn exports_fit_a_world(&self) -> bool {
        let exports = |name: &str| self.exports.iter().any(|e| e == name);
        exports("describe") && (exports("run") || exports("run-chunked"))
    }
}

/// Whether the runner links an import called `name`: an interface of
/// `longrun:plugin@1.x`, or of WASI 0.2.
fn is_provided(name: &str) -> bool {
    let (path, version) = split_version(name);
    let Some((package, interface)) = path.split_once('/') else {
        return false;
    };
    let version = version.and_then(|v| semver::Version::parse(v).ok());
    if package == PLUGIN_PACKAGE {
        return PLUGIN_INTERFACES.contains(&interface) && version.is_some_and(|v| v.major == 1);
    }
    WASI_PACKAGES.contains(&package) && version.is_some_and(|v| v.major == 0 && v.minor == 2)
}

/// `pkg:name/interface@1.2.3` into the part before `@` and the version.
fn split_version(name: &str) -> (&str, Option<&str>) {
    match name.split_once('@') {
        Some((path, version)) => (path, Some(version)),
        None => (name, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A component that imports one empty instance called `name`.
    fn component_importing(name: &str) -> Vec<u8> {
        let mut wasm = b"\0asm\x0d\x00\x01\x00".to_vec();
        // Type section: one instance type with no declarations.
        wasm.extend_from_slice(&[0x07, 0x03, 0x01, 0x42, 0x00]);
        // Import section: `name`, an instance of type 0.
        let mut import = vec![0x01, 0x00, name.len() as u8];
        import.extend_from_slice(name.as_bytes());
        import.extend_from_slice(&[0x05, 0x00]);
        wasm.push(0x0a);
        wasm.push(import.len() as u8);
        wasm.extend_from_slice(&import);
        wasm
    }

    #[test]
    fn imports_are_read_and_judged() {
        let wasm = component_importing("acme:thing/x@1.0.0");
        let surface = ComponentSurface::read(&wasm).unwrap();
        assert_eq!(surface.imports, ["acme:thing/x@1.0.0"]);
        assert_eq!(surface.unknown_imports(), ["acme:thing/x@1.0.0"]);
        assert!(!surface.exports_fit_a_world());
        assert_eq!(surface.plugin_package_version(), None);
    }

    #[test]
    fn what_the_runner_provides() {
        for ok in [
            "longrun:plugin/host@1.1.0",
            "longrun:plugin/types@1.0.0",
            "longrun:plugin/chunked-io@1.1.0",
            "wasi:io/streams@0.2.3",
            "wasi:cli/environment@0.2.0",
        ] {
            assert!(is_provided(ok), "{ok}");
        }
        for bad in [
            "longrun:plugin/host@2.0.0",
            "longrun:plugin/host",
            "longrun:plugin/files@1.1.0",
            "wasi:http/types@0.2.0",
            "wasi:io/streams@0.3.0",
            "env",
        ] {
            assert!(!is_provided(bad), "{bad}");
        }
    }

    #[test]
    fn the_plugin_package_version_is_the_highest_imported() {
        let surface = ComponentSurface {
            imports: vec![
                "wasi:io/streams@0.2.3".into(),
                "longrun:plugin/types@1.0.0".into(),
                "longrun:plugin/host@1.1.0".into(),
            ],
            exports: vec!["describe".into(), "run-chunked".into()],
        };
        assert_eq!(
            surface.plugin_package_version(),
            Some(semver::Version::new(1, 1, 0))
        );
        assert!(surface.exports_fit_a_world());
    }

    #[test]
    fn a_core_module_or_garbage_has_no_surface() {
        assert_eq!(ComponentSurface::read(b"\0asm\x01\0\0\0"), None);
        assert_eq!(ComponentSurface::read(b"hello"), None);
    }
}
