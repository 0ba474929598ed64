//! Helpers shared by the callback tests.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use super::receiver::{Attempt, Receiver, hang, status};
pub use crate::support::{Server, assert_problem, client, eventually};

/// Options of a server that may deliver to the loopback receiver.
pub const LOOPBACK: &[&str] = &["--allow-private-networks"];

/// How much earlier than scheduled an attempt may arrive: the schedule is kept
/// as RFC 3339 times with milliseconds, so a wait may come out up to a
/// millisecond short.
pub const SLACK: Duration = Duration::from_millis(5);

/// Params of a probe job that finishes at once.
pub fn quick() -> Value {
    json!({"steps": 1})
}

/// `retry` with a fixed wait.
pub fn fixed(max_attempts: u32, interval_seconds: u64) -> Value {
    json!({"maxAttempts": max_attempts, "initialIntervalSeconds": interval_seconds, "backoff": "fixed"})
}

/// A start request for a probe job with `params` and `callback`.
pub fn with_callback(params: Value, callback: Value) -> Value {
    json!({"params": params, "callback": callback})
}

/// Start a quick probe job with `callback`; expect `202`; return its id.
pub fn quick_with(server: &Server, callback: Value) -> String {
    id_of(&server.started("probe", &with_callback(quick(), callback)))
}

/// The `id` of a job document.
pub fn id_of(doc: &Value) -> String {
    doc["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {doc}"))
        .to_owned()
}

/// The job document of `id`.
pub fn job(server: &Server, id: &str) -> Value {
    server.job(id)
}

/// The `callback` member of a job document, which must be an object.
pub fn callback_of(doc: &Value) -> &Value {
    let callback = &doc["callback"];
    assert!(callback.is_object(), "no `callback` member: {doc}");
    callback
}

/// Poll job `id` (20 ms apart, no long polls) until `done` holds for its
/// document.
pub fn poll_job(server: &Server, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    eventually(&format!("job {id} to be {what}"), || {
        let doc = job(server, id);
        done(&doc).then_some(doc)
    })
}

/// Wait until the callback of job `id` is in `state`; return the job document.
pub fn await_callback(server: &Server, id: &str, state: &str) -> Value {
    poll_job(server, id, &format!("callback {state}"), |doc| {
        doc["callback"]["state"] == state
    })
}

/// Wait until job `id` is terminal; return its document.
pub fn await_terminal(server: &Server, id: &str) -> Value {
    poll_job(server, id, "terminal", |doc| {
        matches!(
            doc["status"].as_str(),
            Some("succeeded" | "failed" | "canceled")
        )
    })
}

/// Assert that `check` holds on every look for `window` (for things that must
/// *not* happen, this is the only way: watch for a while).
pub fn holds_for(what: &str, window: Duration, mut check: impl FnMut() -> bool) {
    let end = Instant::now() + window;
    while Instant::now() < end {
        assert!(check(), "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(check(), "{what}");
}

/// Parse an RFC 3339 time.
pub fn parse_time(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339)
        .unwrap_or_else(|e| panic!("`{text}` is not RFC 3339: {e}"))
}

/// The time member `value`, which must be set.
pub fn time_value(value: &Value) -> OffsetDateTime {
    parse_time(
        value
            .as_str()
            .unwrap_or_else(|| panic!("{value} is not an RFC 3339 string")),
    )
}

/// Assert that no member of `value` is called `secret`, and that `secret`
/// appears nowhere in it.
pub fn assert_no_secret(value: &Value, secret: &str) {
    fn walk(value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    assert_ne!(key, "secret", "a `secret` member is shown");
                    walk(child);
                }
            }
            Value::Array(items) => items.iter().for_each(walk),
            _ => {}
        }
    }
    walk(value);
    assert!(
        !value.to_string().contains(secret),
        "the secret is shown: {value}"
    );
}

/// The gaps between consecutive attempts.
pub fn gaps(attempts: &[Attempt]) -> Vec<Duration> {
    attempts.windows(2).map(|w| w[1].at - w[0].at).collect()
}

/// Assert that `gap` (between attempt `n` and `n + 1`) is at least `wait`.
pub fn assert_gap_at_least(gap: Duration, wait: Duration, n: usize) {
    assert!(
        gap + SLACK >= wait,
        "attempt {} came {gap:?} after attempt {n}; the wait must be at least {wait:?}",
        n + 1
    );
}

/// The job log of `id`.
pub fn log(server: &Server, id: &str) -> String {
    let response = server.get(&format!("/v1/jobs/{id}/log")).send().unwrap();
    assert_eq!(response.status(), 200, "GET log of {id}");
    response.text().unwrap()
}

/// The `CALLBACK` lines of the job log of `id`, once there are at least `n`.
pub fn callback_log_lines(server: &Server, id: &str, n: usize) -> Vec<String> {
    eventually(&format!("{n} CALLBACK lines in the log of {id}"), || {
        let lines: Vec<String> = log(server, id)
            .lines()
            .filter(|line| line.contains("CALLBACK"))
            .map(str::to_owned)
            .collect();
        (lines.len() >= n).then_some(lines)
    })
}

/// `GET /v1/jobs?limit=100`.
pub fn list(server: &Server) -> Vec<Value> {
    let response = server.get("/v1/jobs?limit=100").send().unwrap();
    assert_eq!(response.status(), 200, "GET /v1/jobs");
    let page: Value = response.json().unwrap();
    page["jobs"].as_array().cloned().unwrap_or_default()
}

/// Job `id` as the list shows it (reading it so is not a use), if listed.
pub fn listed(server: &Server, id: &str) -> Option<Value> {
    list(server).into_iter().find(|doc| doc["id"] == id)
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
