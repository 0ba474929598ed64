//! Section 7: `Idempotency-Key` (IDEM-1 to IDEM-10).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Barrier, mpsc};

use reqwest::blocking::Response;
use reqwest::header::HeaderValue;
use serde_json::{Value, json};

use super::common::*;

fn keyed(server: &Server, op: &str, key: &str, body: &Value) -> Response {
    server
        .post_json(&format!("/v1/operations/{op}/jobs"), body)
        .header("Idempotency-Key", key)
        .send()
        .unwrap()
}

fn keyed_raw(server: &Server, key: &str, body: &str) -> Response {
    client()
        .post(server.url("/v1/operations/probe/jobs"))
        .header("content-type", "application/json")
        .header("Idempotency-Key", key)
        .body(body.to_owned())
        .send()
        .unwrap()
}

fn job_count(server: &Server) -> usize {
    list(server, "?limit=100")["jobs"].as_array().unwrap().len()
}

#[test]
fn idem_1_malformed_keys_are_400() {
    let server = Server::start();
    let body = json!({"params": quick()});
    for key in [
        HeaderValue::from_static(""),
        HeaderValue::from_static("has space"),
        HeaderValue::from_static("tab\there"),
        HeaderValue::from_str(&"k".repeat(256)).unwrap(),
        HeaderValue::from_bytes("k\u{e9}y".as_bytes()).unwrap(),
    ] {
        let response = server
            .post_json("/v1/operations/probe/jobs", &body)
            .header("Idempotency-Key", key.clone())
            .send()
            .unwrap();
        assert_eq!(response.status(), 400, "IDEM-1: {key:?}");
        problem(response, 400, "malformed-request");
    }
    assert_eq!(job_count(&server), 0, "JOB-CREATE-6");
    for key in [
        "k".repeat(255),
        "!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~".to_owned(),
        "x".to_owned(),
    ] {
        assert_eq!(
            keyed(&server, "probe", &key, &body).status(),
            202,
            "IDEM-1: `{key}` is a valid key"
        );
    }
}

#[test]
fn idem_2_3_4_a_repeat_is_replayed() {
    let server = Server::start_with(&["--workers", "1"]);
    let blocker = id_of(&probe(&server, long()));
    await_running(&server, &blocker);
    let first = keyed_raw(
        &server,
        "replay-key",
        r#"{"params": {"steps": 1, "echo": {"a": 1, "b": [true, null]}}, "inputs": {"data": {"json": {}}}, "ttlSeconds": 3600}"#,
    );
    assert_eq!(first.status(), 202, "IDEM-2");
    assert!(header(&first, "idempotent-replayed").is_none(), "IDEM-4");
    let first_doc: Value = first.json().unwrap();
    let id = id_of(&first_doc);
    // The same request: members reordered, whitespace, the same input given as
    // another kind with the same bytes and media type, the default TTL implied.
    let replay = keyed_raw(
        &server,
        "replay-key",
        r#"{"inputs":{"data":{"mediaType":"application/json","text":"{}"}},"params":{"echo":{"b":[true,null],"a":1},"steps":1}}"#,
    );
    assert_eq!(replay.status(), 202, "IDEM-3");
    assert_eq!(
        must_header(&replay, "idempotent-replayed"),
        "true",
        "IDEM-3"
    );
    let job_url = server.url(&format!("/v1/jobs/{id}"));
    assert_eq!(
        must_header(&replay, "location"),
        job_url,
        "IDEM-3/JOB-CREATE-2"
    );
    assert_eq!(
        must_header(&replay, "operation-location"),
        job_url,
        "IDEM-3/JOB-CREATE-2"
    );
    assert_eq!(
        link(&replay, "monitor").as_deref(),
        Some(job_url.as_str()),
        "IDEM-3/JOB-CREATE-3"
    );
    assert_eq!(
        link(&replay, "cancel"),
        Some(format!("{job_url}/cancel")),
        "IDEM-3/JOB-CREATE-3"
    );
    assert_eq!(
        link(&replay, "result"),
        Some(format!("{job_url}/result")),
        "IDEM-3/JOB-CREATE-3"
    );
    assert_eq!(retry_after(&replay), 1, "IDEM-3/JOB-CREATE-4");
    assert_eq!(
        must_header(&replay, "cache-control"),
        "no-store",
        "IDEM-3/JOB-CREATE-4"
    );
    let etag = must_header(&replay, "etag");
    let replay_doc: Value = replay.json().unwrap();
    assert_eq!(replay_doc["id"], id.as_str(), "IDEM-3: the same job");
    let (_, get_etag, _) = get_job(&server, &id);
    assert_eq!(
        get_etag,
        Some(etag),
        "IDEM-3/JOB-CREATE-4: the ETag GET gives"
    );
    assert_eq!(job_count(&server), 2, "IDEM-3: no job created");

    // Once the job has finished, a replay shows its current document.
    server
        .post_json(&format!("/v1/jobs/{blocker}/cancel"), &json!({}))
        .send()
        .unwrap();
    let done = await_terminal(&server, &id);
    assert_eq!(done["status"], "succeeded");
    let replay = keyed(
        &server,
        "probe",
        "replay-key",
        &json!({"params": {"steps": 1, "echo": {"a": 1, "b": [true, null]}}, "inputs": {"data": {"json": {}}}}),
    );
    assert_eq!(replay.status(), 202, "IDEM-3");
    assert_eq!(must_header(&replay, "idempotent-replayed"), "true");
    let doc: Value = replay.json().unwrap();
    assert_eq!(
        doc["status"], "succeeded",
        "IDEM-3: the job's current document"
    );
    assert_eq!(doc["id"], id.as_str());
    // A request without a key is never a replay (IDEM-4).
    let fresh = server.start_job("probe", &json!({"params": quick()}));
    assert_eq!(fresh.status(), 202);
    assert!(header(&fresh, "idempotent-replayed").is_none(), "IDEM-4");
}

#[test]
fn idem_5_a_different_request_with_the_key_is_422() {
    let fixture = Fixture::start();
    fixture.route("/v", 200, &[("Content-Type", "text/plain")], b"one");
    let server = Server::start_with(&["--allow-private-networks"]);
    let base = json!({"params": {"steps": 1}, "inputs": {"data": {"text": "x"}}});
    assert_eq!(keyed(&server, "probe", "k5", &base).status(), 202);
    for different in [
        json!({"params": {"steps": 2}, "inputs": {"data": {"text": "x"}}}),
        json!({"params": {"steps": 1}, "inputs": {"data": {"text": "y"}}}),
        json!({"params": {"steps": 1}, "inputs": {"data": {"text": "x", "mediaType": "text/markdown"}}}),
        json!({"params": {"steps": 1}}),
        json!({"params": {"steps": 1}, "inputs": {"data": {"text": "x"}}, "ttlSeconds": 60}),
        json!({"params": {"steps": 1}, "inputs": {"data": {"text": "x"}}, "timeoutSeconds": 60}),
        json!({"params": {"steps": 1}, "inputs": {"data": {"text": "x"}}, "correlationId": "c"}),
    ] {
        problem(
            keyed(&server, "probe", "k5", &different),
            422,
            "idempotency-key-reused",
        );
    }
    // Another operation with the same key.
    problem(
        keyed(
            &server,
            "json-compare",
            "k5",
            &json!({"inputs": {"left": {"json": 1}, "right": {"json": 1}}}),
        ),
        422,
        "idempotency-key-reused",
    );
    assert_eq!(job_count(&server), 1, "IDEM-5: no job created");

    // A repeat fetches its URL inputs again; changed content is a different request.
    let by_url = json!({"params": {"steps": 1}, "inputs": {"data": {"url": fixture.url("/v")}}});
    assert_eq!(keyed(&server, "probe", "url-key", &by_url).status(), 202);
    let replay = keyed(&server, "probe", "url-key", &by_url);
    assert_eq!(replay.status(), 202);
    assert_eq!(
        must_header(&replay, "idempotent-replayed"),
        "true",
        "IDEM-3"
    );
    assert_eq!(
        fixture.hits("/v"),
        2,
        "section 7: a repeat fetches its URL inputs again"
    );
    fixture.route("/v", 200, &[("Content-Type", "text/plain")], b"two");
    problem(
        keyed(&server, "probe", "url-key", &by_url),
        422,
        "idempotency-key-reused",
    );
    assert_eq!(job_count(&server), 2);
}

#[test]
fn idem_3_json_and_multipart_are_the_same_request() {
    let server = Server::start();
    let first = keyed(
        &server,
        "probe",
        "mp-key",
        &json!({"inputs": {"data": {"text": "hi"}}, "params": {"steps": 1}, "correlationId": "c"}),
    );
    assert_eq!(first.status(), 202);
    let id = id_of(&first.json().unwrap());
    let replay = post_multipart(
        &server,
        "probe",
        &[
            file_part("data", "hi.txt", Some("text/plain; charset=utf-8"), b"hi"),
            field("params", "{ \"steps\" : 1 }"),
            field("correlationId", "c"),
        ],
    )
    .header("Idempotency-Key", "mp-key")
    .send()
    .unwrap();
    assert_eq!(replay.status(), 202, "JOB-MULTIPART-5/IDEM-3");
    assert_eq!(
        must_header(&replay, "idempotent-replayed"),
        "true",
        "IDEM-3"
    );
    assert_eq!(id_of(&replay.json().unwrap()), id);
    let different = post_multipart(
        &server,
        "probe",
        &[
            file_part("data", "hi.txt", Some("text/plain"), b"hi"),
            field("params", "{\"steps\": 1}"),
            field("correlationId", "c"),
        ],
    )
    .header("Idempotency-Key", "mp-key")
    .send()
    .unwrap();
    problem(different, 422, "idempotency-key-reused");
}

#[test]
fn idem_7_failed_starts_do_not_bind_the_key() {
    let server = Server::start();
    problem(
        keyed(&server, "probe", "k7", &json!({"params": {"steps": "x"}})),
        422,
        "invalid-params",
    );
    problem(
        keyed(&server, "probe", "k7", &json!({"ttlSeconds": 0})),
        422,
        "invalid-request",
    );
    let response = keyed(&server, "probe", "k7", &json!({"params": {"steps": 2}}));
    assert_eq!(response.status(), 202, "IDEM-7");
    assert!(
        header(&response, "idempotent-replayed").is_none(),
        "IDEM-7: not a replay"
    );
    // A synchronous answer reporting the failure of a created job does bind it,
    // and a replay in synchronous mode answers by section 8 (IDEM-10).
    let failing =
        json!({"params": {"steps": 1, "fail": {"code": "nope", "message": "failed on purpose"}}});
    let response = server
        .post_json("/v1/operations/probe/jobs", &failing)
        .header("Idempotency-Key", "k7-sync")
        .header("Prefer", "wait=30")
        .send()
        .unwrap();
    let location = must_header(&response, "location");
    assert!(header(&response, "idempotent-replayed").is_none(), "IDEM-4");
    let p = problem(response, 422, "plugin-error");
    assert_eq!(p["code"], "nope");
    let replay = server
        .post_json("/v1/operations/probe/jobs", &failing)
        .header("Idempotency-Key", "k7-sync")
        .header("Prefer", "wait=30")
        .send()
        .unwrap();
    assert_eq!(
        must_header(&replay, "idempotent-replayed"),
        "true",
        "IDEM-7/IDEM-10"
    );
    assert_eq!(must_header(&replay, "location"), location, "IDEM-10");
    assert_eq!(
        must_header(&replay, "preference-applied"),
        "wait=30",
        "IDEM-10/SYNC-4"
    );
    let p = problem(replay, 422, "plugin-error");
    assert_eq!(p["code"], "nope", "IDEM-10/SYNC-4");
}

#[test]
fn idem_10_synchronous_replays() {
    let server = Server::start();
    let body = json!({"params": {"steps": 1, "echo": "sync"}});
    let send = |prefer: Option<&str>| {
        let mut request = server
            .post_json("/v1/operations/probe/jobs", &body)
            .header("Idempotency-Key", "k10");
        if let Some(p) = prefer {
            request = request.header("Prefer", p);
        }
        request.send().unwrap()
    };
    let first = send(Some("wait=30"));
    assert_eq!(first.status(), 200, "SYNC-3");
    assert!(header(&first, "idempotent-replayed").is_none(), "IDEM-4");
    let location = must_header(&first, "location");
    let etag = must_header(&first, "etag");
    let bytes = first.bytes().unwrap();
    let replay = send(Some("wait=30"));
    assert_eq!(replay.status(), 200, "IDEM-10");
    assert_eq!(
        must_header(&replay, "idempotent-replayed"),
        "true",
        "IDEM-10"
    );
    assert_eq!(must_header(&replay, "location"), location, "IDEM-10");
    assert_eq!(must_header(&replay, "etag"), etag, "IDEM-10/SYNC-3");
    assert_eq!(
        must_header(&replay, "preference-applied"),
        "wait=30",
        "IDEM-10/SYNC-3"
    );
    assert_eq!(replay.bytes().unwrap(), bytes, "IDEM-10");
    let replay = send(None);
    assert_eq!(replay.status(), 202, "IDEM-3");
    assert_eq!(must_header(&replay, "idempotent-replayed"), "true");
    let replay = send(Some("respond-async, wait=30"));
    assert_eq!(replay.status(), 202, "IDEM-10/SYNC-8");
    assert_eq!(must_header(&replay, "idempotent-replayed"), "true");
    assert_eq!(job_count(&server), 1);
}

#[test]
fn idem_8_the_key_is_free_after_delete() {
    let server = Server::start();
    let response = keyed(&server, "probe", "k8", &json!({"params": {"steps": 1}}));
    let id = id_of(&response.json().unwrap());
    await_terminal(&server, &id);
    assert_eq!(
        server
            .get(&format!("/v1/jobs/{id}"))
            .send()
            .unwrap()
            .status(),
        200
    );
    let deleted = client()
        .delete(server.url(&format!("/v1/jobs/{id}")))
        .send()
        .unwrap();
    assert_eq!(deleted.status(), 200);
    let response = keyed(&server, "probe", "k8", &json!({"params": {"steps": 3}}));
    assert_eq!(response.status(), 202, "IDEM-8: the key is free again");
    assert!(header(&response, "idempotent-replayed").is_none());
    assert_ne!(id_of(&response.json().unwrap()), id, "a new job");
}

/// Many simultaneous starts with one key: one job, the rest replays or `409`s.
fn race(server: &Server, bodies: Vec<Value>) -> Vec<(u16, Option<String>, Value)> {
    let barrier = Arc::new(Barrier::new(bodies.len()));
    let url = server.url("/v1/operations/probe/jobs");
    let threads: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let barrier = barrier.clone();
            let url = url.clone();
            std::thread::spawn(move || {
                let request = client()
                    .post(&url)
                    .header("Idempotency-Key", "racing-key")
                    .json(&body)
                    .build()
                    .unwrap();
                barrier.wait();
                let response = client().execute(request).unwrap();
                let status = response.status().as_u16();
                let retry = header(&response, "retry-after");
                let body: Value = response.json().unwrap();
                (status, retry, body)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

/// A request whose input is large enough to make the commit take a while.
fn big_request(tag: u8) -> Value {
    let data = base64_of(&vec![tag; 4 * 1024 * 1024]);
    json!({"params": {"steps": 1}, "inputs": {"data": {"base64": data}}})
}

fn base64_of(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[test]
fn idem_3_6_concurrent_repeats_create_at_most_one_job() {
    let server = Server::start();
    let answers = race(&server, (0..6).map(|_| big_request(1)).collect());
    let created: Vec<&Value> = answers
        .iter()
        .filter(|(s, _, _)| *s == 202)
        .map(|(_, _, b)| b)
        .collect();
    assert!(
        !created.is_empty(),
        "at least one request succeeds: {answers:?}"
    );
    for doc in &created {
        assert_eq!(doc["id"], created[0]["id"], "IDEM-3/IDEM-6: one job");
    }
    for (status, _, body) in &answers {
        match status {
            202 => {}
            409 => assert_eq!(
                body["type"], "urn:longrun:problem:idempotency-key-in-use",
                "IDEM-6"
            ),
            other => panic!("IDEM-6: unexpected {other}: {body}"),
        }
    }
    assert_eq!(job_count(&server), 1, "IDEM-6: exactly one job");
    // Different requests racing for one key: one job, the others 409 or 422.
    let server = Server::start();
    let answers = race(&server, (0..6).map(big_request).collect());
    let created = answers.iter().filter(|(s, _, _)| *s == 202).count();
    assert_eq!(created, 1, "IDEM-5/IDEM-6: {answers:?}");
    for (status, _, body) in &answers {
        match status {
            202 => {}
            409 => assert_eq!(
                body["type"], "urn:longrun:problem:idempotency-key-in-use",
                "IDEM-6"
            ),
            422 => assert_eq!(
                body["type"], "urn:longrun:problem:idempotency-key-reused",
                "IDEM-5"
            ),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(job_count(&server), 1, "IDEM-6: exactly one job");
}

#[test]
fn idem_6_key_in_use_carries_retry_after() {
    // The first request holds its key while the runner fetches its URL input,
    // which this listener answers only when told: a repeat meanwhile is in use.
    let server = Server::start_with(&["--allow-private-networks"]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/slow", listener.local_addr().unwrap());
    let (arrived_tx, arrived) = mpsc::channel::<()>();
    let (release, released) = mpsc::channel::<()>();
    let fetch = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        arrived_tx.send(()).unwrap();
        released.recv().unwrap();
        stream
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
            )
            .unwrap();
    });
    let body = json!({"params": {"steps": 1}, "inputs": {"data": {"url": url}}});
    let first = {
        let url = server.url("/v1/operations/probe/jobs");
        let body = body.clone();
        std::thread::spawn(move || {
            client()
                .post(url)
                .header("Idempotency-Key", "held-key")
                .json(&body)
                .send()
                .unwrap()
                .status()
                .as_u16()
        })
    };
    arrived
        .recv_timeout(DEADLINE)
        .expect("the runner never fetched the URL input");

    let repeat = keyed(&server, "probe", "held-key", &body);
    assert!(
        header(&repeat, "retry-after").is_some(),
        "IDEM-6: 409 without Retry-After"
    );
    problem(repeat, 409, "idempotency-key-in-use");

    release.send(()).unwrap();
    fetch.join().unwrap();
    assert_eq!(first.join().unwrap(), 202);
    assert_eq!(job_count(&server), 1, "IDEM-6: the repeat created no job");
}
