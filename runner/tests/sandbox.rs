//! Hostile plugins through the real HTTP API: the test-only `hostile` plugin
//! (`plugins/hostile`) is loaded from a plugins directory into a real
//! `longrun serve`, and each of its misbehaviours must fail only its own job,
//! with a clear error, while the same server goes on serving.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Server, assert_problem};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A server with the hostile plugin in its plugins directory.
struct Sandbox {
    server: Server,
    /// The plugins directory; removed after the server is gone.
    _plugins: tempfile::TempDir,
}

impl std::ops::Deref for Sandbox {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

/// Start a server that loads the hostile plugin, with these extra arguments.
fn sandbox(args: &[&str]) -> Sandbox {
    let plugins = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        env!("LONGRUN_HOSTILE_WASM"),
        plugins.path().join("hostile.wasm"),
    )
    .expect("copy the hostile plugin");
    let dir = plugins.path().to_str().expect("a UTF-8 temp path");
    let mut all = vec!["--plugins-dir", dir];
    all.extend_from_slice(args);
    let server = Server::start_with(&all);
    Sandbox {
        server,
        _plugins: plugins,
    }
}

/// Start a `hostile` job in `mode`, with extra request fields.
fn hostile(server: &Server, mode: &str, extra: Value) -> String {
    let mut body = json!({"params": {"mode": mode}});
    for (key, value) in extra.as_object().expect("an object") {
        body[key] = value.clone();
    }
    let doc = server.started("hostile", &body);
    doc["id"].as_str().unwrap().to_owned()
}

/// Run `mode` to the end and return the terminal document.
fn run_hostile(server: &Server, mode: &str) -> Value {
    let id = hostile(server, mode, json!({}));
    server.finished(&id)
}

/// The job's error, after checking that the job failed with `kind`.
fn failed_with<'a>(doc: &'a Value, kind: &str) -> &'a Value {
    assert_eq!(doc["status"], "failed", "{doc}");
    let error = &doc["error"];
    assert_eq!(
        error["type"],
        format!("urn:longrun:problem:{kind}"),
        "{doc}"
    );
    assert!(error["title"].is_string(), "{doc}");
    assert!(error["detail"].is_string(), "{doc}");
    error
}

fn text(server: &Server, path: &str) -> (u16, String) {
    let response = server.get(path).send().unwrap();
    (response.status().as_u16(), response.text().unwrap())
}

/// The server still runs jobs normally: a probe and a well-behaved hostile job.
fn still_serves(server: &Server) {
    let probe = server.started("probe", &json!({"params": {"steps": 2, "echo": "alive"}}));
    let id = probe["id"].as_str().unwrap();
    assert_eq!(server.finished(id)["status"], "succeeded");
    let (status, body) = text(server, &format!("/v1/jobs/{id}/result"));
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["echo"],
        "alive"
    );

    let doc = run_hostile(server, "ok");
    assert_eq!(doc["status"], "succeeded", "{doc}");
    let id = doc["id"].as_str().unwrap();
    assert_eq!(
        text(server, &format!("/v1/jobs/{id}/result")),
        (200, "ok".to_owned())
    );
}

fn timestamp(doc: &Value, field: &str) -> OffsetDateTime {
    let text = doc[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field}: {doc}"));
    OffsetDateTime::parse(text, &Rfc3339).unwrap()
}

/// The log limit the server advertises.
fn max_log_bytes(server: &Server) -> usize {
    let service: Value = server.get("/v1").send().unwrap().json().unwrap();
    service["limits"]["maxLogBytes"]
        .as_u64()
        .expect("maxLogBytes") as usize
}

/// What a log may exceed its limit by: the note that says it was cut.
const LOG_MARGIN: usize = 1024;

#[test]
fn the_hostile_operation_is_loaded_from_the_plugins_directory() {
    let server = sandbox(&[]);
    let response = server.get("/v1/operations/hostile").send().unwrap();
    assert_eq!(response.status(), 200);
    let operation: Value = response.json().unwrap();
    assert_eq!(operation["name"], "hostile", "{operation}");
    // Bad params are a 4xx at start, not a job that fails later.
    let response = server.start_job("hostile", &json!({"params": {"mode": "nope"}}));
    assert_problem(response, 422, "invalid-params");
    still_serves(&server);
}

#[test]
fn an_endless_loop_fails_at_its_deadline() {
    let server = sandbox(&[]);
    let submitted = Instant::now();
    let id = hostile(&server, "spin", json!({"timeoutSeconds": 1}));
    let doc = server.finished(&id);
    let waited = submitted.elapsed();
    let error = failed_with(&doc, "deadline-exceeded");
    assert!(
        error["detail"].as_str().unwrap().contains("timeoutSeconds"),
        "{doc}"
    );
    let ran = timestamp(&doc, "finishedAt") - timestamp(&doc, "startedAt");
    assert!(
        ran >= time::Duration::milliseconds(950) && ran < time::Duration::seconds(3),
        "a 1 s deadline stopped the run after {ran}"
    );
    assert!(
        waited < Duration::from_secs(8),
        "the job took {waited:?} to fail"
    );
    still_serves(&server);
}

#[test]
fn an_endless_loop_is_canceled_within_a_second() {
    let server = sandbox(&[]);
    let id = hostile(&server, "spin", json!({"timeoutSeconds": 120}));
    server.poll_until(&id, "running", |doc| doc["status"] == "running");

    let asked = Instant::now();
    let response = server
        .post_json(&format!("/v1/jobs/{id}/cancel"), &json!({}))
        .send()
        .unwrap();
    let took = asked.elapsed();
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().unwrap();
    assert_eq!(doc["status"], "canceled", "{doc}");
    assert!(took < Duration::from_secs(1), "cancel took {took:?}");

    let doc = server.job(&id);
    assert_eq!(doc["status"], "canceled", "{doc}");
    let response = server.get(&format!("/v1/jobs/{id}/result")).send().unwrap();
    assert_problem(response, 409, "result-not-available");
    still_serves(&server);
}

#[test]
fn a_memory_bomb_fails_at_the_memory_limit() {
    let server = sandbox(&["--memory-limit-mib", "64"]);
    let service: Value = server.get("/v1").send().unwrap().json().unwrap();
    assert_eq!(service["limits"]["memoryLimitBytes"], 64 << 20, "{service}");
    let doc = run_hostile(&server, "alloc");
    failed_with(&doc, "memory-limit-exceeded");
    still_serves(&server);
}

#[test]
fn the_file_system_is_out_of_reach() {
    let server = sandbox(&[]);
    let doc = run_hostile(&server, "open-file");
    let error = failed_with(&doc, "plugin-error");
    assert_eq!(error["code"], "io-denied", "{doc}");
    assert!(
        !Path::new("escape.txt").exists() && !server.data_dir.join("escape.txt").exists(),
        "the plugin created a file"
    );
    still_serves(&server);
}

#[test]
fn a_panic_fails_with_plugin_trap() {
    let server = sandbox(&[]);
    let doc = run_hostile(&server, "trap");
    let error = failed_with(&doc, "plugin-trap");
    assert!(error["detail"].as_str().unwrap().contains("panic"), "{doc}");
    // The panic message went to stderr, and stderr to the job's log.
    let id = doc["id"].as_str().unwrap();
    let (status, log) = text(&server, &format!("/v1/jobs/{id}/log"));
    assert_eq!(status, 200);
    assert!(
        log.lines()
            .any(|line| line.contains(" STDERR ") && line.contains("deliberate panic")),
        "{log}"
    );
    still_serves(&server);
}

#[test]
fn endless_recursion_fails_with_a_stack_overflow() {
    let server = sandbox(&[]);
    let doc = run_hostile(&server, "recurse");
    let error = failed_with(&doc, "plugin-trap");
    let detail = error["detail"].as_str().unwrap();
    assert!(detail.contains("stack overflow"), "{doc}");
    // The guest keeps its function names: the trap says where it happened.
    assert!(detail.contains("recurse"), "{doc}");
    still_serves(&server);
}

#[test]
fn an_output_flood_ends_with_a_bounded_log() {
    let server = sandbox(&[]);
    let limit = max_log_bytes(&server);
    let doc = run_hostile(&server, "stdout-flood");
    assert_eq!(doc["status"], "succeeded", "{doc}");
    let id = doc["id"].as_str().unwrap();
    let (status, log) = text(&server, &format!("/v1/jobs/{id}/log"));
    assert_eq!(status, 200);
    assert!(
        log.len() <= limit + LOG_MARGIN,
        "the log has {} bytes; the limit is {limit}",
        log.len()
    );
    assert!(
        log.contains("STDOUT") && log.contains("STDERR"),
        "{}",
        &log[..log.len().min(2000)]
    );
    assert!(log.contains("truncated"), "the log does not say it was cut");
    still_serves(&server);
}

#[test]
fn a_log_flood_ends_with_a_bounded_log() {
    let server = sandbox(&[]);
    let limit = max_log_bytes(&server);
    let doc = run_hostile(&server, "log-flood");
    assert_eq!(doc["status"], "succeeded", "{doc}");
    let id = doc["id"].as_str().unwrap();
    let (status, log) = text(&server, &format!("/v1/jobs/{id}/log"));
    assert_eq!(status, 200);
    assert!(
        log.len() <= limit + LOG_MARGIN,
        "the log has {} bytes; the limit is {limit}",
        log.len()
    );
    assert!(
        log.contains("log-flood line 0000000"),
        "the log lost its start"
    );
    let tail = &log[log.len().saturating_sub(2000)..];
    assert!(
        log.contains("truncated") || log.contains("dropped"),
        "the log does not say it was cut: …{tail}"
    );
    still_serves(&server);
}

#[test]
fn the_environment_and_arguments_are_empty() {
    let server = sandbox(&[]);
    let doc = run_hostile(&server, "env");
    assert_eq!(doc["status"], "succeeded", "{doc}");
    let id = doc["id"].as_str().unwrap();
    let response = server.get(&format!("/v1/jobs/{id}/result")).send().unwrap();
    assert_eq!(response.status(), 200);
    let seen: Value = response.json().unwrap();
    assert_eq!(
        seen["env"],
        json!({}),
        "the plugin saw environment variables"
    );
    assert_eq!(seen["args"], json!([]), "the plugin saw arguments");
    still_serves(&server);
}

#[test]
fn the_api_answers_while_every_worker_spins() {
    let server = sandbox(&["--workers", "2"]);
    let spinners: Vec<String> = (0..2)
        .map(|_| hostile(&server, "spin", json!({"timeoutSeconds": 120})))
        .collect();
    for id in &spinners {
        server.poll_until(id, "running", |doc| doc["status"] == "running");
    }
    // No worker is free, so this one waits.
    let waiting = server.started("probe", &json!({"params": {"steps": 1}}));
    let waiting = waiting["id"].as_str().unwrap();

    let bound = Duration::from_secs(2);
    let timed = |path: &str| {
        let asked = Instant::now();
        let response = server.get(path).send().unwrap();
        let took = asked.elapsed();
        assert_eq!(response.status(), 200, "GET {path}");
        assert!(
            took < bound,
            "GET {path} took {took:?} while the workers spun"
        );
        response.json::<Value>().unwrap()
    };
    // Keep asking for a while, so the workers spin throughout.
    let asking = Instant::now();
    let mut round = 0;
    while round < 20 || asking.elapsed() < Duration::from_secs(1) {
        round += 1;
        let service = timed("/v1");
        assert_eq!(service["name"], "longrun");
        let doc = timed(&format!("/v1/jobs/{}", spinners[round % 2]));
        assert_eq!(doc["status"], "running", "{doc}");
        let doc = timed(&format!("/v1/jobs/{waiting}"));
        assert_eq!(doc["status"], "queued", "{doc}");
    }

    for id in &spinners {
        let asked = Instant::now();
        let response = server
            .post_json(&format!("/v1/jobs/{id}/cancel"), &json!({}))
            .send()
            .unwrap();
        let took = asked.elapsed();
        assert_eq!(response.status(), 200);
        assert_eq!(response.json::<Value>().unwrap()["status"], "canceled");
        assert!(took < Duration::from_secs(1), "cancel took {took:?}");
    }
    assert_eq!(server.finished(waiting)["status"], "succeeded");
    still_serves(&server);
}
