//! Section 14: delete (DELETE-1 to DELETE-5).

use std::time::{Duration, Instant};

use reqwest::blocking::Response;
use serde_json::{Value, json};

use super::common::*;

fn delete(server: &Server, id: &str) -> Response {
    client()
        .delete(server.url(&format!("/v1/jobs/{id}")))
        .send()
        .unwrap()
}

/// DELETE-3: every request naming the job is 404 `job-not-found`.
fn assert_gone(server: &Server, id: &str) {
    let c = client();
    let url = server.url(&format!("/v1/jobs/{id}"));
    problem(c.get(&url).send().unwrap(), 404, "job-not-found");
    problem(
        c.get(format!("{url}?waitSeconds=1")).send().unwrap(),
        404,
        "job-not-found",
    );
    problem(c.delete(&url).send().unwrap(), 404, "job-not-found");
    problem(
        c.get(format!("{url}/result")).send().unwrap(),
        404,
        "job-not-found",
    );
    let head = c.head(format!("{url}/result")).send().unwrap();
    assert_eq!(head.status(), 404, "RESULT-5: HEAD");
    problem(
        c.get(format!("{url}/log")).send().unwrap(),
        404,
        "job-not-found",
    );
    problem(
        c.get(format!("{url}/events")).send().unwrap(),
        404,
        "job-not-found",
    );
    problem(
        c.post(format!("{url}/cancel")).send().unwrap(),
        404,
        "job-not-found",
    );
    assert!(listed(server, id).is_none(), "DELETE-3: not listed");
}

#[test]
fn delete_1_3_4_a_terminal_job() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start_with(&["--output-root", root.path().to_str().unwrap()]);
    let doc = server.started(
        "probe",
        &json!({"inputs": {"data": {"text": "some input"}}, "params": {"steps": 1, "resultBytes": 100}, "output": {"file": "kept.bin"}}),
    );
    let id = id_of(&doc);
    let done = await_terminal(&server, &id);
    assert_eq!(done["status"], "succeeded");
    let (_, etag, before) = get_job(&server, &id);
    let dir = server.data_dir.join("jobs").join(&id);
    assert!(dir.exists(), "the job's files are under {}", dir.display());
    let response = delete(&server, &id);
    assert_eq!(response.status(), 200, "DELETE-1");
    assert_eq!(
        must_header(&response, "cache-control"),
        "no-store",
        "JOB-DOC-11"
    );
    assert_eq!(header(&response, "etag"), etag, "DELETE-1: as it was");
    let last: Value = response.json().unwrap();
    assert_eq!(last["status"], "succeeded", "DELETE-1");
    assert_eq!(last["result"], before["result"], "DELETE-1");
    assert_gone(&server, &id);
    // DELETE-4: inputs, result and log are gone; the output copy is kept.
    assert!(!dir.exists(), "DELETE-4: {} still exists", dir.display());
    assert_eq!(
        std::fs::read(root.path().join("kept.bin")).unwrap().len(),
        100,
        "DELETE-4: output.file is kept"
    );
    // DELETE-5
    problem(delete(&server, &id), 404, "job-not-found");
    problem(delete(&server, "no-such-job"), 404, "job-not-found");
}

#[test]
fn delete_1_3_4_an_active_job_is_canceled_then_deleted() {
    let server = Server::start_with(&["--workers", "1"]);
    let running = id_of(&probe(&server, json!({"durationMs": 600000, "steps": 1})));
    await_running(&server, &running);
    let queued = id_of(&server.started(
        "probe",
        &json!({"inputs": {"data": {"base64": "AAEC"}}, "params": quick()}),
    ));
    for (id, was) in [(&queued, "queued"), (&running, "running")] {
        let dir = server.data_dir.join("jobs").join(id);
        assert!(dir.exists(), "{was}: the inputs are stored");
        let began = Instant::now();
        let response = delete(&server, id);
        assert!(
            began.elapsed() < Duration::from_secs(5),
            "DELETE-1/CANCEL-3"
        );
        assert_eq!(response.status(), 200, "DELETE-1");
        assert!(header(&response, "retry-after").is_none(), "JOB-DOC-11");
        let doc: Value = response.json().unwrap();
        assert_eq!(doc["status"], "canceled", "DELETE-1: {was}");
        assert!(!doc["finishedAt"].is_null(), "CANCEL-1");
        for member in ["result", "resourceLocation", "error"] {
            assert!(doc.get(member).is_none(), "CANCEL-1");
        }
        assert!(
            doc["links"].get("cancel").is_none() && doc["links"].get("monitor").is_none(),
            "CANCEL-1"
        );
        if was == "queued" {
            assert!(doc["startedAt"].is_null(), "CANCEL-4");
        }
        assert_gone(&server, id);
        eventually("DELETE-4: the job's files to be removed", || {
            (!dir.exists()).then_some(())
        });
    }
    // The worker is free again.
    let next = id_of(&probe(&server, quick()));
    assert_eq!(await_terminal(&server, &next)["status"], "succeeded");
}

#[test]
fn delete_2_3_failed_and_canceled_jobs() {
    let server = Server::start();
    let failed = id_of(&probe(
        &server,
        json!({"steps": 1, "fail": {"code": "x", "message": "y"}}),
    ));
    let done = await_terminal(&server, &failed);
    let response = delete(&server, &failed);
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().unwrap();
    assert_eq!(doc["status"], "failed", "DELETE-1/DELETE-2");
    assert_eq!(doc["error"], done["error"]);
    assert_gone(&server, &failed);
    let canceled = id_of(&probe(&server, long()));
    assert_eq!(
        server
            .post_json(&format!("/v1/jobs/{canceled}/cancel"), &json!({}))
            .send()
            .unwrap()
            .status(),
        200
    );
    let response = delete(&server, &canceled);
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().unwrap();
    assert_eq!(doc["status"], "canceled");
    assert_gone(&server, &canceled);
    // A delete racing the end of a run: either canceled or its real outcome (DELETE-2).
    for duration in [0, 30, 80] {
        let id = id_of(&probe(&server, json!({"durationMs": duration, "steps": 1})));
        let response = delete(&server, &id);
        assert_eq!(response.status(), 200, "DELETE-2");
        let doc: Value = response.json().unwrap();
        assert!(
            matches!(doc["status"].as_str(), Some("canceled" | "succeeded")),
            "DELETE-2: {doc}"
        );
        assert_gone(&server, &id);
    }
}
