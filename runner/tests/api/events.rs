//! Section 12: server-sent events (EVENTS-1 to EVENTS-9).

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::common::*;

fn without_expiry(doc: &Value) -> Value {
    let mut doc = doc.clone();
    doc["expiresAt"] = Value::Null;
    doc
}

/// Check the EVENTS-3/4/5 rules over a whole stream; return the documents.
fn check_stream(events: &[SseEvent], first_status: Option<&str>) -> Vec<Value> {
    assert!(!events.is_empty(), "EVENTS-2: at least one event");
    let mut ids = HashSet::new();
    let mut docs: Vec<Value> = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let kind = event
            .event
            .as_deref()
            .expect("EVENTS-3: every event has an event field");
        let id = event
            .id
            .as_deref()
            .expect("EVENTS-3: every event has an id field");
        assert!(ids.insert(id.to_owned()), "EVENTS-5: repeated id {id}");
        assert_eq!(event.data.len(), 1, "EVENTS-3: exactly one data line");
        let doc = event.doc();
        if i == 0 {
            assert_eq!(
                kind, "status",
                "EVENTS-2: the first event is a status event"
            );
            if let Some(status) = first_status {
                assert_eq!(doc["status"], status, "EVENTS-2: the current document");
            }
        } else {
            let previous = &docs[i - 1];
            let expected = if doc["status"] != previous["status"] {
                "status"
            } else {
                "progress"
            };
            assert_eq!(kind, expected, "EVENTS-4: {previous} -> {doc}");
            assert_ne!(
                without_expiry(&doc),
                without_expiry(previous),
                "EVENTS-4/EVENTS-5: an event without a change"
            );
        }
        docs.push(doc);
    }
    let last = docs.last().unwrap();
    assert!(
        matches!(
            last["status"].as_str(),
            Some("succeeded" | "failed" | "canceled")
        ),
        "EVENTS-5: the terminal status is sent: {last}"
    );
    assert_eq!(
        events.last().unwrap().event.as_deref(),
        Some("status"),
        "EVENTS-4"
    );
    // Only the last event is terminal (EVENTS-6: the stream ends right after it).
    for doc in &docs[..docs.len() - 1] {
        assert!(
            matches!(doc["status"].as_str(), Some("queued" | "running")),
            "EVENTS-6: {doc}"
        );
    }
    docs
}

#[test]
fn events_1_headers_and_unknown_jobs() {
    let server = Server::start();
    let id = id_of(&probe(&server, quick()));
    await_terminal(&server, &id);
    let response = server.get(&format!("/v1/jobs/{id}/events")).send().unwrap();
    assert_eq!(response.status(), 200, "EVENTS-1");
    assert!(
        must_header(&response, "content-type").starts_with("text/event-stream"),
        "EVENTS-1"
    );
    drop(response);
    problem(
        server.get("/v1/jobs/no-such-job/events").send().unwrap(),
        404,
        "job-not-found",
    );
}

#[test]
fn events_1_cache_control_is_no_store() {
    let server = Server::start();
    let id = id_of(&probe(&server, quick()));
    await_terminal(&server, &id);
    let response = server.get(&format!("/v1/jobs/{id}/events")).send().unwrap();
    assert_eq!(
        must_header(&response, "cache-control"),
        "no-store",
        "EVENTS-1"
    );
}

#[test]
fn events_2_to_6_a_running_job_streams_to_its_end() {
    let server = Server::start();
    let stages: Value = server
        .get("/v1/operations/probe")
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = id_of(&probe(&server, json!({"durationMs": 1000, "steps": 5})));
    let events = open_events(&server, &id).rest();
    let docs = check_stream(&events, None);
    assert_eq!(docs.last().unwrap()["status"], "succeeded");
    assert!(
        docs.iter().any(|d| d["status"] == "running"),
        "progress while running was streamed: {docs:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.event.as_deref() == Some("progress")),
        "EVENTS-4: progress events"
    );
    let mut percent = 0.0;
    for doc in &docs {
        assert_eq!(doc["id"], id.as_str());
        let p = doc["progress"]["percent"].as_f64().unwrap();
        assert!(p >= percent, "JOB-DOC-7");
        percent = p;
        if let Some(stage) = doc["progress"]["stage"].as_str() {
            assert!(
                stages["stages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|s| s == stage),
                "JOB-DOC-6"
            );
        }
    }
    // The last event is the document GET gives.
    let (_, _, got) = get_job(&server, &id);
    assert_eq!(
        without_expiry(docs.last().unwrap()),
        without_expiry(&got),
        "EVENTS-3"
    );
}

#[test]
fn events_2_a_queued_job_starts_with_its_queued_document() {
    let server = Server::start_with(&["--workers", "1"]);
    let blocker = id_of(&probe(&server, long()));
    await_running(&server, &blocker);
    let id = id_of(&probe(&server, json!({"durationMs": 300, "steps": 3})));
    let mut stream = open_events(&server, &id);
    let first = stream.next_event().expect("EVENTS-2");
    assert_eq!(first.event.as_deref(), Some("status"), "EVENTS-2");
    let (_, _, current) = get_job(&server, &id);
    assert_eq!(first.doc(), current, "EVENTS-2: the current document");
    assert_eq!(current["status"], "queued");
    server
        .post_json(&format!("/v1/jobs/{blocker}/cancel"), &json!({}))
        .send()
        .unwrap();
    let mut events = vec![first];
    events.extend(stream.rest());
    let docs = check_stream(&events, Some("queued"));
    assert_eq!(docs.last().unwrap()["status"], "succeeded");
}

#[test]
fn events_6_a_terminal_job_has_exactly_one_event() {
    let server = Server::start();
    for params in [
        quick(),
        json!({"steps": 1, "fail": {"code": "x", "message": "y"}}),
    ] {
        let id = id_of(&probe(&server, params));
        let done = await_terminal(&server, &id);
        let events = open_events(&server, &id).rest();
        assert_eq!(events.len(), 1, "EVENTS-6: {events:?}");
        assert_eq!(events[0].event.as_deref(), Some("status"), "EVENTS-2");
        assert!(events[0].id.is_some(), "EVENTS-3");
        assert_eq!(
            without_expiry(&events[0].doc()),
            without_expiry(&done),
            "EVENTS-2"
        );
    }
    // A canceled one too.
    let id = id_of(&probe(&server, long()));
    server
        .post_json(&format!("/v1/jobs/{id}/cancel"), &json!({}))
        .send()
        .unwrap();
    let events = open_events(&server, &id).rest();
    assert_eq!(events.len(), 1, "EVENTS-6");
    assert_eq!(events[0].doc()["status"], "canceled");
}

#[test]
fn events_8_last_event_id_still_starts_with_the_current_document() {
    let server = Server::start();
    let id = id_of(&probe(&server, json!({"durationMs": 300, "steps": 3})));
    let first = open_events(&server, &id).next_event().unwrap();
    let response = server
        .get(&format!("/v1/jobs/{id}/events"))
        .header("Last-Event-ID", first.id.clone().unwrap())
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let events = Events::new(response).rest();
    check_stream(&events, None);
}

#[test]
fn events_9_deleting_the_job_ends_the_stream() {
    let server = Server::start();
    let id = id_of(&probe(&server, long()));
    await_running(&server, &id);
    let mut stream = open_events(&server, &id);
    let first = stream.next_event().unwrap();
    assert_eq!(first.doc()["status"], "running");
    let deleted = client()
        .delete(server.url(&format!("/v1/jobs/{id}")))
        .send()
        .unwrap();
    assert_eq!(deleted.status(), 200);
    let rest = stream.rest();
    // The stream ended (rest() returned). It SHOULD end with the canceled status.
    let last = rest
        .last()
        .expect("EVENTS-9: the canceled status event (SHOULD)");
    assert_eq!(last.event.as_deref(), Some("status"));
    assert_eq!(last.doc()["status"], "canceled", "EVENTS-9");
    problem(
        server.get(&format!("/v1/jobs/{id}/events")).send().unwrap(),
        404,
        "job-not-found",
    );
}

#[test]
fn events_7_a_quiet_stream_gets_a_comment_at_least_every_15_seconds() {
    let server = Server::start();
    let id = id_of(&probe(&server, json!({"durationMs": 600000, "steps": 1})));
    await_running(&server, &id);
    let response = server.get(&format!("/v1/jobs/{id}/events")).send().unwrap();
    assert_eq!(response.status(), 200);
    let mut last_event = Instant::now();
    for line in BufReader::new(response).lines() {
        let line = line.expect("the stream stays open");
        if line.is_empty() {
            last_event = Instant::now();
        } else if line.starts_with(':') {
            let quiet = last_event.elapsed();
            assert!(
                quiet <= Duration::from_secs(16),
                "EVENTS-7: {quiet:?} without a comment"
            );
            return;
        }
        assert!(
            last_event.elapsed() <= Duration::from_secs(16),
            "EVENTS-7: no comment"
        );
    }
    panic!("EVENTS-7: the stream ended without a comment");
}
