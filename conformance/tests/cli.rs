//! The command line: exit codes, reports, the expected-failures file, `list`
//! and `explain`, run as a CI pipeline would run them.

mod support;

use std::process::{Command, Output};

use serde_json::Value;

fn conformance(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_longrun-conformance"))
        .args(args)
        .output()
        .expect("longrun-conformance runs")
}

/// Run the binary on a blocking thread so the in-process servers keep serving.
async fn conformance_async(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        conformance(&args)
    })
    .await
    .expect("the command thread")
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn a_server_that_is_down_is_an_environment_error() {
    // Bind and drop a listener: nothing listens on that port afterwards.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let output = conformance(&["run", "--base-url", &format!("http://127.0.0.1:{port}")]);
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("could not be reached"), "{}", text(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_speaking_another_protocol_fails_and_never_passes() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let app = axum::Router::new().fallback(|| async {
        (
            [("content-type", "text/html")],
            "<html><body>It works!</body></html>",
        )
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    let output = conformance_async(vec!["run".into(), "--base-url".into(), base]).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("FAIL") && stdout.contains("service.document"),
        "{}",
        text(&output)
    );
    assert!(stdout.contains("BLOCKED"), "{}", text(&output));
}

#[test]
fn usage_errors_exit_2() {
    let output = conformance(&["run"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let output = conformance(&["run", "--base-url", "http://127.0.0.1:1", "--report", "pdf"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let output = conformance(&["explain", "NO-SUCH-1"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
}

#[test]
fn a_selection_that_matches_nothing_exits_4() {
    let output = conformance(&[
        "run",
        "--base-url",
        "http://127.0.0.1:1",
        "--only",
        "no-such-check-*",
    ]);
    assert_eq!(output.status.code(), Some(4), "{}", text(&output));
}

#[test]
fn list_shows_every_requirement_and_explain_quotes_one() {
    let output = conformance(&["list"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let spec = longrun_conformance::spec::spec();
    for req in &spec.requirements {
        assert!(stdout.contains(&req.id), "list lacks {}", req.id);
    }
    assert!(
        !stdout.contains("(no check)"),
        "uncovered requirements:\n{stdout}"
    );

    let output = conformance(&["explain", "SVC-3"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("protocolVersion") && stdout.contains("service.document"));

    let output = conformance(&["explain", "service.document"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("[SVC-2] MUST"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_and_expected_failures() {
    let runner = support::start_runner(|_| {}).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let junit = dir.path().join("out/junit.xml");
    let json = dir.path().join("report.json");

    // A passing run writes all three reports; secrets in headers are redacted.
    let output = conformance_async(vec![
        "run".into(),
        "--base-url".into(),
        runner.base.clone(),
        "--only".into(),
        "service.document".into(),
        "-H".into(),
        "Authorization: Bearer sekrit-token".into(),
        "--report".into(),
        "terminal".into(),
        "--report".into(),
        format!("junit={}", junit.display()),
        "--report".into(),
        format!("json={}", json.display()),
    ])
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let xml = std::fs::read_to_string(&junit).expect("the JUnit report");
    assert!(
        xml.contains("<testsuites") && xml.contains("service.document"),
        "{xml}"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON report"))
            .expect("JSON");
    assert_eq!(report["specVersion"], "1.0");
    assert_eq!(report["suiteVersion"], env!("CARGO_PKG_VERSION"));
    assert_eq!(report["exitCode"], 0);
    assert_eq!(report["results"][0]["id"], "service.document");
    assert_eq!(report["results"][0]["verdict"], "pass");
    let raw = std::fs::read_to_string(&json).expect("the JSON report");
    assert!(
        !raw.contains("sekrit-token"),
        "the JSON report leaks a header value"
    );
    assert!(raw.contains("Authorization: (redacted)"), "{raw}");

    // An expected failure that passes fails the run.
    let expected = dir.path().join("expected.toml");
    std::fs::write(
        &expected,
        "[[expected]]\ncheck = \"service.document\"\nreason = \"tracked in #1\"\n",
    )
    .expect("write");
    let output = conformance_async(vec![
        "run".into(),
        "--base-url".into(),
        runner.base.clone(),
        "--only".into(),
        "service.document".into(),
        "--expected-failures".into(),
        expected.display().to_string(),
    ])
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("remove the entry"),
        "{}",
        text(&output)
    );

    // An entry naming no check, or without a reason, is a usage error.
    std::fs::write(
        &expected,
        "[[expected]]\ncheck = \"nope\"\nreason = \"x\"\n",
    )
    .expect("write");
    let output = conformance_async(vec![
        "run".into(),
        "--base-url".into(),
        runner.base.clone(),
        "--expected-failures".into(),
        expected.display().to_string(),
    ])
    .await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    std::fs::write(&expected, "[[expected]]\ncheck = \"service.document\"\n").expect("write");
    let output = conformance_async(vec![
        "run".into(),
        "--base-url".into(),
        runner.base.clone(),
        "--expected-failures".into(),
        expected.display().to_string(),
    ])
    .await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expected_failure_does_not_fail_the_run_and_every_request_is_labelled() {
    use std::sync::{Arc, Mutex};

    use support::proxy::{OnResponse, Proxy, ProxyRequest, ProxyResponse};

    let runner = support::start_runner(|_| {}).await;
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let record = seen.clone();
    let proxy = Proxy::start(
        &runner.base,
        Arc::new(OnResponse(
            move |req: &ProxyRequest, resp: &mut ProxyResponse| {
                let run = req
                    .headers
                    .get("x-conformance-run")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                record.lock().unwrap().push((run, req.check().to_owned()));
                if req.is("GET", "/v1") {
                    resp.edit_json(|doc| doc["protocolVersion"] = "9.9".into());
                }
            },
        )),
    )
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let expected = dir.path().join("expected.toml");
    std::fs::write(
        &expected,
        "[[expected]]\ncheck = \"service.document\"\nreason = \"we report 9.9 on purpose\"\n",
    )
    .expect("write");
    let json = dir.path().join("report.json");
    let output = conformance_async(vec![
        "run".into(),
        "--base-url".into(),
        proxy.base.clone(),
        "--only".into(),
        "service.document".into(),
        "--expected-failures".into(),
        expected.display().to_string(),
        "--report".into(),
        "terminal".into(),
        "--report".into(),
        format!("json={}", json.display()),
    ])
    .await;
    // The only check is an expected failure: nothing fails, but nothing passed.
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("XFAIL"),
        "{}",
        text(&output)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("JSON");
    let result = &report["results"][0];
    assert_eq!(result["verdict"], "fail");
    assert_eq!(result["requirement"], "SVC-3");
    assert_eq!(
        result["expectedFailure"]["reason"],
        "we report 9.9 on purpose"
    );
    assert!(
        result["requirementText"]
            .as_str()
            .unwrap()
            .contains("protocolVersion")
    );
    assert!(result["curl"].as_str().unwrap().starts_with("curl -i "));
    let seen = seen.lock().unwrap();
    let run_id = report["runId"].as_str().unwrap();
    assert!(
        seen.iter()
            .any(|(run, check)| run == run_id && check == "service.document"),
        "{seen:?}"
    );
    assert!(seen.iter().all(|(run, _)| run == run_id), "{seen:?}");
}
