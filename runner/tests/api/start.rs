//! Section 6.1 and 6.3: starting a job (JOB-CREATE-1 to JOB-CREATE-18).

use std::io::Cursor;

use serde_json::{Value, json};

use super::common::*;

/// A server with one worker, kept busy by a long job, so that new jobs stay queued.
fn busy_server(args: &[&str]) -> (Server, String) {
    let mut all = vec!["--workers", "1"];
    all.extend_from_slice(args);
    let server = Server::start_with(&all);
    let blocker = id_of(&probe(&server, long()));
    await_running(&server, &blocker);
    (server, blocker)
}

#[test]
fn job_create_1_to_4_the_202_answer() {
    let (server, _blocker) = busy_server(&[]);
    let response = server.start_job("probe", &json!({"params": quick()}));
    assert_eq!(response.status(), 202, "JOB-CREATE-1");
    assert_eq!(
        must_header(&response, "content-type"),
        "application/json",
        "GEN-5"
    );
    let location = must_header(&response, "location");
    let operation_location = must_header(&response, "operation-location");
    let etag = must_header(&response, "etag");
    assert_eq!(
        retry_after(&response),
        1,
        "JOB-CREATE-4: this server sends 1"
    );
    assert_eq!(
        must_header(&response, "cache-control"),
        "no-store",
        "JOB-CREATE-4"
    );
    assert!(header(&response, "idempotent-replayed").is_none(), "IDEM-4");
    let rels = links(&response);
    let doc: Value = response.json().unwrap();
    let id = id_of(&doc);
    // JOB-CREATE-1
    assert_eq!(doc["status"], "queued", "JOB-CREATE-1");
    assert_eq!(doc["attempt"], 1, "JOB-CREATE-1");
    // JOB-CREATE-2, GEN-3: absolute job URL
    let job_url = server.url(&format!("/v1/jobs/{id}"));
    assert_eq!(location, job_url, "JOB-CREATE-2");
    assert_eq!(operation_location, job_url, "JOB-CREATE-2");
    assert_eq!(doc["links"]["self"], job_url, "JOB-DOC-10");
    // JOB-CREATE-3
    for (rel, url) in [
        ("monitor", job_url.clone()),
        ("cancel", format!("{job_url}/cancel")),
        ("result", format!("{job_url}/result")),
    ] {
        assert!(
            rels.contains(&(url.clone(), rel.to_owned())),
            "JOB-CREATE-3: no <{url}>; rel={rel} in {rels:?}"
        );
    }
    // JOB-CREATE-4: the same ETag as GET gives for the same document.
    let (status, get_etag, get_doc) = get_job(&server, &id);
    assert_eq!(status, 200);
    assert_eq!(get_doc, doc, "the job is still queued and unchanged");
    assert_eq!(get_etag.as_deref(), Some(etag.as_str()), "JOB-CREATE-4");
    // JOB-DOC-3
    assert!(
        (1..=128).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)),
        "JOB-DOC-3: {id}"
    );
}

#[test]
fn job_create_5_6_failed_starts_create_no_job() {
    let server = Server::start();
    let bad_requests = [
        json!({"params": {"steps": 0}}),
        json!({"params": quick(), "ttlSeconds": 0}),
        json!({"params": quick(), "unknown": 1}),
        json!({"inputs": {"nope": {"text": "x"}}}),
        json!({"callback": {"url": "https://example.com"}}),
        json!({"inputs": {"data": {"base64": "###"}}}),
    ];
    for body in &bad_requests {
        let status = server.start_job("probe", body).status();
        assert!(status.is_client_error(), "{body} answered {status}");
    }
    let page = list(&server, "");
    assert_eq!(
        page["jobs"],
        json!([]),
        "JOB-CREATE-6: no job became visible"
    );
    // An acknowledged job is visible at once (JOB-CREATE-5; durability across
    // restarts is covered by tests/restart.rs).
    let id = id_of(&probe(&server, quick()));
    assert_eq!(get_job(&server, &id).0, 200, "JOB-CREATE-5");
    assert_eq!(list(&server, "")["jobs"][0]["id"], id.as_str());
}

#[test]
fn job_create_7_checks_run_in_order() {
    let server = Server::start_with(&["--max-body-bytes", "2048"]);
    let post = |path: &str,
                content_type: Option<&str>,
                prefer: Option<&str>,
                key: Option<&str>,
                body: String| {
        let mut request = client().post(server.url(path)).body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        if let Some(p) = prefer {
            request = request.header("prefer", p);
        }
        if let Some(k) = key {
            request = request.header("idempotency-key", k);
        }
        request.send().unwrap()
    };
    let jobs = "/v1/operations/probe/jobs";
    let huge = format!("{{\"params\": {{}}, \"x\": \"{}\"}}", "y".repeat(4096));
    // (1) operation before everything
    problem(
        post(
            "/v1/operations/nope/jobs",
            Some("text/plain"),
            Some("wait=x"),
            Some(""),
            huge.clone(),
        ),
        404,
        "operation-not-found",
    );
    // (2) Prefer and Idempotency-Key before the media type
    problem(
        post(jobs, Some("text/plain"), Some("wait=x"), None, huge.clone()),
        400,
        "malformed-request",
    );
    problem(
        post(
            jobs,
            Some("text/plain"),
            None,
            Some("bad key"),
            huge.clone(),
        ),
        400,
        "malformed-request",
    );
    // (3) media type before size
    problem(
        post(jobs, Some("text/plain"), None, None, huge.clone()),
        415,
        "unsupported-media-type",
    );
    // (4) size before syntax
    let huge_broken = format!("{{{}", "y".repeat(4096));
    problem(
        post(jobs, Some("application/json"), None, None, huge_broken),
        413,
        "payload-too-large",
    );
    // (5) syntax before callback
    problem(
        post(
            jobs,
            Some("application/json"),
            None,
            None,
            r#"{"callback": {}, "bogus": 1}"#.into(),
        ),
        400,
        "malformed-request",
    );
    // (6) callback before inputs
    problem(
        post(
            jobs,
            Some("application/json"),
            None,
            None,
            r#"{"callback": {"url": "http://127.0.0.1/hook", "method": "PUT"}, "inputs": {"nope": {"text": "x"}}}"#.into(),
        ),
        422,
        "invalid-request",
    );
    // (7) inputs before params
    problem(
        post(
            jobs,
            Some("application/json"),
            None,
            None,
            r#"{"inputs": {"nope": {"text": "x"}}, "params": {"steps": "x"}}"#.into(),
        ),
        422,
        "invalid-inputs",
    );
    // (8) params before other bounds
    problem(
        post(
            jobs,
            Some("application/json"),
            None,
            None,
            r#"{"params": {"steps": "x"}, "ttlSeconds": 0}"#.into(),
        ),
        422,
        "invalid-params",
    );
    // (9) bounds before the idempotency key
    let first = post(
        jobs,
        Some("application/json"),
        None,
        Some("order-key"),
        r#"{"params": {"steps": 1}}"#.into(),
    );
    assert_eq!(first.status(), 202);
    problem(
        post(
            jobs,
            Some("application/json"),
            None,
            Some("order-key"),
            r#"{"params": {"steps": 2}, "ttlSeconds": 0}"#.into(),
        ),
        422,
        "invalid-request",
    );
    // (10) the key
    problem(
        post(
            jobs,
            Some("application/json"),
            None,
            Some("order-key"),
            r#"{"params": {"steps": 2}}"#.into(),
        ),
        422,
        "idempotency-key-reused",
    );
    // The server still serves (ERR-7).
    assert_eq!(server.get("/v1").send().unwrap().status(), 200);
}

#[test]
fn job_create_8_media_type_of_the_body() {
    let server = Server::start();
    let url = server.url("/v1/operations/probe/jobs");
    let body = json!({"params": quick()}).to_string();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonx"),
        Some("application/problem+json"),
        None,
    ] {
        let mut request = client().post(&url).body(body.clone());
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        problem(request.send().unwrap(), 415, "unsupported-media-type");
    }
    for content_type in [
        "application/json",
        "Application/JSON; charset=utf-8",
        "APPLICATION/json ;charset=UTF-8",
    ] {
        let response = client()
            .post(&url)
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .unwrap();
        assert_eq!(
            response.status(),
            202,
            "JOB-CREATE-8: {content_type} is JSON"
        );
    }
}

#[test]
fn job_create_9_body_over_max_body_bytes() {
    let server = Server::start_with(&["--max-body-bytes", "1024"]);
    let big = json!({"params": {"echo": "x".repeat(2000)}});
    problem(server.start_job("probe", &big), 413, "payload-too-large");
    // Without Content-Length (chunked).
    let response = client()
        .post(server.url("/v1/operations/probe/jobs"))
        .header("content-type", "application/json")
        .body(reqwest::blocking::Body::new(Cursor::new(
            big.to_string().into_bytes(),
        )))
        .send()
        .unwrap();
    problem(response, 413, "payload-too-large");
    // A multipart body too.
    let payload = vec![b'z'; 4096];
    let response = post_multipart(
        &server,
        "probe",
        &[file_part("data", "d.bin", None, &payload)],
    )
    .send()
    .unwrap();
    problem(response, 413, "payload-too-large");
    assert_eq!(list(&server, "")["jobs"], json!([]), "JOB-CREATE-6");
    // ERR-7: still serving.
    probe(&server, quick());
}

#[test]
fn job_create_10_malformed_json_bodies() {
    let server = Server::start();
    let url = server.url("/v1/operations/probe/jobs");
    for body in [
        "",
        "{",
        "not json",
        "[]",
        "42",
        "null",
        r#"{"params": {}} trailing"#,
        r#"{"unknown": 1}"#,
        r#"{"Params": {}}"#,
        r#"{"inputs": []}"#,
        r#"{"inputs": "data"}"#,
        r#"{"ttlSeconds": "60"}"#,
        r#"{"ttlSeconds": 1.5}"#,
        r#"{"timeoutSeconds": true}"#,
        r#"{"correlationId": 7}"#,
        r#"{"output": "out.json"}"#,
        r#"{"output": {"file": 1}}"#,
        r#"{"output": {"file": "a", "mode": "x"}}"#,
    ] {
        let response = client()
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap();
        assert_eq!(response.status(), 400, "JOB-CREATE-10: `{body}`");
        problem(response, 400, "malformed-request");
    }
    // params of the wrong type is not a 400 but invalid-params (JOB-CREATE-12).
    let p = problem(
        server.start_job("probe", &json!({"params": [1]})),
        422,
        "invalid-params",
    );
    assert_eq!(
        p["errors"][0]["pointer"], "",
        "JOB-CREATE-12: pointer to params itself: {p}"
    );
    assert!(p["errors"][0]["message"].is_string(), "ERR-6");
    assert_eq!(list(&server, "")["jobs"], json!([]), "JOB-CREATE-6");
}

#[test]
fn job_create_11_callback_2_3_url_guard_6_callback_is_validated() {
    // This server claims `callbacks`, so the member is validated (CALLBACK-2/3).
    let server = Server::start();
    for callback in [json!(null), json!("x"), json!({}), json!({"url": 7})] {
        problem(
            server.start_job("probe", &json!({"params": quick(), "callback": callback})),
            400,
            "malformed-request",
        );
    }
    problem(
        server.start_job(
            "probe",
            &json!({"params": quick(), "callback": {"url": "http://127.0.0.1/hook", "method": "PATCH"}}),
        ),
        422,
        "invalid-request",
    );
    // Without --allow-private-networks a loopback receiver is refused (URL-GUARD-6).
    problem(
        server.start_job(
            "probe",
            &json!({"params": quick(), "callback": {"url": "http://127.0.0.1/hook"}}),
        ),
        422,
        "url-not-allowed",
    );
}

#[test]
fn job_create_12_invalid_params_list_pointers() {
    let server = Server::start();
    for (params, pointer) in [
        (json!({"steps": "x"}), "/steps"),
        (json!({"steps": 0}), "/steps"),
        (json!({"durationMs": -1}), "/durationMs"),
        (json!({"fail": {"code": "x"}}), "/fail"),
    ] {
        let p = problem(
            server.start_job("probe", &json!({"params": params})),
            422,
            "invalid-params",
        );
        let errors = p["errors"].as_array().expect("JOB-CREATE-12: errors");
        assert!(
            errors
                .iter()
                .any(|e| e["pointer"] == pointer && e["message"].is_string()),
            "JOB-CREATE-12: no error at {pointer}: {p}"
        );
    }
    for params in [json!("x"), json!(1), json!(null), json!(true)] {
        let p = problem(
            server.start_job("probe", &json!({"params": params})),
            422,
            "invalid-params",
        );
        assert_eq!(p["errors"][0]["pointer"], "", "JOB-CREATE-12: {p}");
    }
    // An absent params is {} (valid for the probe).
    let doc = server.started("probe", &json!({}));
    assert_eq!(doc["status"], "queued");
}

#[test]
fn job_create_13_14_ttl_and_timeout_bounds_and_defaults() {
    let server = Server::start();
    let limits: Value = server.get("/v1").send().unwrap().json().unwrap();
    let limits = &limits["limits"];
    let doc = probe(&server, quick());
    assert_eq!(
        doc["ttlSeconds"], limits["defaultTtlSeconds"],
        "JOB-CREATE-13"
    );
    assert_eq!(
        doc["timeoutSeconds"], limits["defaultTimeoutSeconds"],
        "JOB-CREATE-14"
    );
    let max_ttl = limits["maxTtlSeconds"].as_i64().unwrap();
    let min_ttl = limits["minTtlSeconds"].as_i64().unwrap();
    let max_timeout = limits["maxTimeoutSeconds"].as_i64().unwrap();
    for ttl in [min_ttl - 1, max_ttl + 1, -1, i64::MAX] {
        problem(
            server.start_job("probe", &json!({"params": quick(), "ttlSeconds": ttl})),
            422,
            "invalid-request",
        );
    }
    for timeout in [0, max_timeout + 1, -1] {
        problem(
            server.start_job(
                "probe",
                &json!({"params": quick(), "timeoutSeconds": timeout}),
            ),
            422,
            "invalid-request",
        );
    }
    // Integers beyond 64 bits are out of bounds too, not malformed.
    for member in ["ttlSeconds", "timeoutSeconds"] {
        for huge in ["99999999999999999999", "-99999999999999999999"] {
            let body = format!(r#"{{"params": {{}}, "{member}": {huge}}}"#);
            problem(
                client()
                    .post(server.url("/v1/operations/probe/jobs"))
                    .header("Content-Type", "application/json")
                    .body(body)
                    .send()
                    .unwrap(),
                422,
                "invalid-request",
            );
        }
    }
    let doc = server.started(
        "probe",
        &json!({"params": quick(), "ttlSeconds": max_ttl, "timeoutSeconds": max_timeout}),
    );
    assert_eq!(doc["ttlSeconds"], max_ttl);
    assert_eq!(doc["timeoutSeconds"], max_timeout);
    let doc = server.started(
        "probe",
        &json!({"params": quick(), "ttlSeconds": min_ttl, "timeoutSeconds": 1}),
    );
    assert_eq!(doc["ttlSeconds"], min_ttl);
    assert_eq!(doc["timeoutSeconds"], 1);
}

#[test]
fn job_create_15_correlation_id() {
    let server = Server::start();
    let doc = probe(&server, quick());
    assert_eq!(
        doc["correlationId"],
        Value::Null,
        "JOB-DOC-2: null when absent"
    );
    for id in [
        "order-4711".to_owned(),
        "é ü 漢字 with spaces".to_owned(),
        "x".repeat(256),
        "ä".repeat(256),
    ] {
        let doc = server.started("probe", &json!({"params": quick(), "correlationId": id}));
        assert_eq!(
            doc["correlationId"],
            id.as_str(),
            "JOB-CREATE-15: unchanged"
        );
        let (_, _, got) = get_job(&server, &id_of(&doc));
        assert_eq!(got["correlationId"], id.as_str(), "JOB-CREATE-15");
    }
    for id in [String::new(), "x".repeat(257), "ä".repeat(257)] {
        problem(
            server.start_job("probe", &json!({"params": quick(), "correlationId": id})),
            422,
            "invalid-request",
        );
    }
}

#[test]
fn job_create_16_output_file_is_refused_without_a_root() {
    let server = Server::start();
    problem(
        server.start_job(
            "probe",
            &json!({"params": quick(), "output": {"file": "out.json"}}),
        ),
        422,
        "invalid-request",
    );
}

#[test]
fn job_create_16_output_file_must_stay_in_the_root() {
    let root = tempfile::tempdir().unwrap();
    let out_root = root.path().join("out");
    std::fs::create_dir(&out_root).unwrap();
    let server = Server::start_with(&["--output-root", out_root.to_str().unwrap()]);
    for file in ["/tmp/x.json", "../x.json", "a/../../x.json", "", "a/.."] {
        problem(
            server.start_job(
                "probe",
                &json!({"params": quick(), "output": {"file": file}}),
            ),
            422,
            "invalid-request",
        );
    }
}

#[test]
fn job_create_16_output_file_through_a_symlink_is_422() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), root.path().join("escape")).unwrap();
    let server = Server::start_with(&["--output-root", root.path().to_str().unwrap()]);
    let response = server.start_job(
        "probe",
        &json!({"params": quick(), "output": {"file": "escape/x.json"}}),
    );
    if response.status() == 202 {
        let doc: Value = response.json().unwrap();
        await_terminal(&server, &id_of(&doc));
        panic!(
            "JOB-CREATE-16: accepted; the file was {}written outside the output root",
            if outside.path().join("x.json").exists() {
                ""
            } else {
                "not "
            }
        );
    }
    problem(response, 422, "invalid-request");
}

#[test]
fn job_create_17_output_file_is_written_before_success() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start_with(&["--output-root", root.path().to_str().unwrap()]);
    // Missing directories are created.
    let doc = server.started(
        "probe",
        &json!({"params": {"steps": 1, "resultBytes": 3000}, "output": {"file": "a/b/c/result.bin"}}),
    );
    let id = id_of(&doc);
    let done = await_terminal(&server, &id);
    assert_eq!(done["status"], "succeeded", "{done}");
    let written = std::fs::read(root.path().join("a/b/c/result.bin"))
        .expect("JOB-CREATE-17: the file exists");
    let served = server
        .get(&format!("/v1/jobs/{id}/result"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(written, served.to_vec(), "JOB-CREATE-17: the result bytes");
    assert_eq!(
        sha256_hex(&written),
        done["result"]["sha256"],
        "JOB-CREATE-17"
    );
    // An existing file is replaced.
    std::fs::write(root.path().join("old.json"), vec![b'x'; 10_000]).unwrap();
    let doc = server.started(
        "probe",
        &json!({"params": {"steps": 1, "echo": {"k": 1}}, "output": {"file": "./old.json"}}),
    );
    let id = id_of(&doc);
    assert_eq!(await_terminal(&server, &id)["status"], "succeeded");
    let written = std::fs::read(root.path().join("old.json")).unwrap();
    let served = server
        .get(&format!("/v1/jobs/{id}/result"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(written, served.to_vec(), "JOB-CREATE-17: replaced");
    // A failed job writes nothing.
    let doc = server.started(
        "probe",
        &json!({"params": {"steps": 1, "fail": {"code": "x", "message": "y"}}, "output": {"file": "failed.json"}}),
    );
    assert_eq!(await_terminal(&server, &id_of(&doc))["status"], "failed");
    assert!(!root.path().join("failed.json").exists());
}

#[test]
fn job_create_17_unwritable_output_file_fails_the_job() {
    let root = tempfile::tempdir().unwrap();
    // A directory where the file should go: the write must fail.
    std::fs::create_dir_all(root.path().join("taken/dir")).unwrap();
    let server = Server::start_with(&["--output-root", root.path().to_str().unwrap()]);
    let doc = server.started(
        "probe",
        &json!({"params": quick(), "output": {"file": "taken/dir"}}),
    );
    let id = id_of(&doc);
    let done = await_terminal(&server, &id);
    assert_eq!(done["status"], "failed", "JOB-CREATE-17: {done}");
    assert_eq!(
        done["error"]["type"], "urn:longrun:problem:runner-error",
        "ERR-9: {done}"
    );
    assert!(done.get("result").is_none(), "JOB-DOC-8");
    problem(
        server.get(&format!("/v1/jobs/{id}/result")).send().unwrap(),
        409,
        "result-not-available",
    );
}

#[test]
fn job_create_18_queue_full_is_503_with_retry_after() {
    let (server, _blocker) = busy_server(&["--queue-size", "1"]);
    let limits: Value = server.get("/v1").send().unwrap().json().unwrap();
    assert_eq!(limits["limits"]["queueSize"], 1, "SVC-6");
    let queued = server
        .post_json("/v1/operations/probe/jobs", &json!({"params": quick()}))
        .header("Idempotency-Key", "queued-one")
        .send()
        .unwrap();
    assert_eq!(queued.status(), 202);
    let queued: Value = queued.json().unwrap();
    assert_eq!(queued["status"], "queued");
    let response = server.start_job("probe", &json!({"params": quick()}));
    retry_after(&response); // ERR-5
    problem(response, 503, "queue-full");
    // Also in synchronous mode, and for a new key.
    let response = server
        .post_json("/v1/operations/probe/jobs", &json!({"params": quick()}))
        .header("Prefer", "wait=1")
        .header("Idempotency-Key", "another")
        .send()
        .unwrap();
    retry_after(&response);
    problem(response, 503, "queue-full");
    // IDEM-9: a replay is never refused for a full queue.
    let replay = server
        .post_json("/v1/operations/probe/jobs", &json!({"params": quick()}))
        .header("Idempotency-Key", "queued-one")
        .send()
        .unwrap();
    assert_eq!(replay.status(), 202, "IDEM-9");
    assert_eq!(
        must_header(&replay, "idempotent-replayed"),
        "true",
        "IDEM-3"
    );
    // IDEM-7: the refused key was not bound.
    // Canceling the queued job frees the place.
    let canceled = server
        .post_json(&format!("/v1/jobs/{}/cancel", id_of(&queued)), &json!({}))
        .send()
        .unwrap();
    assert_eq!(canceled.status(), 200);
    let again = server
        .post_json("/v1/operations/probe/jobs", &json!({"params": quick()}))
        .header("Idempotency-Key", "another")
        .send()
        .unwrap();
    assert_eq!(again.status(), 202, "JOB-CREATE-18: room again");
    assert!(
        header(&again, "idempotent-replayed").is_none(),
        "IDEM-7: the 503 did not bind the key"
    );
    // Only the expected jobs exist (JOB-CREATE-6): blocker, queued-one, another.
    assert_eq!(list(&server, "")["jobs"].as_array().unwrap().len(), 3);
}
