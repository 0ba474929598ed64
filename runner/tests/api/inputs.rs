//! Section 6.2: input values (JOB-INPUT-1 to JOB-INPUT-11) and section 19:
//! the outbound URL guard (URL-GUARD-1, -2, -4, -5).

use serde_json::{Value, json};

use super::common::*;

#[test]
fn job_input_5_json_text_and_base64_inputs() {
    let server = Server::start();
    let value = json!({"a": [1, "x", null, true, {"b": 2.5}]});
    seen_json(&server, json!({"json": value}))
        .assert("application/json", br#"{"a":[1,"x",null,true,{"b":2.5}]}"#);
    seen_json(&server, json!({"json": "just a string"}))
        .assert("application/json", br#""just a string""#);
    let text = "hello\nworld \u{fc}\u{6f22}";
    seen_json(&server, json!({"text": text})).assert("text/plain; charset=utf-8", text.as_bytes());
    seen_json(&server, json!({"text": ""})).assert("text/plain; charset=utf-8", b"");
    seen_json(&server, json!({"base64": "AAEC/w=="}))
        .assert("application/octet-stream", &[0, 1, 2, 255]);
    // Surrounding whitespace is ignored (JOB-INPUT-8).
    seen_json(&server, json!({"base64": " \n\tAAEC/w==\r\n "}))
        .assert("application/octet-stream", &[0, 1, 2, 255]);
    seen_json(&server, json!({"base64": ""})).assert("application/octet-stream", b"");
}

#[test]
fn job_input_6_media_type_replaces_the_default_for_every_kind() {
    let fixture = Fixture::start();
    fixture.route(
        "/doc.json",
        200,
        &[("Content-Type", "application/json")],
        b"[1,2,3]",
    );
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("in.json"), b"{\"k\":1}").unwrap();
    let server = Server::start_with(&[
        "--allow-private-networks",
        "--input-root",
        root.path().to_str().unwrap(),
    ]);
    seen_json(
        &server,
        json!({"json": {"k": 1}, "mediaType": "application/vnd.test+json"}),
    )
    .assert("application/vnd.test+json", br#"{"k":1}"#);
    seen_json(
        &server,
        json!({"text": "# Title", "mediaType": "text/markdown; charset=utf-8"}),
    )
    .assert("text/markdown; charset=utf-8", b"# Title");
    seen_json(
        &server,
        json!({"base64": "iVBORw==", "mediaType": "image/png"}),
    )
    .assert("image/png", &[0x89, b'P', b'N', b'G']);
    seen_json(
        &server,
        json!({"url": fixture.url("/doc.json"), "mediaType": "text/csv"}),
    )
    .assert("text/csv", b"[1,2,3]");
    seen_json(
        &server,
        json!({"file": "in.json", "mediaType": "application/x-custom"}),
    )
    .assert("application/x-custom", b"{\"k\":1}");
}

#[test]
fn job_input_6_invalid_media_type_is_422() {
    let server = Server::start();
    for media_type in [
        "not-a-media-type",
        "text/",
        "/plain",
        "text/plain garbage",
        "te xt/plain",
    ] {
        input_problem(
            server.start_job(
                "probe",
                &json!({"inputs": {"data": {"text": "x", "mediaType": media_type}}, "params": quick()}),
            ),
            422,
            "invalid-inputs",
            "data",
        );
    }
}

#[test]
fn job_input_1_malformed_input_values_are_400() {
    let server = Server::start();
    for input in [
        json!("text"),
        json!(42),
        json!(null),
        json!(["x"]),
        json!({}),
        json!({"mediaType": "text/plain"}),
        json!({"json": 1, "text": "x"}),
        json!({"text": "x", "base64": "AA=="}),
        json!({"url": "http://example.com", "file": "a"}),
        json!({"text": "x", "extra": 1}),
        json!({"text": 1}),
        json!({"base64": ["AA=="]}),
        json!({"url": {"href": "http://example.com"}}),
        json!({"file": null}),
        json!({"text": "x", "mediaType": 7}),
    ] {
        let response = server.start_job(
            "probe",
            &json!({"inputs": {"data": input}, "params": quick()}),
        );
        assert_eq!(response.status(), 400, "JOB-INPUT-1: {input}");
        problem(response, 400, "malformed-request");
    }
    assert_eq!(list(&server, "")["jobs"], json!([]), "JOB-CREATE-6");
}

#[test]
fn job_input_2_3_4_unknown_and_missing_inputs() {
    let server = Server::start();
    // JOB-INPUT-2
    input_problem(
        server.start_job(
            "probe",
            &json!({"inputs": {"nope": {"text": "x"}}, "params": quick()}),
        ),
        422,
        "invalid-inputs",
        "nope",
    );
    // JOB-INPUT-3
    input_problem(
        server.start_job("json-compare", &json!({"inputs": {"left": {"json": 1}}})),
        422,
        "invalid-inputs",
        "right",
    );
    // JOB-INPUT-4: every failing input is listed (SHOULD).
    let p = input_problem(
        server.start_job("json-compare", &json!({"inputs": {"other": {"json": 1}}})),
        422,
        "invalid-inputs",
        "left",
    );
    for name in ["right", "other"] {
        assert!(
            p["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["input"] == name),
            "JOB-INPUT-4: {name} is not listed: {p}"
        );
    }
    // An absent inputs member is {}: fine for the probe, whose input is optional.
    server.started("probe", &json!({"params": quick()}));
    server.started("probe", &json!({"inputs": {}, "params": quick()}));
}

#[test]
fn job_input_7_media_types_must_match_the_declaration() {
    let server = Server::start();
    let start = |left: Value| {
        server.start_job(
            "json-compare",
            &json!({"inputs": {"left": left, "right": {"json": [1]}}}),
        )
    };
    for left in [
        json!({"text": "[1]"}),
        json!({"base64": "WzFd"}),
        json!({"json": [1], "mediaType": "text/json"}),
        json!({"json": [1], "mediaType": "application/jsonx"}),
    ] {
        input_problem(start(left), 422, "invalid-inputs", "left");
    }
    for left in [
        json!({"text": "[1]", "mediaType": "application/json"}),
        json!({"base64": "WzFd", "mediaType": "Application/JSON; charset=utf-8"}),
        json!({"json": [1], "mediaType": "APPLICATION/JSON"}),
    ] {
        let response = start(left.clone());
        assert_eq!(
            response.status(),
            202,
            "JOB-INPUT-7: {left} is application/json"
        );
    }
}

#[test]
fn job_input_8_bad_base64_is_422() {
    let server = Server::start();
    for data in [
        "AAE",
        "A",
        "A===",
        "AA=A",
        "!!!!",
        "AA-_",
        "AA==AA==",
        "AA AA",
        "AAE=\u{0}",
    ] {
        input_problem(
            server.start_job(
                "probe",
                &json!({"inputs": {"data": {"base64": data}}, "params": quick()}),
            ),
            422,
            "invalid-inputs",
            "data",
        );
    }
}

#[test]
fn job_input_9_url_guard_5_inputs_over_the_size_limit_are_413() {
    let fixture = Fixture::start();
    fixture.route("/100", 200, &[], &[b'a'; 100]);
    fixture.route("/101", 200, &[], &[b'a'; 101]);
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("100.bin"), [b'a'; 100]).unwrap();
    std::fs::write(root.path().join("101.bin"), [b'a'; 101]).unwrap();
    let server = Server::start_with(&[
        "--max-input-bytes",
        "100",
        "--allow-private-networks",
        "--input-root",
        root.path().to_str().unwrap(),
    ]);
    let start = |input: Value| {
        server.start_job(
            "probe",
            &json!({"inputs": {"data": input}, "params": quick()}),
        )
    };
    let ok = [
        json!({"text": "a".repeat(100)}),
        json!({"json": "a".repeat(98)}),
        json!({"base64": base64_of(&[7; 100])}),
        json!({"url": fixture.url("/100")}),
        json!({"file": "100.bin"}),
    ];
    for input in ok {
        assert_eq!(
            start(input.clone()).status(),
            202,
            "JOB-INPUT-9: {input} is at the limit"
        );
    }
    let over = [
        json!({"text": "a".repeat(101)}),
        json!({"json": "a".repeat(99)}),
        json!({"base64": base64_of(&[7; 101])}),
        json!({"url": fixture.url("/101")}),
        json!({"file": "101.bin"}),
    ];
    for input in over {
        let response = start(input.clone());
        assert_eq!(response.status(), 413, "JOB-INPUT-9/URL-GUARD-5: {input}");
        problem(response, 413, "payload-too-large");
    }
    let over = [b'a'; 101];
    problem(
        post_multipart(&server, "probe", &[file_part("data", "d", None, &over)])
            .send()
            .unwrap(),
        413,
        "payload-too-large",
    );
    // URL, file and multipart inputs are staged on disk as they arrive:
    // those accepted moved into their jobs, those refused were removed.
    let staging = server.data_dir.join("staging");
    assert_eq!(std::fs::read_dir(staging).unwrap().count(), 0);
}

fn base64_of(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[test]
fn job_input_5_10_url_inputs_are_fetched() {
    let fixture = Fixture::start();
    fixture.route(
        "/doc.json",
        200,
        &[("Content-Type", "application/json; charset=utf-8")],
        b"{\"x\":1}",
    );
    fixture.route("/plain", 200, &[], b"\x00\x01 no content type");
    fixture.route("/empty", 200, &[("Content-Type", "text/plain")], b"");
    let server = Server::start_with(&["--allow-private-networks"]);
    seen_json(&server, json!({"url": fixture.url("/doc.json")}))
        .assert("application/json; charset=utf-8", b"{\"x\":1}");
    seen_json(&server, json!({"url": fixture.url("/plain")}))
        .assert("application/octet-stream", b"\x00\x01 no content type");
    seen_json(&server, json!({"url": fixture.url("/empty")})).assert("text/plain", b"");
    assert!(
        fixture.hits("/doc.json") >= 1,
        "JOB-INPUT-10: fetched before the answer"
    );
    // The URL is fetched before the answer: a URL input of json-compare.
    fixture.route(
        "/left.json",
        200,
        &[("Content-Type", "application/json")],
        b"[1,2]",
    );
    let doc = server.started(
        "json-compare",
        &json!({"inputs": {"left": {"url": fixture.url("/left.json")}, "right": {"json": [1, 2]}}}),
    );
    assert_eq!(
        fixture.hits("/left.json"),
        1,
        "JOB-INPUT-10: fetched once, before the 202"
    );
    let done = await_terminal(&server, &id_of(&doc));
    assert_eq!(done["status"], "succeeded");
    let result: Value = server
        .get(&format!("/v1/jobs/{}/result", id_of(&doc)))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(result["equal"], true, "{result}");
}

#[test]
fn job_input_10_url_guard_4_failed_fetches_are_422() {
    let fixture = Fixture::start();
    fixture.route("/missing", 404, &[], b"no");
    fixture.route("/broken", 500, &[], b"boom");
    fixture.route("/target", 200, &[], b"secret");
    let target = fixture.url("/target");
    fixture.route("/found", 302, &[("Location", target.as_str())], b"");
    fixture.route("/moved", 301, &[("Location", target.as_str())], b"");
    fixture.route("/see-other", 303, &[("Location", target.as_str())], b"");
    fixture.route("/temporary", 307, &[("Location", target.as_str())], b"");
    fixture.route("/not-modified", 304, &[], b"");
    let server = Server::start_with(&["--allow-private-networks"]);
    let mut urls: Vec<String> = [
        "/missing",
        "/broken",
        "/found",
        "/moved",
        "/see-other",
        "/temporary",
        "/not-modified",
    ]
    .iter()
    .map(|p| fixture.url(p))
    .collect();
    urls.push(format!("http://127.0.0.1:{}/refused", closed_port()));
    for url in urls {
        input_problem(
            server.start_job(
                "probe",
                &json!({"inputs": {"data": {"url": url}}, "params": quick()}),
            ),
            422,
            "invalid-inputs",
            "data",
        );
    }
    assert_eq!(
        fixture.hits("/target"),
        0,
        "URL-GUARD-4: redirects are not followed"
    );
    assert_eq!(fixture.hits("/found"), 1);
    assert_eq!(list(&server, "")["jobs"], json!([]), "JOB-CREATE-6");
}

#[test]
fn url_guard_1_urls_that_are_not_absolute_http_are_refused() {
    let fixture = Fixture::start();
    fixture.route("/x", 200, &[], b"x");
    // Even when private networks are allowed.
    let server = Server::start_with(&["--allow-private-networks"]);
    let port = fixture.base.rsplit(':').next().unwrap().to_owned();
    for url in [
        "not a url".to_owned(),
        "/relative/path".to_owned(),
        "x".to_owned(),
        format!("ftp://127.0.0.1:{port}/x"),
        "file:///etc/passwd".to_owned(),
        "data:text/plain,hello".to_owned(),
        "gopher://127.0.0.1/".to_owned(),
        format!("http://user:secret@127.0.0.1:{port}/x"),
        format!("http://user@127.0.0.1:{port}/x"),
        format!("http://:pw@127.0.0.1:{port}/x"),
        "http://".to_owned(),
        "mailto:someone@example.com".to_owned(),
    ] {
        input_problem(
            server.start_job(
                "probe",
                &json!({"inputs": {"data": {"url": url}}, "params": quick()}),
            ),
            422,
            "url-not-allowed",
            "data",
        );
    }
    assert_eq!(fixture.total_hits(), 0, "URL-GUARD-1: nothing was fetched");
}

#[test]
fn url_guard_2_private_addresses_are_refused_by_default() {
    let fixture = Fixture::start();
    fixture.route("/x", 200, &[], b"x");
    let server = Server::start();
    let port = fixture.base.rsplit(':').next().unwrap().to_owned();
    for url in [
        fixture.url("/x"),
        format!("http://localhost:{port}/x"),
        format!("http://127.1.2.3:{port}/x"),
        format!("http://[::1]:{port}/x"),
        format!("http://[::ffff:127.0.0.1]:{port}/x"),
        format!("http://0.0.0.0:{port}/x"),
        format!("http://2130706433:{port}/x"),
        format!("http://0x7f.0.0.1:{port}/x"),
        "http://10.1.2.3/x".to_owned(),
        "http://172.16.0.1/x".to_owned(),
        "http://192.168.1.1/x".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://224.0.0.1/x".to_owned(),
        "http://255.255.255.255/x".to_owned(),
        "http://100.64.0.1/x".to_owned(),
        "http://[fe80::1]/x".to_owned(),
        "http://[fd00::1]/x".to_owned(),
        "http://[ff02::1]/x".to_owned(),
        "http://[::]/x".to_owned(),
        "http://[::ffff:10.0.0.1]/x".to_owned(),
        "http://[::127.0.0.1]/x".to_owned(),
        "https://does-not-exist.invalid/x".to_owned(),
    ] {
        input_problem(
            server.start_job(
                "probe",
                &json!({"inputs": {"data": {"url": url}}, "params": quick()}),
            ),
            422,
            "url-not-allowed",
            "data",
        );
    }
    assert_eq!(
        fixture.total_hits(),
        0,
        "URL-GUARD-2: no request reached the refused address"
    );
    assert_eq!(list(&server, "")["jobs"], json!([]), "JOB-CREATE-6");
}

#[test]
fn job_input_11_file_inputs_are_refused_without_an_input_root() {
    let server = Server::start();
    input_problem(
        server.start_job(
            "probe",
            &json!({"inputs": {"data": {"file": "in.json"}}, "params": quick()}),
        ),
        422,
        "invalid-inputs",
        "data",
    );
}

#[test]
fn job_input_5_11_file_inputs_are_read_from_the_input_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("batch-7/sub")).unwrap();
    std::fs::write(root.join("batch-7/input.json"), b"{\"n\":7}").unwrap();
    std::fs::write(root.join("blob.bin-unknown-ext"), [1u8, 2, 3]).unwrap();
    std::fs::write(dir.path().join("secret.json"), b"{\"secret\":true}").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.path().join("secret.json"), root.join("link.json")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.path(), root.join("up")).unwrap();
    let server = Server::start_with(&["--input-root", root.to_str().unwrap()]);
    seen_json(&server, json!({"file": "batch-7/input.json"}))
        .assert("application/json", b"{\"n\":7}");
    seen_json(&server, json!({"file": "./batch-7/input.json"}))
        .assert("application/json", b"{\"n\":7}");
    seen_json(&server, json!({"file": "blob.bin-unknown-ext"}))
        .assert("application/octet-stream", &[1, 2, 3]);
    let secret = dir.path().join("secret.json");
    let mut refused = vec![
        "../secret.json".to_owned(),
        "batch-7/../../secret.json".to_owned(),
        secret.to_str().unwrap().to_owned(),
        "/etc/hostname".to_owned(),
        "missing.json".to_owned(),
        "batch-7/sub".to_owned(),
        "batch-7".to_owned(),
        String::new(),
    ];
    if cfg!(unix) {
        refused.push("link.json".to_owned());
        refused.push("up/secret.json".to_owned());
    }
    for path in refused {
        input_problem(
            server.start_job(
                "probe",
                &json!({"inputs": {"data": {"file": path}}, "params": quick()}),
            ),
            422,
            "invalid-inputs",
            "data",
        );
    }
}
