//! Section 5: operations (OP-1 to OP-9), and the bundled `json-compare`.

use serde_json::{Value, json};

use super::common::*;

fn operations(server: &Server) -> Vec<Value> {
    let response = server.get("/v1/operations").send().unwrap();
    assert_eq!(response.status(), 200, "OP-1");
    assert_eq!(
        must_header(&response, "content-type"),
        "application/json",
        "GEN-5"
    );
    let doc: Value = response.json().unwrap();
    doc["operations"]
        .as_array()
        .expect("OP-1: {\"operations\": [...]}")
        .clone()
}

#[test]
fn op_1_to_4_6_7_operation_list() {
    let server = Server::start();
    let ops = operations(&server);
    let names: Vec<&str> = ops.iter().map(|op| op["name"].as_str().unwrap()).collect();
    // OP-1: sorted by name in byte order; OP-3: unique.
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(names, sorted, "OP-1/OP-3: sorted and unique");
    assert!(names.contains(&"probe"), "PROBE-1");
    assert!(names.contains(&"json-compare"));
    for op in &ops {
        let name = op["name"].as_str().unwrap();
        // OP-3
        assert!(
            (1..=64).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "OP-3: {name}"
        );
        // OP-2
        for member in [
            "version",
            "title",
            "description",
            "resultMediaType",
            "pluginSha256",
        ] {
            assert!(op[member].is_string(), "OP-2: {name}.{member}: {op}");
        }
        assert!(
            op["stages"]
                .as_array()
                .unwrap()
                .iter()
                .all(Value::is_string),
            "OP-2"
        );
        assert!(op["paramsSchema"].is_object(), "OP-2/OP-5");
        // OP-4
        let inputs = op["inputs"].as_array().expect("OP-2: inputs");
        let mut input_names: Vec<&str> = Vec::new();
        for input in inputs {
            assert!(
                input["name"].is_string() && input["description"].is_string(),
                "OP-4: {input}"
            );
            assert!(
                input["mediaTypes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(Value::is_string),
                "OP-4"
            );
            assert!(input["required"].is_boolean(), "OP-4: {input}");
            if let Some(max) = input.get("maxBytes") {
                assert!(
                    max.as_u64().is_some(),
                    "OP-4: maxBytes is an integer: {input}"
                );
            }
            input_names.push(input["name"].as_str().unwrap());
        }
        let count = input_names.len();
        input_names.sort_unstable();
        input_names.dedup();
        assert_eq!(
            input_names.len(),
            count,
            "OP-4: unique input names in {name}"
        );
        // OP-6
        let sha = op["pluginSha256"].as_str().unwrap();
        assert!(
            sha.len() == 64
                && sha
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "OP-6: {sha}"
        );
        // OP-7
        let url = server.url(&format!("/v1/operations/{name}"));
        assert_eq!(op["links"]["self"], url, "OP-7");
        assert_eq!(op["links"]["jobs"], format!("{url}/jobs"), "OP-7");
    }
    let compare = ops.iter().find(|op| op["name"] == "json-compare").unwrap();
    let inputs = compare["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 2);
    for input in inputs {
        assert_eq!(input["required"], true);
        assert_eq!(input["mediaTypes"], json!(["application/json"]));
    }
}

#[test]
fn op_8_one_operation_equals_the_listed_one() {
    let server = Server::start();
    for op in operations(&server) {
        let name = op["name"].as_str().unwrap();
        let response = server
            .get(&format!("/v1/operations/{name}"))
            .send()
            .unwrap();
        assert_eq!(response.status(), 200, "OP-8");
        assert_eq!(
            must_header(&response, "content-type"),
            "application/json",
            "GEN-5"
        );
        let one: Value = response.json().unwrap();
        assert_eq!(one, op, "OP-8");
    }
}

#[test]
fn op_9_unknown_operations_are_404() {
    let server = Server::start();
    problem(
        server.get("/v1/operations/no-such-op").send().unwrap(),
        404,
        "operation-not-found",
    );
    problem(
        server.start_job("no-such-op", &json!({})),
        404,
        "operation-not-found",
    );
    // Not even an unsupported body turns this into anything but a 404 (JOB-CREATE-7 (1)).
    let response = client()
        .post(server.url("/v1/operations/no-such-op/jobs"))
        .header("content-type", "text/plain")
        .header("Prefer", "wait=soon")
        .body("x")
        .send()
        .unwrap();
    problem(response, 404, "operation-not-found");
}

#[test]
fn op_5_params_schema_validates_params() {
    // The probe's schema is closed (additionalProperties: false) and types its
    // members; the server validates with it unchanged.
    let server = Server::start();
    let op: Value = server
        .get("/v1/operations/probe")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(op["paramsSchema"]["type"], "object", "OP-5");
    assert_eq!(op["paramsSchema"]["additionalProperties"], false, "OP-5");
    let p = problem(
        server.start_job("probe", &json!({"params": {"notAParam": 1}})),
        422,
        "invalid-params",
    );
    assert!(
        p["errors"].as_array().is_some_and(|e| !e.is_empty()),
        "JOB-CREATE-12: {p}"
    );
    // json-compare: ignoreArrayOrder is a boolean.
    let p = problem(
        server.start_job(
            "json-compare",
            &json!({"inputs": {"left": {"json": 1}, "right": {"json": 1}}, "params": {"ignoreArrayOrder": "yes"}}),
        ),
        422,
        "invalid-params",
    );
    assert_eq!(
        p["errors"][0]["pointer"], "/ignoreArrayOrder",
        "JOB-CREATE-12: {p}"
    );
}

#[test]
fn json_compare_compares_documents() {
    let server = Server::start();
    let run = |left: Value, right: Value, params: Value| -> Value {
        let response = server
            .post_json(
                "/v1/operations/json-compare/jobs",
                &json!({"inputs": {"left": {"json": left}, "right": {"json": right}}, "params": params}),
            )
            .header("Prefer", "wait=30")
            .send()
            .unwrap();
        assert_eq!(response.status(), 200, "SYNC-3");
        assert_eq!(
            must_header(&response, "content-type"),
            "application/json",
            "PLUGIN-3"
        );
        response.json().unwrap()
    };
    let same = run(json!({"a": [1, 2]}), json!({"a": [1, 2]}), json!({}));
    assert_eq!(same["equal"], true, "{same}");
    let reordered = run(json!({"a": [1, 2]}), json!({"a": [2, 1]}), json!({}));
    assert_eq!(reordered["equal"], false, "{reordered}");
    assert!(
        !reordered["patch"].as_array().unwrap().is_empty(),
        "{reordered}"
    );
    let ignored = run(
        json!({"a": [1, 2]}),
        json!({"a": [2, 1]}),
        json!({"ignoreArrayOrder": true}),
    );
    assert_eq!(ignored["equal"], true, "{ignored}");
}

#[test]
fn plugin_1_a_duplicate_operation_is_not_offered_and_the_others_are() {
    let dir = tempfile::tempdir().unwrap();
    let bundled = std::path::Path::new(env!("OUT_DIR")).join("bundled/probe.wasm");
    std::fs::copy(&bundled, dir.path().join("second-probe.wasm")).unwrap();
    let server = Server::start_with(&["--plugins-dir", dir.path().to_str().unwrap()]);
    let names: Vec<String> = operations(&server)
        .iter()
        .map(|op| op["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        names.contains(&"probe".to_owned()) && names.contains(&"json-compare".to_owned()),
        "PLUGIN-1: {names:?}"
    );
    assert_eq!(names.iter().filter(|n| *n == "probe").count(), 1, "OP-3");
    let done = await_terminal(&server, &id_of(&probe(&server, quick())));
    assert_eq!(
        done["status"], "succeeded",
        "PLUGIN-1: the others keep serving"
    );
}
