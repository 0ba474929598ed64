//! The `callback` member of a start request: its checks, its defaults (and the
//! server options that set them), and the service document.

use std::time::Duration;

use serde_json::{Value, json};

use super::common::*;

fn service_document(server: &Server) -> Value {
    let response = server.get("/v1").send().unwrap();
    assert_eq!(response.status(), 200);
    response.json().unwrap()
}

#[test]
fn callback_6_the_service_document_claims_callbacks_with_their_limits() {
    let server = Server::start();
    let doc = service_document(&server);
    let classes = doc["conformanceClasses"].as_array().unwrap();
    assert!(classes.contains(&json!("callbacks")), "{doc}");
    assert_eq!(
        doc["limits"]["callbacks"],
        json!({
            "maxAttempts": 20,
            "defaultMaxAttempts": 5,
            "minIntervalSeconds": 1,
            "maxIntervalSeconds": 3600,
            "defaultIntervalSeconds": 5,
            "timeoutSeconds": 10
        }),
        "{doc}"
    );
}

#[test]
fn callback_4_a_callback_without_retry_takes_the_server_defaults() {
    let receiver = Receiver::start();
    receiver.script("/defaults", [status(500), status(200)]);
    let server = Server::start_with(&[
        "--allow-private-networks",
        "--callback-max-attempts",
        "7",
        "--callback-interval",
        "2",
        "--callback-timeout",
        "3",
    ]);
    let limits = &service_document(&server)["limits"]["callbacks"];
    assert_eq!(limits["defaultMaxAttempts"], 7, "{limits}");
    assert_eq!(limits["defaultIntervalSeconds"], 2, "{limits}");
    assert_eq!(limits["timeoutSeconds"], 3, "{limits}");

    let doc = server.started(
        "probe",
        &with_callback(quick(), json!({"url": receiver.url("/defaults")})),
    );
    assert_eq!(doc["callback"]["maxAttempts"], 7, "{doc}");
    assert_eq!(doc["callback"]["method"], "POST", "{doc}");
    let id = id_of(&doc);
    let done = await_callback(&server, &id, "delivered");
    assert_eq!(done["callback"]["attempts"], 2, "{done}");
    let attempts = receiver.attempts_to("/defaults");
    assert_eq!(attempts.len(), 2);
    // The first wait is the initial interval, 2 s from --callback-interval.
    assert_gap_at_least(gaps(&attempts)[0], Duration::from_secs(2), 1);
}

#[test]
fn callback_2_3_24_callback_members_are_checked() {
    let receiver = Receiver::start();
    let server = Server::start_with(LOOPBACK);
    let url = receiver.url("/checked");
    let send = |callback: Value| server.start_job("probe", &with_callback(quick(), callback));

    // CALLBACK-2: the shape, 400 malformed-request.
    for callback in [
        json!(url),
        json!([url]),
        json!({}),
        json!({"method": "POST"}),
        json!({"url": 42}),
        json!({"url": url, "headers": {"x": "y"}}),
        json!({"url": url, "retry": {"maxAttempts": 2, "jitter": true}}),
        json!({"url": url, "method": 1}),
        json!({"url": url, "secret": 12345678}),
        json!({"url": url, "retry": 3}),
        json!({"url": url, "retry": {"maxAttempts": "three"}}),
        json!({"url": url, "retry": {"maxAttempts": 2.5}}),
        json!({"url": url, "retry": {"initialIntervalSeconds": "1"}}),
        json!({"url": url, "retry": {"backoff": 2}}),
    ] {
        let problem = assert_problem(send(callback.clone()), 400, "malformed-request");
        assert!(problem["detail"].is_string(), "{callback}: {problem}");
    }
    // CALLBACK-3: the values, 422 invalid-request.
    let secret_in_problem = "whsec_c2VjcmV0LWluLWEtcHJvYmxlbQ==";
    for callback in [
        json!({"url": url, "method": "PUT"}),
        json!({"url": url, "method": "post"}),
        json!({"url": url, "retry": {"maxAttempts": 0}}),
        json!({"url": url, "retry": {"maxAttempts": 21}}),
        json!({"url": url, "retry": {"maxAttempts": -1}}),
        json!({"url": url, "retry": {"initialIntervalSeconds": 0}}),
        json!({"url": url, "retry": {"initialIntervalSeconds": 3601}}),
        json!({"url": url, "retry": {"backoff": "linear"}}),
        json!({"url": url, "secret": "7chars!"}),
        json!({"url": url, "secret": "x".repeat(513)}),
        json!({"url": url, "secret": "whsec_not*base64!"}),
        json!({"url": url, "secret": "whsec_c2VjcmV0MQ"}), // unpadded
        // CALLBACK-24: the secret is not echoed in the problem either.
        json!({"url": url, "secret": secret_in_problem, "method": "PATCH"}),
    ] {
        let problem = assert_problem(send(callback.clone()), 422, "invalid-request");
        assert!(problem["detail"].is_string(), "{callback}: {problem}");
        assert_no_secret(&problem, secret_in_problem);
    }
    assert!(list(&server).is_empty(), "refused starts made jobs");

    // The bounds themselves are accepted.
    for callback in [
        json!({"url": url, "method": "GET", "secret": "8 chars!",
               "retry": {"maxAttempts": 20, "initialIntervalSeconds": 3600, "backoff": "exponential"}}),
        json!({"url": url, "secret": "y".repeat(512),
               "retry": {"maxAttempts": 1, "initialIntervalSeconds": 1, "backoff": "fixed"}}),
    ] {
        let doc = server.started("probe", &with_callback(quick(), callback.clone()));
        assert_eq!(
            doc["callback"]["maxAttempts"], callback["retry"]["maxAttempts"],
            "{doc}"
        );
        assert_no_secret(&doc, callback["secret"].as_str().unwrap());
    }
}
