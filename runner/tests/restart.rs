//! Durability across `kill -9`: a real `longrun serve` is SIGKILLed and started
//! again on the same data directory, and everything a client was told before
//! the kill must still hold after it.
//!
//! - finished jobs, their results and logs are served exactly as before;
//! - queued jobs are still queued and then run;
//! - a job that was running comes back with `attempt` 2 and completes, or fails
//!   with `attempts-exhausted` when it has no attempts left;
//! - every job acknowledged with `202` before a kill in the middle of a burst of
//!   submissions exists afterwards and ends, over several kill/restart cycles,
//!   and `Idempotency-Key`s still map to the same jobs.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::blocking::Response;
use serde_json::{Value, json};
use support::{DEADLINE, Server, assert_problem, client};

/// Whether a job document is in a terminal state.
fn is_terminal(doc: &Value) -> bool {
    matches!(
        doc["status"].as_str(),
        Some("succeeded" | "failed" | "canceled")
    )
}

/// Poll job `id` until it is running and its plugin has reported some progress
/// (so the start of the run is surely committed), and return its document.
fn running_with_progress(server: &Server, id: &str) -> Value {
    server.poll_until(id, "running with progress", |doc| {
        doc["status"] == "running" && doc["progress"]["percent"].as_f64().unwrap_or(0.0) > 0.0
    })
}

/// `value` with every occurrence of `base` in its strings replaced by `<base>`,
/// so documents read through servers on different ports can be compared.
fn without_base(value: &Value, base: &str) -> Value {
    let text = serde_json::to_string(value)
        .unwrap()
        .replace(base, "<base>");
    serde_json::from_str(&text).unwrap()
}

/// A header of `response` as text.
fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

/// Everything a client can read about a finished job.
#[derive(Debug, PartialEq)]
struct Snapshot {
    /// The job document, without `expiresAt` (reading a job moves it) and with
    /// the server's base URL abstracted.
    document: Value,
    /// The document's `ETag`.
    etag: Option<String>,
    /// `GET …/result`: status, content type, ETag, body.
    result: (u16, Option<String>, Option<String>, Vec<u8>),
    /// `GET …/log`: status and text.
    log: (u16, String),
}

fn snapshot(server: &Server, id: &str) -> Snapshot {
    let response = server.get(&format!("/v1/jobs/{id}")).send().unwrap();
    assert_eq!(response.status(), 200, "GET job {id}");
    let etag = header(&response, "etag");
    let mut document: Value = response.json().unwrap();
    assert!(is_terminal(&document), "{document}");
    assert!(
        document["expiresAt"].is_string(),
        "a terminal job shows its expiry: {document}"
    );
    document.as_object_mut().unwrap().remove("expiresAt");
    let document = without_base(&document, &server.base);

    let response = server.get(&format!("/v1/jobs/{id}/result")).send().unwrap();
    let result = (
        response.status().as_u16(),
        header(&response, "content-type"),
        header(&response, "etag"),
        response.bytes().unwrap().to_vec(),
    );
    let response = server.get(&format!("/v1/jobs/{id}/log")).send().unwrap();
    let log = (response.status().as_u16(), response.text().unwrap());
    Snapshot {
        document,
        etag,
        result,
        log,
    }
}

/// Start a job with an `Idempotency-Key`.
fn start_with_key(server: &Server, op: &str, key: &str, body: &Value) -> Response {
    server
        .post_json(&format!("/v1/operations/{op}/jobs"), body)
        .header("Idempotency-Key", key)
        .send()
        .unwrap()
}

#[test]
fn finished_jobs_results_and_logs_survive_kill_9_unchanged() {
    let mut server = Server::start();

    let echo = server.started(
        "probe",
        &json!({"params": {"steps": 3, "echo": {"a": [1, "x"]}}, "correlationId": "restart-a"}),
    );
    let bytes = server.started(
        "probe",
        &json!({"params": {"steps": 2, "resultBytes": 100_000}}),
    );
    let failed = server.started(
        "probe",
        &json!({"params": {"steps": 2, "fail": {"code": "boom", "message": "it broke"}}}),
    );
    let canceled = server.started(
        "probe",
        &json!({"params": {"durationMs": 60_000, "steps": 600}}),
    );
    let keyed_body = json!({"params": {"steps": 1, "echo": "keyed"}});
    let keyed = start_with_key(&server, "probe", "restart-key-1", &keyed_body);
    assert_eq!(keyed.status(), 202);
    let keyed: Value = keyed.json().unwrap();
    let deleted = server.started("probe", &json!({"params": {"steps": 1}}));
    let deleted_id = deleted["id"].as_str().unwrap().to_owned();
    server.finished(&deleted_id);
    let response = client()
        .delete(server.url(&format!("/v1/jobs/{deleted_id}")))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);

    let canceled_id = canceled["id"].as_str().unwrap();
    running_with_progress(&server, canceled_id);
    let response = server
        .post_json(&format!("/v1/jobs/{canceled_id}/cancel"), &json!({}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().unwrap()["status"], "canceled");

    let jobs = [&echo, &bytes, &failed, &canceled, &keyed];
    let ids: Vec<String> = jobs
        .iter()
        .map(|doc| doc["id"].as_str().unwrap().to_owned())
        .collect();
    let expected = ["succeeded", "succeeded", "failed", "canceled", "succeeded"];
    for (id, status) in ids.iter().zip(expected) {
        assert_eq!(server.finished(id)["status"], status, "job {id}");
    }
    let failed_doc = server.job(&ids[2]);
    assert_eq!(
        failed_doc["error"]["type"],
        "urn:longrun:problem:plugin-error"
    );
    assert_eq!(failed_doc["error"]["code"], "boom");

    let before: Vec<Snapshot> = ids.iter().map(|id| snapshot(&server, id)).collect();
    // The snapshots hold what they should, so comparing them means something.
    let result: Value = serde_json::from_slice(&before[0].result.3).unwrap();
    assert_eq!(result["echo"], json!({"a": [1, "x"]}));
    assert_eq!(before[1].result.0, 200);
    let pattern: Vec<u8> = (0..100_000).map(|i| (i % 251) as u8).collect();
    assert!(
        before[1].result.3 == pattern,
        "the bytes result is not the probe's pattern"
    );
    assert_eq!(before[2].result.0, 409);
    assert_eq!(before[3].result.0, 409);
    for snapshot in &before {
        assert_eq!(snapshot.log.0, 200);
        assert!(!snapshot.log.1.is_empty(), "{snapshot:?}");
    }

    server.kill_and_restart();

    for (id, old) in ids.iter().zip(&before) {
        let new = snapshot(&server, id);
        assert_eq!(&new, old, "job {id} changed across kill -9");
    }

    // A deleted job stays deleted.
    for path in ["", "/result", "/log"] {
        let response = server
            .get(&format!("/v1/jobs/{deleted_id}{path}"))
            .send()
            .unwrap();
        assert_problem(response, 404, "job-not-found");
    }

    // Terminal states stay terminal.
    let response = server
        .post_json(&format!("/v1/jobs/{}/cancel", ids[0]), &json!({}))
        .send()
        .unwrap();
    assert_problem(response, 409, "job-finished");
    let response = server
        .post_json(&format!("/v1/jobs/{}/cancel", ids[3]), &json!({}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().unwrap()["status"], "canceled");

    // The jobs are listed.
    let list: Value = server
        .get("/v1/jobs?limit=100")
        .send()
        .unwrap()
        .json()
        .unwrap();
    let listed: BTreeSet<&str> = list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|doc| doc["id"].as_str().unwrap())
        .collect();
    for id in &ids {
        assert!(
            listed.contains(id.as_str()),
            "job {id} is not listed: {list}"
        );
    }

    // The idempotency key still names the same job, and still refuses another request.
    let replay = start_with_key(&server, "probe", "restart-key-1", &keyed_body);
    assert_eq!(replay.status(), 202);
    assert_eq!(
        header(&replay, "idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(replay.json::<Value>().unwrap()["id"], keyed["id"]);
    let other = start_with_key(
        &server,
        "probe",
        "restart-key-1",
        &json!({"params": {"steps": 1, "echo": "other"}}),
    );
    assert_problem(other, 422, "idempotency-key-reused");
}

#[test]
fn queued_jobs_survive_kill_9_and_then_run() {
    let mut server = Server::start_with(&["--workers", "1"]);
    let blocker = server.started(
        "probe",
        &json!({"params": {"durationMs": 2000, "steps": 20}}),
    );
    let blocker_id = blocker["id"].as_str().unwrap().to_owned();
    running_with_progress(&server, &blocker_id);

    let queued: Vec<String> = (0..3)
        .map(|i| {
            let doc = server.started("probe", &json!({"params": {"steps": 2, "echo": i}}));
            doc["id"].as_str().unwrap().to_owned()
        })
        .collect();
    for id in &queued {
        assert_eq!(server.job(id)["status"], "queued", "job {id}");
    }

    server.kill_and_restart();

    for id in &queued {
        let doc = server.job(id);
        assert!(
            matches!(
                doc["status"].as_str(),
                Some("queued" | "running" | "succeeded")
            ),
            "{doc}"
        );
        assert_eq!(doc["attempt"], 1, "a queued job never ran: {doc}");
    }
    let mut started = Vec::new();
    for (i, id) in queued.iter().enumerate() {
        let doc = server.finished(id);
        assert_eq!(doc["status"], "succeeded", "{doc}");
        assert_eq!(doc["attempt"], 1, "{doc}");
        let result: Value = server
            .get(&format!("/v1/jobs/{id}/result"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(result["echo"], i, "job {id}");
        started.push(doc["startedAt"].as_str().unwrap().to_owned());
    }
    // One worker takes them in the order they were queued.
    assert!(
        started.windows(2).all(|pair| pair[0] <= pair[1]),
        "queued jobs ran out of order: {started:?}"
    );

    let blocker = server.finished(&blocker_id);
    assert_eq!(blocker["status"], "succeeded", "{blocker}");
    assert_eq!(blocker["attempt"], 2, "{blocker}");
}

#[test]
fn a_job_running_at_kill_9_comes_back_with_attempt_2_and_completes() {
    let mut server = Server::start();
    let doc = server.started(
        "probe",
        &json!({"params": {"durationMs": 3000, "steps": 30, "echo": "again"}}),
    );
    let id = doc["id"].as_str().unwrap().to_owned();
    assert_eq!(doc["attempt"], 1);
    let running = running_with_progress(&server, &id);
    assert_eq!(running["attempt"], 1);

    server.kill_and_restart();

    let doc = server.job(&id);
    assert_eq!(doc["attempt"], 2, "{doc}");
    assert!(
        matches!(doc["status"].as_str(), Some("queued" | "running")),
        "{doc}"
    );
    assert!(doc["links"]["cancel"].is_string(), "{doc}");

    let doc = server.finished(&id);
    assert_eq!(doc["status"], "succeeded", "{doc}");
    assert_eq!(doc["attempt"], 2, "{doc}");
    assert_eq!(doc["progress"]["percent"], 100.0, "{doc}");
    let result: Value = server
        .get(&format!("/v1/jobs/{id}/result"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(result["echo"], "again");

    // The log kept the first attempt and goes on with the second.
    let log = server
        .get(&format!("/v1/jobs/{id}/log"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let first = log.find("attempt 1 ").unwrap_or_else(|| panic!("{log}"));
    let second = log.find("attempt 2 ").unwrap_or_else(|| panic!("{log}"));
    assert!(first < second, "{log}");
}

#[test]
fn a_job_running_at_kill_9_without_attempts_left_fails_attempts_exhausted() {
    let mut server = Server::start_with(&["--max-attempts", "1"]);
    let service: Value = server.get("/v1").send().unwrap().json().unwrap();
    assert_eq!(service["limits"]["maxAttempts"], 1, "{service}");

    let doc = server.started(
        "probe",
        &json!({"params": {"durationMs": 60_000, "steps": 600}}),
    );
    let id = doc["id"].as_str().unwrap().to_owned();
    running_with_progress(&server, &id);

    server.kill_and_restart();

    let doc = server.job(&id);
    assert_eq!(doc["status"], "failed", "{doc}");
    assert_eq!(doc["attempt"], 1, "{doc}");
    assert_eq!(
        doc["error"]["type"], "urn:longrun:problem:attempts-exhausted",
        "{doc}"
    );
    assert!(doc["finishedAt"].is_string(), "{doc}");
    assert!(doc["expiresAt"].is_string(), "{doc}");
    assert!(doc["links"].get("cancel").is_none(), "{doc}");
    let response = server.get(&format!("/v1/jobs/{id}/result")).send().unwrap();
    assert_problem(response, 409, "result-not-available");
    let response = server
        .post_json(&format!("/v1/jobs/{id}/cancel"), &json!({}))
        .send()
        .unwrap();
    assert_problem(response, 409, "job-finished");
    // It stays failed: it is not run again.
    assert_eq!(server.job(&id)["status"], "failed");
}

/// How many requests one burst sends.
const BURST: usize = 50;
/// How many threads send them.
const SENDERS: usize = 4;
/// The burst is killed once this many requests were acknowledged.
const KILL_AFTER: usize = 15;

/// The start request of job `i` of burst `cycle`.
fn burst_body(cycle: usize, i: usize) -> Value {
    json!({"params": {"durationMs": 20, "steps": 2, "echo": {"cycle": cycle, "i": i}}})
}

fn burst_key(cycle: usize, i: usize) -> String {
    format!("burst-{cycle}-{i}")
}

/// What a burst of submissions saw.
#[derive(Default)]
struct Burst {
    /// Request index to job id, for every `202`.
    acknowledged: BTreeMap<usize, String>,
    /// Answers that were neither `202` nor a broken connection.
    unexpected: Vec<String>,
}

/// Send the burst of `cycle` from [`SENDERS`] threads; each stops at its first
/// connection error (the server was killed).
fn send_burst(
    base: &str,
    cycle: usize,
    acks: &Arc<AtomicUsize>,
) -> Vec<std::thread::JoinHandle<Burst>> {
    (0..SENDERS)
        .map(|sender| {
            let url = format!("{base}/v1/operations/probe/jobs");
            let acks = acks.clone();
            std::thread::spawn(move || {
                let client = client();
                let mut burst = Burst::default();
                for i in (sender..BURST).step_by(SENDERS) {
                    let response = client
                        .post(&url)
                        .header("Idempotency-Key", burst_key(cycle, i))
                        .json(&burst_body(cycle, i))
                        .send();
                    let Ok(response) = response else { break };
                    let status = response.status().as_u16();
                    let Ok(text) = response.text() else { break };
                    if status == 202 {
                        let doc: Value = serde_json::from_str(&text).unwrap();
                        burst
                            .acknowledged
                            .insert(i, doc["id"].as_str().unwrap().to_owned());
                        acks.fetch_add(1, Ordering::SeqCst);
                    } else {
                        burst
                            .unexpected
                            .push(format!("request {i}: {status} {text}"));
                    }
                }
                burst
            })
        })
        .collect()
}

#[test]
fn acknowledged_jobs_survive_repeated_kill_9_during_a_burst() {
    let mut server = Server::start_with(&["--workers", "2"]);
    // Every job of every cycle: (cycle, i) to id.
    let mut all: BTreeMap<(usize, usize), String> = BTreeMap::new();

    for cycle in 0..3 {
        let acks = Arc::new(AtomicUsize::new(0));
        let senders = send_burst(&server.base, cycle, &acks);
        let deadline = Instant::now() + DEADLINE;
        while acks.load(Ordering::SeqCst) < KILL_AFTER {
            assert!(Instant::now() < deadline, "the burst was not acknowledged");
            std::thread::sleep(Duration::from_millis(1));
        }
        server.kill();
        let mut acknowledged = BTreeMap::new();
        let mut unexpected = Vec::new();
        for sender in senders {
            let burst = sender.join().unwrap();
            acknowledged.extend(burst.acknowledged);
            unexpected.extend(burst.unexpected);
        }
        assert!(unexpected.is_empty(), "unexpected answers: {unexpected:#?}");

        server.kill_and_restart();

        // Every acknowledged job is there.
        for (i, id) in &acknowledged {
            let response = server.get(&format!("/v1/jobs/{id}")).send().unwrap();
            assert_eq!(
                response.status(),
                200,
                "acknowledged job {id} (cycle {cycle}, request {i}) was lost"
            );
        }
        // A client retries with the same keys: acknowledged requests give the
        // same job, the others give one job each, committed or not before the kill.
        let mut committed_unacknowledged = 0;
        for i in 0..BURST {
            let response = start_with_key(
                &server,
                "probe",
                &burst_key(cycle, i),
                &burst_body(cycle, i),
            );
            let replayed = header(&response, "idempotent-replayed");
            let status = response.status();
            let text = response.text().unwrap();
            assert_eq!(status, 202, "retry of request {i}: {text}");
            let id = serde_json::from_str::<Value>(&text).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            if let Some(first) = acknowledged.get(&i) {
                assert_eq!(&id, first, "retry of acknowledged request {i}");
                assert_eq!(replayed.as_deref(), Some("true"), "retry of request {i}");
            } else if replayed.is_some() {
                committed_unacknowledged += 1;
            }
            all.insert((cycle, i), id);
        }

        eprintln!(
            "cycle {cycle}: {} of {BURST} starts acknowledged before kill -9, \
             {committed_unacknowledged} more committed but unanswered",
            acknowledged.len()
        );

        // Every job so far ends, and every success keeps its result.
        for ((job_cycle, i), id) in &all {
            let doc = server.finished(id);
            match doc["status"].as_str() {
                Some("succeeded") => {
                    let response = server.get(&format!("/v1/jobs/{id}/result")).send().unwrap();
                    assert_eq!(response.status(), 200, "result of {id}");
                    let result: Value = response.json().unwrap();
                    assert_eq!(
                        result["echo"],
                        json!({"cycle": job_cycle, "i": i}),
                        "job {id}"
                    );
                }
                // A job may run at every kill; then it has no attempts left.
                Some("failed") => assert_eq!(
                    doc["error"]["type"], "urn:longrun:problem:attempts-exhausted",
                    "{doc}"
                ),
                _ => panic!("job {id} ended {doc}"),
            }
        }

        // No retry made a second job: the server has exactly one job per request.
        let listed = list_all(&server);
        let expected: BTreeSet<&String> = all.values().collect();
        assert_eq!(listed.len(), all.len(), "jobs listed vs started");
        assert_eq!(listed.iter().collect::<BTreeSet<_>>(), expected);
    }
}

/// The ids of every job the server lists, following `next` links.
fn list_all(server: &Server) -> Vec<String> {
    let mut ids = Vec::new();
    let mut url = server.url("/v1/jobs?limit=100");
    loop {
        let page: Value = client().get(&url).send().unwrap().json().unwrap();
        ids.extend(
            page["jobs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|doc| doc["id"].as_str().unwrap().to_owned()),
        );
        match page["next"].as_str() {
            Some(next) => url = next.to_owned(),
            None => return ids,
        }
    }
}
