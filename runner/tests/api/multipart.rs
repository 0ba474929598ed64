//! Section 6.4: the multipart request (JOB-MULTIPART-1 to JOB-MULTIPART-5).

use serde_json::{Value, json};

use super::common::*;

fn seen_multipart(server: &Server, data: Part<'_>) -> Seen {
    seen_by_probe(|params| {
        let params = params.to_string();
        let data = Part {
            name: data.name,
            filename: data.filename,
            content_type: data.content_type,
            body: data.body,
        };
        post_multipart(server, "probe", &[data, field("params", &params)])
            .header("Prefer", "wait=30")
            .send()
            .unwrap()
    })
}

#[test]
fn job_multipart_2_parts_named_after_inputs_are_inputs() {
    let server = Server::start();
    let binary: Vec<u8> = b"\r\n--not-the-boundary\r\n\x00\xff".to_vec();
    seen_multipart(
        &server,
        file_part("data", "ignored-name.json", Some("text/csv"), &binary),
    )
    .assert("text/csv", &binary);
    seen_multipart(&server, file_part("data", "ignored.json", None, b"abc"))
        .assert("application/octet-stream", b"abc");
    // A part without a filename is an input too.
    seen_multipart(
        &server,
        Part {
            name: Some("data"),
            filename: None,
            content_type: Some("application/xml"),
            body: b"<a/>",
        },
    )
    .assert("application/xml", b"<a/>");
}

#[test]
fn job_multipart_2_json_compare_with_file_parts() {
    let server = Server::start();
    let response = post_multipart(
        &server,
        "json-compare",
        &[
            file_part(
                "left",
                "a.json",
                Some("application/json"),
                b"{\"a\": [1, 2]}",
            ),
            file_part(
                "right",
                "b.json",
                Some("application/json; charset=utf-8"),
                b"{\"a\": [2, 1]}",
            ),
            field("params", "{\"ignoreArrayOrder\": true}"),
        ],
    )
    .header("Prefer", "wait=30")
    .send()
    .unwrap();
    assert_eq!(response.status(), 200, "JOB-MULTIPART-5/SYNC-3");
    let result: Value = response.json().unwrap();
    assert_eq!(result["equal"], true, "{result}");
    // JOB-INPUT-7 applies to parts too.
    let response = post_multipart(
        &server,
        "json-compare",
        &[
            file_part("left", "a.json", Some("text/plain"), b"{}"),
            file_part("right", "b.json", Some("application/json"), b"{}"),
        ],
    )
    .send()
    .unwrap();
    input_problem(response, 422, "invalid-inputs", "left");
}

#[test]
fn job_multipart_3_form_fields() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start_with(&["--output-root", root.path().to_str().unwrap()]);
    let response = post_multipart(
        &server,
        "probe",
        &[
            field("params", "{\"steps\": 1, \"resultBytes\": 10}"),
            field("ttlSeconds", "600"),
            field("timeoutSeconds", "120"),
            field("correlationId", "order 4711"),
            field("output", "{\"file\": \"mp/out.bin\"}"),
            file_part("data", "d.txt", Some("text/plain"), b"hi"),
        ],
    )
    .send()
    .unwrap();
    assert_eq!(response.status(), 202, "JOB-MULTIPART-3");
    let doc: Value = response.json().unwrap();
    assert_eq!(doc["ttlSeconds"], 600);
    assert_eq!(doc["timeoutSeconds"], 120);
    assert_eq!(doc["correlationId"], "order 4711");
    let id = id_of(&doc);
    let done = await_terminal(&server, &id);
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["result"]["size"], 10, "params applied");
    assert_eq!(
        done["result"]["mediaType"], "application/octet-stream",
        "PLUGIN-3"
    );
    let written = std::fs::read(root.path().join("mp/out.bin")).expect("output applied");
    assert_eq!(written.len(), 10);
    // A form with only fields and no inputs is fine.
    let response = post_multipart(&server, "probe", &[field("params", "{}")])
        .send()
        .unwrap();
    assert_eq!(response.status(), 202);
    // An empty form too (no params means {}).
    let response = post_multipart(&server, "probe", &[]).send().unwrap();
    assert_eq!(response.status(), 202);
}

#[test]
fn job_multipart_1_3_4_malformed_forms_are_400() {
    let server = Server::start();
    let url = server.url("/v1/operations/probe/jobs");
    // JOB-MULTIPART-1: no boundary, unparsable, unnamed part, truncated.
    let body = multipart_body(&[field("params", "{}")]);
    let response = client()
        .post(&url)
        .header("content-type", "multipart/form-data")
        .body(body.clone())
        .send()
        .unwrap();
    problem(response, 400, "malformed-request");
    let response = client()
        .post(&url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body("this is not a multipart body at all")
        .send()
        .unwrap();
    problem(response, 400, "malformed-request");
    let unnamed = Part {
        name: None,
        filename: None,
        content_type: None,
        body: b"x",
    };
    problem(
        post_multipart(&server, "probe", &[unnamed]).send().unwrap(),
        400,
        "malformed-request",
    );
    let truncated = &body[..body.len() - 10];
    let response = client()
        .post(&url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(truncated.to_vec())
        .send()
        .unwrap();
    problem(response, 400, "malformed-request");
    // JOB-MULTIPART-3: fields that do not parse.
    for (name, value) in [
        ("params", "{"),
        ("params", "not json"),
        ("output", "x"),
        ("output", "{\"file\": 1}"),
        ("ttlSeconds", "abc"),
        ("ttlSeconds", "1.5"),
        ("ttlSeconds", ""),
        ("timeoutSeconds", "ten"),
    ] {
        let response = post_multipart(&server, "probe", &[field(name, value)])
            .send()
            .unwrap();
        assert_eq!(response.status(), 400, "JOB-MULTIPART-3: {name}={value:?}");
        problem(response, 400, "malformed-request");
    }
    // JOB-MULTIPART-4: unknown parts and repeated names.
    for parts in [
        vec![field("bogus", "1")],
        vec![field("inputs", "{}")],
        vec![file_part("other", "o.txt", Some("text/plain"), b"x")],
        vec![field("params", "{}"), field("params", "{}")],
        vec![
            file_part("data", "a", None, b"a"),
            file_part("data", "b", None, b"b"),
        ],
        vec![field("ttlSeconds", "60"), field("ttlSeconds", "60")],
    ] {
        problem(
            post_multipart(&server, "probe", &parts).send().unwrap(),
            400,
            "malformed-request",
        );
    }
    // JOB-MULTIPART-4: `callback` is a JSON field, validated as in JSON
    // (here refused by the URL guard: URL-GUARD-6).
    problem(
        post_multipart(
            &server,
            "probe",
            &[field("callback", "{\"url\": \"http://127.0.0.1/hook\"}")],
        )
        .send()
        .unwrap(),
        422,
        "url-not-allowed",
    );
    assert_eq!(list(&server, "")["jobs"], json!([]), "JOB-CREATE-6");
}

#[test]
fn job_multipart_5_validated_like_json() {
    let server = Server::start();
    let cases: Vec<(Vec<Part<'_>>, u16, &str)> = vec![
        (
            vec![field("params", "{\"steps\": \"x\"}")],
            422,
            "invalid-params",
        ),
        (vec![field("params", "[]")], 422, "invalid-params"),
        (vec![field("ttlSeconds", "0")], 422, "invalid-request"),
        (vec![field("timeoutSeconds", "0")], 422, "invalid-request"),
        (vec![field("correlationId", "")], 422, "invalid-request"),
        (
            vec![field("output", "{\"file\": \"x\"}")],
            422,
            "invalid-request",
        ),
    ];
    for (parts, status, kind) in cases {
        problem(
            post_multipart(&server, "probe", &parts).send().unwrap(),
            status,
            kind,
        );
    }
    input_problem(
        post_multipart(
            &server,
            "json-compare",
            &[file_part("left", "l", Some("application/json"), b"1")],
        )
        .send()
        .unwrap(),
        422,
        "invalid-inputs",
        "right",
    );
    assert_eq!(list(&server, "")["jobs"], json!([]), "JOB-CREATE-6");
}

/// Input parts are streamed into staging files as they arrive and moved into
/// the job when it is committed: nothing stays in staging, whether the
/// request is accepted, cut off at its size limit, or refused by validation.
#[test]
fn input_parts_are_staged_on_disk_and_never_left_behind() {
    let server = Server::start_with(&["--max-input-bytes", "1000000"]);
    let staging = server.data_dir.join("staging");
    let staged = || std::fs::read_dir(&staging).unwrap().count();
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let params = quick().to_string();

    let response = post_multipart(
        &server,
        "probe",
        &[
            file_part("data", "d", None, &data),
            field("params", &params),
        ],
    )
    .send()
    .unwrap();
    assert_eq!(response.status(), 202);
    let id = id_of(&response.json().unwrap());
    let kept = server.data_dir.join("jobs").join(&id).join("input-0");
    assert!(
        std::fs::read(kept).unwrap() == data,
        "the job keeps the part's bytes"
    );
    assert_eq!(staged(), 0, "an accepted part moves out of staging");

    let mut over = data.clone();
    over.push(0);
    problem(
        post_multipart(&server, "probe", &[file_part("data", "d", None, &over)])
            .send()
            .unwrap(),
        413,
        "payload-too-large",
    );
    assert_eq!(staged(), 0, "a part cut off at its limit is removed");

    problem(
        post_multipart(
            &server,
            "probe",
            &[
                file_part("data", "d", None, &data),
                field("params", "{\"steps\": \"x\"}"),
            ],
        )
        .send()
        .unwrap(),
        422,
        "invalid-params",
    );
    assert_eq!(staged(), 0, "a refused request's parts are removed");
}
