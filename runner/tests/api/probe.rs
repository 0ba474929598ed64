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
fn probe_2_description() {
    let server = Server::start();
    let op: Value = server
        .get("/v1/operations/probe")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        op["stages"],
        json!(["prepare", "work", "finish"]),
        "PROBE-2"
    );
    assert_eq!(op["resultMediaType"], "application/json", "PROBE-2");
    let inputs = op["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 1, "PROBE-2");
    assert_eq!(inputs[0]["name"], "data");
    assert_eq!(inputs[0]["required"], false);
    assert_eq!(
        inputs[0]["mediaTypes"],
        json!([]),
        "PROBE-2: any media type"
    );
    assert!(
        inputs[0].get("maxBytes").is_none(),
        "PROBE-2/OP-4: no maxBytes: {}",
        inputs[0]
    );
    let schema = &op["paramsSchema"];
    let mut members: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    members.sort_unstable();
    assert_eq!(
        members,
        [
            "durationMs",
            "echo",
            "echoInput",
            "fail",
            "resultBytes",
            "steps"
        ],
        "PROBE-2"
    );
    assert_eq!(schema["additionalProperties"], false, "PROBE-2");
    assert_eq!(schema["properties"]["durationMs"]["default"], 0, "PROBE-2");
    assert_eq!(schema["properties"]["steps"]["default"], 10, "PROBE-2");
    assert_eq!(
        schema["properties"]["echoInput"]["default"], false,
        "PROBE-2"
    );
}

#[test]
fn probe_2_params_schema() {
    let server = Server::start();
    for params in [
        json!({"durationMs": 0, "steps": 1}),
        json!({"durationMs": 3600000, "steps": 10000, "resultBytes": 104857600}),
        json!({"steps": 5.0}),
        json!({"echoInput": true}),
        json!({"echoInput": false}),
        json!({"echoInput": true, "echo": 1}),
        json!({"resultBytes": 0, "echo": 1}),
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
        json!({"durationMs": 3600001}),
        json!({"durationMs": -1}),
        json!({"durationMs": 1.5}),
        json!({"steps": 0}),
        json!({"steps": 10001}),
        json!({"steps": "3"}),
        json!({"resultBytes": 104857601}),
        json!({"resultBytes": -1}),
        json!({"resultBytes": 1, "echoInput": true}),
        json!({"resultBytes": 1, "echoInput": false}),
        json!({"echoInput": "yes"}),
        json!({"echoInput": null}),
        json!({"fail": {"code": "c"}}),
        json!({"fail": {"code": 1, "message": "m"}}),
        json!({"fail": {"code": "", "message": "m"}}),
        json!({"fail": {"code": "c", "message": "m", "other": 1}}),
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
fn probe_3_progress_after_each_step() {
    let server = Server::start();
    let id = id_of(&probe(&server, json!({"durationMs": 800, "steps": 4})));
    let events = open_events(&server, &id).rest();
    let docs: Vec<Value> = events.iter().map(SseEvent::doc).collect();
    let mut last_index = 0;
    for doc in &docs {
        let progress = &doc["progress"];
        let Some(stage) = progress["stage"].as_str() else {
            continue;
        };
        assert_eq!(progress["stageCount"], 3, "PROBE-2: {progress}");
        let (index, message, percent) = match stage {
            "prepare" => (0, "preparing".to_owned(), 0),
            "work" => {
                let message = progress["message"].as_str().unwrap();
                let i: u32 = message
                    .strip_prefix("step ")
                    .and_then(|m| m.strip_suffix(" of 4"))
                    .and_then(|i| i.parse().ok())
                    .unwrap_or_else(|| panic!("PROBE-3: message `{message}`"));
                assert!((1..=4).contains(&i), "PROBE-3: {message}");
                (1, message.to_owned(), 100 * i / 4)
            }
            "finish" => (2, "finishing".to_owned(), 100),
            other => panic!("PROBE-2: stage `{other}`"),
        };
        assert_eq!(progress["stageIndex"], index, "PROBE-3: {progress}");
        assert_eq!(progress["message"], message.as_str(), "PROBE-3: {progress}");
        assert_eq!(
            progress["percent"],
            f64::from(percent),
            "PROBE-3: {progress}"
        );
        assert!(index >= last_index, "PROBE-3: stages in order");
        last_index = index;
    }
    let last = &docs.last().unwrap();
    assert_eq!(last["status"], "succeeded");
    assert_eq!(last["progress"]["stage"], "finish", "PROBE-3");
    assert_eq!(last["progress"]["message"], "finishing", "PROBE-3");
    assert_eq!(last["progress"]["percent"], 100.0, "PROBE-3");
    // The run took the whole durationMs (JOB-DOC-4 orders the times).
    let took = time_of(last, "finishedAt") - time_of(last, "startedAt");
    assert!(
        took >= time::Duration::milliseconds(800),
        "PROBE-3: spread over durationMs, took {took}"
    );
    // Default: ten steps.
    let response = sync_run(&server, &json!({"params": {}}));
    let result: Value = response.json().unwrap();
    assert_eq!(result["steps"], 10, "PROBE-2: steps defaults to 10");
    let id = id_of(&probe(&server, json!({"steps": 3})));
    let done = await_terminal(&server, &id);
    assert_eq!(done["progress"]["message"], "finishing", "PROBE-3");
}

/// The result of a synchronous probe run: its media type and bytes.
fn sync_result(server: &Server, body: &Value) -> (String, Vec<u8>) {
    let response = sync_run(server, body);
    let media_type = must_header(&response, "content-type");
    (media_type, response.bytes().unwrap().to_vec())
}

#[test]
fn probe_6_results() {
    let server = Server::start();
    // By default, the JSON echo: compact, with `echo` null and no inputs.
    let (media_type, bytes) = sync_result(&server, &json!({"params": {"steps": 1}}));
    assert_eq!(media_type, "application/json", "PROBE-6");
    assert!(
        !bytes.iter().any(u8::is_ascii_whitespace),
        "PROBE-6: compact JSON"
    );
    let result: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        result,
        json!({"echo": null, "steps": 1, "inputs": []}),
        "PROBE-6"
    );
    // `echo` and the given inputs.
    let (media_type, bytes) = sync_result(
        &server,
        &json!({"params": {"steps": 2, "echo": {"a": [1, "x"]}}, "inputs": {"data": {"text": "hello"}}}),
    );
    assert_eq!(media_type, "application/json", "PROBE-6");
    let result: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        result,
        json!({
            "echo": {"a": [1, "x"]},
            "steps": 2,
            "inputs": [{"name": "data", "mediaType": "text/plain; charset=utf-8", "size": 5}]
        }),
        "PROBE-6"
    );
    // resultBytes: byte k is k mod 251; `echo` does not matter.
    let (media_type, bytes) = sync_result(
        &server,
        &json!({"params": {"steps": 1, "resultBytes": 600, "echo": 1}}),
    );
    assert_eq!(media_type, "application/octet-stream", "PROBE-6");
    let expected: Vec<u8> = (0..600u32).map(|k| (k % 251) as u8).collect();
    assert_eq!(bytes, expected, "PROBE-6: byte k is k mod 251");
    let (_, bytes) = sync_result(&server, &json!({"params": {"steps": 1, "resultBytes": 0}}));
    assert!(bytes.is_empty(), "PROBE-6");
    // echoInput: exactly the input's bytes and media type; `echo` does not matter.
    let (media_type, bytes) = sync_result(
        &server,
        &json!({"params": {"steps": 1, "echoInput": true, "echo": 1}, "inputs": {"data": {"base64": "AAEC/w==", "mediaType": "image/x-test"}}}),
    );
    assert_eq!(media_type, "image/x-test", "PROBE-6");
    assert_eq!(bytes, [0, 1, 2, 255], "PROBE-6");
    let (media_type, bytes) = sync_result(
        &server,
        &json!({"params": {"steps": 1, "echoInput": true}, "inputs": {"data": {"text": ""}}}),
    );
    assert_eq!(media_type, "text/plain; charset=utf-8", "PROBE-6");
    assert!(bytes.is_empty(), "PROBE-6");
    // echoInput false: the JSON echo.
    let (media_type, _) = sync_result(
        &server,
        &json!({"params": {"steps": 1, "echoInput": false}, "inputs": {"data": {"text": "x"}}}),
    );
    assert_eq!(media_type, "application/json", "PROBE-6");
}

#[test]
fn probe_6_echo_input_without_data_fails_at_once() {
    let server = Server::start();
    let response = server
        .post_json(
            "/v1/operations/probe/jobs",
            &json!({"params": {"steps": 3, "durationMs": 300, "echoInput": true}}),
        )
        .header("Prefer", "wait=30")
        .send()
        .unwrap();
    let location = must_header(&response, "location");
    let failure = problem(response, 422, "plugin-error");
    assert_eq!(failure["code"], "invalid-params", "PROBE-6: {failure}");
    let id = location.rsplit('/').next().unwrap().to_owned();
    let done = await_terminal(&server, &id);
    assert_eq!(done["status"], "failed", "PROBE-6");
    assert_eq!(done["error"]["code"], "invalid-params", "PROBE-6");
    assert_eq!(
        done["progress"]["percent"], 0.0,
        "PROBE-6: before any progress"
    );
    assert_eq!(done["progress"]["stage"], Value::Null, "PROBE-6");
}
