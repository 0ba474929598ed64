//! Section 8: synchronous mode (SYNC-1 to SYNC-9).

use std::time::{Duration, Instant};

use reqwest::blocking::Response;
use serde_json::{Value, json};

use super::common::*;

fn start_waiting(server: &Server, prefer: &str, body: &Value) -> (Response, Duration) {
    let began = Instant::now();
    let response = server
        .post_json("/v1/operations/probe/jobs", body)
        .header("Prefer", prefer)
        .send()
        .unwrap();
    (response, began.elapsed())
}

#[test]
fn sync_3_a_quick_success_answers_200_with_the_result() {
    let server = Server::start();
    let (response, _) = start_waiting(
        &server,
        "wait=20",
        &json!({"params": {"steps": 2, "resultBytes": 1000}}),
    );
    assert_eq!(response.status(), 200, "SYNC-3");
    let location = must_header(&response, "location");
    assert_eq!(
        must_header(&response, "operation-location"),
        location,
        "SYNC-3"
    );
    assert!(
        location.starts_with(&server.url("/v1/jobs/")),
        "SYNC-3/GEN-3: {location}"
    );
    assert_eq!(
        must_header(&response, "preference-applied"),
        "wait=20",
        "SYNC-3"
    );
    assert_eq!(
        must_header(&response, "content-type"),
        "application/octet-stream",
        "SYNC-3"
    );
    assert_eq!(must_header(&response, "content-length"), "1000", "SYNC-3");
    let etag = must_header(&response, "etag");
    let bytes = response.bytes().unwrap();
    assert_eq!(bytes.len(), 1000);
    assert_eq!(
        etag,
        format!("\"{}\"", sha256_hex(&bytes)),
        "SYNC-3/RESULT-1"
    );
    // The job is the one at Location, succeeded, with the same result.
    let id = location.rsplit('/').next().unwrap();
    let (_, _, doc) = get_job(&server, id);
    assert_eq!(doc["status"], "succeeded");
    assert_eq!(doc["result"]["sha256"], sha256_hex(&bytes));
    let served = server
        .get(&format!("/v1/jobs/{id}/result"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(served, bytes);
    // A JSON result comes with its media type.
    let (response, _) = start_waiting(
        &server,
        "wait=20",
        &json!({"params": {"steps": 1, "echo": [1]}}),
    );
    assert_eq!(response.status(), 200);
    assert_eq!(
        must_header(&response, "content-type"),
        "application/json",
        "SYNC-3/PLUGIN-3"
    );
    // An empty result.
    let (response, _) = start_waiting(
        &server,
        "wait=20",
        &json!({"params": {"steps": 1, "resultBytes": 0}}),
    );
    assert_eq!(response.status(), 200);
    assert_eq!(must_header(&response, "content-length"), "0", "SYNC-3");
    assert_eq!(
        must_header(&response, "etag"),
        format!("\"{}\"", sha256_hex(b""))
    );
}

#[test]
fn sync_1_2_the_applied_wait() {
    let server = Server::start_with(&["--max-wait", "3"]);
    // SYNC-2: capped to maxWaitSeconds, also when too large for 64 bits.
    for prefer in ["wait=1000", "wait=99999999999999999999999"] {
        let (response, _) = start_waiting(&server, prefer, &json!({"params": quick()}));
        assert_eq!(response.status(), 200, "{prefer}");
        assert_eq!(
            must_header(&response, "preference-applied"),
            "wait=3",
            "SYNC-2: {prefer}"
        );
    }
    // SYNC-1: the first wait counts, later ones are not read; unknown
    // preferences are ignored.
    let (response, _) = start_waiting(
        &server,
        "handling=lenient, wait=2, wait=soon",
        &json!({"params": quick()}),
    );
    assert_eq!(response.status(), 200);
    assert_eq!(
        must_header(&response, "preference-applied"),
        "wait=2",
        "SYNC-1"
    );
    let response = server
        .post_json("/v1/operations/probe/jobs", &json!({"params": quick()}))
        .header("Prefer", "foo=bar")
        .header("Prefer", "wait=1")
        .header("Prefer", "wait=3")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        must_header(&response, "preference-applied"),
        "wait=1",
        "SYNC-1: first of several headers"
    );
    let (response, _) = start_waiting(&server, "unknown-pref, x=y", &json!({"params": quick()}));
    assert_eq!(response.status(), 202, "SYNC-1/SYNC-8: no wait preference");
    // SYNC-1: bad wait values are 400, and create no job.
    let before = list(&server, "")["jobs"].as_array().unwrap().len();
    for prefer in [
        "wait=soon",
        "wait=-1",
        "wait=1.5",
        "wait=",
        "wait",
        "wait=1e3",
        "wait=+2",
    ] {
        let (response, _) = start_waiting(&server, prefer, &json!({"params": quick()}));
        assert_eq!(response.status(), 400, "SYNC-1: `{prefer}`");
        problem(response, 400, "malformed-request");
    }
    assert_eq!(
        list(&server, "")["jobs"].as_array().unwrap().len(),
        before,
        "JOB-CREATE-6"
    );
}

#[test]
fn sync_4_a_failure_answers_with_the_jobs_error() {
    let server = Server::start();
    let (response, _) = start_waiting(
        &server,
        "wait=20",
        &json!({"params": {"steps": 1, "fail": {"code": "E42", "message": "it went wrong"}}}),
    );
    let location = must_header(&response, "location");
    assert_eq!(
        must_header(&response, "operation-location"),
        location,
        "SYNC-4"
    );
    assert_eq!(
        must_header(&response, "preference-applied"),
        "wait=20",
        "SYNC-4"
    );
    let p = problem(response, 422, "plugin-error");
    assert_eq!(p["code"], "E42", "ERR-10");
    assert_eq!(p["detail"], "it went wrong", "ERR-10");
    // The answer is the job's error document.
    let id = location.rsplit('/').next().unwrap();
    let (_, _, doc) = get_job(&server, id);
    assert_eq!(doc["status"], "failed");
    assert_eq!(doc["error"], p, "SYNC-4: the job's error");
    // A deadline failure answers 504 (ERR-9).
    let (response, _) = start_waiting(
        &server,
        "wait=20",
        &json!({"params": {"durationMs": 10000, "steps": 100}, "timeoutSeconds": 1}),
    );
    problem(response, 504, "deadline-exceeded");
}

#[test]
fn sync_5_a_cancel_while_waiting_answers_409() {
    let server = Server::start();
    let waiter = {
        let url = server.url("/v1/operations/probe/jobs");
        std::thread::spawn(move || {
            client()
                .post(url)
                .header("Prefer", "wait=30")
                .json(&json!({"params": long(), "correlationId": "sync-5"}))
                .send()
                .unwrap()
        })
    };
    let id = eventually("the synchronous job to run", || {
        list(&server, "?status=running")["jobs"]
            .as_array()
            .unwrap()
            .first()
            .map(id_of)
    });
    let canceled = server
        .post_json(&format!("/v1/jobs/{id}/cancel"), &json!({}))
        .send()
        .unwrap();
    assert_eq!(canceled.status(), 200);
    let response = waiter.join().unwrap();
    assert_eq!(
        must_header(&response, "location"),
        server.url(&format!("/v1/jobs/{id}")),
        "SYNC-5"
    );
    assert_eq!(
        must_header(&response, "operation-location"),
        server.url(&format!("/v1/jobs/{id}")),
        "SYNC-5"
    );
    assert_eq!(
        must_header(&response, "preference-applied"),
        "wait=30",
        "SYNC-5"
    );
    problem(response, 409, "job-canceled");
}

#[test]
fn sync_6_7_a_slow_job_answers_202_after_the_wait() {
    let server = Server::start();
    let (response, elapsed) = start_waiting(&server, "wait=1", &json!({"params": long()}));
    assert_eq!(response.status(), 202, "SYNC-6");
    assert!(
        elapsed >= Duration::from_millis(950),
        "SYNC-7: answered after {elapsed:?}, before the wait"
    );
    assert!(elapsed < Duration::from_secs(5), "SYNC-6: {elapsed:?}");
    assert_eq!(
        must_header(&response, "preference-applied"),
        "wait=1",
        "SYNC-6"
    );
    let location = must_header(&response, "location");
    assert_eq!(
        must_header(&response, "operation-location"),
        location,
        "SYNC-6/JOB-CREATE-2"
    );
    assert!(link(&response, "monitor").is_some(), "SYNC-6/JOB-CREATE-3");
    retry_after(&response);
    must_header(&response, "etag");
    assert_eq!(
        must_header(&response, "cache-control"),
        "no-store",
        "JOB-DOC-11"
    );
    let doc: Value = response.json().unwrap();
    assert_eq!(doc["status"], "running", "SYNC-6: the current document");
    assert_eq!(doc["links"]["self"], location);
    // SYNC-7: the answer comes within a second of the end of the job.
    let (response, elapsed) = start_waiting(
        &server,
        "wait=20",
        &json!({"params": {"durationMs": 600, "steps": 3}}),
    );
    let answered = now();
    assert_eq!(response.status(), 200, "SYNC-3");
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    let location = must_header(&response, "location");
    let (_, _, doc) = get_job(&server, location.rsplit('/').next().unwrap());
    let late = answered - time_of(&doc, "finishedAt");
    assert!(
        late < time::Duration::milliseconds(1500),
        "SYNC-7: answered {late} after the job finished"
    );
}

#[test]
fn sync_8_respond_async_and_no_wait_answer_at_once() {
    let server = Server::start();
    for prefer in [
        None,
        Some("respond-async"),
        Some("respond-async, wait=10"),
        Some("wait=10, respond-async"),
    ] {
        let began = Instant::now();
        let mut request = server.post_json("/v1/operations/probe/jobs", &json!({"params": long()}));
        if let Some(p) = prefer {
            request = request.header("Prefer", p);
        }
        let response = request.send().unwrap();
        let elapsed = began.elapsed();
        assert_eq!(response.status(), 202, "SYNC-8: {prefer:?}");
        assert!(
            elapsed < Duration::from_secs(3),
            "SYNC-8: {prefer:?} waited {elapsed:?}"
        );
        if let Some(applied) = header(&response, "preference-applied") {
            assert!(
                !applied.contains("wait"),
                "SYNC-8: {prefer:?} applied {applied}"
            );
        }
    }
    // wait=0 applies a wait of zero.
    let (response, elapsed) = start_waiting(&server, "wait=0", &json!({"params": long()}));
    assert_eq!(response.status(), 202);
    assert!(elapsed < Duration::from_secs(3));
    assert_eq!(
        must_header(&response, "preference-applied"),
        "wait=0",
        "SYNC-6"
    );
}

#[test]
fn sync_9_a_client_that_disconnects_does_not_affect_the_job() {
    let server = Server::start();
    let impatient = reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    let result = impatient
        .post(server.url("/v1/operations/probe/jobs"))
        .header("Prefer", "wait=30")
        .json(&json!({"params": {"durationMs": 1200, "steps": 4}, "correlationId": "sync-9"}))
        .send();
    assert!(result.is_err(), "the client gave up");
    let id = eventually("the job to be listed", || {
        list(&server, "")["jobs"]
            .as_array()
            .unwrap()
            .first()
            .map(id_of)
    });
    let done = await_terminal(&server, &id);
    assert_eq!(done["status"], "succeeded", "SYNC-9: {done}");
    assert_eq!(done["correlationId"], "sync-9");
}
