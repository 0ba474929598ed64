//! The `fuzz` subcommand against the real runner (every case agrees with the
//! model) and against runners behind the violation proxy (the fuzzer finds the
//! violation and shrinks it to a short sequence printed as curl commands).

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::Method;
use longrun_conformance::fuzz::{self, FuzzOutcome, Options};
use serde_json::json;
use support::proxy::{OnResponse, Proxy, ProxyRequest, ProxyResponse, Violation};
use support::{start_runner, suite_config};

async fn fuzz_at(base: &str, cases: u32, seed: u64) -> FuzzOutcome {
    let options = Options {
        cases,
        seed: Some(seed),
        max_steps: 10,
    };
    let outcome = fuzz::run(suite_config(base), options)
        .await
        .expect("the fuzzer runs");
    println!("{}", outcome.report);
    outcome
}

/// The number of steps of the shrunk sequence the report prints.
fn shrunk_steps(report: &str) -> usize {
    let line = report
        .lines()
        .find(|l| l.starts_with("Minimal failing sequence ("))
        .unwrap_or_else(|| panic!("no shrunk sequence in:\n{report}"));
    line.trim_start_matches("Minimal failing sequence (")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no step count in {line:?}"))
}

fn assert_shrunk_failure(outcome: &FuzzOutcome, requirement: &str) {
    let report = &outcome.report;
    assert_eq!(outcome.exit_code, 1, "{report}");
    assert!(report.contains("seed: "), "{report}");
    assert!(
        report.contains(&format!("breaks [{requirement}")),
        "{report}"
    );
    assert!(
        report.contains("expected: ") && report.contains("got: "),
        "{report}"
    );
    let steps = shrunk_steps(report);
    assert!((1..=3).contains(&steps), "{steps} steps:\n{report}");
    assert!(report.contains("JOB1=$(curl -si -X POST"), "{report}");
    assert!(report.contains("sed -n 's/^location: //Ip'"), "{report}");
    assert!(
        report.contains("-H 'X-Conformance-Check: fuzz'"),
        "{report}"
    );
    for n in 1..=steps {
        assert!(
            report.contains(&format!("\n# {n}. ")),
            "step {n}:\n{report}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_runner_agrees_with_the_model() {
    let runner = start_runner(|_| {}).await;
    let outcome = fuzz_at(&runner.base, 8, 20_260_101).await;
    assert_eq!(outcome.exit_code, 0, "{}", outcome.report);
    assert!(outcome.report.contains("8 cases"), "{}", outcome.report);
    assert!(
        outcome.report.contains("seed: 20260101"),
        "{}",
        outcome.report
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deleted_job_that_stays_readable_is_found_and_shrunk() {
    let runner = start_runner(|_| {}).await;
    // DELETE answers 200, but GET of the job keeps answering the document the
    // DELETE returned instead of 404.
    let deleted: Arc<Mutex<HashMap<String, ProxyResponse>>> = Arc::default();
    let violation = OnResponse(move |req: &ProxyRequest, resp: &mut ProxyResponse| {
        let mut deleted = deleted.lock().expect("lock");
        if req.is("DELETE", "/v1/jobs/*") && resp.status == 200 {
            deleted.insert(req.path_only().to_owned(), resp.clone());
        } else if req.is("GET", "/v1/jobs/*")
            && resp.status == 404
            && let Some(old) = deleted.get(req.path_only())
        {
            *resp = old.clone();
        }
    });
    let proxy = Proxy::start(&runner.base, Arc::new(violation)).await;
    let outcome = fuzz_at(&proxy.base, 64, 7).await;
    assert_shrunk_failure(&outcome, "DELETE-3");
    assert!(
        outcome.report.contains("-X DELETE \"$JOB1\""),
        "{}",
        outcome.report
    );
}

/// Cancel answers `200 canceled` without canceling: the proxy turns the cancel
/// into a `GET` of the job and dresses an active document up as canceled (a
/// finished job is answered as a real cancel would be: `409 job-finished`).
/// The job goes on (a `hold` job keeps running, a `quick` one succeeds).
struct FakeCancel;

const FAKE: &str = "x-fuzz-fake-cancel";

impl Violation for FakeCancel {
    fn request(&self, req: &mut ProxyRequest) {
        if req.is("POST", "/v1/jobs/*/cancel") {
            req.method = Method::GET;
            req.path = req.path_only().trim_end_matches("/cancel").to_owned();
            req.body = Default::default();
            req.headers
                .insert(FAKE, "1".parse().expect("a header value"));
        }
    }

    fn response(&self, req: &ProxyRequest, resp: &mut ProxyResponse) {
        if !req.headers.contains_key(FAKE) || resp.status != 200 {
            return;
        }
        let Some(doc) = resp.json() else { return };
        match doc["status"].as_str() {
            Some("queued" | "running") => {
                resp.edit_json(|doc| {
                    doc["status"] = json!("canceled");
                    doc["finishedAt"] = doc["updatedAt"].clone();
                    doc["expiresAt"] = doc["updatedAt"].clone();
                    if let Some(links) = doc["links"].as_object_mut() {
                        links.remove("monitor");
                        links.remove("cancel");
                    }
                });
                resp.remove_header("retry-after");
            }
            Some(status @ ("succeeded" | "failed")) => {
                resp.status = 409;
                resp.set_json(&json!({
                    "type": "urn:longrun:problem:job-finished",
                    "title": "The job has already finished",
                    "status": 409,
                    "detail": "the job has already finished",
                    "instance": req.path_only(),
                    "jobStatus": status,
                }));
                resp.set_header("content-type", "application/problem+json");
                resp.remove_header("etag");
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancel_that_does_not_cancel_is_found_and_shrunk() {
    let runner = start_runner(|_| {}).await;
    let proxy = Proxy::start(&runner.base, Arc::new(FakeCancel)).await;
    let outcome = fuzz_at(&proxy.base, 64, 11).await;
    assert_shrunk_failure(&outcome, "");
    assert!(
        outcome.report.contains("-X POST \"$JOB1/cancel\""),
        "{}",
        outcome.report
    );
}

#[tokio::test]
async fn an_unreachable_server_is_an_environment_error() {
    // A port nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let outcome = fuzz_at(&format!("http://127.0.0.1:{port}"), 2, 1).await;
    assert_eq!(outcome.exit_code, 3, "{}", outcome.report);
    assert!(
        outcome.report.contains("could not be reached"),
        "{}",
        outcome.report
    );
}
