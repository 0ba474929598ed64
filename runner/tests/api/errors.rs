//! Section 18: errors (ERR-1 to ERR-7).

use std::collections::BTreeSet;

use reqwest::Method;
use reqwest::blocking::Response;
use serde_json::json;

use super::common::*;

#[test]
fn err_3_undefined_paths_are_404_not_found() {
    let server = Server::start();
    for path in [
        "/",
        "/v2",
        "/v1/",
        "/v1/nope",
        "/v1/operations/probe/jobs/x",
        "/v1/jobs/x/y",
        "/v1/jobs/x/result/extra",
        "/v1/jobs/x/cancel/now",
        "/favicon.ico",
        "/V1",
    ] {
        let response = server.get(path).send().unwrap();
        assert_eq!(response.status(), 404, "ERR-3: {path}");
        problem(response, 404, "not-found");
    }
    let response = client()
        .post(server.url("/v1/nothing/here"))
        .body("x")
        .send()
        .unwrap();
    problem(response, 404, "not-found");
}

fn allow(response: &Response) -> BTreeSet<String> {
    must_header(response, "allow")
        .split(',')
        .map(|m| m.trim().to_ascii_uppercase())
        .filter(|m| !m.is_empty())
        .collect()
}

#[test]
fn err_4_unsupported_methods_are_405_with_allow() {
    let server = Server::start();
    let cases: &[(&str, &str, &[&str])] = &[
        ("PUT", "/v1", &["GET"]),
        ("POST", "/v1", &["GET"]),
        ("DELETE", "/v1/operations", &["GET"]),
        ("POST", "/v1/operations/probe", &["GET"]),
        ("GET", "/v1/operations/probe/jobs", &["POST"]),
        ("DELETE", "/v1/operations/probe/jobs", &["POST"]),
        ("POST", "/v1/jobs", &["GET"]),
        ("DELETE", "/v1/jobs", &["GET"]),
        ("PUT", "/v1/jobs/some-id", &["GET", "DELETE"]),
        ("PATCH", "/v1/jobs/some-id", &["GET", "DELETE"]),
        ("POST", "/v1/jobs/some-id", &["GET", "DELETE"]),
        ("POST", "/v1/jobs/some-id/events", &["GET"]),
        ("GET", "/v1/jobs/some-id/cancel", &["POST"]),
        ("DELETE", "/v1/jobs/some-id/cancel", &["POST"]),
        ("POST", "/v1/jobs/some-id/result", &["GET", "HEAD"]),
        ("DELETE", "/v1/jobs/some-id/result", &["GET", "HEAD"]),
        ("PUT", "/v1/jobs/some-id/log", &["GET"]),
    ];
    for (method, path, allowed) in cases {
        let response = client()
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                server.url(path),
            )
            .send()
            .unwrap();
        assert_eq!(response.status(), 405, "ERR-4: {method} {path}");
        let allow = allow(&response);
        for m in *allowed {
            assert!(
                allow.contains(*m),
                "ERR-4: Allow of {path} lacks {m}: {allow:?}"
            );
        }
        assert!(
            !allow.contains(*method),
            "ERR-4: Allow of {path} lists {method}"
        );
        problem(response, 405, "method-not-allowed");
    }
}

/// Requests that fail, with their path, status and problem type.
fn failing_requests(server: &Server) -> Vec<(String, Response, u16, &'static str)> {
    let c = client();
    let id = id_of(&probe(server, quick()));
    await_terminal(server, &id);
    let active = id_of(&probe(server, long()));
    let jobs = "/v1/operations/probe/jobs".to_owned();
    let send_json = |body: &str| {
        c.post(server.url(&jobs))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .unwrap()
    };
    vec![
        (
            "/nope".into(),
            c.get(server.url("/nope")).send().unwrap(),
            404,
            "not-found",
        ),
        (
            "/v1/jobs".into(),
            c.put(server.url("/v1/jobs")).send().unwrap(),
            405,
            "method-not-allowed",
        ),
        (
            "/v1/operations/nope".into(),
            c.get(server.url("/v1/operations/nope")).send().unwrap(),
            404,
            "operation-not-found",
        ),
        (
            "/v1/operations/nope/jobs".into(),
            c.post(server.url("/v1/operations/nope/jobs"))
                .json(&json!({}))
                .send()
                .unwrap(),
            404,
            "operation-not-found",
        ),
        (
            "/v1/jobs/nope".into(),
            c.get(server.url("/v1/jobs/nope")).send().unwrap(),
            404,
            "job-not-found",
        ),
        (
            "/v1/jobs/nope/log".into(),
            c.get(server.url("/v1/jobs/nope/log")).send().unwrap(),
            404,
            "job-not-found",
        ),
        (
            "/v1/jobs/nope/events".into(),
            c.get(server.url("/v1/jobs/nope/events")).send().unwrap(),
            404,
            "job-not-found",
        ),
        (
            "/v1/jobs/nope".into(),
            c.delete(server.url("/v1/jobs/nope")).send().unwrap(),
            404,
            "job-not-found",
        ),
        (
            format!("/v1/jobs/{id}/cancel"),
            c.post(server.url(&format!("/v1/jobs/{id}/cancel")))
                .send()
                .unwrap(),
            409,
            "job-finished",
        ),
        (
            format!("/v1/jobs/{active}/result"),
            c.get(server.url(&format!("/v1/jobs/{active}/result")))
                .send()
                .unwrap(),
            409,
            "result-not-available",
        ),
        (
            format!("/v1/jobs/{id}/result"),
            c.get(server.url(&format!("/v1/jobs/{id}/result")))
                .header("Range", "bytes=900-")
                .send()
                .unwrap(),
            416,
            "range-not-satisfiable",
        ),
        (
            format!("/v1/jobs/{id}"),
            c.get(server.url(&format!("/v1/jobs/{id}?waitSeconds=x")))
                .send()
                .unwrap(),
            400,
            "malformed-request",
        ),
        (
            "/v1/jobs".into(),
            c.get(server.url("/v1/jobs?limit=0")).send().unwrap(),
            400,
            "malformed-request",
        ),
        (jobs.clone(), send_json("{"), 400, "malformed-request"),
        (
            jobs.clone(),
            c.post(server.url(&jobs))
                .header("Prefer", "wait=x")
                .json(&json!({}))
                .send()
                .unwrap(),
            400,
            "malformed-request",
        ),
        (
            jobs.clone(),
            c.post(server.url(&jobs))
                .header("content-type", "text/plain")
                .body("x")
                .send()
                .unwrap(),
            415,
            "unsupported-media-type",
        ),
        (
            jobs.clone(),
            send_json(r#"{"params": {"steps": 0}}"#),
            422,
            "invalid-params",
        ),
        (
            jobs.clone(),
            send_json(r#"{"inputs": {"x": {"text": ""}}}"#),
            422,
            "invalid-inputs",
        ),
        (
            jobs.clone(),
            send_json(r#"{"ttlSeconds": 0}"#),
            422,
            "invalid-request",
        ),
        (
            jobs.clone(),
            send_json(r#"{"inputs": {"data": {"url": "http://127.0.0.1/"}}}"#),
            422,
            "url-not-allowed",
        ),
    ]
}

#[test]
fn err_1_2_5_6_problem_documents() {
    let server = Server::start();
    for (_, response, status, kind) in failing_requests(&server) {
        let retry = header(&response, "retry-after");
        let p = problem(response, status, kind);
        // ERR-6: the extra members.
        match kind {
            "invalid-params" => assert!(
                p["errors"][0]["pointer"].is_string() && p["errors"][0]["message"].is_string(),
                "ERR-6: {p}"
            ),
            "invalid-inputs" | "url-not-allowed" => {
                assert!(
                    p["errors"][0]["input"].is_string() && p["errors"][0]["message"].is_string(),
                    "ERR-6: {p}"
                )
            }
            "job-finished" | "result-not-available" => {
                assert!(p["jobStatus"].is_string(), "ERR-6: {p}")
            }
            _ => {}
        }
        if status == 503 || status == 429 {
            assert!(retry.is_some(), "ERR-5");
        }
    }
}

#[test]
fn err_1_instance_is_the_request_path() {
    let server = Server::start();
    let mut wrong = Vec::new();
    for (path, response, status, kind) in failing_requests(&server) {
        let p = problem(response, status, kind);
        if p["instance"] != path.as_str() {
            wrong.push(format!(
                "{status} {kind} at {path}: instance {}",
                p["instance"]
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "ERR-1: instance is not the request path:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn err_1_undecodable_ids_are_problem_documents() {
    let server = Server::start();
    for (method, path) in [
        (Method::GET, "/v1/jobs/%FF"),
        (Method::GET, "/v1/jobs/%FF/result"),
        (Method::GET, "/v1/jobs/%FF/log"),
        (Method::GET, "/v1/jobs/%FF/events"),
        (Method::POST, "/v1/jobs/%FF/cancel"),
        (Method::DELETE, "/v1/jobs/%FF"),
        (Method::GET, "/v1/operations/%FF"),
    ] {
        let response = client()
            .request(method.clone(), server.url(path))
            .send()
            .unwrap();
        let kind = if path.starts_with("/v1/operations") {
            "operation-not-found"
        } else {
            "job-not-found"
        };
        problem(response, 404, kind);
    }
}

#[test]
fn err_7_hostile_requests_do_not_stop_the_server() {
    let server = Server::start();
    let url = server.url("/v1/operations/probe/jobs");
    let deep = format!(
        "{{\"params\": {{\"echo\": {}{}}}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let bodies: Vec<Vec<u8>> = vec![
        deep.into_bytes(),
        b"{\"params\": \"\xff\xfe\"}".to_vec(),
        vec![0u8; 100_000],
        b"{\"inputs\": {\"data\": {\"base64\": \""
            .iter()
            .chain(vec![b'A'; 1_000_001].iter())
            .chain(b"\"}}}")
            .copied()
            .collect(),
        "{\"correlationId\": \"\\ud800\"}".as_bytes().to_vec(),
        b"{\"ttlSeconds\": 1e400}".to_vec(),
        b"{\"ttlSeconds\": 18446744073709551616}".to_vec(),
    ];
    for body in bodies {
        let response = client()
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap();
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "ERR-7: answered {status}");
        assert_eq!(
            must_header(&response, "content-type"),
            "application/problem+json",
            "ERR-1"
        );
        assert_eq!(
            server.get("/v1").send().unwrap().status(),
            200,
            "ERR-7: still serving"
        );
    }
    let response = client()
        .post(&url)
        .header("content-type", "multipart/form-data; boundary=x")
        .body(vec![0xffu8; 10_000])
        .send()
        .unwrap();
    problem(response, 400, "malformed-request");
    let long_path = format!("/v1/jobs/{}", "a".repeat(10_000));
    let response = server.get(&long_path).send().unwrap();
    assert!(response.status().is_client_error(), "ERR-7");
    let response = server.get("/v1/jobs?status=%FF&limit=%FF").send().unwrap();
    problem(response, 400, "malformed-request");
    assert_eq!(
        server.get("/v1").send().unwrap().status(),
        200,
        "ERR-7: still serving"
    );
    let done = id_of(&probe(&server, quick()));
    assert_eq!(
        await_terminal(&server, &done)["status"],
        "succeeded",
        "ERR-7: still running jobs"
    );
}
