//! Section 16: the job log (LOG-1 to LOG-5, PLUGIN-6).

use serde_json::json;

use super::common::*;

const LEVELS: &[&str] = &[
    "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "STDOUT", "STDERR", "NOTE",
];

fn log(server: &Server, id: &str) -> String {
    let response = server.get(&format!("/v1/jobs/{id}/log")).send().unwrap();
    assert_eq!(response.status(), 200, "LOG-1");
    assert_eq!(
        must_header(&response, "content-type"),
        "text/plain; charset=utf-8",
        "LOG-1"
    );
    response.text().unwrap()
}

/// LOG-2: `<time> <LEVEL> <message>` lines ending in `\n`, in time order.
fn lines(text: &str) -> Vec<(String, String)> {
    if text.is_empty() {
        return Vec::new();
    }
    assert!(text.ends_with('\n'), "LOG-2: lines end with \\n: {text:?}");
    let mut out = Vec::new();
    let mut last = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ' ');
        let time = parts.next().unwrap();
        let level = parts.next().unwrap_or_else(|| panic!("LOG-2: `{line}`"));
        let message = parts.next().unwrap_or("");
        assert_timestamp(&json!(time));
        assert!(
            LEVELS.contains(&level),
            "LOG-2: level `{level}` in `{line}`"
        );
        let t = parse_time(time);
        if let Some(previous) = last {
            assert!(
                t >= previous,
                "LOG-2: lines in the order they were produced"
            );
        }
        last = Some(t);
        out.push((level.to_owned(), message.to_owned()));
    }
    out
}

#[test]
fn log_1_2_4_a_succeeded_job() {
    let server = Server::start();
    let id = id_of(&probe(&server, json!({"steps": 3, "durationMs": 100})));
    await_terminal(&server, &id);
    let lines = lines(&log(&server, &id));
    let start = lines
        .iter()
        .position(|(level, message)| {
            level == "INFO" && message.contains("attempt") && message.contains('1')
        })
        .unwrap_or_else(|| panic!("LOG-4: no line for the start of attempt 1: {lines:?}"));
    let end = lines.last().unwrap();
    assert!(
        end.1.contains("succeeded"),
        "LOG-4: the last line names the outcome: {lines:?}"
    );
    assert!(start < lines.len() - 1);
}

#[test]
fn log_3_4_a_failed_job_logs_an_error_line_per_line() {
    let server = Server::start();
    let id = id_of(&probe(
        &server,
        json!({"steps": 1, "fail": {"code": "multi", "message": "first line\nsecond line"}}),
    ));
    assert_eq!(await_terminal(&server, &id)["status"], "failed");
    let text = log(&server, &id);
    let lines = lines(&text);
    let errors: Vec<&(String, String)> =
        lines.iter().filter(|(level, _)| level == "ERROR").collect();
    assert!(
        !errors.is_empty(),
        "LOG-4: an ERROR line for the failure: {text}"
    );
    assert!(
        errors.iter().any(|(_, m)| m.contains("first line")),
        "LOG-4: with its reason: {text}"
    );
    // LOG-3: the second line of the message is a line of its own, with its prefix.
    assert!(
        lines
            .iter()
            .any(|(_, m)| m.trim() == "second line" || m.ends_with("second line")),
        "LOG-3: {text}"
    );
    for line in text.lines() {
        assert!(
            !line.starts_with("second line"),
            "LOG-3: a line without prefix: {text}"
        );
    }
}

#[test]
fn log_1_every_state_and_unknown_jobs() {
    let server = Server::start_with(&["--workers", "1"]);
    let running = id_of(&probe(&server, long()));
    await_running(&server, &running);
    let queued = id_of(&probe(&server, quick()));
    // Queued: empty so far, still 200.
    lines(&log(&server, &queued));
    // Running: the log so far, with the start of the attempt.
    let text = eventually("the attempt line", || {
        let text = log(&server, &running);
        text.contains("attempt").then_some(text)
    });
    lines(&text);
    // Canceled.
    server
        .post_json(&format!("/v1/jobs/{running}/cancel"), &json!({}))
        .send()
        .unwrap();
    server
        .post_json(&format!("/v1/jobs/{queued}/cancel"), &json!({}))
        .send()
        .unwrap();
    let after = log(&server, &running);
    assert!(after.starts_with(&text), "LOG-2: the log only grows");
    let canceled_lines = lines(&after);
    assert!(
        canceled_lines.len() >= 2,
        "LOG-4: a line for the end: {after}"
    );
    assert!(
        canceled_lines.last().unwrap().1.contains("cancel"),
        "LOG-4: the last line names the outcome: {after}"
    );
    lines(&log(&server, &queued));
    problem(
        server.get("/v1/jobs/no-such-job/log").send().unwrap(),
        404,
        "job-not-found",
    );
}

#[test]
fn plugin_6_the_plugins_log_calls_reach_the_log() {
    // The bundled probe logs at the start and the end of its run (its own
    // lines, apart from the runner's).
    let server = Server::start();
    let id = id_of(&probe(&server, quick()));
    await_terminal(&server, &id);
    let lines = lines(&log(&server, &id));
    let plugin_lines = lines
        .iter()
        .filter(|(_, message)| !message.contains("attempt 1") && !message.starts_with("succeeded"))
        .count();
    assert!(
        plugin_lines >= 1,
        "PLUGIN-6: the probe's log calls: {lines:?}"
    );
}
