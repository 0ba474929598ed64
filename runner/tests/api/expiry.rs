//! Section 17: expiry (EXPIRY-1 to EXPIRY-6; EXPIRY-7, deadlines across a
//! restart, is covered by tests/restart.rs), with IDEM-8 for expired jobs.
//!
//! These tests are about the passing of time, so they wait for the wall clock
//! to pass deadlines read from the documents (`expiresAt`, `finishedAt`), and
//! observe jobs only through requests that are not uses (the list, the log)
//! unless a use is the point.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::common::*;

/// A finished quick job with this TTL, observed without using it.
fn finished_with_ttl(server: &Server, ttl: u64, key: Option<&str>) -> (String, Value) {
    let mut request = server.post_json(
        "/v1/operations/probe/jobs",
        &json!({"params": quick(), "ttlSeconds": ttl}),
    );
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().unwrap();
    assert_eq!(response.status(), 202);
    let doc: Value = response.json().unwrap();
    assert!(doc["expiresAt"].is_null(), "EXPIRY-1");
    let id = id_of(&doc);
    let done = await_terminal_unused(server, &id);
    (id, done)
}

fn expires_at(doc: &Value) -> OffsetDateTime {
    time_of(doc, "expiresAt")
}

/// The status of a request that names the job but is not a use (the log).
fn log_status(server: &Server, id: &str) -> u16 {
    server
        .get(&format!("/v1/jobs/{id}/log"))
        .send()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn expiry_1_2_5_6_a_job_expires_ttl_seconds_after_it_finished() {
    let server = Server::start();
    let (id, done) = finished_with_ttl(&server, 2, None);
    let deadline = expires_at(&done);
    // EXPIRY-2
    assert_eq!(
        deadline,
        time_of(&done, "finishedAt") + Duration::from_secs(2),
        "EXPIRY-2"
    );
    // Still there before the deadline.
    assert!(
        now() + Duration::from_millis(500) < deadline,
        "the test machine is too slow to see the job before it expires"
    );
    assert_eq!(log_status(&server, &id), 200, "before expiresAt");
    assert!(listed(&server, &id).is_some(), "before expiresAt");
    let dir = server.data_dir.join("jobs").join(&id);
    assert!(dir.exists());
    // From expiresAt on: 404 (EXPIRY-5). Poll with a request that is not a use.
    let poll_deadline = Instant::now() + DEADLINE;
    loop {
        let asked = now();
        let status = log_status(&server, &id);
        let answered = now();
        if status == 404 {
            assert!(
                answered >= deadline,
                "EXPIRY-5: 404 at {answered} before expiresAt {deadline}"
            );
            break;
        }
        assert_eq!(status, 200);
        assert!(
            asked < deadline + Duration::from_millis(5),
            "EXPIRY-5: 200 at {asked}, after expiresAt {deadline}"
        );
        assert!(Instant::now() < poll_deadline, "the job never expired");
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = server.url(&format!("/v1/jobs/{id}"));
    problem(client().get(&url).send().unwrap(), 404, "job-not-found");
    problem(
        client().get(format!("{url}/result")).send().unwrap(),
        404,
        "job-not-found",
    );
    problem(
        client().get(format!("{url}/events")).send().unwrap(),
        404,
        "job-not-found",
    );
    problem(
        client().post(format!("{url}/cancel")).send().unwrap(),
        404,
        "job-not-found",
    );
    problem(client().delete(&url).send().unwrap(), 404, "job-not-found");
    assert!(listed(&server, &id).is_none(), "EXPIRY-5: not listed");
    // EXPIRY-6: its files are removed (within 60 s; this server sweeps every second).
    eventually("EXPIRY-6: the job's directory to be removed", || {
        (!dir.exists()).then_some(())
    });
}

#[test]
fn expiry_6_an_untouched_job_is_swept() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start_with(&["--output-root", root.path().to_str().unwrap()]);
    let doc = server.started(
        "probe",
        &json!({"params": quick(), "ttlSeconds": 1, "output": {"file": "copy.json"}}),
    );
    let id = id_of(&doc);
    let done = await_terminal_unused(&server, &id);
    let dir = server.data_dir.join("jobs").join(&id);
    assert!(dir.exists());
    until(expires_at(&done));
    // No request names the job from here on.
    eventually(
        "EXPIRY-6: the expired job's directory to be removed",
        || (!dir.exists()).then_some(()),
    );
    assert!(listed(&server, &id).is_none(), "EXPIRY-5");
    assert!(
        root.path().join("copy.json").exists(),
        "EXPIRY-6: the output copy is kept"
    );
}

#[test]
fn expiry_3_uses_move_the_deadline() {
    let server = Server::start();
    let (id, done) = finished_with_ttl(&server, 2, None);
    let first_deadline = expires_at(&done);
    let finished = time_of(&done, "finishedAt");
    // Let more than a second pass, so that the move is visible (the server
    // may skip moves of less than a second).
    until(finished + Duration::from_millis(1100));
    let before = now();
    let response = server.get(&format!("/v1/jobs/{id}")).send().unwrap();
    let after = now();
    assert_eq!(response.status(), 200);
    let etag = header(&response, "etag");
    let doc: Value = response.json().unwrap();
    let moved = expires_at(&doc);
    assert!(moved > first_deadline, "EXPIRY-3: a GET moves expiresAt");
    assert!(
        moved >= before + Duration::from_secs(2) - Duration::from_millis(1)
            && moved <= after + Duration::from_secs(2),
        "EXPIRY-3: expiresAt {moved} is not the time of the use plus ttlSeconds ({before}..{after})"
    );
    assert_eq!(
        listed(&server, &id).unwrap()["expiresAt"],
        doc["expiresAt"],
        "EXPIRY-3: kept"
    );
    assert_eq!(
        etag,
        get_job(&server, &id).1,
        "JOB-DOC-12: expiresAt is not part of the ETag"
    );
    // The job outlives its first deadline.
    until(first_deadline + Duration::from_millis(100));
    assert_eq!(
        log_status(&server, &id),
        200,
        "EXPIRY-3: the job outlived its first deadline"
    );
    // A 304 is a use too; and a result read.
    for what in ["304", "result", "head"] {
        let listed_before = expires_at(&listed(&server, &id).unwrap());
        until(listed_before - Duration::from_millis(900));
        let before = now();
        let status = match what {
            "304" => server
                .get(&format!("/v1/jobs/{id}"))
                .header("If-None-Match", etag.clone().unwrap())
                .send()
                .unwrap()
                .status(),
            "result" => server
                .get(&format!("/v1/jobs/{id}/result"))
                .send()
                .unwrap()
                .status(),
            _ => client()
                .head(server.url(&format!("/v1/jobs/{id}/result")))
                .send()
                .unwrap()
                .status(),
        };
        assert!(matches!(status.as_u16(), 200 | 304), "{what}: {status}");
        let after = listed(&server, &id).expect("EXPIRY-3: still there");
        let moved = expires_at(&after);
        assert!(
            moved > listed_before,
            "EXPIRY-3: a {what} use moves expiresAt"
        );
        assert!(moved >= before + Duration::from_secs(1), "EXPIRY-3: {what}");
    }
}

#[test]
fn expiry_1_an_active_job_does_not_expire() {
    let server = Server::start();
    let doc = server.started(
        "probe",
        &json!({"params": {"durationMs": 1800, "steps": 2}, "ttlSeconds": 1}),
    );
    let id = id_of(&doc);
    until(time_of(&doc, "createdAt") + Duration::from_millis(1300));
    let running = listed(&server, &id).expect("EXPIRY-1: an active job does not expire");
    assert!(
        matches!(running["status"].as_str(), Some("queued" | "running")),
        "{running}"
    );
    assert!(running["expiresAt"].is_null(), "EXPIRY-1");
    let done = await_terminal_unused(&server, &id);
    assert_eq!(
        expires_at(&done),
        time_of(&done, "finishedAt") + Duration::from_secs(1),
        "EXPIRY-2"
    );
}

#[test]
fn expiry_4_list_log_and_refused_cancel_are_not_uses() {
    let server = Server::start();
    let (id, done) = finished_with_ttl(&server, 3600, None);
    let deadline = done["expiresAt"].clone();
    until(time_of(&done, "finishedAt") + Duration::from_millis(1200));
    list(&server, "");
    list(&server, "?status=succeeded&limit=1");
    assert_eq!(log_status(&server, &id), 200);
    let response = server
        .post_json(&format!("/v1/jobs/{id}/cancel"), &json!({}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(
        listed(&server, &id).unwrap()["expiresAt"],
        deadline,
        "EXPIRY-4"
    );
}

#[test]
fn expiry_4_events_are_not_a_use() {
    let server = Server::start();
    let (id, done) = finished_with_ttl(&server, 3600, None);
    until(time_of(&done, "finishedAt") + Duration::from_millis(1200));
    assert_eq!(open_events(&server, &id).rest().len(), 1);
    assert_eq!(
        listed(&server, &id).unwrap()["expiresAt"],
        done["expiresAt"],
        "EXPIRY-4"
    );
}

#[test]
fn expiry_4_an_error_answer_is_not_a_use() {
    let server = Server::start();
    let failed = id_of(&server.started(
        "probe",
        &json!({"params": {"steps": 1, "fail": {"code": "x", "message": "y"}}, "ttlSeconds": 3600}),
    ));
    let done = await_terminal_unused(&server, &failed);
    until(time_of(&done, "finishedAt") + Duration::from_millis(1200));
    let response = server
        .get(&format!("/v1/jobs/{failed}/result"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 409);
    let response = client()
        .head(server.url(&format!("/v1/jobs/{failed}/result")))
        .send()
        .unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(
        listed(&server, &failed).unwrap()["expiresAt"],
        done["expiresAt"],
        "EXPIRY-4: 409"
    );
    let (id, done) = finished_with_ttl(&server, 3600, None);
    until(time_of(&done, "finishedAt") + Duration::from_millis(1200));
    let response = server
        .get(&format!("/v1/jobs/{id}/result"))
        .header("Range", "bytes=5000-")
        .send()
        .unwrap();
    assert_eq!(response.status(), 416);
    assert_eq!(
        listed(&server, &id).unwrap()["expiresAt"],
        done["expiresAt"],
        "EXPIRY-4: 416"
    );
}

#[test]
fn idem_8_the_key_is_free_after_expiry() {
    let server = Server::start();
    let (id, done) = finished_with_ttl(&server, 1, Some("expiring-key"));
    until(expires_at(&done));
    eventually("the job to expire", || {
        (log_status(&server, &id) == 404).then_some(())
    });
    let response = server
        .post_json(
            "/v1/operations/probe/jobs",
            &json!({"params": {"steps": 2}}),
        )
        .header("Idempotency-Key", "expiring-key")
        .send()
        .unwrap();
    assert_eq!(response.status(), 202, "IDEM-8");
    assert!(header(&response, "idempotent-replayed").is_none(), "IDEM-8");
}
