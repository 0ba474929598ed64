//! Section 21: the probe operation (PROBE-1 to PROBE-6), the conformance
//! fixture, and the plugin rules it makes visible (PLUGIN-3, PLUGIN-4).

use serde_json::{Value, json};

use super::common::*;

fn sync_run(server: &Server, body: &Value) -> reqwest::blocking::Response {
    let response = server
        .post_json("/v1/operations/probe/jobs", body)
        .header("Prefer", "wait=30")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200, "probe run {body}");
    response
}

#[test]
fn probe_1_5_offered_and_fails_on_request() {
    let server = Server::start();
    assert_eq!(
        server.get("/v1/operations/probe").send().unwrap().status(),
        200,
        "PROBE-1"
    );
    let id = id_of(&probe(
        &server,
        json!({"steps": 3, "fail": {"code": "the-code", "message": "the message"}}),
    ));
    let done = await_terminal(&server, &id);
    assert_eq!(done["status"], "failed", "PROBE-5");
    assert_eq!(done["error"]["code"], "the-code", "PROBE-5/ERR-10");
    assert_eq!(done["error"]["detail"], "the message", "PROBE-5/ERR-10");
    // After the last step: the progress reached the end first.
    assert_eq!(
        done["progress"]["percent"], 100.0,
        "PROBE-5: fails after the last step"
    );
}

#[test]
fn plugin_3_result_media_types() {
    let server = Server::start();
    let response = sync_run(&server, &json!({"params": {"steps": 1, "resultBytes": 3}}));
    assert_eq!(
        must_header(&response, "content-type"),
        "application/octet-stream",
        "PLUGIN-3/PROBE-6"
    );
    let response = sync_run(&server, &json!({"params": {"steps": 1, "echo": {"a": 1}}}));
    assert_eq!(
        must_header(&response, "content-type"),
        "application/json",
        "PLUGIN-3/PROBE-6"
    );
}

#[test]
#[ignore = "server bug: the bundled probe declares stages [prepare, work, finish] (not [work]) and input `data` without maxBytes 1048576 (PROBE-2)"]
fn probe_2_description() {
    let server = Server::start();
    let op: Value = server
        .get("/v1/operations/probe")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(op["stages"], json!(["work"]), "PROBE-2");
    assert_eq!(op["resultMediaType"], "application/json", "PROBE-2");
    let inputs = op["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 1, "PROBE-2");
    assert_eq!(inputs[0]["name"], "data");
    assert_eq!(inputs[0]["required"], false);
    assert_eq!(inputs[0]["mediaTypes"], json!([]));
    assert_eq!(inputs[0]["maxBytes"], 1_048_576, "PROBE-2");
}

#[test]
#[ignore = "server bug: the bundled probe's paramsSchema has no echoInput, allows durationMs up to 3600000, steps up to 10000, resultBytes up to 104857600, and several of resultBytes/echo at once (PROBE-2)"]
fn probe_2_params_schema() {
    let server = Server::start();
    for params in [
        json!({"durationMs": 0, "steps": 1}),
        json!({"durationMs": 600000, "steps": 1000, "resultBytes": 67108864}),
        json!({"echoInput": true}),
        json!({"echoInput": false}),
        json!({"echo": null}),
        json!({"fail": {"code": "c", "message": "m"}}),
    ] {
        let response = server.start_job("probe", &json!({"params": params}));
        assert_eq!(response.status(), 202, "PROBE-2 accepts {params}");
        let doc: Value = response.json().unwrap();
        server
            .post_json(&format!("/v1/jobs/{}/cancel", id_of(&doc)), &json!({}))
            .send()
            .unwrap();
    }
    for params in [
        json!({"durationMs": 600001}),
        json!({"durationMs": -1}),
        json!({"steps": 0}),
        json!({"steps": 1001}),
        json!({"resultBytes": 67108865}),
        json!({"resultBytes": 1, "echo": 1}),
        json!({"echo": 1, "echoInput": true}),
        json!({"resultBytes": 1, "echoInput": true}),
        json!({"echoInput": "yes"}),
        json!({"fail": {"code": "c"}}),
        json!({"fail": {"code": 1, "message": "m"}}),
        json!({"other": 1}),
    ] {
        problem(
            server.start_job("probe", &json!({"params": params})),
            422,
            "invalid-params",
        );
    }
}

#[test]
#[ignore = "server bug: the bundled probe reports stages prepare/finish besides work, and messages `step i of n` instead of `step i/steps`, and defaults steps to 10 instead of 1 (PROBE-2, PROBE-3)"]
fn probe_3_progress_after_each_step() {
    let server = Server::start();
    let id = id_of(&probe(&server, json!({"durationMs": 800, "steps": 4})));
    let events = open_events(&server, &id).rest();
    let docs: Vec<Value> = events.iter().map(SseEvent::doc).collect();
    for doc in &docs {
        let progress = &doc["progress"];
        if let Some(message) = progress["message"].as_str() {
            let i: u32 = message
                .strip_prefix("step ")
                .and_then(|m| m.strip_suffix("/4"))
                .and_then(|i| i.parse().ok())
                .unwrap_or_else(|| panic!("PROBE-3: message `{message}`"));
            assert_eq!(progress["stage"], "work", "PROBE-3");
            assert_eq!(progress["stageIndex"], 0, "PROBE-3");
            assert_eq!(progress["percent"], f64::from(100 * i / 4), "PROBE-3");
        }
    }
    let last = &docs.last().unwrap()["progress"];
    assert_eq!(last["message"], "step 4/4", "PROBE-3");
    // Default: one step.
    let id = id_of(&probe(&server, json!({})));
    let done = await_terminal(&server, &id);
    assert_eq!(
        done["progress"]["message"], "step 1/1",
        "PROBE-2: steps defaults to 1"
    );
}

#[test]
#[ignore = "server bug: the bundled probe's results differ from PROBE-6: the default result is {\"echo\", \"steps\", \"inputs\"} not {}, echo is wrapped, resultBytes bytes are k mod 251 not k mod 256, and echoInput is missing"]
fn probe_6_results() {
    let server = Server::start();
    let response = sync_run(&server, &json!({"params": {"steps": 1}}));
    assert_eq!(must_header(&response, "content-type"), "application/json");
    assert_eq!(
        response.bytes().unwrap().as_ref(),
        b"{}",
        "PROBE-6: {{}} by default"
    );
    let response = sync_run(
        &server,
        &json!({"params": {"steps": 1, "echo": {"a": [1, "x"]}}}),
    );
    assert_eq!(
        response.bytes().unwrap().as_ref(),
        br#"{"a":[1,"x"]}"#,
        "PROBE-6: the compact echo"
    );
    let response = sync_run(
        &server,
        &json!({"params": {"steps": 1, "resultBytes": 600}}),
    );
    let bytes = response.bytes().unwrap();
    let expected: Vec<u8> = (0..600u32).map(|k| (k % 256) as u8).collect();
    assert_eq!(bytes.to_vec(), expected, "PROBE-6: byte k is k mod 256");
    let response = sync_run(
        &server,
        &json!({"params": {"steps": 1, "echoInput": true}, "inputs": {"data": {"base64": "AAEC", "mediaType": "image/x-test"}}}),
    );
    assert_eq!(
        must_header(&response, "content-type"),
        "image/x-test",
        "PROBE-6"
    );
    assert_eq!(response.bytes().unwrap().as_ref(), &[0, 1, 2], "PROBE-6");
    let response = sync_run(&server, &json!({"params": {"steps": 1, "echoInput": true}}));
    assert_eq!(
        must_header(&response, "content-type"),
        "application/octet-stream",
        "PROBE-6"
    );
    assert!(response.bytes().unwrap().is_empty(), "PROBE-6");
}
