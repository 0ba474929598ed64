//! The plugin WIT beyond Rust: the Python example plugin
//! `plugins/python-word-count`, built with componentize-py (see
//! `python_component`), served by a real `longrun serve` from a plugins
//! directory and driven over HTTP.
//!
//! The first run builds the component (a venv with componentize-py from PyPI,
//! then the build itself) and the runner compiles it; both are cached under
//! the target directory, so later runs take about a second. Run with
//! `--nocapture` to see the timings.

#[path = "support/mod.rs"]
mod support;

mod python_component;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use support::{Server, assert_problem};

const OPERATION: &str = "word-count";

/// A text whose counts are worked out by hand below.
const TEXT: &str = "The cat saw the dog.\nThe dog saw a café, didn't it?\n";

/// A server whose plugins directory holds the word-count component.
struct PluginServer {
    server: Server,
    _plugins: tempfile::TempDir,
}

impl std::ops::Deref for PluginServer {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.server
    }
}

/// Starts a server with the Python plugin. The first call in this process
/// builds the component and starts one server alone, so the runner compiles
/// the component once (into the harness's compile cache) instead of once per
/// test in parallel.
fn start() -> PluginServer {
    static FIRST_LOAD: OnceLock<Duration> = OnceLock::new();
    let component = python_component::word_count();
    FIRST_LOAD.get_or_init(|| {
        let started = Instant::now();
        drop(serve(component));
        let first_load = started.elapsed();
        eprintln!(
            "python plugin: component {} bytes at {}; {}; first server start (compiles it unless the compile cache has it): {:.1} s",
            component.size,
            component.path.display(),
            match component.build_time {
                Some(t) => format!("built in {:.1} s", t.as_secs_f64()),
                None => "reused from an earlier build".to_owned(),
            },
            first_load.as_secs_f64()
        );
        first_load
    });
    serve(component)
}

fn serve(component: &python_component::Component) -> PluginServer {
    let plugins = tempfile::tempdir().expect("temp plugins dir");
    std::fs::copy(&component.path, plugins.path().join("word-count.wasm"))
        .expect("copy the component into the plugins dir");
    let dir = plugins.path().to_str().expect("UTF-8 temp path");
    let server = Server::start_with(&["--plugins-dir", dir]);
    PluginServer {
        server,
        _plugins: plugins,
    }
}

/// Starts a job of the word-count operation and waits until it is terminal.
fn run_job(server: &Server, body: &Value) -> Value {
    let started = server.started(OPERATION, body);
    let id = started["id"].as_str().expect("job id");
    server.finished(id)
}

/// The result of a succeeded job, parsed as JSON.
fn result_of(server: &Server, done: &Value) -> Value {
    assert_eq!(done["status"], "succeeded", "{done}");
    let id = done["id"].as_str().expect("job id");
    let response = server
        .get(&format!("/v1/jobs/{id}/result"))
        .send()
        .expect("result request");
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "result media type: {content_type}"
    );
    response.json().expect("result is JSON")
}

#[test]
fn the_operation_is_listed_with_its_description() {
    let server = start();
    let list: Value = server.get("/v1/operations").send().unwrap().json().unwrap();
    let names: Vec<&str> = list["operations"]
        .as_array()
        .expect("operations array")
        .iter()
        .filter_map(|op| op["name"].as_str())
        .collect();
    assert!(names.contains(&OPERATION), "not listed: {names:?}");

    let response = server
        .get(&format!("/v1/operations/{OPERATION}"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let op: Value = response.json().unwrap();
    assert_eq!(op["name"], OPERATION);
    assert_eq!(op["version"], "1.0.0");
    assert_eq!(op["title"], "Word count");
    let description = op["description"].as_str().expect("description");
    assert!(
        description.contains("Python") && description.contains("words"),
        "{description}"
    );
    assert_eq!(op["stages"], json!(["tokenize", "count", "render"]));
    assert_eq!(op["resultMediaType"], "application/json");
    let inputs = op["inputs"].as_array().expect("inputs");
    assert_eq!(inputs.len(), 1, "{op}");
    assert_eq!(inputs[0]["name"], "text");
    assert_eq!(inputs[0]["required"], true);
    assert_eq!(inputs[0]["mediaTypes"], json!(["text/plain"]));
    let schema = &op["paramsSchema"];
    assert_eq!(schema["properties"]["top"]["type"], "integer");
    assert_eq!(schema["properties"]["top"]["minimum"], 0);
    assert_eq!(schema["properties"]["top"]["maximum"], 100);
    assert_eq!(schema["properties"]["top"]["default"], 10);
    assert_eq!(schema["properties"]["caseSensitive"]["type"], "boolean");
    assert_eq!(schema["additionalProperties"], false);
}

#[test]
fn a_job_counts_lines_words_and_characters() {
    let server = start();
    let done = run_job(
        &server,
        &json!({"inputs": {"text": {"text": TEXT}}, "params": {"top": 3}}),
    );
    assert_eq!(
        result_of(&server, &done),
        json!({
            "lines": 2,
            "words": 12,
            "characters": TEXT.chars().count(),
            "top": [
                {"word": "the", "count": 3},
                {"word": "dog", "count": 2},
                {"word": "saw", "count": 2},
            ],
        })
    );
    // Progress went through the stages to the last one.
    let progress = &done["progress"];
    assert_eq!(progress["stage"], "render", "{progress}");
    assert_eq!(progress["stageIndex"], 2, "{progress}");
    assert_eq!(progress["stageCount"], 3, "{progress}");
    assert_eq!(progress["percent"], 100.0, "{progress}");

    // The plugin's own log line, at INFO.
    let id = done["id"].as_str().unwrap();
    let response = server.get(&format!("/v1/jobs/{id}/log")).send().unwrap();
    assert_eq!(response.status(), 200);
    let log = response.text().unwrap();
    assert!(
        log.lines()
            .any(|line| line.ends_with(" INFO word-count: 12 words (8 distinct) in 2 lines")),
        "no log line from the plugin in:\n{log}"
    );
}

#[test]
fn params_change_the_ranking() {
    let server = start();
    // Case-sensitive: `The` and `the` are apart; ties sort by code point.
    let done = run_job(
        &server,
        &json!({"inputs": {"text": {"text": TEXT}}, "params": {"top": 4, "caseSensitive": true}}),
    );
    assert_eq!(
        result_of(&server, &done)["top"],
        json!([
            {"word": "The", "count": 2},
            {"word": "dog", "count": 2},
            {"word": "saw", "count": 2},
            {"word": "a", "count": 1},
        ])
    );
    // No params: the default top 10 lists all 8 distinct words.
    let done = run_job(&server, &json!({"inputs": {"text": {"text": TEXT}}}));
    let top = result_of(&server, &done)["top"].clone();
    assert_eq!(top.as_array().map(Vec::len), Some(8), "{top}");
    // An empty text.
    let done = run_job(
        &server,
        &json!({"inputs": {"text": {"text": ""}}, "params": {"top": 0}}),
    );
    assert_eq!(
        result_of(&server, &done),
        json!({"lines": 0, "words": 0, "characters": 0, "top": []})
    );
}

#[test]
fn params_outside_the_schema_are_refused() {
    let server = start();
    for params in [
        json!({"top": 101}),
        json!({"top": -1}),
        json!({"top": 2.5}),
        json!({"caseSensitive": "yes"}),
        json!({"colour": "red"}),
    ] {
        let response = server.start_job(
            OPERATION,
            &json!({"inputs": {"text": {"text": TEXT}}, "params": params}),
        );
        let problem = assert_problem(response, 422, "invalid-params");
        assert!(
            problem["errors"].as_array().is_some_and(|e| !e.is_empty()),
            "{params}: {problem}"
        );
    }
}

#[test]
fn non_utf8_input_fails_the_job_with_invalid_input() {
    let server = start();
    // "hi" then 0xff, which never occurs in UTF-8.
    let done = run_job(
        &server,
        &json!({"inputs": {"text": {"base64": "aGn/", "mediaType": "text/plain"}}}),
    );
    assert_eq!(done["status"], "failed", "{done}");
    let error = &done["error"];
    assert_eq!(error["type"], "urn:longrun:problem:plugin-error", "{error}");
    assert_eq!(error["code"], "invalid-input", "{error}");
    let detail = error["detail"].as_str().expect("detail");
    assert!(
        detail.contains("UTF-8") && detail.contains("0xff") && detail.contains("offset 2"),
        "{detail}"
    );
}
