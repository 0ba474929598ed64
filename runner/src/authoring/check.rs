//! `longrun plugin check FILE`: loads a component with the host the server
//! uses and reports whether the server would offer it, and if not, each
//! problem with what to fix; on success, what the operation is.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::component_surface::{ComponentSurface, PLUGIN_PACKAGE};
use super::{CheckArgs, EXIT_OK, EXIT_PROBLEM, EXIT_USAGE};
use crate::intake::is_media_type;
use crate::plugin::{DESCRIBE_TIMEOUT, HostConfig, InputSpec, LoadError, Plugin, PluginHost};

/// One thing wrong (or doubtful) about a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind of finding, e.g. `unknown-import`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

impl Finding {
    fn new(code: &'static str, message: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            code,
            message: message.into(),
            fix: fix.into(),
        }
    }
}

/// What a plugin that loads is.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginSummary {
    /// The operation name.
    pub operation: String,
    /// The plugin's version.
    pub version: String,
    /// The title.
    pub title: String,
    /// The WIT world: `plugin` or `chunked-plugin`.
    pub world: &'static str,
    /// The version of the WIT package `longrun:plugin` it imports, if any.
    pub wit_version: Option<String>,
    /// The SHA-256 of the wasm.
    pub sha256: String,
    /// The stages, in order.
    pub stages: Vec<String>,
    /// The inputs.
    pub inputs: Vec<InputSpec>,
    /// The params schema.
    pub params_schema: Value,
    /// The result's media type.
    pub result_media_type: String,
    /// Every import of the component.
    pub imports: Vec<String>,
}

/// The outcome of a check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The file checked.
    pub file: String,
    /// Whether the server would offer the operation: no problems.
    pub ok: bool,
    /// What keeps the server from offering it.
    pub problems: Vec<Finding>,
    /// What is doubtful but does not keep it from being offered.
    pub warnings: Vec<Finding>,
    /// What the operation is, if the plugin loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<PluginSummary>,
}

/// The host `check` and `run` load plugins with: the server's, without a
/// compile cache, with room for a describe and a run.
pub fn local_host(memory_limit_bytes: u64) -> anyhow::Result<PluginHost> {
    PluginHost::new(HostConfig {
        cache_dir: None,
        memory_limit_bytes,
        max_instances: 2,
        ..HostConfig::default()
    })
}

/// Checks the component `wasm` (from `file`) with `host`.
pub fn check_bytes(host: &PluginHost, file: &str, wasm: &[u8]) -> CheckReport {
    let surface = ComponentSurface::read(wasm);
    let mut report = CheckReport {
        file: file.to_owned(),
        ok: false,
        problems: Vec::new(),
        warnings: Vec::new(),
        plugin: None,
    };
    match host.load(file, wasm) {
        Ok(plugin) => {
            report.problems.extend(schema_problem(&plugin));
            report.warnings.extend(warnings(&plugin));
            report.plugin = Some(summary(&plugin, surface.as_ref()));
        }
        Err(error) => report
            .problems
            .extend(load_problems(error, surface.as_ref())),
    }
    report.ok = report.problems.is_empty();
    report
}

/// The findings for a plugin that does not load.
fn load_problems(error: LoadError, surface: Option<&ComponentSurface>) -> Vec<Finding> {
    match error {
        LoadError::Read { source, .. } => vec![Finding::new(
            "unreadable",
            format!("cannot read the file: {source}"),
            "check the path and its permissions",
        )],
        LoadError::NotWasm { .. } => vec![Finding::new(
            "not-wasm",
            "this is not a WebAssembly file (it does not start with \\0asm)",
            "give the component `cargo build --release` writes: \
             target/wasm32-wasip2/release/<crate_name>.wasm",
        )],
        LoadError::NotAComponent { .. } => vec![Finding::new(
            "core-module",
            "this is a core WebAssembly module, not a component",
            "build for the wasm32-wasip2 target (`cargo build --release --target \
             wasm32-wasip2`; a crate from `longrun plugin new` does so by default): \
             wasm32-unknown-unknown and wasm32-wasip1 make core modules. A core module from \
             another toolchain can be wrapped with `wasm-tools component new`",
        )],
        LoadError::Compile { message, .. } => vec![Finding::new(
            "invalid-component",
            format!("the component does not compile: {message}"),
            "the file may be truncated or corrupt, or made by a toolchain too new or too old \
             for this runner: rebuild it",
        )],
        LoadError::Link { message, .. } => link_problems(&message, surface),
        LoadError::Describe { failure, .. } => vec![Finding::new(
            "describe-failed",
            format!("calling `describe` failed: {failure}"),
            format!(
                "`describe` runs when the runner loads the plugin, with no input; it must \
                 return within {} s without trapping: build the Description from constants",
                DESCRIBE_TIMEOUT.as_secs()
            ),
        )],
        LoadError::InvalidDescription { problem, .. } => vec![Finding::new(
            "invalid-description",
            format!("the description is invalid: {problem}"),
            "fix the Description that `Operation::describe` returns",
        )],
    }
}

/// The findings for a component whose imports or exports do not fit:
/// each unknown import by name, else exports that fit no world, else
/// wasmtime's message.
fn link_problems(message: &str, surface: Option<&ComponentSurface>) -> Vec<Finding> {
    let mut problems = Vec::new();
    if let Some(surface) = surface {
        for import in surface.unknown_imports() {
            let fix = if import.starts_with(&format!("{PLUGIN_PACKAGE}/")) {
                format!(
                    "this runner provides {PLUGIN_PACKAGE}@1.x with the interfaces types, host \
                     and chunked-io: build against the WIT (and guest SDK) of this runner's \
                     version"
                )
            } else {
                format!(
                    "a plugin may import only {PLUGIN_PACKAGE}/{{types,host,chunked-io}}@1.x and \
                     WASI 0.2 (wasi:cli, wasi:clocks, wasi:filesystem, wasi:io, wasi:random, \
                     wasi:sockets @0.2.x): remove what pulls `{import}` in (a dependency that \
                     needs the network or HTTP, say)"
                )
            };
            problems.push(Finding::new(
                "unknown-import",
                format!("the component imports `{import}`, which the runner does not provide"),
                fix,
            ));
        }
        if problems.is_empty() && !surface.exports_fit_a_world() {
            let exports = if surface.exports.is_empty() {
                "nothing".to_owned()
            } else {
                surface
                    .exports
                    .iter()
                    .map(|e| format!("`{e}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            problems.push(Finding::new(
                "wrong-exports",
                format!(
                    "the component exports {exports}; a plugin exports `describe` and either \
                     `run` (world {PLUGIN_PACKAGE}/plugin) or `run-chunked` (world \
                     {PLUGIN_PACKAGE}/chunked-plugin)"
                ),
                "implement `longrun_plugin::Operation` and put \
                 `longrun_plugin::export!(YourOperation);` in the crate's lib.rs",
            ));
        }
    }
    if problems.is_empty() {
        problems.push(Finding::new(
            "does-not-link",
            format!("the component does not fit the runner: {message}"),
            format!(
                "build against the WIT world {PLUGIN_PACKAGE}/chunked-plugin (the guest SDK \
                 does) and import nothing but WASI 0.2 and {PLUGIN_PACKAGE}"
            ),
        ));
    }
    problems
}

/// A params schema that jsonschema does not compile: the server would not
/// offer the operation.
fn schema_problem(plugin: &Plugin) -> Option<Finding> {
    let schema = &plugin.description().params_schema;
    jsonschema::validator_for(schema).err().map(|e| {
        Finding::new(
            "invalid-params-schema",
            format!("the params schema is not a valid JSON Schema: {e}"),
            "the server would not offer the operation: fix the schema given to \
             `Description::params_schema` (JSON Schema, draft 2020-12)",
        )
    })
}

/// What is doubtful about a plugin that loads.
fn warnings(plugin: &Plugin) -> Vec<Finding> {
    let description = plugin.description();
    let mut warnings = Vec::new();
    if semver::Version::parse(&description.version).is_err() {
        warnings.push(Finding::new(
            "version-not-semver",
            format!(
                "the version `{}` is not a semantic version (MAJOR.MINOR.PATCH)",
                description.version
            ),
            "use the crate's version: `Description::new(name, env!(\"CARGO_PKG_VERSION\"))`",
        ));
    }
    for input in &description.inputs {
        for media_type in &input.media_types {
            let wildcard = media_type == "*/*" || media_type.ends_with("/*");
            if !wildcard && !is_media_type(media_type) {
                warnings.push(Finding::new(
                    "bad-media-type",
                    format!(
                        "the input `{}` accepts `{media_type}`, which is not a media type",
                        input.name
                    ),
                    "write media types as type/subtype (text/csv), or type/* for a family",
                ));
            }
        }
    }
    if !is_media_type(&description.result_media_type) {
        warnings.push(Finding::new(
            "bad-media-type",
            format!(
                "the result media type `{}` is not a media type",
                description.result_media_type
            ),
            "write it as type/subtype, e.g. application/json",
        ));
    }
    if let Some(kind) = description.params_schema.get("type")
        && kind != "object"
    {
        warnings.push(Finding::new(
            "params-not-object",
            format!("the params schema has the type {kind}, but params are always a JSON object"),
            "make the schema's type \"object\"",
        ));
    }
    warnings
}

fn summary(plugin: &Plugin, surface: Option<&ComponentSurface>) -> PluginSummary {
    let description = plugin.description().clone();
    PluginSummary {
        operation: description.name,
        version: description.version,
        title: description.title,
        world: plugin.world(),
        wit_version: surface
            .and_then(ComponentSurface::plugin_package_version)
            .map(|v| v.to_string()),
        sha256: plugin.sha256().to_owned(),
        stages: description.stages,
        inputs: description.inputs,
        params_schema: description.params_schema,
        result_media_type: description.result_media_type,
        imports: surface.map(|s| s.imports.clone()).unwrap_or_default(),
    }
}

/// The report for people.
pub fn render_text(report: &CheckReport) -> String {
    let mut text = String::new();
    let verdict = if report.ok { "ok" } else { "problems" };
    let _ = writeln!(text, "{verdict}: {}", report.file);
    if let Some(plugin) = &report.plugin {
        let _ = writeln!(
            text,
            "  operation  {} {} ({})",
            plugin.operation, plugin.version, plugin.title
        );
        let package = match &plugin.wit_version {
            Some(version) => format!("{PLUGIN_PACKAGE}@{version}"),
            None => format!("imports nothing of {PLUGIN_PACKAGE}"),
        };
        let _ = writeln!(text, "  world      {} ({package})", plugin.world);
        let _ = writeln!(text, "  sha256     {}", plugin.sha256);
        let stages = if plugin.stages.is_empty() {
            "none".to_owned()
        } else {
            plugin.stages.join(", ")
        };
        let _ = writeln!(text, "  stages     {stages}");
        if plugin.inputs.is_empty() {
            let _ = writeln!(text, "  inputs     none");
        }
        for (i, input) in plugin.inputs.iter().enumerate() {
            let label = if i == 0 { "inputs" } else { "" };
            let _ = writeln!(text, "  {label:<10} {}", describe_input(input));
        }
        let params = match plugin
            .params_schema
            .get("properties")
            .and_then(Value::as_object)
        {
            Some(properties) if !properties.is_empty() => {
                properties.keys().cloned().collect::<Vec<_>>().join(", ")
            }
            _ => "none declared".to_owned(),
        };
        let _ = writeln!(text, "  params     {params}");
        let _ = writeln!(text, "  result     {}", plugin.result_media_type);
    }
    for (kind, findings) in [("problem", &report.problems), ("warning", &report.warnings)] {
        for finding in findings {
            let _ = writeln!(text, "{kind} [{}]: {}", finding.code, finding.message);
            let _ = writeln!(text, "  fix: {}", finding.fix);
        }
    }
    text
}

/// One input in a line: name, required, media types, size limit.
fn describe_input(input: &InputSpec) -> String {
    let mut parts = vec![
        if input.required {
            "required"
        } else {
            "optional"
        }
        .to_owned(),
    ];
    if input.media_types.is_empty() {
        parts.push("any media type".to_owned());
    } else {
        parts.push(input.media_types.join(" | "));
    }
    if let Some(max) = input.max_bytes {
        parts.push(format!("at most {max} bytes"));
    }
    let mut line = format!("{}: {}", input.name, parts.join(", "));
    if !input.description.is_empty() {
        let _ = write!(line, " ({})", input.description);
    }
    line
}

/// `longrun plugin check`: the exit code.
pub fn check_command(args: &CheckArgs) -> i32 {
    let wasm = match std::fs::read(&args.file) {
        Ok(wasm) => wasm,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.file.display());
            return EXIT_USAGE;
        }
    };
    let host = match local_host(HostConfig::default().memory_limit_bytes) {
        Ok(host) => host,
        Err(e) => {
            eprintln!("error: cannot start the plugin host: {e:#}");
            return EXIT_PROBLEM;
        }
    };
    let report = check_bytes(&host, &display_path(&args.file), &wasm);
    let text = if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => json + "\n",
            Err(e) => {
                eprintln!("error: cannot write the report as JSON: {e}");
                return EXIT_PROBLEM;
            }
        }
    } else {
        render_text(&report)
    };
    print_stdout(&text);
    if report.ok { EXIT_OK } else { EXIT_PROBLEM }
}

/// Writes `text` to stdout; a reader that went away (a closed pipe) is no
/// reason to fail or panic.
pub fn print_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

/// A path as given, for messages.
pub fn display_path(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> PluginHost {
        local_host(64 << 20).unwrap()
    }

    fn codes(report: &CheckReport) -> Vec<&str> {
        report.problems.iter().map(|f| f.code).collect()
    }

    #[test]
    fn garbage_and_core_modules_are_named_with_a_fix() {
        let host = host();
        let report = check_bytes(&host, "x.wasm", b"hello");
        assert!(!report.ok);
        assert_eq!(codes(&report), ["not-wasm"]);
        let report = check_bytes(&host, "x.wasm", b"\0asm\x01\0\0\0");
        assert_eq!(codes(&report), ["core-module"]);
        assert!(report.problems[0].fix.contains("wasm32-wasip2"));
        let text = render_text(&report);
        assert!(text.starts_with("problems: x.wasm\n"), "{text}");
        assert!(text.contains("problem [core-module]"), "{text}");
    }

    #[test]
    fn an_unknown_import_is_named() {
        let mut wasm = b"\0asm\x0d\x00\x01\x00".to_vec();
        wasm.extend_from_slice(&[0x07, 0x03, 0x01, 0x42, 0x00]);
        let name = b"acme:thing/x@1.0.0";
        wasm.extend_from_slice(&[0x0a, (name.len() + 5) as u8, 0x01, 0x00, name.len() as u8]);
        wasm.extend_from_slice(name);
        wasm.extend_from_slice(&[0x05, 0x00]);
        let report = check_bytes(&host(), "x.wasm", &wasm);
        assert_eq!(codes(&report), ["unknown-import"], "{report:?}");
        assert!(report.problems[0].message.contains("`acme:thing/x@1.0.0`"));
    }

    #[test]
    fn an_empty_component_exports_no_world() {
        let report = check_bytes(&host(), "x.wasm", b"\0asm\x0d\x00\x01\x00");
        assert_eq!(codes(&report), ["wrong-exports"], "{report:?}");
        assert!(report.problems[0].message.contains("exports nothing"));
    }

    #[test]
    fn the_bundled_probe_passes_and_is_summarised() {
        let (_, wasm) = crate::plugin::bundled()
            .iter()
            .find(|(name, _)| *name == "probe")
            .expect("the probe is bundled");
        let report = check_bytes(&host(), "probe.wasm", wasm);
        assert!(report.ok, "{report:?}");
        let plugin = report.plugin.as_ref().unwrap();
        assert_eq!(plugin.operation, "probe");
        assert!(plugin.wit_version.is_some(), "{plugin:?}");
        let text = render_text(&report);
        assert!(text.starts_with("ok: probe.wasm\n"), "{text}");
        assert!(text.contains("  operation  probe "), "{text}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["plugin"]["operation"], "probe");
        assert_eq!(json["plugin"]["resultMediaType"], plugin.result_media_type);
    }
}
