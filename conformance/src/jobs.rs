//! Starting jobs and waiting for them: the vocabulary most checks are written in.
//!
//! Waits never sleep a fixed time. A wait polls the job until a condition holds
//! or its deadline passes: with long polling (`waitSeconds` and `If-None-Match`)
//! when the server claims `long-poll`, else by plain `GET`s spaced by the
//! server's `Retry-After`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::check::Finding;
use crate::context::{Ctx, Response};
use crate::exchange::show_body;

/// Parameters of a `probe` job that runs until it is canceled (ten minutes).
pub fn hold_params() -> Value {
    json!({"durationMs": 600_000, "steps": 100})
}

/// The pause between plain reads of the waits that must not miss a short state.
const FAST: Duration = Duration::from_millis(50);

/// How a wait spaces its plain (not long-polling) reads of a job.
#[derive(Debug, Clone, Copy)]
enum Pace {
    /// As the server's `Retry-After` asks (200 ms without one).
    AsTheServerAsks,
    /// Every so often.
    Every(Duration),
}

/// A job the check started.
#[derive(Debug, Clone)]
pub struct Job {
    /// `id` of its document.
    pub id: String,
    /// The job URL (`Location` of the `202`).
    pub url: String,
    /// The document of the `202`.
    pub doc: Value,
    /// The whole `202` answer.
    pub response: Response,
}

impl Job {
    /// The job URL followed by `suffix` (`/cancel`, `/result`, …).
    pub fn sub(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.url)
    }
}

impl Ctx {
    /// `POST /v1/operations/{operation}/jobs` with a JSON body.
    pub async fn start(&self, operation: &str, body: &Value) -> Result<Response, Finding> {
        self.post_json(&format!("/v1/operations/{operation}/jobs"), body)
            .send()
            .await
    }

    /// Start a `probe` job with these params and expect it to be accepted.
    pub async fn start_probe(&self, params: Value) -> Result<Job, Finding> {
        self.start_probe_with(json!({ "params": params })).await
    }

    /// Start a `probe` job that runs until it is canceled.
    pub async fn start_hold(&self) -> Result<Job, Finding> {
        self.start_probe(hold_params()).await
    }

    /// Start a `probe` job with this whole request body and expect it to be
    /// accepted (`202` with a job document and `Location`).
    pub async fn start_probe_with(&self, body: Value) -> Result<Job, Finding> {
        let response = self.start(self.probe(), &body).await?;
        self.accepted(response)
    }

    /// Read a `202` answer of a start request as a [`Job`] and track it for
    /// clean-up.
    pub fn accepted(&self, response: Response) -> Result<Job, Finding> {
        if response.status != 202 {
            return Err(Finding::violation(
                "JOB-CREATE-1",
                format!(
                    "a valid start request was answered {} instead of 202: {}",
                    response.status,
                    show_body(&response.body)
                ),
            ));
        }
        let doc = response.json_object("JOB-CREATE-1")?;
        let id = doc
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| Finding::violation("JOB-DOC-2", "the job document has no string `id`"))?
            .to_owned();
        let url = response
            .header("location")
            .ok_or_else(|| Finding::violation("JOB-CREATE-2", "the 202 has no Location header"))?
            .to_owned();
        self.track_job(&url);
        Ok(Job {
            id,
            url,
            doc,
            response,
        })
    }

    /// Track the job a start request may have created (the `Location` of a
    /// `202`, or of a `200` that answered a synchronous start), so that it is
    /// cleaned up.
    pub fn track_created(&self, response: &Response) {
        if matches!(response.status, 200 | 202)
            && let Some(location) = response.header("location")
        {
            self.track_job(location);
        }
    }

    /// `GET` the job document, expecting `200`.
    pub async fn job_doc(&self, url: &str) -> Result<Value, Finding> {
        let response = self.get(url).send().await?;
        if response.status != 200 {
            return Err(Finding::violation(
                "JOB-DOC-1",
                format!(
                    "GET of an existing job answered {}: {}",
                    response.status,
                    show_body(&response.body)
                ),
            ));
        }
        response.json_object("JOB-DOC-1")
    }

    /// Wait until the job document satisfies `done`, for at most `within`.
    ///
    /// When the deadline passes, the result is a violation of `requirement`
    /// saying that the job never became `what`. Plain reads are spaced as the
    /// server's `Retry-After` asks.
    pub async fn wait_job(
        &self,
        url: &str,
        what: &str,
        within: Duration,
        requirement: &'static str,
        done: impl Fn(&Value) -> bool,
    ) -> Result<Value, Finding> {
        let late = |message| Finding::violation(requirement, message);
        self.follow_job(url, what, within, Pace::AsTheServerAsks, late, done)
            .await
    }

    /// Wait (at most the job timeout) until the job document satisfies `done`,
    /// to set a check up; returns that document.
    ///
    /// Running out of time is an error of the setup, not a finding: the checks
    /// that wait so judge documents, not how fast a server runs probes. Plain
    /// reads come every 50 ms, so that a short-lived state (such as a `prepare`
    /// stage) is seen even without long polling.
    pub async fn wait_setup(
        &self,
        url: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Result<Value, Finding> {
        let late = |message| Finding::error(format!("setting the check up: {message}"));
        self.follow_job(
            url,
            what,
            self.timeouts().job,
            Pace::Every(FAST),
            late,
            done,
        )
        .await
    }

    /// Every version of the job document read until one satisfies `done` (the
    /// last), for at most the job timeout; else a violation of `requirement`
    /// saying that the job never became `what`.
    ///
    /// Plain reads come every 50 ms, so that few versions are missed even
    /// without long polling.
    pub async fn collect_job(
        &self,
        url: &str,
        what: &str,
        requirement: &'static str,
        done: impl Fn(&Value) -> bool,
    ) -> Result<Vec<Value>, Finding> {
        let late = |message| Finding::violation(requirement, message);
        let mut seen = Vec::new();
        let within = self.timeouts().job;
        self.follow_job(url, what, within, Pace::Every(FAST), late, |doc| {
            seen.push(doc.clone());
            done(doc)
        })
        .await?;
        Ok(seen)
    }

    /// Read the job document until `done` holds for one, for at most `within`:
    /// a plain `GET` first, so that a state that does not last is seen; then,
    /// on a server that claims `long-poll`, conditional long polls
    /// (`If-None-Match`, so that each ends with the next change rather than at
    /// the end of the job, POLL-4); else plain `GET`s spaced by `pace`.
    ///
    /// `late` makes the finding of a deadline that passed from a message
    /// saying that the job did not become `what`.
    async fn follow_job(
        &self,
        url: &str,
        what: &str,
        within: Duration,
        pace: Pace,
        late: impl Fn(String) -> Finding,
        mut done: impl FnMut(&Value) -> bool,
    ) -> Result<Value, Finding> {
        let deadline = Instant::now() + within;
        let long_poll = self.claims("long-poll");
        let mut etag: Option<String> = None;
        let mut last = Value::Null;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(late(format!(
                    "the job did not become {what} within {:.1} s; last seen: {last}",
                    within.as_secs_f64(),
                )));
            }
            let response = match (&etag, long_poll) {
                (Some(tag), true) => {
                    let wait = remaining.as_secs().clamp(0, 5);
                    self.get(&format!("{url}?waitSeconds={wait}"))
                        .header("If-None-Match", tag.clone())
                        .timeout(Duration::from_secs(wait) + self.timeouts().request)
                        .send()
                        .await?
                }
                _ => self.get(url).send().await?,
            };
            match response.status {
                200 => {
                    last = response.json_object("JOB-DOC-1")?;
                    etag = response.header("etag").map(str::to_owned);
                    if done(&last) {
                        return Ok(last);
                    }
                }
                304 if long_poll => {}
                status => {
                    return Err(Finding::violation(
                        "JOB-DOC-1",
                        format!(
                            "GET of an existing job answered {status} while waiting for it to become {what}: {}",
                            show_body(&response.body)
                        ),
                    ));
                }
            }
            // Unless the next read is a long poll, wait before it.
            if !(long_poll && etag.is_some()) {
                let pause = match pace {
                    Pace::AsTheServerAsks => {
                        retry_after(&response).unwrap_or(Duration::from_millis(200))
                    }
                    Pace::Every(pause) => pause,
                };
                let remaining = deadline.saturating_duration_since(Instant::now());
                tokio::time::sleep(pause.min(remaining)).await;
            }
        }
    }

    /// Wait until the job has `status`.
    pub async fn wait_status(
        &self,
        url: &str,
        status: &str,
        requirement: &'static str,
    ) -> Result<Value, Finding> {
        self.wait_job(url, status, self.timeouts().job, requirement, |doc| {
            doc["status"] == status
        })
        .await
    }

    /// Wait until the job is terminal.
    pub async fn wait_terminal(
        &self,
        url: &str,
        requirement: &'static str,
    ) -> Result<Value, Finding> {
        self.wait_job(url, "terminal", self.timeouts().job, requirement, |doc| {
            is_terminal(doc)
        })
        .await
    }
}

/// A job ID no server has given out (a fresh UUID behind a fixed prefix).
pub fn unknown_job_id() -> String {
    format!("conformance-no-such-job-{}", uuid::Uuid::now_v7())
}

/// Whether a job document shows a terminal status.
pub fn is_terminal(doc: &Value) -> bool {
    matches!(
        doc["status"].as_str(),
        Some("succeeded" | "failed" | "canceled")
    )
}

/// The delay of a delay-seconds `Retry-After`.
pub fn retry_after(response: &Response) -> Option<Duration> {
    response
        .header("retry-after")?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}
