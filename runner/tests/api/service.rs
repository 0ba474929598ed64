//! Section 4 (service document) and the general rules of section 1.2
//! (GEN-1 to GEN-5).

use serde_json::{Value, json};

use super::common::*;

/// The classes section 2 defines.
const KNOWN_CLASSES: &[&str] = &[
    "core",
    "sync",
    "cancel",
    "delete",
    "expiry",
    "idempotency",
    "list",
    "events",
    "long-poll",
    "multipart",
    "result-range",
    "callbacks",
    "log",
];

fn service_document(server: &Server) -> Value {
    let response = server.get("/v1").send().unwrap();
    assert_eq!(response.status(), 200, "SVC-2");
    assert_eq!(
        must_header(&response, "content-type"),
        "application/json",
        "GEN-5"
    );
    response.json().unwrap()
}

#[test]
fn svc_2_3_4_5_7_gen_1_service_document() {
    let server = Server::start();
    let doc = service_document(&server);
    // SVC-2
    assert_eq!(doc["name"], "longrun");
    assert!(doc["version"].is_string(), "SVC-2 version: {doc}");
    assert!(
        doc["limits"].is_object() && doc["links"].is_object(),
        "SVC-2: {doc}"
    );
    // SVC-3
    assert_eq!(doc["protocolVersion"], "1.0", "SVC-3");
    // SVC-4: known names only, no duplicates, core in. This
    // server implements the full profile (SVC-1), so it claims every class.
    let classes: Vec<&str> = doc["conformanceClasses"]
        .as_array()
        .expect("SVC-2: conformanceClasses is an array")
        .iter()
        .map(|c| c.as_str().expect("class names are strings"))
        .collect();
    let mut unique = classes.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        classes.len(),
        "SVC-2: duplicate classes {classes:?}"
    );
    assert!(classes.contains(&"core"), "SVC-4");
    assert!(classes.contains(&"callbacks"), "SVC-1: the full profile");
    for class in &classes {
        assert!(
            KNOWN_CLASSES.contains(class),
            "SVC-4: unknown class {class}"
        );
    }
    for class in KNOWN_CLASSES {
        assert!(
            classes.contains(class),
            "SVC-1: the full profile lacks {class}"
        );
    }
    // SVC-5
    let limits = &doc["limits"];
    let int = |name: &str| {
        limits[name].as_u64().unwrap_or_else(|| {
            panic!("SVC-5: limits.{name} is not a non-negative integer: {limits}")
        })
    };
    for name in [
        "defaultTtlSeconds",
        "minTtlSeconds",
        "maxTtlSeconds",
        "defaultTimeoutSeconds",
        "maxTimeoutSeconds",
        "maxBodyBytes",
        "maxInputBytes",
        "maxLogBytes",
        "queueSize",
        "workers",
        "maxAttempts",
        "maxPageSize",
    ] {
        assert!(int(name) >= 1, "SVC-5: limits.{name} must be >= 1");
    }
    int("maxWaitSeconds");
    assert!(int("minTtlSeconds") <= int("defaultTtlSeconds"), "SVC-5");
    assert!(int("defaultTtlSeconds") <= int("maxTtlSeconds"), "SVC-5");
    assert!(
        int("defaultTimeoutSeconds") <= int("maxTimeoutSeconds"),
        "SVC-5"
    );
    // SVC-7, GEN-3
    assert_eq!(doc["links"]["self"], server.url("/v1"), "SVC-7");
    assert_eq!(
        doc["links"]["operations"],
        server.url("/v1/operations"),
        "SVC-7"
    );
    assert_eq!(doc["links"]["jobs"], server.url("/v1/jobs"), "SVC-7");
    // SVC-8: the guard is on unless the operator lifts it.
    assert_eq!(doc["urlGuard"]["privateNetworksAllowed"], false, "SVC-8");
    let open = Server::start_with(&["--allow-private-networks"]);
    assert_eq!(
        service_document(&open)["urlGuard"]["privateNetworksAllowed"],
        true,
        "SVC-8"
    );
    // GEN-1
    assert_camel_case(&doc, &[]);
}

#[test]
fn svc_6_limits_are_the_options_and_are_enforced() {
    let server = Server::start_with(&[
        "--max-wait",
        "2",
        "--max-body-bytes",
        "4096",
        "--max-input-bytes",
        "100",
        "--queue-size",
        "7",
        "--workers",
        "1",
        "--default-ttl",
        "50",
        "--max-ttl",
        "100",
        "--default-timeout",
        "30",
        "--max-timeout",
        "60",
        "--max-attempts",
        "2",
    ]);
    let limits = service_document(&server)["limits"].clone();
    assert_eq!(limits["maxWaitSeconds"], 2, "SVC-6");
    assert_eq!(limits["maxBodyBytes"], 4096, "SVC-6");
    assert_eq!(limits["maxInputBytes"], 100, "SVC-6");
    assert_eq!(limits["queueSize"], 7, "SVC-6");
    assert_eq!(limits["workers"], 1, "SVC-6");
    assert_eq!(limits["defaultTtlSeconds"], 50, "SVC-6");
    assert_eq!(limits["maxTtlSeconds"], 100, "SVC-6");
    assert_eq!(limits["defaultTimeoutSeconds"], 30, "SVC-6");
    assert_eq!(limits["maxTimeoutSeconds"], 60, "SVC-6");
    assert_eq!(limits["maxAttempts"], 2, "SVC-6");

    // Enforced: TTL and timeout bounds and defaults (JOB-CREATE-13, -14).
    let min_ttl = limits["minTtlSeconds"].as_i64().unwrap();
    let doc = probe(&server, quick());
    assert_eq!(doc["ttlSeconds"], 50, "JOB-CREATE-13 default");
    assert_eq!(doc["timeoutSeconds"], 30, "JOB-CREATE-14 default");
    for (field, ok, bad) in [
        ("ttlSeconds", vec![min_ttl, 100], vec![min_ttl - 1, 101, -5]),
        ("timeoutSeconds", vec![1, 60], vec![0, 61, -1]),
    ] {
        for value in ok {
            let doc = server.started("probe", &json!({"params": quick(), field: value}));
            assert_eq!(doc[field], value, "{field}={value}");
        }
        for value in bad {
            problem(
                server.start_job("probe", &json!({"params": quick(), field: value})),
                422,
                "invalid-request",
            );
        }
    }
    // Enforced: the input limit (JOB-INPUT-9) and the body limit (JOB-CREATE-9).
    let at_limit = "x".repeat(100);
    server.started(
        "probe",
        &json!({"inputs": {"data": {"text": at_limit}}, "params": quick()}),
    );
    let over = "x".repeat(101);
    problem(
        server.start_job(
            "probe",
            &json!({"inputs": {"data": {"text": over}}, "params": quick()}),
        ),
        413,
        "payload-too-large",
    );
    let mut body = json!({"params": quick()}).to_string();
    body.push_str(&" ".repeat(4096 - body.len()));
    let response = client()
        .post(server.url("/v1/operations/probe/jobs"))
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .unwrap();
    assert_eq!(
        response.status(),
        202,
        "a body of exactly maxBodyBytes is accepted"
    );
    body.push(' ');
    let response = client()
        .post(server.url("/v1/operations/probe/jobs"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .unwrap();
    problem(response, 413, "payload-too-large");
    // Enforced: the page size (LIST-5).
    assert!(
        list(&server, "?limit=100")["jobs"]
            .as_array()
            .unwrap()
            .len()
            > 1
    );
    let max_page = limits["maxPageSize"].as_u64().unwrap();
    list(&server, &format!("?limit={max_page}"));
    problem(
        server
            .get(&format!("/v1/jobs?limit={}", max_page + 1))
            .send()
            .unwrap(),
        400,
        "malformed-request",
    );
    // Enforced: the wait (SYNC-2).
    let response = server
        .post_json("/v1/operations/probe/jobs", &json!({"params": quick()}))
        .header("Prefer", "wait=30")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        must_header(&response, "preference-applied"),
        "wait=2",
        "SYNC-2"
    );
}

#[test]
fn gen_3_urls_are_built_from_the_host_header() {
    let server = Server::start();
    let host = "jobs.example.test:8443";
    let base = format!("http://{host}");
    let response = server.get("/v1").header("Host", host).send().unwrap();
    let doc: Value = response.json().unwrap();
    assert_eq!(doc["links"]["self"], format!("{base}/v1"), "GEN-3");
    assert_eq!(doc["links"]["jobs"], format!("{base}/v1/jobs"), "GEN-3");

    let response = server
        .post_json("/v1/operations/probe/jobs", &json!({"params": long()}))
        .header("Host", host)
        .send()
        .unwrap();
    assert_eq!(response.status(), 202);
    let location = must_header(&response, "location");
    assert!(
        location.starts_with(&format!("{base}/v1/jobs/")),
        "GEN-3: {location}"
    );
    assert_eq!(
        must_header(&response, "operation-location"),
        location,
        "GEN-3"
    );
    for (url, rel) in links(&response) {
        assert!(url.starts_with(&base), "GEN-3: Link rel={rel} {url}");
    }
    let doc: Value = response.json().unwrap();
    let id = id_of(&doc);
    assert_eq!(doc["links"]["self"], location, "GEN-3");

    let doc: Value = server
        .get(&format!("/v1/jobs/{id}"))
        .header("Host", host)
        .send()
        .unwrap()
        .json()
        .unwrap();
    for (rel, url) in doc["links"].as_object().unwrap() {
        assert!(
            url.as_str().unwrap().starts_with(&base),
            "GEN-3: links.{rel} = {url}"
        );
    }
    let ops: Value = server
        .get("/v1/operations")
        .header("Host", host)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(
        ops["operations"][0]["links"]["self"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{base}/v1/operations/")),
        "GEN-3: {ops}"
    );
}

#[test]
fn gen_3_urls_are_built_from_the_public_url() {
    let public = "https://jobs.example.com";
    let server = Server::start_with(&["--public-url", public, "--workers", "1"]);
    let doc = service_document(&server);
    assert_eq!(doc["links"]["self"], format!("{public}/v1"), "GEN-3");
    // The Host header does not matter once a public URL is configured.
    let response = server
        .post_json("/v1/operations/probe/jobs", &json!({"params": quick()}))
        .header("Host", "elsewhere.test")
        .header("Prefer", "wait=30")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let location = must_header(&response, "location");
    assert!(
        location.starts_with(&format!("{public}/v1/jobs/")),
        "GEN-3: {location}"
    );
    let id = location.rsplit('/').next().unwrap().to_owned();
    let doc: Value = server
        .get(&format!("/v1/jobs/{id}"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(doc["links"]["self"], location, "GEN-3");
    assert_eq!(doc["result"]["href"], format!("{location}/result"), "GEN-3");
    assert_eq!(
        doc["resourceLocation"],
        format!("{location}/result"),
        "GEN-3"
    );
    // The next link of a list page too.
    probe(&server, quick());
    let response = server.get("/v1/jobs?limit=1").send().unwrap();
    let next = link(&response, "next").expect("LIST-6: rel=next");
    assert!(
        next.starts_with(&format!("{public}/v1/jobs?")),
        "GEN-3: {next}"
    );
    let page: Value = response.json().unwrap();
    assert_eq!(page["next"], next, "LIST-6");
}

#[test]
fn gen_4_unknown_query_parameters_are_ignored() {
    let server = Server::start();
    for path in [
        "/v1?api-version=2024-01-01",
        "/v1/operations?api-version=1&x=y",
        "/v1/operations/probe?api-version=1",
    ] {
        assert_eq!(
            server.get(path).send().unwrap().status(),
            200,
            "GEN-4: {path}"
        );
    }
    let response = server
        .post_json(
            "/v1/operations/probe/jobs?api-version=1",
            &json!({"params": quick()}),
        )
        .header("Prefer", "wait=30")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200, "GEN-4");
    let location = must_header(&response, "location");
    let id = location.rsplit('/').next().unwrap();
    for path in [
        format!("/v1/jobs/{id}?api-version=2024-01-01"),
        format!("/v1/jobs/{id}/result?api-version=1"),
        format!("/v1/jobs/{id}/log?api-version=1"),
        "/v1/jobs?api-version=1".to_owned(),
    ] {
        assert_eq!(
            server.get(&path).send().unwrap().status(),
            200,
            "GEN-4: {path}"
        );
    }
    // A defined parameter with a bad value is a 400 (GEN-4).
    problem(
        server
            .get(&format!("/v1/jobs/{id}?waitSeconds=soon&api-version=1"))
            .send()
            .unwrap(),
        400,
        "malformed-request",
    );
}

#[test]
fn gen_1_gen_5_documents_are_camel_case_json() {
    let server = Server::start();
    let response = server
        .post_json(
            "/v1/operations/probe/jobs",
            &json!({"params": quick(), "correlationId": "c"}),
        )
        .send()
        .unwrap();
    assert_eq!(
        must_header(&response, "content-type"),
        "application/json",
        "GEN-5"
    );
    let doc: Value = response.json().unwrap();
    assert_camel_case(&doc, &[]);
    let id = id_of(&doc);
    let done = await_terminal(&server, &id);
    assert_camel_case(&done, &[]);
    let response = server.get("/v1/jobs").send().unwrap();
    assert_eq!(
        must_header(&response, "content-type"),
        "application/json",
        "GEN-5"
    );
    assert_camel_case(&response.json().unwrap(), &[]);
    let response = server.get("/v1/operations").send().unwrap();
    assert_eq!(
        must_header(&response, "content-type"),
        "application/json",
        "GEN-5"
    );
    // paramsSchema is a JSON Schema, not a protocol object.
    assert_camel_case(&response.json().unwrap(), &["paramsSchema"]);
    let response = server.get(&format!("/v1/jobs/{id}")).send().unwrap();
    assert_eq!(
        must_header(&response, "content-type"),
        "application/json",
        "GEN-5"
    );
    // A failed job's error and an invalid-params problem.
    let failed = probe(
        &server,
        json!({"steps": 1, "fail": {"code": "boom", "message": "m"}}),
    );
    let failed = await_terminal(&server, &id_of(&failed));
    assert_camel_case(&failed, &[]);
    let response = server.start_job("probe", &json!({"params": {"steps": "x"}}));
    let p = problem(response, 422, "invalid-params");
    assert_camel_case(&p, &[]);
}
