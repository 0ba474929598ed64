//! Delivery (spec section 24.3 to 24.8): attempts, retries and their spacing,
//! the outcome of each answer, the event body and headers, GET delivery,
//! `Retry-After`, the job document's `callback` member, expiry and the job log.

use std::time::Duration;

use serde_json::{Value, json};
use time::macros::format_description;

use super::common::*;

/// `longrun/<version>`.
fn user_agent() -> String {
    format!("longrun/{}", env!("CARGO_PKG_VERSION"))
}

/// CALLBACK-8, CALLBACK-10: the headers and body every POST attempt of job
/// `id` must carry; `base` is where the job's URLs must point.
fn assert_event_attempt(attempt: &Attempt, id: &str, kind: &str, base: &str) -> Value {
    assert_eq!(attempt.method, "POST", "CALLBACK-4: the default method");
    assert_eq!(
        attempt.must_header("webhook-id"),
        format!("msg_{id}"),
        "CALLBACK-10"
    );
    let media_type = attempt.must_header("content-type");
    assert_eq!(
        media_type.split(';').next().unwrap().trim(),
        "application/json",
        "CALLBACK-8: Content-Type"
    );
    assert_eq!(attempt.must_header("user-agent"), user_agent());
    let stamp: i64 = attempt
        .must_header("webhook-timestamp")
        .parse()
        .expect("webhook-timestamp is unix seconds");
    let arrived = attempt.wall.unix_timestamp();
    assert!(
        (stamp - arrived).abs() <= 5,
        "CALLBACK-10: webhook-timestamp {stamp} is not the time of this attempt ({arrived})"
    );
    let event = attempt.json();
    assert_gen_2(&event["timestamp"]);
    assert_eq!(event["type"], format!("job.{kind}"), "{event}");
    assert_eq!(event["data"]["id"], id, "{event}");
    assert_eq!(event["data"]["status"], kind, "{event}");
    assert_eq!(
        time_value(&event["timestamp"]),
        time_value(&event["data"]["finishedAt"]),
        "CALLBACK-8: the event timestamp is finishedAt: {event}"
    );
    assert_eq!(
        event["data"]["links"]["self"],
        format!("{base}/v1/jobs/{id}"),
        "CALLBACK-8: absolute URLs in data"
    );
    event
}

/// GEN-2: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn assert_gen_2(value: &Value) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{value} is not a string"));
    assert!(
        text.len() == 24 && text.ends_with('Z') && text.as_bytes()[19] == b'.',
        "GEN-2: `{text}`"
    );
    parse_time(text);
}

#[test]
fn acceptance_1_500_500_200_is_three_attempts_with_one_webhook_id_spaced_by_the_interval() {
    let receiver = Receiver::start();
    receiver.script("/hook", [status(500), status(500), status(200)]);
    let server = Server::start_with(LOOPBACK);
    let url = receiver.url("/hook");
    let submitted = server.started(
        "probe",
        &with_callback(quick(), json!({"url": url, "retry": fixed(5, 1)})),
    );
    let id = id_of(&submitted);

    // The member from submission on.
    let callback = callback_of(&submitted);
    assert_eq!(callback["url"], url.as_str(), "{callback}");
    assert_eq!(callback["method"], "POST", "{callback}");
    assert_eq!(callback["state"], "pending", "{callback}");
    assert_eq!(callback["attempts"], 0, "{callback}");
    assert_eq!(callback["maxAttempts"], 5, "{callback}");
    assert!(callback["lastStatusCode"].is_null(), "{callback}");
    assert!(callback["lastError"].is_null(), "{callback}");

    // Between attempts: still pending, the last answer and the next time shown.
    let after_first = poll_job(&server, &id, "after its first attempt", |doc| {
        doc["callback"]["attempts"].as_u64() >= Some(1)
    });
    let first = receiver.await_attempts("/hook", 1)[0].clone();
    if after_first["callback"]["attempts"] == 1 {
        let callback = callback_of(&after_first);
        assert_eq!(callback["state"], "pending", "{callback}");
        assert_eq!(callback["lastStatusCode"], 500, "{callback}");
        assert!(callback["lastError"].is_null(), "CALLBACK-23: {callback}");
        let next = time_value(&callback["nextAttemptAt"]);
        assert!(
            next + SLACK >= first.wall + Duration::from_secs(1),
            "nextAttemptAt {next} is less than the interval after the first attempt ({})",
            first.wall
        );
    }

    let done = await_callback(&server, &id, "delivered");
    assert_eq!(
        done["status"], "succeeded",
        "delivery never changes the job"
    );
    let callback = callback_of(&done);
    assert_eq!(callback["attempts"], 3, "{callback}");
    assert_eq!(callback["maxAttempts"], 5, "{callback}");
    assert_eq!(callback["lastStatusCode"], 200, "{callback}");
    assert!(callback["lastError"].is_null(), "CALLBACK-23: {callback}");
    assert!(callback["nextAttemptAt"].is_null(), "{callback}");

    // Exactly three, and no more after the delivery ended.
    holds_for(
        "no attempt after the 200",
        Duration::from_millis(1500),
        || receiver.attempts_to("/hook").len() <= 3,
    );
    let attempts = receiver.attempts_to("/hook");
    assert_eq!(attempts.len(), 3, "attempts: {attempts:#?}");
    let events: Vec<Value> = attempts
        .iter()
        .map(|a| assert_event_attempt(a, &id, "succeeded", &server.base))
        .collect();
    assert_eq!(
        time_value(&events[0]["timestamp"]),
        time_value(&done["finishedAt"])
    );
    assert!(
        attempts.iter().all(|a| a.body == attempts[0].body),
        "the body is identical on every attempt"
    );
    assert!(
        attempts
            .iter()
            .all(|a| a.header("webhook-signature").is_none()),
        "no secret set: no signature"
    );
    for (n, gap) in gaps(&attempts).into_iter().enumerate() {
        assert_gap_at_least(gap, Duration::from_secs(1), n + 1);
    }
}

#[test]
fn callback_26_the_job_log_has_a_line_per_attempt() {
    let receiver = Receiver::start();
    receiver.script("/logged", [status(500), status(200)]);
    let server = Server::start_with(LOOPBACK);
    let url = receiver.url("/logged");
    let id = quick_with(&server, json!({"url": url, "retry": fixed(3, 1)}));
    await_callback(&server, &id, "delivered");
    let lines = callback_log_lines(&server, &id, 2);
    assert_eq!(
        lines.len(),
        2,
        "CALLBACK-26: one line per attempt: {lines:#?}"
    );
    // "<time> CALLBACK attempt <n> of <max> to <url>: <outcome>; <next>"
    let message = |line: &str| {
        let (time, rest) = line.split_once(' ').unwrap();
        assert_gen_2(&json!(time));
        rest.strip_prefix("CALLBACK ")
            .unwrap_or_else(|| panic!("CALLBACK-26: level CALLBACK: {line}"))
            .to_owned()
    };
    let first = message(&lines[0]);
    let next = first
        .strip_prefix(&format!(
            "attempt 1 of 3 to {url}: answered 500; next attempt at "
        ))
        .unwrap_or_else(|| panic!("CALLBACK-26: {}", lines[0]));
    assert_gen_2(&json!(next));
    assert_eq!(
        message(&lines[1]),
        format!("attempt 2 of 3 to {url}: answered 200; delivery delivered"),
        "CALLBACK-26"
    );
    // The other endings.
    receiver.script("/gone", [status(410)]);
    let gone = quick_with(
        &server,
        json!({"url": receiver.url("/gone"), "retry": fixed(3, 1)}),
    );
    let refused_url = format!("http://127.0.0.1:{}/x", closed_port());
    let refused = quick_with(&server, json!({"url": refused_url, "retry": fixed(1, 1)}));
    let line = &callback_log_lines(&server, &gone, 1)[0];
    assert_eq!(
        message(line),
        format!(
            "attempt 1 of 3 to {}: answered 410; delivery stopped",
            receiver.url("/gone")
        ),
        "CALLBACK-26"
    );
    let line = message(&callback_log_lines(&server, &refused, 1)[0]);
    assert!(
        line.starts_with(&format!("attempt 1 of 1 to {refused_url}: "))
            && line.ends_with("; delivery failed")
            && !line.contains("answered"),
        "CALLBACK-26: an error is described: {line}"
    );
}

#[test]
fn callback_4_16_exponential_backoff_is_the_default_and_doubles_the_wait() {
    let receiver = Receiver::start();
    receiver.script("/exp", [status(500), status(502), status(204)]);
    let server = Server::start_with(LOOPBACK);
    let id = quick_with(
        &server,
        json!({"url": receiver.url("/exp"), "retry": {"maxAttempts": 4, "initialIntervalSeconds": 1}}),
    );
    let done = await_callback(&server, &id, "delivered");
    assert_eq!(done["callback"]["attempts"], 3, "{done}");
    assert_eq!(done["callback"]["maxAttempts"], 4, "{done}");
    assert_eq!(done["callback"]["lastStatusCode"], 204, "{done}");
    let attempts = receiver.attempts_to("/exp");
    assert_eq!(attempts.len(), 3);
    let gaps = gaps(&attempts);
    assert_gap_at_least(gaps[0], Duration::from_secs(1), 1);
    assert_gap_at_least(gaps[1], Duration::from_secs(2), 2);
}

#[test]
fn acceptance_1_410_stops_after_one_attempt() {
    let receiver = Receiver::start();
    receiver.script("/gone", [status(410)]);
    let server = Server::start_with(LOOPBACK);
    let id = quick_with(
        &server,
        json!({"url": receiver.url("/gone"), "retry": fixed(5, 1)}),
    );
    let done = await_callback(&server, &id, "stopped");
    let callback = callback_of(&done);
    assert_eq!(callback["attempts"], 1, "{callback}");
    assert_eq!(callback["lastStatusCode"], 410, "{callback}");
    assert!(callback["nextAttemptAt"].is_null(), "{callback}");
    assert_eq!(done["status"], "succeeded");
    // Longer than the 1 s interval: no second attempt.
    holds_for(
        "one attempt only after a 410",
        Duration::from_millis(1800),
        || receiver.attempts_to("/gone").len() == 1,
    );
    assert_eq!(job(&server, &id)["callback"]["state"], "stopped");
}

#[test]
fn callback_14_used_up_attempts_fail_the_delivery_whatever_the_error() {
    let receiver = Receiver::start();
    receiver.script("/bad", [status(500), status(500), status(200)]);
    let server = Server::start_with(LOOPBACK);
    // URL-GUARD-8: a redirect is a failed attempt, and is not followed.
    receiver.script(
        "/moved",
        [
            status(302).header("Location", &receiver.url("/elsewhere")),
            status(307).header("Location", "/elsewhere"),
        ],
    );
    let redirected = quick_with(
        &server,
        json!({"url": receiver.url("/moved"), "retry": fixed(2, 1)}),
    );
    // Error answers.
    let answered = quick_with(
        &server,
        json!({"url": receiver.url("/bad"), "retry": fixed(2, 1)}),
    );
    // Connection refused.
    let refused = quick_with(
        &server,
        json!({"url": format!("http://127.0.0.1:{}/x", closed_port()), "retry": fixed(2, 1)}),
    );

    let done = await_callback(&server, &answered, "failed");
    let callback = callback_of(&done);
    assert_eq!(callback["attempts"], 2, "{callback}");
    assert_eq!(callback["lastStatusCode"], 500, "{callback}");
    assert!(callback["lastError"].is_null(), "CALLBACK-23: {callback}");
    assert!(callback["nextAttemptAt"].is_null(), "{callback}");
    assert_eq!(
        done["status"], "succeeded",
        "CALLBACK-19: delivery never changes the job"
    );

    let done = await_callback(&server, &redirected, "failed");
    assert_eq!(done["callback"]["attempts"], 2, "{done}");
    assert_eq!(done["callback"]["lastStatusCode"], 307, "{done}");
    assert!(
        receiver.attempts_to("/elsewhere").is_empty(),
        "URL-GUARD-8: redirects are not followed"
    );

    let done = await_callback(&server, &refused, "failed");
    let callback = callback_of(&done);
    assert_eq!(callback["attempts"], 2, "{callback}");
    assert!(callback["lastStatusCode"].is_null(), "{callback}");
    assert!(
        callback["lastError"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "a connection error is named: {callback}"
    );
    assert!(callback["nextAttemptAt"].is_null(), "{callback}");

    holds_for(
        "no attempt past maxAttempts",
        Duration::from_millis(1500),
        || receiver.attempts_to("/bad").len() == 2,
    );
}

#[test]
fn acceptance_1_get_delivery_carries_the_job_id() {
    let receiver = Receiver::start();
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let server = Server::start_with(LOOPBACK);
    let plain = quick_with(
        &server,
        json!({"url": receiver.url("/get"), "method": "GET"}),
    );
    let queried = quick_with(
        &server,
        json!({"url": receiver.url("/get-q?x=1&y=two"), "method": "GET", "secret": secret}),
    );

    let done = await_callback(&server, &plain, "delivered");
    assert_eq!(done["callback"]["method"], "GET", "{done}");
    let attempt = &receiver.await_attempts("/get", 1)[0];
    assert_eq!(attempt.method, "GET");
    assert_eq!(attempt.target, format!("/get?jobId={plain}"));
    assert!(attempt.body.is_empty(), "GET sends no body");
    assert_eq!(attempt.must_header("webhook-id"), format!("msg_{plain}"));
    assert!(attempt.header("webhook-timestamp").is_some());

    await_callback(&server, &queried, "delivered");
    let attempt = &receiver.await_attempts("/get-q", 1)[0];
    assert_eq!(attempt.method, "GET");
    assert_eq!(attempt.target, format!("/get-q?x=1&y=two&jobId={queried}"));
    assert!(attempt.body.is_empty(), "GET sends no body");
    // The signed string has an empty body.
    standardwebhooks::Webhook::new(secret)
        .unwrap()
        .verify(b"", &attempt.headers)
        .unwrap_or_else(|e| panic!("GET signature does not verify: {e}: {attempt:?}"));
}

/// An HTTP date (RFC 9110 IMF-fixdate) `seconds` from now.
fn http_date_in(seconds: u64) -> String {
    let at = time::OffsetDateTime::now_utc() + Duration::from_secs(seconds);
    at.format(format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    ))
    .unwrap()
}

#[test]
fn acceptance_1_retry_after_is_honoured_in_both_forms() {
    let receiver = Receiver::start();
    let server = Server::start_with(LOOPBACK);
    receiver.script(
        "/delta",
        [status(503).header("Retry-After", "3"), status(200)],
    );
    let delta = quick_with(
        &server,
        json!({"url": receiver.url("/delta"), "retry": fixed(3, 1)}),
    );
    // The date is whole seconds, so it is between 3 and 4 s away when sent.
    receiver.script(
        "/date",
        [
            status(429).header("Retry-After", &http_date_in(4)),
            status(200),
        ],
    );
    let date = quick_with(
        &server,
        json!({"url": receiver.url("/date"), "retry": fixed(3, 1)}),
    );

    // An invalid Retry-After is ignored: the 1 s schedule applies.
    receiver.script(
        "/invalid",
        [status(503).header("Retry-After", "soon"), status(200)],
    );
    let invalid = quick_with(
        &server,
        json!({"url": receiver.url("/invalid"), "retry": fixed(3, 1)}),
    );

    let first = receiver.await_attempts("/delta", 1)[0].clone();
    let waiting = poll_job(&server, &delta, "after its first attempt", |doc| {
        doc["callback"]["attempts"].as_u64() >= Some(1)
    });
    if waiting["callback"]["attempts"] == 1 {
        let next = time_value(&waiting["callback"]["nextAttemptAt"]);
        assert!(
            next + SLACK >= first.wall + Duration::from_secs(3),
            "nextAttemptAt {next} ignores Retry-After: 3 (first attempt at {})",
            first.wall
        );
    }

    await_callback(&server, &invalid, "delivered");
    let gap = gaps(&receiver.attempts_to("/invalid"))[0];
    assert_gap_at_least(gap, Duration::from_secs(1), 1);
    assert!(
        gap < Duration::from_millis(2500),
        "CALLBACK-17: an invalid Retry-After is ignored, yet the wait was {gap:?}"
    );

    for (id, path, wait) in [
        (&delta, "/delta", Duration::from_secs(3)),
        (&date, "/date", Duration::from_millis(2500)),
    ] {
        let done = await_callback(&server, id, "delivered");
        assert_eq!(done["callback"]["attempts"], 2, "{done}");
        let attempts = receiver.attempts_to(path);
        assert_eq!(attempts.len(), 2, "{path}");
        assert!(
            gaps(&attempts)[0] + SLACK >= wait,
            "{path}: the second attempt came {:?} after the first; Retry-After asked for {wait:?}",
            gaps(&attempts)[0]
        );
    }
}

#[test]
fn callback_7_8_failed_and_canceled_jobs_are_delivered_too() {
    let receiver = Receiver::start();
    let server = Server::start_with(LOOPBACK);
    let failed = id_of(&server.started(
        "probe",
        &with_callback(
            json!({"steps": 1, "fail": {"code": "boom", "message": "it broke"}}),
            json!({"url": receiver.url("/failed")}),
        ),
    ));
    let long = server.started(
        "probe",
        &with_callback(
            json!({"durationMs": 60000, "steps": 600}),
            json!({"url": receiver.url("/canceled")}),
        ),
    );
    let canceled = id_of(&long);
    // Before the job ends there is nothing to deliver yet.
    assert_eq!(long["callback"]["state"], "pending");
    assert!(long["callback"]["nextAttemptAt"].is_null(), "{long}");
    poll_job(&server, &canceled, "running", |doc| {
        doc["status"] == "running"
    });
    assert!(receiver.attempts_to("/canceled").is_empty());
    let response = server
        .post_json(&format!("/v1/jobs/{canceled}/cancel"), &json!({}))
        .send()
        .unwrap();
    assert!(
        response.status().is_success(),
        "cancel: {}",
        response.status()
    );

    for (id, path, kind) in [
        (&failed, "/failed", "failed"),
        (&canceled, "/canceled", "canceled"),
    ] {
        let done = await_callback(&server, id, "delivered");
        assert_eq!(done["status"], kind);
        let attempts = receiver.await_attempts(path, 1);
        assert_eq!(attempts.len(), 1, "{path}");
        let event = assert_event_attempt(&attempts[0], id, kind, &server.base);
        assert_eq!(
            time_value(&event["timestamp"]),
            time_value(&done["finishedAt"])
        );
    }
}

/// A multipart body of text fields.
fn multipart(boundary: &str, fields: &[(&str, &str)]) -> Vec<u8> {
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    body.into_bytes()
}

#[test]
fn callback_1_8_a_multipart_start_takes_the_callback_part_as_json_text() {
    let receiver = Receiver::start();
    let public = "https://jobs.example.test";
    let server = Server::start_with(&["--allow-private-networks", "--public-url", public]);
    let boundary = "callback-test-boundary-x3Q9";
    let callback = json!({"url": receiver.url("/form"), "retry": fixed(2, 1)}).to_string();
    let response = client()
        .post(server.url("/v1/operations/probe/jobs"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(multipart(
            boundary,
            &[("params", &quick().to_string()), ("callback", &callback)],
        ))
        .send()
        .unwrap();
    assert_eq!(response.status(), 202);
    let doc: Value = response.json().unwrap();
    let id = id_of(&doc);
    assert_eq!(doc["callback"]["maxAttempts"], 2, "{doc}");
    await_callback(&server, &id, "delivered");
    let attempts = receiver.await_attempts("/form", 1);
    assert_eq!(attempts.len(), 1);
    // CALLBACK-8: the job's URLs are built from the public base URL.
    assert_event_attempt(&attempts[0], &id, "succeeded", public);
}

#[test]
fn callback_25_a_pending_delivery_keeps_the_job_from_expiring() {
    let receiver = Receiver::start();
    receiver.script("/slow", [status(500), status(500), status(200)]);
    let server = Server::start_with(LOOPBACK);
    let doc = server.started(
        "probe",
        &json!({"params": quick(), "ttlSeconds": 1,
                "callback": {"url": receiver.url("/slow"), "retry": fixed(3, 1)}}),
    );
    let id = id_of(&doc);
    // Observed through the list only: listing is not a use.
    let finished = eventually("the job to finish", || {
        listed(&server, &id).filter(|doc| doc["status"] == "succeeded")
    });
    let ttl_end = time_value(&finished["finishedAt"]) + Duration::from_millis(1500);
    eventually("the clock to pass the job's TTL", || {
        (time::OffsetDateTime::now_utc() > ttl_end).then_some(())
    });
    // Still there by id (the log is not a use) ...
    assert_eq!(
        log_status(&server, &id),
        200,
        "a job with a pending delivery does not expire"
    );
    // ... and in the list, which shows every job that has not expired.
    let still = listed(&server, &id).unwrap_or_else(|| {
        panic!("a job with a pending delivery is not listed once its expiresAt has passed")
    });
    assert_eq!(
        still["callback"]["state"], "pending",
        "the delivery takes at least 2 s: {still}"
    );
    receiver.await_attempts("/slow", 3);
    // Then its TTL applies as usual (its last use was long ago).
    eventually("the job to expire after its delivery", || {
        (log_status(&server, &id) == 404).then_some(())
    });
    assert!(listed(&server, &id).is_none());
}

/// The status of `GET /v1/jobs/{id}/log` (not a use).
fn log_status(server: &Server, id: &str) -> u16 {
    server
        .get(&format!("/v1/jobs/{id}/log"))
        .send()
        .unwrap()
        .status()
        .as_u16()
}
