//! Section 15: the result (RESULT-1 to RESULT-9).

use reqwest::blocking::Response;
use serde_json::{Value, json};

use super::common::*;

/// A succeeded probe job with a `size`-byte result; its id, document and bytes.
fn result_job(server: &Server, size: usize) -> (String, Value, Vec<u8>) {
    let id = id_of(&probe(server, json!({"steps": 1, "resultBytes": size})));
    let doc = await_terminal(server, &id);
    assert_eq!(doc["status"], "succeeded");
    let bytes = server
        .get(&format!("/v1/jobs/{id}/result"))
        .send()
        .unwrap()
        .bytes()
        .unwrap()
        .to_vec();
    (id, doc, bytes)
}

fn ranged(server: &Server, id: &str, range: &str) -> Response {
    server
        .get(&format!("/v1/jobs/{id}/result"))
        .header("Range", range)
        .send()
        .unwrap()
}

fn assert_whole(response: Response, bytes: &[u8], what: &str) {
    assert_eq!(response.status(), 200, "{what}: the whole result");
    assert!(header(&response, "content-range").is_none(), "{what}");
    assert_eq!(response.bytes().unwrap().to_vec(), bytes, "{what}");
}

#[test]
fn result_1_2_3_get_and_head() {
    let server = Server::start();
    let (id, doc, _) = result_job(&server, 5000);
    let url = format!("/v1/jobs/{id}/result");
    let mut first: Option<Vec<u8>> = None;
    for _ in 0..2 {
        let response = server.get(&url).send().unwrap();
        assert_eq!(response.status(), 200, "RESULT-1");
        assert_eq!(
            must_header(&response, "content-type"),
            doc["result"]["mediaType"],
            "RESULT-1"
        );
        assert_eq!(must_header(&response, "content-length"), "5000", "RESULT-1");
        assert_eq!(
            must_header(&response, "etag"),
            format!("\"{}\"", doc["result"]["sha256"].as_str().unwrap()),
            "RESULT-1"
        );
        assert_eq!(must_header(&response, "accept-ranges"), "bytes", "RESULT-1");
        let bytes = response.bytes().unwrap().to_vec();
        assert_eq!(bytes.len(), 5000);
        assert_eq!(sha256_hex(&bytes), doc["result"]["sha256"], "RESULT-2");
        if let Some(first) = &first {
            assert_eq!(&bytes, first, "RESULT-2: the same on every read");
        }
        first = Some(bytes);
    }
    // RESULT-3
    let get = server.get(&url).send().unwrap();
    let head = client().head(server.url(&url)).send().unwrap();
    assert_eq!(head.status(), 200, "RESULT-3");
    for name in ["content-type", "content-length", "etag", "accept-ranges"] {
        assert_eq!(header(&head, name), header(&get, name), "RESULT-3: {name}");
    }
    assert!(head.bytes().unwrap().is_empty(), "RESULT-3: no body");
    // A JSON result and an empty one.
    let id = id_of(&probe(
        &server,
        json!({"steps": 1, "echo": {"hello": "world"}}),
    ));
    let doc = await_terminal(&server, &id);
    let response = server.get(&format!("/v1/jobs/{id}/result")).send().unwrap();
    assert_eq!(
        must_header(&response, "content-type"),
        "application/json",
        "RESULT-1/PLUGIN-3"
    );
    let bytes = response.bytes().unwrap();
    assert_eq!(
        bytes.len() as u64,
        doc["result"]["size"].as_u64().unwrap(),
        "JOB-DOC-8"
    );
    let (_, doc, bytes) = result_job(&server, 0);
    assert!(bytes.is_empty());
    assert_eq!(doc["result"]["size"], 0);
    assert_eq!(doc["result"]["sha256"], sha256_hex(b""), "RESULT-2");
}

#[test]
fn result_4_5_no_result_yet_or_ever() {
    let server = Server::start_with(&["--workers", "1"]);
    let running = id_of(&probe(&server, long()));
    await_running(&server, &running);
    let queued = id_of(&probe(&server, quick()));
    let failed = id_of(&server.started(
        "probe",
        &json!({"params": {"steps": 1, "fail": {"code": "x", "message": "y"}}}),
    ));
    for (id, status) in [(&running, "running"), (&queued, "queued")] {
        let p = problem(
            server.get(&format!("/v1/jobs/{id}/result")).send().unwrap(),
            409,
            "result-not-available",
        );
        assert_eq!(p["jobStatus"], status, "RESULT-4/ERR-6");
        let head = client()
            .head(server.url(&format!("/v1/jobs/{id}/result")))
            .send()
            .unwrap();
        assert_eq!(head.status(), 409, "RESULT-4: HEAD");
        assert!(
            head.bytes().unwrap().is_empty(),
            "RESULT-3: no body on HEAD"
        );
    }
    server
        .post_json(&format!("/v1/jobs/{running}/cancel"), &json!({}))
        .send()
        .unwrap();
    await_terminal(&server, &failed);
    for (id, status) in [(&running, "canceled"), (&failed, "failed")] {
        let p = problem(
            server.get(&format!("/v1/jobs/{id}/result")).send().unwrap(),
            409,
            "result-not-available",
        );
        assert_eq!(p["jobStatus"], status, "RESULT-4");
        let head = client()
            .head(server.url(&format!("/v1/jobs/{id}/result")))
            .send()
            .unwrap();
        assert_eq!(head.status(), 409, "RESULT-4: HEAD");
        // Nor is anything of a result left on disk: not even the spool the
        // run was writing to.
        let dir = server.data_dir.join("jobs").join(id);
        for name in ["result", "result.partial"] {
            assert!(!dir.join(name).exists(), "{status} job {id} left `{name}`");
        }
    }
    // RESULT-5
    problem(
        server.get("/v1/jobs/no-such-job/result").send().unwrap(),
        404,
        "job-not-found",
    );
    let head = client()
        .head(server.url("/v1/jobs/no-such-job/result"))
        .send()
        .unwrap();
    assert_eq!(head.status(), 404, "RESULT-5: HEAD");
    assert!(head.bytes().unwrap().is_empty());
}

#[test]
fn result_6_single_ranges_are_206() {
    let server = Server::start();
    let (id, doc, bytes) = result_job(&server, 1000);
    let etag = format!("\"{}\"", doc["result"]["sha256"].as_str().unwrap());
    for (range, first, last) in [
        ("bytes=0-9", 0, 9),
        ("bytes=990-", 990, 999),
        ("bytes=-5", 995, 999),
        ("bytes=500-500", 500, 500),
        ("bytes=900-5000", 900, 999),
        ("bytes=0-", 0, 999),
    ] {
        let response = ranged(&server, &id, range);
        assert_eq!(response.status(), 206, "RESULT-6: {range}");
        assert_eq!(
            must_header(&response, "content-range"),
            format!("bytes {first}-{last}/1000"),
            "RESULT-6: {range}"
        );
        assert_eq!(
            must_header(&response, "content-length"),
            (last - first + 1).to_string(),
            "RESULT-6"
        );
        assert_eq!(
            must_header(&response, "content-type"),
            "application/octet-stream",
            "RESULT-6"
        );
        assert_eq!(must_header(&response, "etag"), etag, "RESULT-6");
        assert_eq!(must_header(&response, "accept-ranges"), "bytes", "RESULT-6");
        assert_eq!(
            response.bytes().unwrap().to_vec(),
            bytes[first..=last].to_vec(),
            "RESULT-6: {range}"
        );
    }
    // With an If-Range equal to the ETag the range applies.
    let response = server
        .get(&format!("/v1/jobs/{id}/result"))
        .header("Range", "bytes=10-19")
        .header("If-Range", etag.as_str())
        .send()
        .unwrap();
    assert_eq!(response.status(), 206, "RESULT-9: matching If-Range");
    assert_eq!(response.bytes().unwrap().to_vec(), bytes[10..20].to_vec());
}

#[test]
fn result_7_unsatisfiable_ranges_are_416() {
    let server = Server::start();
    let (id, _, _) = result_job(&server, 1000);
    for range in ["bytes=1000-", "bytes=2000-3000", "bytes=-0"] {
        let response = ranged(&server, &id, range);
        assert_eq!(
            must_header(&response, "content-range"),
            "bytes */1000",
            "RESULT-7: {range}"
        );
        problem(response, 416, "range-not-satisfiable");
    }
}

#[test]
fn result_6_a_suffix_longer_than_the_result_is_the_whole_result() {
    let server = Server::start();
    let (id, _, bytes) = result_job(&server, 1000);
    let response = ranged(&server, &id, "bytes=-2000");
    assert_eq!(response.status(), 206, "RESULT-6");
    assert_eq!(
        must_header(&response, "content-range"),
        "bytes 0-999/1000",
        "RESULT-6"
    );
    assert_eq!(response.bytes().unwrap().to_vec(), bytes);
}

#[test]
fn result_7_any_range_of_an_empty_result_is_416() {
    let server = Server::start();
    let (empty, _, _) = result_job(&server, 0);
    for range in ["bytes=0-", "bytes=0-0", "bytes=-1"] {
        let response = ranged(&server, &empty, range);
        assert_eq!(
            must_header(&response, "content-range"),
            "bytes */0",
            "RESULT-7: empty result, {range}"
        );
        problem(response, 416, "range-not-satisfiable");
    }
}

#[test]
fn result_8_several_ranges_answer_the_whole_result() {
    let server = Server::start();
    let (id, _, bytes) = result_job(&server, 1000);
    for range in ["bytes=0-1,5-6", "bytes=0-9, 20-29", "bytes=-5,0-1"] {
        assert_whole(
            ranged(&server, &id, range),
            &bytes,
            &format!("RESULT-8: {range}"),
        );
    }
}

#[test]
fn result_9_ranges_that_must_be_ignored() {
    let server = Server::start();
    let (id, _, bytes) = result_job(&server, 1000);
    for range in [
        "chars=0-5",
        "bytes=abc",
        "bytes=5-2",
        "bytes 0-5",
        "bytes=",
        "items=0-1",
    ] {
        assert_whole(
            ranged(&server, &id, range),
            &bytes,
            &format!("RESULT-9: {range}"),
        );
    }
    let response = server
        .get(&format!("/v1/jobs/{id}/result"))
        .header("Range", "bytes=0-9")
        .header("If-Range", "\"not-the-etag\"")
        .send()
        .unwrap();
    assert_whole(response, &bytes, "RESULT-9: If-Range does not match");
    let head = client()
        .head(server.url(&format!("/v1/jobs/{id}/result")))
        .header("Range", "bytes=0-9")
        .send()
        .unwrap();
    assert_eq!(head.status(), 200, "RESULT-9: Range on HEAD is ignored");
    assert_eq!(must_header(&head, "content-length"), "1000");
}
