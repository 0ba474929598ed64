//! Section 16: the job log (`GET /v1/jobs/{id}/log`, class `log`).
//!
//! The checks read the logs of `probe` jobs in each state and judge them line
//! by line:
//!
//! - the log answers `200` `text/plain; charset=utf-8` for a running, canceled,
//!   succeeded and failed job (a queued one is read by
//!   `cancel.queued-never-starts`), and `404` for an unknown one (LOG-1);
//! - every line is `<time> <LEVEL> <message>` with a GEN-2 time, in order
//!   (LOG-2), with a line for the start of the attempt and one for the end that
//!   names the outcome, `ERROR` with its reason for a failure (LOG-4);
//! - a failure message with a line break becomes two prefixed lines (LOG-3).
//!
//! Truncation (LOG-6) is not checked: the probe's only log output is a line at
//! the start and the end of a run and the failure reason, which a server may
//! cap (this server caps each message at 8 KiB), so no cheap job fills a log of
//! the default `limits.maxLogBytes` (1 MiB).
//!
//! Lines the runner writes while a job ends may land just after the job is
//! shown terminal, so the checks re-read the log until the line they look for
//! is there (bounded by the job timeout).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::check::{Check, Finding, Outcome};
use crate::checks::cancel::{cancel, ended, running_hold};
use crate::context::{Ctx, Response};
use crate::ensure;
use crate::exchange::show_body;
use crate::timestamps::is_gen2;

/// The checks of this section.
pub const CHECKS: &[Check] = &[
    Check {
        id: "log.states",
        title: "the log is 200 text/plain; charset=utf-8 for running, canceled, succeeded and failed jobs",
        class: "log",
        requirements: &["LOG-1", "LOG-2", "LOG-4"],
        needs: &["service.document", "probe.offered"],
        jobs: 3,
        exclusive: false,
        run: |ctx| Box::pin(states(ctx)),
    },
    Check {
        id: "log.unknown",
        title: "the log of an unknown job answers 404 job-not-found",
        class: "log",
        requirements: &["LOG-1"],
        needs: &["service.document"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(unknown(ctx)),
    },
    Check {
        id: "log.format",
        title: "log lines are `<time> <LEVEL> <message>` in order, with lines for the attempt's start and the outcome",
        class: "log",
        requirements: &["LOG-2", "LOG-4", "GEN-2"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(format(ctx)),
    },
    Check {
        id: "log.failure",
        title: "a failure is logged as ERROR with its reason, a two-line reason as two prefixed lines",
        class: "log",
        requirements: &["LOG-4", "LOG-3", "LOG-2"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(failure(ctx)),
    },
];

/// Requirements of this section that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[
    (
        "LOG-5",
        "a job has a second attempt only after crash recovery (JOB-STATE-4), which a client cannot cause",
    ),
    (
        "LOG-6",
        "filling limits.maxLogBytes needs more log text than the probe produces: a run logs two lines and its failure reason, which a server may cap (this one at 8 KiB per message), against a default limit of 1 MiB",
    ),
    (
        "PLUGIN-6",
        "the probe operation is not required to call `log` (section 21), so a client cannot make a plugin log a known message, nor tell the plugin's lines from the runner's",
    ),
];

/// The levels LOG-2 allows.
const LEVELS: &[&str] = &[
    "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "STDOUT", "STDERR", "CALLBACK", "NOTE",
];

/// How long after a job is shown terminal the lines about its end may still
/// be on their way.
const LATE_LINES: Duration = Duration::from_secs(3);

/// One parsed log line.
#[derive(Debug, Clone)]
pub(crate) struct LogLine {
    /// `<LEVEL>`.
    pub level: String,
    /// `<message>` (possibly empty).
    pub message: String,
    /// The whole line, without its `\n`.
    pub raw: String,
}

/// Split a log into lines and judge each against LOG-2; the error says which
/// line breaks which part of the rule.
pub(crate) fn parse_log(text: &str) -> Result<Vec<LogLine>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    if !text.ends_with('\n') {
        let tail = &text[text.len().saturating_sub(120)..];
        return Err(format!(
            "the log does not end with \\n; it ends with {tail:?}"
        ));
    }
    let mut lines = Vec::new();
    let mut last_time: Option<String> = None;
    for (n, raw) in text[..text.len() - 1].split('\n').enumerate() {
        let mut parts = raw.splitn(3, ' ');
        let time = parts.next().unwrap_or("");
        let level = parts.next().unwrap_or("");
        let message = parts.next().unwrap_or("");
        if !is_gen2(time) || !LEVELS.contains(&level) {
            return Err(format!(
                "line {} is {raw:?}, expected `<time> <LEVEL> <message>` with a time like 2026-11-21T23:02:42.123Z and a LEVEL of {LEVELS:?}",
                n + 1
            ));
        }
        if let Some(previous) = &last_time
            && time < previous.as_str()
        {
            return Err(format!(
                "line {} has the time {time}, earlier than the line before it ({previous}); lines must appear in the order they were produced",
                n + 1
            ));
        }
        last_time = Some(time.to_owned());
        lines.push(LogLine {
            level: level.to_owned(),
            message: message.to_owned(),
            raw: raw.to_owned(),
        });
    }
    Ok(lines)
}

/// Whether an answer's `Content-Type` is `text/plain; charset=utf-8` (compared
/// as a media type: case-insensitive, spaces and quotes around the charset
/// ignored).
pub(crate) fn is_log_media_type(response: &Response) -> bool {
    let Some(ct) = response.header("content-type") else {
        return false;
    };
    let mut parts = ct.split(';');
    let media = parts.next().unwrap_or("").trim();
    let charset = parts.filter_map(|p| p.split_once('=')).find_map(|(k, v)| {
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_owned())
    });
    media.eq_ignore_ascii_case("text/plain")
        && charset.is_some_and(|c| c.eq_ignore_ascii_case("utf-8"))
}

/// `GET {job}/log`, expecting `200` with the log media type (LOG-1); returns
/// the text.
async fn read_log(ctx: &Ctx, job_url: &str, state: &str) -> Result<String, Finding> {
    let response = ctx.get(&format!("{job_url}/log")).send().await?;
    ensure!(
        response.status == 200,
        "LOG-1",
        "the log of a {state} job answered {}, expected 200: {}",
        response.status,
        show_body(&response.body)
    );
    ensure!(
        is_log_media_type(&response),
        "LOG-1",
        "the log of a {state} job has Content-Type {:?}, expected text/plain; charset=utf-8",
        response.header("content-type")
    );
    String::from_utf8(response.body.to_vec()).map_err(|_| {
        Finding::violation(
            "LOG-1",
            format!("the log of a {state} job is not UTF-8 text"),
        )
    })
}

/// Read the log until `done` holds for its lines, for at most a few seconds
/// (lines written as the job ends may arrive just after it is shown terminal).
/// Returns the last text read and whether `done` held.
async fn read_log_until(
    ctx: &Ctx,
    job_url: &str,
    state: &str,
    done: impl Fn(&str) -> bool,
) -> Result<(String, bool), Finding> {
    let deadline = Instant::now() + ctx.timeouts().scale(LATE_LINES);
    loop {
        let text = read_log(ctx, job_url, state).await?;
        if done(&text) {
            return Ok((text, true));
        }
        if Instant::now() >= deadline {
            return Ok((text, false));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The lines of a log, or a LOG-2 violation.
fn lines_of(text: &str, state: &str) -> Result<Vec<LogLine>, Finding> {
    parse_log(text).map_err(|message| {
        Finding::violation("LOG-2", format!("the log of a {state} job: {message}"))
    })
}

/// The last line that is not about callbacks or the log itself: the line that
/// should name the outcome.
fn last_job_line(lines: &[LogLine]) -> Option<&LogLine> {
    lines
        .iter()
        .rev()
        .find(|l| l.level != "CALLBACK" && l.level != "NOTE")
}

/// Whether a line announces the start of attempt 1.
fn names_attempt_one(line: &LogLine) -> bool {
    line.message.to_ascii_lowercase().contains("attempt")
        && line
            .message
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| word == "1")
}

fn contains_ci(text: &str, needle: &str) -> bool {
    text.to_ascii_lowercase().contains(needle)
}

async fn states(ctx: Ctx) -> Outcome {
    let quick = json!({"params": {"steps": 1}});
    let failing = json!({"params": {"steps": 1, "fail": {"code": "log-check", "message": "failed on purpose"}}});
    let (hold, (succeeded, _), (failed, _)) =
        tokio::try_join!(running_hold(&ctx), ended(&ctx, quick), ended(&ctx, failing))?;
    let text = read_log(&ctx, &hold.url, "running").await?;
    lines_of(&text, "running")?;
    for (job, state) in [(&succeeded, "succeeded"), (&failed, "failed")] {
        let text = read_log(&ctx, &job.url, state).await?;
        lines_of(&text, state)?;
    }
    if ctx.claims("cancel") {
        let response = cancel(&ctx, &hold.url).await?;
        if response.status != 200 {
            return Err(Finding::error(format!(
                "setting the check up: cancel of a running job answered {}",
                response.status
            )));
        }
        let (text, found) = read_log_until(&ctx, &hold.url, "canceled", |text| {
            parse_log(text)
                .ok()
                .and_then(|lines| last_job_line(&lines).map(|l| contains_ci(&l.message, "cancel")))
                .unwrap_or(true)
        })
        .await?;
        let lines = lines_of(&text, "canceled")?;
        ensure!(
            found,
            "LOG-4",
            "the log of a canceled job has no last line naming the outcome (\"cancel…\"); it ends with {:?}",
            last_job_line(&lines).map(|l| &l.raw)
        );
    }
    Ok(())
}

async fn unknown(ctx: Ctx) -> Outcome {
    let id = format!("conformance-unknown-{}", uuid::Uuid::now_v7());
    let response = ctx.get(&format!("/v1/jobs/{id}/log")).send().await?;
    response.expect_problem(404, "job-not-found", "LOG-1")?;
    Ok(())
}

async fn format(ctx: Ctx) -> Outcome {
    let (job, doc) = ended(&ctx, json!({"params": {"steps": 2, "durationMs": 20}})).await?;
    if doc["status"] != "succeeded" {
        return Err(Finding::error(format!(
            "setting the check up: a quick probe job ended {}",
            doc["status"]
        )));
    }
    let (text, found) = read_log_until(&ctx, &job.url, "succeeded", |text| {
        parse_log(text)
            .ok()
            .and_then(|lines| last_job_line(&lines).map(|l| contains_ci(&l.message, "succe")))
            .unwrap_or(true)
    })
    .await?;
    let lines = lines_of(&text, "succeeded")?;
    let start = lines.iter().position(names_attempt_one);
    ensure!(
        start.is_some(),
        "LOG-4",
        "the log of a succeeded job has no line for the start of attempt 1 (a line naming \"attempt\" and 1): {:?}",
        show_body(text.as_bytes())
    );
    ensure!(
        found,
        "LOG-4",
        "the log of a succeeded job has no last line naming the outcome (\"succeeded\"); it ends with {:?}",
        last_job_line(&lines).map(|l| &l.raw)
    );
    let end = lines.len()
        - 1
        - lines
            .iter()
            .rev()
            .position(|l| l.level != "CALLBACK" && l.level != "NOTE")
            .unwrap_or(0);
    ensure!(
        start.unwrap_or(0) < end,
        "LOG-4",
        "the line for the start of the attempt does not come before the line for the outcome: {:?}",
        show_body(text.as_bytes())
    );
    Ok(())
}

/// The two lines of the failure message `log.failure` provokes.
const FIRST: &str = "first line of the failure";
const SECOND: &str = "second line of the failure";

async fn failure(ctx: Ctx) -> Outcome {
    let code = "log-check-failure";
    let (job, doc) = ended(
        &ctx,
        json!({"params": {"steps": 1, "fail": {"code": code, "message": format!("{FIRST}\n{SECOND}")}}}),
    )
    .await?;
    if doc["status"] != "failed" {
        return Err(Finding::error(format!(
            "setting the check up: a probe job with `fail` ended {}",
            doc["status"]
        )));
    }
    let (text, _) = read_log_until(&ctx, &job.url, "failed", |text| {
        text.lines().any(|l| l.split(' ').nth(1) == Some("ERROR"))
    })
    .await?;
    // LOG-3 first: a line break in a message must not leave a line without prefix.
    for raw in text.lines() {
        ensure!(
            !raw.starts_with(SECOND),
            "LOG-3",
            "the second line of a two-line failure message is a log line without its own prefix: {raw:?}"
        );
        ensure!(
            !(raw.contains(FIRST) && raw.contains(SECOND)),
            "LOG-3",
            "a two-line failure message was written as one log line: {raw:?}"
        );
    }
    let lines = lines_of(&text, "failed")?;
    for line in lines.iter().filter(|l| l.message.contains(SECOND)) {
        ensure!(
            line.message.trim_start().starts_with(SECOND),
            "LOG-3",
            "the second line of a two-line failure message does not start a log line of its own: {:?}",
            line.raw
        );
    }
    let reasons = [code, FIRST, "plugin-error"];
    let error_line = lines
        .iter()
        .find(|l| l.level == "ERROR" && reasons.iter().any(|r| l.message.contains(r)));
    ensure!(
        error_line.is_some(),
        "LOG-4",
        "the log of a failed job has no ERROR line with the reason (its code {code:?}, its message or its type); the log: {:?}",
        show_body(text.as_bytes())
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gen2_times() {
        assert!(is_gen2("2026-11-21T23:02:42.123Z"));
        assert!(!is_gen2("2026-11-21T23:02:42Z"));
        assert!(!is_gen2("2026-11-21T23:02:42.123+00:00"));
        assert!(!is_gen2("2026-13-21T23:02:42.123Z"));
    }

    #[test]
    fn log_lines() {
        let lines =
            parse_log("2026-11-21T23:02:42.123Z INFO a b\n2026-11-21T23:02:42.124Z ERROR \n")
                .unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].message, "a b");
        assert!(parse_log("2026-11-21T23:02:42.123Z INFO a").is_err());
        assert!(parse_log("2026-11-21T23:02:42.123Z INFO a\nsecond\n").is_err());
        assert!(parse_log("2026-11-21T23:02:42.123Z LOUD a\n").is_err());
        assert!(
            parse_log("2026-11-21T23:02:42.124Z INFO a\n2026-11-21T23:02:42.123Z INFO b\n")
                .is_err()
        );
    }
}
