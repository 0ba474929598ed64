//! Section 9: the job document (JOB-DOC-1 to JOB-DOC-12) and its states
//! (JOB-STATE-1 to JOB-STATE-8), with the failure problems of section 18.2
//! (ERR-9, ERR-10).

use std::time::{Duration, Instant};

use reqwest::blocking::Response;
use serde_json::{Value, json};

use super::common::*;

const MEMBERS: &[&str] = &[
    "id",
    "operation",
    "operationVersion",
    "status",
    "attempt",
    "createdAt",
    "startedAt",
    "finishedAt",
    "updatedAt",
    "expiresAt",
    "ttlSeconds",
    "timeoutSeconds",
    "progress",
    "correlationId",
    "links",
];

fn stages(server: &Server, op: &str) -> Vec<String> {
    let doc: Value = server
        .get(&format!("/v1/operations/{op}"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    doc["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// Checks every job document must pass, whatever its status.
fn check_doc(server: &Server, doc: &Value, stages: &[String]) {
    for member in MEMBERS {
        assert!(
            doc.get(*member).is_some(),
            "JOB-DOC-2: no `{member}` in {doc}"
        );
    }
    let status = doc["status"].as_str().unwrap();
    assert!(
        ["queued", "running", "succeeded", "failed", "canceled"].contains(&status),
        "JOB-STATE-1: {status}"
    );
    let active = matches!(status, "queued" | "running");
    assert_eq!(doc["attempt"], 1, "JOB-STATE-5");
    for member in ["createdAt", "updatedAt"] {
        assert_timestamp(&doc[member]);
    }
    // JOB-DOC-4, EXPIRY-1
    for member in ["startedAt", "finishedAt", "expiresAt"] {
        if !doc[member].is_null() {
            assert_timestamp(&doc[member]);
        }
    }
    match status {
        "queued" => assert!(doc["startedAt"].is_null(), "JOB-DOC-4: {doc}"),
        "running" | "succeeded" | "failed" => {
            assert!(!doc["startedAt"].is_null(), "JOB-DOC-4: {doc}")
        }
        _ => {}
    }
    assert_eq!(doc["finishedAt"].is_null(), active, "JOB-DOC-4: {doc}");
    assert_eq!(
        doc["expiresAt"].is_null(),
        active,
        "JOB-DOC-4/EXPIRY-1: {doc}"
    );
    let created = time_of(doc, "createdAt");
    if !doc["startedAt"].is_null() {
        assert!(created <= time_of(doc, "startedAt"), "JOB-DOC-4: {doc}");
    }
    if !doc["finishedAt"].is_null() {
        let floor = if doc["startedAt"].is_null() {
            created
        } else {
            time_of(doc, "startedAt")
        };
        assert!(floor <= time_of(doc, "finishedAt"), "JOB-DOC-4: {doc}");
    }
    // JOB-DOC-6
    let progress = &doc["progress"];
    let percent = progress["percent"]
        .as_f64()
        .expect("JOB-DOC-6: percent is a number");
    assert!((0.0..=100.0).contains(&percent), "JOB-DOC-6: {progress}");
    assert_eq!(
        progress["stageCount"],
        stages.len(),
        "JOB-DOC-6: {progress}"
    );
    match progress["stage"].as_str() {
        None => {
            assert!(progress["stage"].is_null(), "JOB-DOC-6: {progress}");
            assert!(progress["stageIndex"].is_null(), "JOB-DOC-6: {progress}");
        }
        Some(stage) => {
            let index = stages
                .iter()
                .position(|s| s == stage)
                .unwrap_or_else(|| panic!("JOB-DOC-6: stage {stage} is not one of {stages:?}"));
            assert_eq!(progress["stageIndex"], index, "JOB-DOC-6: {progress}");
        }
    }
    assert!(
        progress["message"].is_null() || progress["message"].is_string(),
        "JOB-DOC-6"
    );
    // JOB-DOC-7
    if status == "succeeded" {
        assert_eq!(percent, 100.0, "JOB-DOC-7: {doc}");
    }
    if status == "queued" {
        assert_eq!(percent, 0.0, "JOB-DOC-7: {doc}");
    }
    // JOB-DOC-10
    let id = id_of(doc);
    let url = server.url(&format!("/v1/jobs/{id}"));
    let links = doc["links"].as_object().unwrap();
    assert_eq!(links["self"], url.as_str(), "JOB-DOC-10");
    assert_eq!(links["events"], format!("{url}/events"), "JOB-DOC-10");
    assert_eq!(links["log"], format!("{url}/log"), "JOB-DOC-10");
    if active {
        assert_eq!(links["monitor"], url.as_str(), "JOB-DOC-10");
        assert_eq!(links["cancel"], format!("{url}/cancel"), "JOB-DOC-10");
    } else {
        assert!(
            !links.contains_key("monitor") && !links.contains_key("cancel"),
            "JOB-DOC-10: {doc}"
        );
    }
    // JOB-DOC-8
    if status == "succeeded" {
        assert_eq!(links["result"], format!("{url}/result"), "JOB-DOC-10");
        let result = &doc["result"];
        assert_eq!(result["href"], format!("{url}/result"), "JOB-DOC-8");
        assert!(result["mediaType"].is_string(), "JOB-DOC-8");
        assert!(result["size"].is_u64(), "JOB-DOC-8");
        let sha = result["sha256"].as_str().unwrap();
        assert!(
            sha.len() == 64
                && sha
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "JOB-DOC-8"
        );
        assert_eq!(doc["resourceLocation"], result["href"], "JOB-DOC-8");
    } else {
        assert!(!links.contains_key("result"), "JOB-DOC-10: {doc}");
        assert!(doc.get("result").is_none(), "JOB-DOC-8: {doc}");
        assert!(doc.get("resourceLocation").is_none(), "JOB-DOC-8: {doc}");
    }
    // JOB-DOC-9
    if status == "failed" {
        let error = &doc["error"];
        for member in ["type", "title", "status", "detail"] {
            assert!(
                error.get(member).is_some(),
                "JOB-DOC-9: no error.{member}: {doc}"
            );
        }
        let kind = error["type"]
            .as_str()
            .unwrap()
            .strip_prefix("urn:longrun:problem:")
            .unwrap();
        assert!(
            [
                "plugin-error",
                "plugin-trap",
                "memory-limit-exceeded",
                "deadline-exceeded",
                "attempts-exhausted",
                "runner-error"
            ]
            .contains(&kind),
            "JOB-DOC-9: {kind}"
        );
        assert_eq!(error["title"], title_of(kind), "ERR-2");
    } else {
        assert!(doc.get("error").is_none(), "JOB-DOC-9: {doc}");
    }
}

/// JOB-DOC-11: the headers of an answer with one job document; returns the document.
fn checked(response: Response) -> Value {
    must_header(&response, "etag");
    assert_eq!(
        must_header(&response, "cache-control"),
        "no-store",
        "JOB-DOC-11"
    );
    assert_eq!(
        must_header(&response, "content-type"),
        "application/json",
        "GEN-5"
    );
    let retry = header(&response, "retry-after");
    let doc: Value = response.json().unwrap();
    let status = doc["status"].as_str().unwrap();
    let active = matches!(status, "queued" | "running");
    assert_eq!(
        retry.is_some(),
        active,
        "JOB-DOC-11: Retry-After iff active ({status})"
    );
    if let Some(retry) = retry {
        assert!(retry.parse::<u64>().is_ok(), "JOB-DOC-11: delay-seconds");
    }
    doc
}

fn read(server: &Server, id: &str) -> Value {
    let response = server.get(&format!("/v1/jobs/{id}")).send().unwrap();
    assert_eq!(response.status(), 200, "JOB-DOC-1");
    checked(response)
}

#[test]
fn job_doc_1_to_11_the_document_in_every_state() {
    let server = Server::start_with(&["--workers", "1"]);
    let stages = stages(&server, "probe");
    // running
    let running = id_of(&server.started("probe", &json!({"params": long(), "correlationId": "r"})));
    let doc = await_running(&server, &running);
    check_doc(&server, &doc, &stages);
    assert_eq!(doc["operation"], "probe");
    let op: Value = server
        .get("/v1/operations/probe")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(doc["operationVersion"], op["version"], "JOB-DOC-2");
    check_doc(&server, &read(&server, &running), &stages);
    // queued
    let queued = id_of(&probe(&server, quick()));
    let doc = read(&server, &queued);
    assert_eq!(doc["status"], "queued");
    check_doc(&server, &doc, &stages);
    assert_eq!(doc["progress"]["stage"], Value::Null, "JOB-DOC-6");
    assert_eq!(doc["progress"]["message"], Value::Null, "JOB-DOC-6");
    // canceled (from queued and from running)
    let canceled = server
        .post_json(&format!("/v1/jobs/{queued}/cancel"), &json!({}))
        .send()
        .unwrap();
    let doc = checked(canceled);
    check_doc(&server, &doc, &stages);
    assert!(doc["startedAt"].is_null(), "CANCEL-4");
    let canceled = server
        .post_json(&format!("/v1/jobs/{running}/cancel"), &json!({}))
        .send()
        .unwrap();
    let doc = checked(canceled);
    assert_eq!(doc["status"], "canceled");
    check_doc(&server, &doc, &stages);
    check_doc(&server, &read(&server, &running), &stages);
    // succeeded
    let done = id_of(&probe(&server, json!({"steps": 3, "resultBytes": 777})));
    let doc = await_terminal(&server, &done);
    assert_eq!(doc["status"], "succeeded");
    check_doc(&server, &read(&server, &done), &stages);
    assert_eq!(doc["result"]["size"], 777);
    assert_eq!(doc["result"]["mediaType"], "application/octet-stream");
    let bytes = server
        .get(&format!("/v1/jobs/{done}/result"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(doc["result"]["sha256"], sha256_hex(&bytes), "JOB-DOC-8");
    assert_eq!(bytes.len(), 777, "JOB-DOC-8");
    // failed
    let failed = id_of(&probe(
        &server,
        json!({"steps": 1, "fail": {"code": "bad-thing", "message": "it failed"}}),
    ));
    let doc = await_terminal(&server, &failed);
    assert_eq!(doc["status"], "failed");
    check_doc(&server, &read(&server, &failed), &stages);
    // ERR-9, ERR-10
    assert_eq!(
        doc["error"]["type"], "urn:longrun:problem:plugin-error",
        "ERR-9"
    );
    assert_eq!(doc["error"]["status"], 422, "ERR-9");
    assert_eq!(doc["error"]["code"], "bad-thing", "ERR-10");
    assert_eq!(doc["error"]["detail"], "it failed", "ERR-10");
    // The list shows the same documents.
    for doc in list(&server, "")["jobs"].as_array().unwrap() {
        check_doc(&server, doc, &stages);
    }
}

#[test]
fn job_doc_9_error_instance_is_the_job_path() {
    let server = Server::start();
    let failed = id_of(&probe(
        &server,
        json!({"steps": 1, "fail": {"code": "x", "message": "y"}}),
    ));
    let doc = await_terminal(&server, &failed);
    assert_eq!(
        doc["error"]["instance"],
        format!("/v1/jobs/{failed}"),
        "JOB-DOC-9: {doc}"
    );
    let response = server
        .post_json(
            "/v1/operations/probe/jobs",
            &json!({"params": {"steps": 1, "fail": {"code": "x", "message": "y"}}}),
        )
        .header("Prefer", "wait=20")
        .send()
        .unwrap();
    let location = must_header(&response, "location");
    let id = location.rsplit('/').next().unwrap().to_owned();
    let p = problem(response, 422, "plugin-error");
    assert_eq!(p["instance"], format!("/v1/jobs/{id}"), "SYNC-4/ERR-1: {p}");
}

#[test]
fn job_doc_1_unknown_jobs_are_404() {
    let server = Server::start();
    for id in [
        "no-such-job",
        "0193a6f2-7c1e-7b4a-9d0e-3f5b2c8a1d44",
        "x".repeat(300).as_str(),
        "a%20b",
    ] {
        problem(
            server.get(&format!("/v1/jobs/{id}")).send().unwrap(),
            404,
            "job-not-found",
        );
    }
}

#[test]
fn job_doc_5_7_12_events_4_progress_etag_and_updated_at() {
    let server = Server::start();
    let stages = stages(&server, "probe");
    let id = id_of(&probe(&server, json!({"durationMs": 1000, "steps": 10})));
    let mut seen: Vec<(String, Value)> = Vec::new();
    let (status, etag, doc) = get_job(&server, &id);
    assert_eq!(status, 200);
    seen.push((etag.unwrap(), doc));
    let deadline = Instant::now() + DEADLINE;
    loop {
        let (etag, doc) = seen.last().unwrap().clone();
        if doc["status"] == "succeeded" {
            break;
        }
        assert!(Instant::now() < deadline);
        let response = server
            .get(&format!("/v1/jobs/{id}?waitSeconds=5"))
            .header("If-None-Match", etag.as_str())
            .send()
            .unwrap();
        if response.status() == 304 {
            continue;
        }
        let new_etag = must_header(&response, "etag");
        let new_doc: Value = response.json().unwrap();
        // JOB-DOC-12: the ETag changes with the document (expiresAt aside)...
        let mut a = doc.clone();
        let mut b = new_doc.clone();
        a["expiresAt"] = Value::Null;
        b["expiresAt"] = Value::Null;
        if a == b {
            assert_eq!(new_etag, etag, "JOB-DOC-12: same document, same ETag");
        } else {
            assert_ne!(new_etag, etag, "JOB-DOC-12: changed document, new ETag");
            // JOB-DOC-5: updatedAt never goes back, and moves with changes.
            assert!(
                time_of(&new_doc, "updatedAt") >= time_of(&doc, "updatedAt"),
                "JOB-DOC-5"
            );
        }
        seen.push((new_etag, new_doc));
    }
    let mut last_percent = 0.0;
    for (_, doc) in &seen {
        check_doc(&server, doc, &stages);
        let percent = doc["progress"]["percent"].as_f64().unwrap();
        assert!(
            percent >= last_percent,
            "JOB-DOC-7: percent went down: {last_percent} -> {percent}"
        );
        last_percent = percent;
    }
    assert!(
        seen.len() >= 3,
        "some progress was observed: {}",
        seen.len()
    );
    let done = &seen.last().unwrap().1;
    assert_eq!(done["progress"]["percent"], 100.0, "JOB-DOC-7");
    // JOB-DOC-5: a terminal job was last changed when it finished.
    assert_eq!(done["updatedAt"], done["finishedAt"], "JOB-DOC-5");
    // JOB-STATE-3, JOB-DOC-12: it does not change any more, and nor does its
    // ETag, although reading it moves expiresAt (EXPIRY-3).
    let finished = time_of(done, "finishedAt");
    until(finished + Duration::from_millis(1200));
    let (_, etag, again) = get_job(&server, &id);
    assert_eq!(
        etag.as_deref(),
        Some(seen.last().unwrap().0.as_str()),
        "JOB-DOC-12"
    );
    for member in [
        "status",
        "result",
        "resourceLocation",
        "finishedAt",
        "progress",
        "updatedAt",
        "startedAt",
        "links",
    ] {
        assert_eq!(
            again[member], done[member],
            "JOB-STATE-3/JOB-DOC-5: {member}"
        );
    }
    assert!(
        time_of(&again, "expiresAt") > time_of(done, "expiresAt"),
        "EXPIRY-3"
    );
}

#[test]
fn job_state_2_6_7_one_worker_runs_jobs_one_at_a_time_in_order() {
    let server = Server::start_with(&["--workers", "1"]);
    let first = id_of(&probe(&server, long()));
    await_running(&server, &first);
    let second = id_of(&probe(&server, json!({"durationMs": 300, "steps": 3})));
    let third = id_of(&probe(&server, json!({"durationMs": 300, "steps": 3})));
    // JOB-STATE-6: only one runs.
    for _ in 0..5 {
        let running = list(&server, "?status=running")["jobs"]
            .as_array()
            .unwrap()
            .len();
        assert!(
            running <= 1,
            "JOB-STATE-6: {running} running with one worker"
        );
    }
    assert_eq!(get_job(&server, &second).2["status"], "queued");
    server
        .post_json(&format!("/v1/jobs/{first}/cancel"), &json!({}))
        .send()
        .unwrap();
    let mut observed = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    loop {
        let running = list(&server, "?status=running")["jobs"]
            .as_array()
            .unwrap()
            .clone();
        assert!(running.len() <= 1, "JOB-STATE-6");
        let a = get_job(&server, &second).2;
        let b = get_job(&server, &third).2;
        observed.push((a["status"].clone(), b["status"].clone()));
        if b["status"] == "succeeded" {
            break;
        }
        assert!(Instant::now() < deadline, "{observed:?}");
        std::thread::sleep(Duration::from_millis(30));
    }
    let a = get_job(&server, &second).2;
    let b = get_job(&server, &third).2;
    assert_eq!(a["status"], "succeeded");
    // JOB-STATE-7: queued jobs start in creation order.
    assert!(
        time_of(&a, "startedAt") <= time_of(&b, "startedAt"),
        "JOB-STATE-7"
    );
    assert!(
        time_of(&a, "finishedAt") <= time_of(&b, "startedAt"),
        "JOB-STATE-6: one at a time"
    );
    // JOB-STATE-2: the third job was never running while the second was queued.
    for (a, b) in observed {
        assert!(
            !(a == "queued" && b == "running"),
            "JOB-STATE-7: the later job overtook the earlier one"
        );
    }
}

#[test]
fn job_state_8_err_9_a_run_past_its_timeout_fails_with_deadline_exceeded() {
    let server = Server::start();
    let began = Instant::now();
    let doc = server.started(
        "probe",
        &json!({"params": {"durationMs": 30000, "steps": 3}, "timeoutSeconds": 1}),
    );
    let done = await_terminal(&server, &id_of(&doc));
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "JOB-STATE-8: stopped at the deadline"
    );
    assert_eq!(done["status"], "failed", "JOB-STATE-8");
    assert_eq!(
        done["error"]["type"], "urn:longrun:problem:deadline-exceeded",
        "ERR-9"
    );
    assert_eq!(done["error"]["status"], 504, "section 18.2");
    assert_eq!(
        done["error"]["title"],
        title_of("deadline-exceeded"),
        "ERR-2"
    );
    let stages = stages(&server, "probe");
    check_doc(&server, &done, &stages);
}
