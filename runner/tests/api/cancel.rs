//! Section 13: cancel (CANCEL-1 to CANCEL-8).

use std::time::{Duration, Instant};

use reqwest::blocking::Response;
use serde_json::{Value, json};

use super::common::*;

fn cancel(server: &Server, id: &str) -> Response {
    server
        .post_json(&format!("/v1/jobs/{id}/cancel"), &json!({}))
        .send()
        .unwrap()
}

/// CANCEL-1: the shape of a canceled document.
fn assert_canceled(doc: &Value) {
    assert_eq!(doc["status"], "canceled", "CANCEL-1: {doc}");
    assert!(!doc["finishedAt"].is_null(), "CANCEL-1: finishedAt: {doc}");
    assert!(!doc["expiresAt"].is_null(), "CANCEL-1: expiresAt: {doc}");
    for member in ["result", "resourceLocation", "error"] {
        assert!(doc.get(member).is_none(), "CANCEL-1: {member} in {doc}");
    }
    let links = doc["links"].as_object().unwrap();
    for rel in ["monitor", "cancel", "result"] {
        assert!(!links.contains_key(rel), "CANCEL-1: links.{rel} in {doc}");
    }
}

#[test]
fn cancel_1_3_a_running_job_is_canceled_within_5_seconds() {
    let server = Server::start();
    let id = id_of(&probe(&server, json!({"durationMs": 600000, "steps": 1})));
    await_running(&server, &id);
    let began = Instant::now();
    let response = cancel(&server, &id);
    let elapsed = began.elapsed();
    assert_eq!(response.status(), 200, "CANCEL-1");
    assert!(
        elapsed < Duration::from_secs(5),
        "CANCEL-3: answered after {elapsed:?}"
    );
    assert_eq!(
        must_header(&response, "cache-control"),
        "no-store",
        "JOB-DOC-11"
    );
    assert!(
        header(&response, "retry-after").is_none(),
        "JOB-DOC-11: not active"
    );
    let etag = must_header(&response, "etag");
    let doc: Value = response.json().unwrap();
    assert_canceled(&doc);
    assert!(!doc["startedAt"].is_null());
    // CANCEL-2: it never gains a result.
    let (_, get_etag, got) = get_job(&server, &id);
    assert_eq!(got["status"], "canceled");
    assert_eq!(get_etag.as_deref(), Some(etag.as_str()), "JOB-DOC-12");
    let p = problem(
        server.get(&format!("/v1/jobs/{id}/result")).send().unwrap(),
        409,
        "result-not-available",
    );
    assert_eq!(p["jobStatus"], "canceled", "RESULT-4");
    // CANCEL-5: again, unchanged.
    let again = cancel(&server, &id);
    assert_eq!(again.status(), 200, "CANCEL-5");
    assert_eq!(must_header(&again, "etag"), etag, "CANCEL-5: same ETag");
    let again: Value = again.json().unwrap();
    assert_eq!(again["finishedAt"], doc["finishedAt"], "CANCEL-5");
    assert_eq!(again["status"], "canceled");
}

#[test]
fn cancel_1_4_a_queued_job_never_starts() {
    let server = Server::start_with(&["--workers", "1"]);
    let blocker = id_of(&probe(&server, long()));
    await_running(&server, &blocker);
    let queued = id_of(&probe(&server, quick()));
    let response = cancel(&server, &queued);
    assert_eq!(response.status(), 200, "CANCEL-1");
    let doc: Value = response.json().unwrap();
    assert_canceled(&doc);
    assert!(doc["startedAt"].is_null(), "CANCEL-4");
    // Free the worker and let a later job run: the canceled one stays unstarted.
    let later = id_of(&probe(&server, quick()));
    assert_eq!(cancel(&server, &blocker).status(), 200);
    assert_eq!(await_terminal(&server, &later)["status"], "succeeded");
    let (_, _, doc) = get_job(&server, &queued);
    assert_canceled(&doc);
    assert!(doc["startedAt"].is_null(), "CANCEL-4: startedAt stays null");
    // A queued job's log never shows an attempt.
    let log = server
        .get(&format!("/v1/jobs/{queued}/log"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(!log.contains("attempt"), "CANCEL-4: {log}");
}

#[test]
fn cancel_6_7_finished_jobs_answer_409() {
    let server = Server::start();
    let succeeded = id_of(&probe(&server, quick()));
    let failed = id_of(&probe(
        &server,
        json!({"steps": 1, "fail": {"code": "x", "message": "y"}}),
    ));
    for (id, status) in [(succeeded, "succeeded"), (failed, "failed")] {
        let before = await_terminal(&server, &id);
        let p = problem(cancel(&server, &id), 409, "job-finished");
        assert_eq!(p["jobStatus"], status, "CANCEL-6/ERR-6");
        let (_, _, after) = get_job(&server, &id);
        assert_eq!(after["status"], status, "CANCEL-6: unchanged");
        assert_eq!(after["finishedAt"], before["finishedAt"]);
    }
}

#[test]
fn cancel_7_a_cancel_racing_the_end_is_consistent() {
    // Whether the cancel or the plugin's result wins, the answers agree.
    let server = Server::start();
    for duration in [0, 20, 50, 100] {
        let id = id_of(&probe(&server, json!({"durationMs": duration, "steps": 1})));
        let response = cancel(&server, &id);
        let final_doc = await_terminal(&server, &id);
        match response.status().as_u16() {
            200 => {
                assert_eq!(final_doc["status"], "canceled", "CANCEL-2");
                assert!(final_doc.get("result").is_none(), "CANCEL-2");
            }
            409 => {
                let p = problem(response, 409, "job-finished");
                assert_eq!(final_doc["status"], "succeeded", "CANCEL-7");
                assert_eq!(p["jobStatus"], "succeeded", "CANCEL-7");
            }
            other => panic!("cancel answered {other}"),
        }
    }
}

#[test]
fn cancel_8_unknown_jobs_are_404_and_the_body_is_ignored() {
    let server = Server::start();
    problem(cancel(&server, "no-such-job"), 404, "job-not-found");
    let id = id_of(&probe(&server, long()));
    let response = client()
        .post(server.url(&format!("/v1/jobs/{id}/cancel")))
        .header("content-type", "text/plain")
        .body("ignored: not even JSON")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200, "section 13: any body is ignored");
    let response = client()
        .post(server.url(&format!("/v1/jobs/{id}/cancel")))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200, "section 13: no body");
    // Deleted: 404.
    client()
        .delete(server.url(&format!("/v1/jobs/{id}")))
        .send()
        .unwrap();
    problem(cancel(&server, &id), 404, "job-not-found");
}
