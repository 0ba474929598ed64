//! Section 10: conditional requests and long polling (POLL-1 to POLL-6).

use std::time::{Duration, Instant};

use reqwest::blocking::Response;
use serde_json::{Value, json};

use super::common::*;

fn poll(
    server: &Server,
    id: &str,
    query: &str,
    if_none_match: Option<&str>,
) -> (Response, Duration) {
    let began = Instant::now();
    let mut request = server.get(&format!("/v1/jobs/{id}{query}"));
    if let Some(tag) = if_none_match {
        request = request.header("If-None-Match", tag);
    }
    let response = request.send().unwrap();
    (response, began.elapsed())
}

/// A running job that will not change for a minute: one step of 60 s.
fn quiet_job(server: &Server) -> (String, String) {
    let id = id_of(&probe(server, json!({"durationMs": 60000, "steps": 1})));
    await_running(server, &id);
    // Let the start-of-run progress settle: wait until a 1 s long poll sees no change.
    let etag = eventually("the job to settle", || {
        let (_, etag, _) = get_job(server, &id);
        let etag = etag.unwrap();
        let (response, _) = poll(server, &id, "?waitSeconds=1", Some(&etag));
        (response.status() == 304).then_some(etag)
    });
    (id, etag)
}

#[test]
fn poll_1_if_none_match_answers_304() {
    let server = Server::start();
    let (id, etag) = quiet_job(&server);
    let weak = format!("W/{etag}");
    let listed = format!("\"nope\", {etag}");
    for tag in [etag.as_str(), weak.as_str(), listed.as_str(), "*"] {
        let (response, elapsed) = poll(&server, &id, "", Some(tag));
        assert_eq!(response.status(), 304, "POLL-1: If-None-Match: {tag}");
        assert!(
            elapsed < Duration::from_secs(2),
            "POLL-1: no waiting without waitSeconds"
        );
        assert_eq!(must_header(&response, "etag"), etag, "POLL-1");
        assert_eq!(
            must_header(&response, "cache-control"),
            "no-store",
            "POLL-1"
        );
        retry_after(&response);
        assert!(response.bytes().unwrap().is_empty(), "POLL-1: no body");
    }
    let (response, _) = poll(&server, &id, "", Some("\"something-else\""));
    assert_eq!(response.status(), 200, "POLL-1: no match");
    // A terminal job: 304 without Retry-After.
    server
        .post_json(&format!("/v1/jobs/{id}/cancel"), &json!({}))
        .send()
        .unwrap();
    let (_, etag, _) = get_job(&server, &id);
    let etag = etag.unwrap();
    let (response, _) = poll(&server, &id, "", Some(&etag));
    assert_eq!(response.status(), 304, "POLL-1");
    assert!(
        header(&response, "retry-after").is_none(),
        "POLL-1: Retry-After only while active"
    );
    assert_eq!(must_header(&response, "etag"), etag);
    // `*` on an unknown job is still a 404.
    let (response, _) = poll(&server, "no-such-job", "", Some("*"));
    problem(response, 404, "job-not-found");
}

#[test]
fn poll_2_wait_seconds_must_be_a_non_negative_integer() {
    let server = Server::start_with(&["--max-wait", "1"]);
    let id = id_of(&probe(&server, quick()));
    for value in ["abc", "-1", "1.5", "", "1e2", "%201", "+1"] {
        let (response, _) = poll(&server, &id, &format!("?waitSeconds={value}"), None);
        assert_eq!(response.status(), 400, "POLL-2: waitSeconds={value}");
        problem(response, 400, "malformed-request");
    }
    // Capped to maxWaitSeconds (1 here).
    let (id, etag) = quiet_job(&server);
    let (response, elapsed) = poll(&server, &id, "?waitSeconds=100", Some(&etag));
    assert_eq!(response.status(), 304, "POLL-3");
    assert!(elapsed >= Duration::from_millis(950), "POLL-5: {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(4),
        "POLL-2: the wait is capped to maxWaitSeconds: {elapsed:?}"
    );
    // However large.
    let (response, elapsed) = poll(
        &server,
        &id,
        "?waitSeconds=99999999999999999999999",
        Some(&etag),
    );
    assert_eq!(response.status(), 304, "POLL-2");
    assert!(elapsed < Duration::from_secs(4), "POLL-2: {elapsed:?}");
    let (response, _) = poll(&server, &id, "?waitSeconds=0", Some(&etag));
    assert_eq!(response.status(), 304, "POLL-2: zero is a valid wait");
}

#[test]
fn poll_3_5_a_long_poll_returns_on_change_or_304_after_the_wait() {
    let server = Server::start();
    // Nothing changes: 304 after the wait, not before (POLL-5).
    let (id, etag) = quiet_job(&server);
    let (response, elapsed) = poll(&server, &id, "?waitSeconds=1", Some(&etag));
    assert_eq!(response.status(), 304, "POLL-3");
    assert!(
        elapsed >= Duration::from_millis(950),
        "POLL-5: answered after {elapsed:?}"
    );
    assert_eq!(must_header(&response, "etag"), etag);
    // Every form of a matching If-None-Match waits: `*`, and a list whose
    // matching tag is not the first.
    let listed = format!("\"nope\", {etag}");
    for tag in ["*", listed.as_str()] {
        let (response, elapsed) = poll(&server, &id, "?waitSeconds=1", Some(tag));
        assert_eq!(response.status(), 304, "POLL-3: If-None-Match: {tag}");
        assert!(
            elapsed >= Duration::from_millis(950),
            "POLL-5: If-None-Match: {tag} answered after {elapsed:?}"
        );
    }
    // A change: 200 with the new document within a second of it (POLL-5).
    let waiter = {
        let url = server.url(&format!("/v1/jobs/{id}?waitSeconds=20"));
        let etag = etag.clone();
        std::thread::spawn(move || {
            client()
                .get(url)
                .header("If-None-Match", etag)
                .send()
                .unwrap()
        })
    };
    // While the waiter waits (a second-long poll of our own sees no change in
    // the meantime), cancel the job to change it.
    let (response, _) = poll(&server, &id, "?waitSeconds=1", Some(&etag));
    assert_eq!(response.status(), 304);
    let changed_at = Instant::now();
    let canceled = server
        .post_json(&format!("/v1/jobs/{id}/cancel"), &json!({}))
        .send()
        .unwrap();
    assert_eq!(canceled.status(), 200);
    let response = waiter.join().unwrap();
    let answered = changed_at.elapsed();
    assert_eq!(response.status(), 200, "POLL-3");
    assert_ne!(must_header(&response, "etag"), etag, "POLL-3: a new ETag");
    let doc: Value = response.json().unwrap();
    assert_eq!(doc["status"], "canceled");
    assert!(answered < Duration::from_secs(3), "POLL-5: {answered:?}");
    // A progressing job: the next change comes back quickly.
    let id = id_of(&probe(&server, json!({"durationMs": 2000, "steps": 20})));
    let (_, etag, _) = get_job(&server, &id);
    let (response, elapsed) = poll(
        &server,
        &id,
        "?waitSeconds=20",
        Some(etag.as_deref().unwrap()),
    );
    assert_eq!(response.status(), 200, "POLL-3");
    assert!(elapsed < Duration::from_secs(5), "POLL-5: {elapsed:?}");
    // Not matching: 200 at once.
    let (response, elapsed) = poll(&server, &id, "?waitSeconds=20", Some("\"stale\""));
    assert_eq!(response.status(), 200, "POLL-3");
    assert!(
        elapsed < Duration::from_secs(2),
        "POLL-3: at once: {elapsed:?}"
    );
}

#[test]
fn poll_4_wait_seconds_without_if_none_match_waits_for_the_end() {
    let server = Server::start();
    // Finishes during the wait: answered with the terminal document.
    let id = id_of(&probe(&server, json!({"durationMs": 700, "steps": 7})));
    let (response, _) = poll(&server, &id, "?waitSeconds=20", None);
    let answered = now();
    assert_eq!(response.status(), 200, "POLL-4");
    let doc: Value = response.json().unwrap();
    assert_eq!(doc["status"], "succeeded", "POLL-4");
    let late = answered - time_of(&doc, "finishedAt");
    assert!(
        late < time::Duration::milliseconds(1500),
        "POLL-5: answered {late} after the job finished"
    );
    // Does not finish: 200 with the active document after N seconds.
    let id = id_of(&probe(&server, long()));
    let (response, elapsed) = poll(&server, &id, "?waitSeconds=1", None);
    assert_eq!(response.status(), 200, "POLL-4");
    assert!(elapsed >= Duration::from_millis(950), "POLL-5: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "POLL-4: {elapsed:?}");
    let doc: Value = response.json().unwrap();
    assert!(
        matches!(doc["status"].as_str(), Some("queued" | "running")),
        "{doc}"
    );
    // A terminal job: at once.
    let id = id_of(&probe(&server, quick()));
    await_terminal(&server, &id);
    let (response, elapsed) = poll(&server, &id, "?waitSeconds=20", None);
    assert_eq!(response.status(), 200, "POLL-4");
    assert!(elapsed < Duration::from_secs(2), "POLL-4: {elapsed:?}");
}

#[test]
fn poll_5_a_terminal_job_is_not_answered_before_the_wait() {
    let server = Server::start();
    let id = id_of(&probe(&server, quick()));
    await_terminal(&server, &id);
    let (_, etag, _) = get_job(&server, &id);
    let (response, elapsed) = poll(
        &server,
        &id,
        "?waitSeconds=1",
        Some(etag.as_deref().unwrap()),
    );
    assert_eq!(response.status(), 304, "POLL-3");
    assert!(
        elapsed >= Duration::from_millis(950),
        "POLL-5: answered after {elapsed:?}"
    );
}

#[test]
fn poll_6_a_waiting_request_for_a_deleted_job_is_404() {
    let server = Server::start();
    for with_tag in [true, false] {
        let (id, etag) = quiet_job(&server);
        let quiet_etag = etag.clone();
        let waiter = {
            let url = server.url(&format!("/v1/jobs/{id}?waitSeconds=20"));
            std::thread::spawn(move || {
                let mut request = client().get(url);
                if with_tag {
                    request = request.header("If-None-Match", etag);
                }
                request.send().unwrap()
            })
        };
        let (response, _) = poll(&server, &id, "?waitSeconds=1", Some(&quiet_etag));
        assert_eq!(response.status(), 304);
        let deleted = client()
            .delete(server.url(&format!("/v1/jobs/{id}")))
            .send()
            .unwrap();
        assert_eq!(deleted.status(), 200);
        let response = waiter.join().unwrap();
        problem(response, 404, "job-not-found");
    }
}
