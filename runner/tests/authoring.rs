//! The plugin author's loop, through the `longrun` binary: `plugin new`
//! writes a crate, cargo builds it for wasm32-wasip2, `plugin check` and
//! `plugin run` try it without a server, and a running server picks it up
//! from its plugins directory and runs a job of it over HTTP.
//!
//! The plugin crates are built in `<target>/authoring-test` (kept between
//! runs, so only the first run compiles the SDK's dependencies) with the
//! workspace's `Cargo.lock`, so the build needs no new resolution.

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use support::{Server, client};

/// The operation the acceptance test creates.
const OPERATION: &str = "demo-op";

/// A text whose counts are worked out by hand: 4 lines (2 blank), 5 words,
/// 22 bytes; `the` twice.
const TEXT: &str = "the cat\n\nthe dog sat\n\n";

/// How long the server may take to notice and load a new plugin.
const PICKUP_DEADLINE: Duration = Duration::from_secs(120);

/// `longrun` with quiet logs.
fn longrun() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_longrun"));
    command.env("LONGRUN_LOG", "warn");
    command
}

/// Runs `longrun args…` and returns what it did.
fn run_longrun(args: &[&str]) -> Output {
    longrun().args(args).output().expect("run longrun")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts the exit code, showing the output if it differs.
fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
}

/// Where plugin crates are built: under the workspace's target directory,
/// kept between runs.
fn plugin_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target tmp dir has a parent")
        .join("authoring-test")
}

/// A plugin crate made by `plugin new` and built.
struct BuiltPlugin {
    /// The crate's directory.
    dir: PathBuf,
    /// The built component.
    wasm: PathBuf,
    _temp: tempfile::TempDir,
}

/// Creates the crate `name` with `plugin new`, lets `edit` change its
/// `src/lib.rs`, and builds it.
fn new_and_build(name: &str, edit: impl FnOnce(String) -> String) -> BuiltPlugin {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join(name);
    let output = run_longrun(&["plugin", "new", name, "--dir", dir.to_str().expect("UTF-8")]);
    assert_exit(&output, 0);
    let lib = dir.join("src/lib.rs");
    let source = std::fs::read_to_string(&lib).expect("read lib.rs");
    std::fs::write(&lib, edit(source)).expect("write lib.rs");
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    std::fs::copy(lock, dir.join("Cargo.lock")).expect("copy the workspace's Cargo.lock");
    cargo(&dir, &["build", "--release"]);
    let wasm = plugin_target_dir()
        .join("wasm32-wasip2/release")
        .join(format!("{}.wasm", name.replace('-', "_")));
    assert!(wasm.is_file(), "cargo built no {}", wasm.display());
    BuiltPlugin {
        dir,
        wasm,
        _temp: temp,
    }
}

/// Runs cargo in `dir` with the plugin target directory and without the
/// variables the outer cargo set for this test; panics with its output if
/// it fails.
fn cargo(dir: &Path, args: &[&str]) -> Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let outer = (key.starts_with("CARGO_")
            && !matches!(key.as_ref(), "CARGO_HOME" | "CARGO_NET_OFFLINE"))
            || matches!(key.as_ref(), "RUSTFLAGS" | "RUSTC_WRAPPER" | "RUSTDOCFLAGS");
        if outer {
            command.env_remove(key.as_ref());
        }
    }
    let started = Instant::now();
    let output = command
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", plugin_target_dir())
        .stdin(Stdio::null())
        .output()
        .expect("run cargo");
    eprintln!(
        "cargo {} in {}: {:.1} s",
        args.join(" "),
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        output.status.success(),
        "cargo {args:?} failed:\n{}",
        stderr(&output)
    );
    output
}

/// The example plugin, as `plugin new` writes it, built once per process.
fn demo() -> &'static BuiltPlugin {
    static DEMO: OnceLock<BuiltPlugin> = OnceLock::new();
    DEMO.get_or_init(|| new_and_build(OPERATION, |source| source))
}

/// A file holding `text`, kept as long as the returned guard.
fn text_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().expect("temp dir");
    let path = temp.path().join("input.txt");
    std::fs::write(&path, text).expect("write input");
    (temp, path)
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

#[test]
fn acceptance_new_build_check_run_and_serve() {
    let demo = demo();
    for file in [
        "Cargo.toml",
        ".cargo/config.toml",
        "src/lib.rs",
        ".gitignore",
        "README.md",
    ] {
        assert!(demo.dir.join(file).is_file(), "plugin new wrote no {file}");
    }
    let readme = std::fs::read_to_string(demo.dir.join("README.md")).unwrap();
    assert!(readme.contains("longrun plugin check target/wasm32-wasip2/release/demo_op.wasm"));

    // The template's own unit tests pass, natively.
    let tested = cargo(&demo.dir, &["test-native"]);
    let report = stdout(&tested);
    assert!(report.contains("test result: ok. 2 passed"), "{report}");

    // check: the operation as the server would offer it.
    let wasm = path_str(&demo.wasm);
    let checked = run_longrun(&["plugin", "check", wasm]);
    assert_exit(&checked, 0);
    let text = stdout(&checked);
    assert!(text.starts_with("ok: "), "{text}");
    assert!(text.contains("operation  demo-op 0.1.0"), "{text}");
    assert!(
        text.contains("world      chunked-plugin (longrun:plugin@1.1.0)"),
        "{text}"
    );
    assert!(text.contains("stages     count, report"), "{text}");
    assert!(text.contains("result     application/json"), "{text}");
    let checked = run_longrun(&["plugin", "check", "--json", wasm]);
    assert_exit(&checked, 0);
    let report: Value = serde_json::from_slice(&checked.stdout).expect("JSON report");
    assert_eq!(report["ok"], true);
    assert_eq!(report["plugin"]["operation"], OPERATION);
    assert_eq!(report["plugin"]["witVersion"], "1.1.0");
    assert_eq!(report["plugin"]["inputs"][0]["name"], "text");
    assert_eq!(report["plugin"]["sha256"].as_str().map(str::len), Some(64));

    // run: the result on stdout, progress and the log on stderr.
    let (_input, input) = text_file(TEXT);
    let ran = run_longrun(&[
        "plugin",
        "run",
        wasm,
        "--input",
        &format!("text=@{}", path_str(&input)),
        "--params",
        r#"{"top": 1}"#,
    ]);
    assert_exit(&ran, 0);
    let result: Value = serde_json::from_slice(&ran.stdout).expect("the result is JSON");
    let expected = json!({
        "lines": 4, "words": 5, "bytes": 22,
        "topWords": [{"word": "the", "count": 2}]
    });
    assert_eq!(result, expected);
    let log = stderr(&ran);
    for line in [
        "progress: 0% (count)",
        "progress: 90% (report)",
        "progress: 100% (report)",
        "log info: counting 22 bytes of text/plain",
        "bytes of application/json written to stdout",
    ] {
        assert!(log.contains(line), "no {line:?} in:\n{log}");
    }

    // serve: a server watching an empty plugins directory picks it up.
    let plugins = tempfile::tempdir().expect("plugins dir");
    let server = Server::start_with(&[
        "--plugins-dir",
        path_str(plugins.path()),
        "--plugins-poll-interval",
        "0.2",
    ]);
    assert!(
        !listed(&server),
        "{OPERATION} is offered before it is copied in"
    );
    std::fs::copy(&demo.wasm, plugins.path().join("demo_op.wasm")).expect("copy the plugin");
    let deadline = Instant::now() + PICKUP_DEADLINE;
    while !listed(&server) {
        assert!(
            Instant::now() < deadline,
            "GET /v1/operations did not list {OPERATION} within {PICKUP_DEADLINE:?} of the \
             copy (does the server watch its plugins directory?)"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let started = server.started(
        OPERATION,
        &json!({"inputs": {"text": {"text": TEXT}}, "params": {"top": 1}}),
    );
    let id = started["id"].as_str().expect("job id");
    let done = server.finished(id);
    assert_eq!(done["status"], "succeeded", "{done}");
    let response = server
        .get(&format!("/v1/jobs/{id}/result"))
        .send()
        .expect("result request");
    assert_eq!(response.status(), 200);
    let over_http: Value = response.json().expect("the result is JSON");
    assert_eq!(over_http, expected);
}

/// Whether `GET /v1/operations` lists the demo operation.
fn listed(server: &Server) -> bool {
    let Ok(response) = client().get(server.url("/v1/operations")).send() else {
        return false;
    };
    let list: Value = response.json().unwrap_or_default();
    list["operations"]
        .as_array()
        .is_some_and(|ops| ops.iter().any(|op| op["name"] == OPERATION))
}

#[test]
fn new_refuses_bad_names_and_non_empty_directories() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("x");
    let output = run_longrun(&["plugin", "new", "Bad_Name", "--dir", path_str(&dir)]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("lowercase letters"),
        "{}",
        stderr(&output)
    );
    assert!(!dir.exists());

    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("keep.txt"), "mine").unwrap();
    let output = run_longrun(&["plugin", "new", "fine-name", "--dir", path_str(&dir)]);
    assert_exit(&output, 1);
    assert!(stderr(&output).contains("not empty"), "{}", stderr(&output));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);

    let output = run_longrun(&[
        "plugin",
        "new",
        "fine-name",
        "--dir",
        path_str(&temp.path().join("y")),
        "--sdk",
        path_str(temp.path()),
    ]);
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("not the guest SDK"),
        "{}",
        stderr(&output)
    );

    // Into an empty directory: fine, with the next steps.
    let empty = temp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let output = run_longrun(&["plugin", "new", "fine-name", "--dir", path_str(&empty)]);
    assert_exit(&output, 0);
    let text = stdout(&output);
    assert!(text.contains("Created the plugin `fine-name`"), "{text}");
    assert!(text.contains("cargo build --release"), "{text}");
    assert!(text.contains("longrun plugin check target/wasm32-wasip2/release/fine_name.wasm"));
    let manifest = std::fs::read_to_string(empty.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("\n[workspace]\n"), "{manifest}");
    assert!(manifest.contains("crate-type = [\"cdylib\""), "{manifest}");
}

#[test]
fn check_names_each_problem_with_exit_codes() {
    let temp = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = temp.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };

    let text = write("notes.wasm", b"just text");
    let output = run_longrun(&["plugin", "check", path_str(&text)]);
    assert_exit(&output, 1);
    let report = stdout(&output);
    assert!(report.starts_with("problems: "), "{report}");
    assert!(report.contains("problem [not-wasm]"), "{report}");
    assert!(report.contains("fix: "), "{report}");

    let core = write("core.wasm", b"\0asm\x01\0\0\0");
    let output = run_longrun(&["plugin", "check", "--json", path_str(&core)]);
    assert_exit(&output, 1);
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    assert_eq!(report["ok"], false);
    assert_eq!(report["problems"][0]["code"], "core-module");
    assert!(
        report["problems"][0]["fix"]
            .as_str()
            .unwrap()
            .contains("wasm32-wasip2")
    );
    assert!(report.get("plugin").is_none());

    // A component that imports an interface the runner does not provide.
    let name = b"acme:net/http@1.0.0";
    let mut foreign = b"\0asm\x0d\x00\x01\x00\x07\x03\x01\x42\x00".to_vec();
    foreign.extend_from_slice(&[0x0a, (name.len() + 5) as u8, 0x01, 0x00, name.len() as u8]);
    foreign.extend_from_slice(name);
    foreign.extend_from_slice(&[0x05, 0x00]);
    let foreign = write("foreign.wasm", &foreign);
    let output = run_longrun(&["plugin", "check", path_str(&foreign)]);
    assert_exit(&output, 1);
    let report = stdout(&output);
    assert!(
        report.contains(
            "problem [unknown-import]: the component imports `acme:net/http@1.0.0`, which the \
             runner does not provide"
        ),
        "{report}"
    );

    // The hostile test plugin misbehaves only when run: it loads.
    let output = run_longrun(&["plugin", "check", env!("LONGRUN_HOSTILE_WASM")]);
    assert_exit(&output, 0);
    assert!(
        stdout(&output).contains("world      plugin ("),
        "{}",
        stdout(&output)
    );

    // Usage: no such file, no file at all.
    let output = run_longrun(&["plugin", "check", path_str(&temp.path().join("none.wasm"))]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("cannot read"),
        "{}",
        stderr(&output)
    );
    assert_exit(&run_longrun(&["plugin", "check"]), 2);
}

#[test]
fn check_reports_a_bad_description() {
    let bad = new_and_build("bad-op", |source| {
        source
            .replace(
                "env!(\"CARGO_PKG_VERSION\")",
                "\"first draft\"",
            )
            .replace(
                ".params_schema(PARAMS_SCHEMA)",
                ".params_schema(r#\"{\"type\": \"object\", \"properties\": {\"top\": {\"type\": 5}}}\"#)",
            )
    });
    let output = run_longrun(&["plugin", "check", "--json", path_str(&bad.wasm)]);
    assert_exit(&output, 1);
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    assert_eq!(report["ok"], false);
    let codes = |key: &str| -> Vec<String> {
        report[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(codes("problems"), ["invalid-params-schema"], "{report}");
    assert_eq!(codes("warnings"), ["version-not-semver"], "{report}");
    assert!(
        report["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("`first draft`")
    );
    assert_eq!(report["plugin"]["operation"], "bad-op");
}

#[test]
fn run_refuses_params_and_inputs_that_do_not_fit() {
    let wasm = path_str(&demo().wasm);
    let (_input, input) = text_file(TEXT);
    let text_input = format!("text=@{}", path_str(&input));

    let output = run_longrun(&[
        "plugin",
        "run",
        wasm,
        "--input",
        &text_input,
        "--params",
        r#"{"top": "many"}"#,
    ]);
    assert_exit(&output, 2);
    let message = stderr(&output);
    assert!(
        message.contains("error: the params do not match the schema of `demo-op`: "),
        "{message}"
    );
    assert!(
        message.contains("at /top: \"many\" is not of type \"integer\""),
        "{message}"
    );
    assert!(output.stdout.is_empty());

    let output = run_longrun(&["plugin", "run", wasm, "--params", "{}"]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("input `text`: this input is required"),
        "{}",
        stderr(&output)
    );

    let output = run_longrun(&[
        "plugin",
        "run",
        wasm,
        "--input",
        &text_input,
        "--input",
        &format!("other=@{}", path_str(&input)),
    ]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("`demo-op` does not take an input called `other`"),
        "{}",
        stderr(&output)
    );

    let output = run_longrun(&[
        "plugin",
        "run",
        wasm,
        "--input",
        &format!("{text_input};type=image/png"),
    ]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("`image/png` is not accepted"),
        "{}",
        stderr(&output)
    );

    let output = run_longrun(&["plugin", "run", wasm, "--input", "text=notes.txt"]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("NAME=@PATH"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn run_writes_the_result_to_output() {
    let wasm = path_str(&demo().wasm);
    let (temp, input) = text_file(TEXT);
    let params = temp.path().join("params.json");
    std::fs::write(&params, r#"{"skipBlankLines": true}"#).unwrap();
    let result = temp.path().join("result.json");
    let output = run_longrun(&[
        "plugin",
        "run",
        wasm,
        "--input",
        &format!("text=@{};type=text/markdown", path_str(&input)),
        "--params",
        &format!("@{}", path_str(&params)),
        "--output",
        path_str(&result),
        "--timeout",
        "30",
        "--memory-limit",
        "64MiB",
    ]);
    assert_exit(&output, 0);
    assert!(output.stdout.is_empty(), "the result went to stdout too");
    assert!(stderr(&output).contains("log info: counting 22 bytes of text/markdown"));
    let written: Value = serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap();
    assert_eq!(written, json!({"lines": 2, "words": 5, "bytes": 22}));
    let spool = temp.path().join("result.json.partial");
    assert!(
        !spool.exists(),
        "the result was written beside --output, then moved"
    );

    // A run that fails leaves an earlier --output as it was, and no spool.
    let hostile = env!("LONGRUN_HOSTILE_WASM");
    let output = run_longrun(&[
        "plugin",
        "run",
        hostile,
        "--params",
        r#"{"mode": "trap"}"#,
        "--output",
        path_str(&result),
    ]);
    assert_exit(&output, 1);
    let kept: Value = serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap();
    assert_eq!(kept, written);
    assert!(!spool.exists(), "a failed run's spool is removed");
}

#[test]
fn run_reports_how_a_plugin_failed() {
    let hostile = env!("LONGRUN_HOSTILE_WASM");
    let output = run_longrun(&["plugin", "run", hostile, "--params", r#"{"mode": "trap"}"#]);
    assert_exit(&output, 1);
    let message = stderr(&output);
    assert!(message.contains("error: the plugin trapped: "), "{message}");
    assert!(message.contains("in `longrun_hostile::"), "{message}");
    assert!(message.contains("--- the plugin's stderr ---"), "{message}");

    let output = run_longrun(&[
        "plugin",
        "run",
        hostile,
        "--params",
        r#"{"mode": "alloc"}"#,
        "--memory-limit",
        "32MiB",
    ]);
    assert_exit(&output, 1);
    let message = stderr(&output);
    assert!(
        message.contains("exceeded its memory limit of 33554432 bytes"),
        "{message}"
    );

    let output = run_longrun(&[
        "plugin",
        "run",
        hostile,
        "--params",
        r#"{"mode": "spin"}"#,
        "--timeout",
        "1",
    ]);
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("past its deadline"),
        "{}",
        stderr(&output)
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_cancels_a_run() {
    use std::io::{BufRead, BufReader};

    let mut child = longrun()
        .args([
            "plugin",
            "run",
            env!("LONGRUN_HOSTILE_WASM"),
            "--params",
            r#"{"mode": "spin"}"#,
            "--timeout",
            "120",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start longrun plugin run");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("stderr line");
        let running = line.starts_with("running hostile");
        seen.push(line);
        if running {
            break;
        }
    }
    assert!(
        seen.last().is_some_and(|l| l.starts_with("running")),
        "{seen:?}"
    );
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("wait for longrun");
    assert_eq!(status.code(), Some(130), "{rest:?}");
    assert!(
        rest.iter().any(|l| l.contains("the run was canceled")),
        "{rest:?}"
    );
}
