//! The reference model: what the protocol allows a server to answer to each
//! operation in each state of a job, and what the model learns from the answer.
//!
//! The server's timing is not deterministic (a `quick` job may still be
//! `queued` or already `succeeded` when it is read), so the model does not
//! predict one answer: each rule below accepts a *set* of answers, and an
//! answer that settles an open question (the job was seen terminal, a cancel
//! came before or after the job ended) moves the model to the state it shows.
//! See the module header of [`crate::fuzz`] for the state machine.

use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::context::PROBLEM_PREFIX;
use crate::exchange::show_body;

/// How much earlier than the protocol's bound a "must not answer before N
/// seconds" answer may come, for the coarseness of clocks.
const CLOCK_SLACK: Duration = Duration::from_millis(50);

/// The bound of CANCEL-3: a cancel of a running `probe` job is answered within
/// 5 seconds (also for a delete, which cancels first: DELETE-1).
const CANCEL_BOUND: Duration = Duration::from_secs(5);

/// The kind of a job the fuzzer starts: which `probe` params it sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `{}`: succeeds at once with [`quick_result`].
    Quick,
    /// `{"fail": {"code": "x", "message": "y"}}`: fails at once with
    /// `plugin-error`, code `x`, detail `y`.
    Failing,
    /// `{"durationMs": 600000, "steps": 100}`: stays active (queued or
    /// running) until it is canceled or deleted.
    Hold,
}

impl Kind {
    /// The `probe` params of this kind.
    pub fn params(self) -> Value {
        match self {
            Kind::Quick => json!({}),
            Kind::Failing => json!({"fail": {"code": FAIL_CODE, "message": FAIL_MESSAGE}}),
            Kind::Hold => json!({"durationMs": 600_000, "steps": 100}),
        }
    }

    /// The kind's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Quick => "quick",
            Kind::Failing => "failing",
            Kind::Hold => "hold",
        }
    }
}

/// The error code a `failing` job's plugin returns.
pub const FAIL_CODE: &str = "x";
/// The error message a `failing` job's plugin returns.
pub const FAIL_MESSAGE: &str = "y";

/// The result of a `quick` job (PROBE-6: no `echo`, 10 steps, no inputs).
pub fn quick_result() -> Value {
    json!({"echo": null, "steps": 10, "inputs": []})
}

/// A terminal status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminal {
    /// `succeeded`.
    Succeeded,
    /// `failed`.
    Failed,
    /// `canceled`.
    Canceled,
}

impl Terminal {
    /// The status as the protocol spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Terminal::Succeeded => "succeeded",
            Terminal::Failed => "failed",
            Terminal::Canceled => "canceled",
        }
    }

    fn parse(status: &str) -> Option<Terminal> {
        match status {
            "succeeded" => Some(Terminal::Succeeded),
            "failed" => Some(Terminal::Failed),
            "canceled" => Some(Terminal::Canceled),
            _ => None,
        }
    }
}

/// What the model knows about one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// A `hold` job: active (`queued` or `running`) until canceled or deleted.
    Holding,
    /// A `quick` or `failing` job not yet seen terminal: active, or already
    /// its outcome (`succeeded` or `failed`).
    Settling(Terminal),
    /// Seen terminal; it stays so (JOB-STATE-3).
    Ended(Terminal),
    /// Deleted: every request naming it is `404` (DELETE-3).
    Deleted,
}

/// One answer of the server, as the model judges it.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// From sending the request to the end of the answer.
    pub elapsed: Duration,
}

impl Answer {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The media type of `Content-Type`, lower case, without parameters.
    pub fn media_type(&self) -> Option<String> {
        self.header("content-type").map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }

    /// The body as JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The problem kind (`job-not-found`), when the body is a problem document.
    pub fn problem_kind(&self) -> Option<String> {
        let ty = self.json()?.get("type")?.as_str()?.to_owned();
        Some(ty.strip_prefix(PROBLEM_PREFIX).unwrap_or(&ty).to_owned())
    }

    /// A one-line summary: status, problem kind or job status, time taken.
    pub fn summary(&self) -> String {
        let mut text = self.status.to_string();
        let doc = self.json();
        if let Some(kind) = self.problem_kind() {
            text.push(' ');
            text.push_str(&kind);
            if let Some(status) = doc.as_ref().and_then(|d| d.get("jobStatus")) {
                text.push_str(&format!(" (jobStatus {status})"));
            }
        } else if let Some(status) = doc
            .as_ref()
            .and_then(|d| d.get("status"))
            .and_then(Value::as_str)
        {
            text.push_str(&format!(" with a job document in status {status}"));
        } else if !self.body.is_empty() {
            text.push_str(&format!(
                " with a {}-byte {} body",
                self.body.len(),
                self.media_type().unwrap_or_else(|| "untyped".into())
            ));
        }
        text.push_str(&format!(" after {} ms", self.elapsed.as_millis()));
        text
    }

    /// The summary, the headers that matter here and the body (shortened).
    pub fn details(&self) -> String {
        let mut text = self.summary();
        for name in [
            "location",
            "etag",
            "retry-after",
            "preference-applied",
            "content-type",
        ] {
            if let Some(value) = self.header(name) {
                text.push_str(&format!("\n  {name}: {value}"));
            }
        }
        if !self.body.is_empty() {
            let mut body = show_body(&self.body);
            if body.len() > 1200 {
                let mut end = 1200;
                while !body.is_char_boundary(end) {
                    end -= 1;
                }
                body.truncate(end);
                body.push('…');
            }
            text.push_str(&format!("\n  body: {body}"));
        }
        text
    }
}

/// An answer the model does not allow.
#[derive(Debug, Clone, PartialEq)]
pub struct Discrepancy {
    /// The requirement of spec/protocol.md the answer breaks.
    pub requirement: &'static str,
    /// What the model allowed.
    pub expected: String,
    /// What was wrong with the answer.
    pub got: String,
}

type Checked<T = ()> = Result<T, Discrepancy>;

fn wrong(
    requirement: &'static str,
    expected: impl Into<String>,
    got: impl Into<String>,
) -> Discrepancy {
    Discrepancy {
        requirement,
        expected: expected.into(),
        got: got.into(),
    }
}

/// The server's limits as the model needs them.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `limits.workers`.
    pub workers: u64,
    /// `limits.maxWaitSeconds`.
    pub max_wait_seconds: u64,
}

/// One job of a case.
#[derive(Debug, Clone)]
pub struct JobModel {
    /// 1-based: `$JOB<number>` in the printed curl commands.
    pub number: usize,
    /// What was started.
    pub kind: Kind,
    /// The job URL (`Location` of the start).
    pub url: String,
    /// What the model knows.
    pub state: State,
    /// The `ETag` of the last job document seen.
    pub etag: Option<String>,
    /// The terminal document (without `expiresAt`) and its `ETag`, once seen.
    frozen: Option<(Value, Option<String>)>,
    /// Whether `running` was seen (no way back to `queued` without a crash).
    seen_running: bool,
}

/// The model of one case: the jobs started so far.
#[derive(Debug, Clone)]
pub struct Model {
    /// The jobs, in the order they were started.
    pub jobs: Vec<JobModel>,
    /// The server's limits.
    pub limits: Limits,
}

/// The most jobs one case starts.
pub const MAX_JOBS: usize = 6;

impl Model {
    /// A case with no jobs yet.
    pub fn new(limits: Limits) -> Model {
        Model {
            jobs: Vec::new(),
            limits,
        }
    }

    /// The job a step's index names: modulo the jobs started so far.
    pub fn resolve(&self, index: usize) -> Option<usize> {
        (!self.jobs.is_empty()).then(|| index % self.jobs.len())
    }

    /// How many `hold` jobs are active.
    pub fn holds_active(&self) -> usize {
        self.jobs
            .iter()
            .filter(|j| j.state == State::Holding)
            .count()
    }

    /// The most `hold` jobs active at once: one less than the workers, so that
    /// `quick` and `failing` jobs can still run; at least one.
    pub fn hold_limit(&self) -> usize {
        usize::try_from(self.limits.workers.saturating_sub(1))
            .unwrap_or(usize::MAX)
            .max(1)
    }

    /// Whether every worker may be taken by `hold` jobs, so that a `quick` or
    /// `failing` job might stay queued for as long as they run.
    pub fn workers_full(&self) -> bool {
        self.holds_active() as u64 >= self.limits.workers
    }

    /// The wait a `Prefer: wait=requested` is applied as (SYNC-2).
    pub fn applied_wait(&self, requested: u64) -> u64 {
        requested.min(self.limits.max_wait_seconds)
    }

    /// Judge the answer to a start of `kind`, asynchronous or with
    /// `Prefer: wait=<requested>`; a job it creates is added to the model.
    pub fn start(&mut self, kind: Kind, wait: Option<u64>, answer: &Answer) -> Checked {
        let number = self.jobs.len() + 1;
        let applied = wait.map(|w| self.applied_wait(w));
        let expected = match (kind, applied) {
            (_, None) => "202 with the job document in status queued (JOB-CREATE-1)".to_owned(),
            (Kind::Quick, Some(w)) => format!(
                "200 with the probe result, or 202 (still active) after {w} s (SYNC-3, SYNC-6)"
            ),
            (Kind::Failing, Some(w)) => format!(
                "422 plugin-error with code {FAIL_CODE:?}, or 202 (still active) after {w} s (SYNC-4, SYNC-6)"
            ),
            (Kind::Hold, Some(w)) => {
                format!("202 with an active job document after {w} s (SYNC-6, SYNC-7)")
            }
        };
        if answer.status == 503 && answer.problem_kind().as_deref() == Some("queue-full") {
            // The queue is full (JOB-CREATE-18): allowed, and no job exists.
            return Ok(());
        }
        match (answer.status, kind, applied) {
            (202, _, _) => {
                let url = start_headers(answer, &expected)?;
                if let Some(w) = applied {
                    check_preference_applied(answer, w, "SYNC-6", &expected)?;
                    if answer.elapsed + CLOCK_SLACK < Duration::from_secs(w) {
                        return Err(wrong(
                            "SYNC-7",
                            expected,
                            format!(
                                "202 after {} ms, before the applied wait of {w} s had elapsed",
                                answer.elapsed.as_millis()
                            ),
                        ));
                    }
                }
                let state = match kind {
                    Kind::Hold => State::Holding,
                    Kind::Quick => State::Settling(Terminal::Succeeded),
                    Kind::Failing => State::Settling(Terminal::Failed),
                };
                let mut job = JobModel::new(number, kind, url, state);
                let allowed: &[&str] = if applied.is_some() {
                    &["queued", "running"]
                } else {
                    &["queued"]
                };
                let requirement = if applied.is_some() {
                    "SYNC-6"
                } else {
                    "JOB-CREATE-1"
                };
                job.document(answer, allowed, requirement, &expected)?;
                self.jobs.push(job);
                Ok(())
            }
            (200, Kind::Quick, Some(w)) => {
                let url = sync_headers(answer, w, "SYNC-3", &expected)?;
                check_result_bytes(answer, None, "SYNC-3", &expected)?;
                self.jobs.push(JobModel::new(
                    number,
                    kind,
                    url,
                    State::Ended(Terminal::Succeeded),
                ));
                Ok(())
            }
            (422, Kind::Failing, Some(w)) => {
                let url = sync_headers(answer, w, "SYNC-4", &expected)?;
                let problem = expect_problem(answer, 422, "plugin-error", "SYNC-4", &expected)?;
                check_plugin_error(&problem, "SYNC-4", &expected)?;
                self.jobs.push(JobModel::new(
                    number,
                    kind,
                    url,
                    State::Ended(Terminal::Failed),
                ));
                Ok(())
            }
            _ => Err(wrong(
                if applied.is_some() {
                    "SYNC-6"
                } else {
                    "JOB-CREATE-1"
                },
                expected,
                answer.details(),
            )),
        }
    }
}

/// `Location`, `Operation-Location` and `Link` of a `202` (JOB-CREATE-2,
/// JOB-CREATE-3); the job URL.
fn start_headers(answer: &Answer, expected: &str) -> Checked<String> {
    let url = location(answer, "JOB-CREATE-2", expected)?;
    let link = answer.header("link").unwrap_or("");
    for rel in ["monitor", "cancel", "result"] {
        if !link.contains(&format!("rel=\"{rel}\"")) {
            return Err(wrong(
                "JOB-CREATE-3",
                expected,
                format!("a 202 whose Link header {link:?} has no rel=\"{rel}\""),
            ));
        }
    }
    Ok(url)
}

/// `Location` equal to `Operation-Location`; the job URL.
fn location(answer: &Answer, requirement: &'static str, expected: &str) -> Checked<String> {
    let Some(url) = answer.header("location") else {
        return Err(wrong(
            requirement,
            expected,
            format!("{} without a Location header", answer.status),
        ));
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(wrong(
            "GEN-3",
            expected,
            format!("a Location that is not absolute: {url:?}"),
        ));
    }
    if answer.header("operation-location") != Some(url) {
        return Err(wrong(
            requirement,
            expected,
            format!(
                "Operation-Location {:?} differs from Location {url:?}",
                answer.header("operation-location")
            ),
        ));
    }
    Ok(url.to_owned())
}

fn check_preference_applied(
    answer: &Answer,
    wait: u64,
    requirement: &'static str,
    expected: &str,
) -> Checked {
    let want = format!("wait={wait}");
    match answer.header("preference-applied") {
        Some(value) if value.split(',').any(|p| p.trim() == want) => Ok(()),
        other => Err(wrong(
            requirement,
            expected,
            format!("Preference-Applied {other:?} instead of {want:?}"),
        )),
    }
}

/// The headers of a synchronous answer (SYNC-3, SYNC-4); the job URL.
fn sync_headers(
    answer: &Answer,
    wait: u64,
    requirement: &'static str,
    expected: &str,
) -> Checked<String> {
    let url = location(answer, requirement, expected)?;
    check_preference_applied(answer, wait, requirement, expected)?;
    Ok(url)
}

/// The bytes of a `quick` job's result: `application/json`, equal to
/// [`quick_result`], with the `ETag` of their SHA-256 (RESULT-1, RESULT-2).
fn check_result_bytes(
    answer: &Answer,
    sha256: Option<&str>,
    requirement: &'static str,
    expected: &str,
) -> Checked {
    if answer.media_type().as_deref() != Some("application/json") {
        return Err(wrong(
            requirement,
            expected,
            format!(
                "a result with Content-Type {:?} instead of application/json",
                answer.header("content-type")
            ),
        ));
    }
    if answer.json() != Some(quick_result()) {
        return Err(wrong(
            "PROBE-6",
            format!("the result {}", quick_result()),
            format!("the result {}", show_body(&answer.body)),
        ));
    }
    let digest = hex(&Sha256::digest(&answer.body));
    let etag = format!("\"{digest}\"");
    if answer.header("etag") != Some(etag.as_str()) {
        return Err(wrong(
            requirement,
            expected,
            format!(
                "the result's ETag {:?} instead of {etag} (its SHA-256)",
                answer.header("etag")
            ),
        ));
    }
    if let Some(sha) = sha256
        && sha != digest
    {
        return Err(wrong(
            "RESULT-2",
            format!("result bytes whose SHA-256 is the document's result.sha256 {sha}"),
            format!("bytes with SHA-256 {digest}"),
        ));
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A problem document `status` `kind` (ERR-1, ERR-2); its body.
fn expect_problem(
    answer: &Answer,
    status: u16,
    kind: &str,
    requirement: &'static str,
    expected: &str,
) -> Checked<Value> {
    if answer.status != status || answer.problem_kind().as_deref() != Some(kind) {
        return Err(wrong(requirement, expected, answer.details()));
    }
    if answer.media_type().as_deref() != Some("application/problem+json") {
        return Err(wrong(
            "ERR-1",
            expected,
            format!(
                "a {status} {kind} with Content-Type {:?} instead of application/problem+json",
                answer.header("content-type")
            ),
        ));
    }
    let problem = answer.json().unwrap_or(Value::Null);
    if problem.get("status").and_then(Value::as_u64) != Some(u64::from(status)) {
        return Err(wrong(
            "ERR-1",
            expected,
            format!(
                "a problem whose status member {} is not the HTTP status {status}",
                problem.get("status").unwrap_or(&Value::Null)
            ),
        ));
    }
    Ok(problem)
}

/// A `plugin-error` of a `failing` job: `code` and `detail` (ERR-10).
fn check_plugin_error(problem: &Value, requirement: &'static str, expected: &str) -> Checked {
    let ty = problem.get("type").and_then(Value::as_str).unwrap_or("");
    if ty != format!("{PROBLEM_PREFIX}plugin-error") {
        return Err(wrong(
            requirement,
            expected,
            format!("an error of type {ty:?} instead of plugin-error"),
        ));
    }
    let code = problem.get("code").and_then(Value::as_str);
    let detail = problem.get("detail").and_then(Value::as_str);
    if code != Some(FAIL_CODE) || detail != Some(FAIL_MESSAGE) {
        return Err(wrong(
            "ERR-10",
            format!("a plugin-error with code {FAIL_CODE:?} and detail {FAIL_MESSAGE:?}"),
            format!("code {code:?} and detail {detail:?}"),
        ));
    }
    Ok(())
}

fn join(statuses: &[&str]) -> String {
    match statuses {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn is_active(status: &str) -> bool {
    status == "queued" || status == "running"
}

/// The document without `expiresAt`, the one member that may change once the
/// job is terminal (JOB-STATE-3, JOB-DOC-12).
fn without_expiry(doc: &Value) -> Value {
    let mut doc = doc.clone();
    if let Some(map) = doc.as_object_mut() {
        map.remove("expiresAt");
    }
    doc
}

impl JobModel {
    fn new(number: usize, kind: Kind, url: String, state: State) -> JobModel {
        JobModel {
            number,
            kind,
            url,
            state,
            etag: None,
            frozen: None,
            seen_running: false,
        }
    }

    /// The statuses a job document of this job may show now.
    fn allowed(&self) -> Vec<&'static str> {
        match self.state {
            State::Holding => vec!["queued", "running"],
            State::Settling(outcome) => vec!["queued", "running", outcome.as_str()],
            State::Ended(status) => vec![status.as_str()],
            State::Deleted => vec![],
        }
    }

    fn not_found(&self, answer: &Answer, requirement: &'static str) -> Checked {
        let expected = format!(
            "404 job-not-found: job {} was deleted ({requirement})",
            self.number
        );
        expect_problem(answer, 404, "job-not-found", requirement, &expected).map(|_| ())
    }

    /// Judge a `200` job document: its status is one of `allowed`, and the
    /// invariants of section 9 hold. The model learns the status. Returns it.
    fn document(
        &mut self,
        answer: &Answer,
        allowed: &[&str],
        requirement: &'static str,
        expected: &str,
    ) -> Checked<String> {
        let Some(doc) = answer.json().filter(Value::is_object) else {
            return Err(wrong(
                "JOB-DOC-1",
                expected,
                format!("a body that is not a JSON object: {}", answer.details()),
            ));
        };
        if answer.media_type().as_deref() != Some("application/json") {
            return Err(wrong(
                "GEN-5",
                expected,
                format!(
                    "a job document with Content-Type {:?}",
                    answer.header("content-type")
                ),
            ));
        }
        let status = doc
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("(none)")
            .to_owned();
        if !allowed.contains(&status.as_str()) {
            return Err(wrong(requirement, expected, answer.details()));
        }
        if status == "queued" && self.seen_running {
            return Err(wrong(
                "JOB-STATE-2",
                format!("job {} not to go back from running to queued", self.number),
                "a job document in status queued after running had been seen".to_owned(),
            ));
        }
        let active = is_active(&status);
        let succeeded = status == "succeeded";
        let failed = status == "failed";
        let attempt = doc.get("attempt").cloned().unwrap_or(Value::Null);
        if attempt != json!(1) {
            return Err(wrong(
                "JOB-STATE-5",
                "attempt 1",
                format!("attempt {attempt}"),
            ));
        }
        let links = doc.get("links").cloned().unwrap_or(Value::Null);
        let link = |name: &str| links.get(name).and_then(Value::as_str).map(str::to_owned);
        if link("self").as_deref() != Some(self.url.as_str()) {
            return Err(wrong(
                "JOB-DOC-10",
                format!("links.self {:?} (the job URL)", self.url),
                format!("links.self {:?}", link("self")),
            ));
        }
        let cancel_url = format!("{}/cancel", self.url);
        let result_url = format!("{}/result", self.url);
        let want_monitor = active.then(|| self.url.clone());
        let want_cancel = active.then(|| cancel_url.clone());
        let want_result = succeeded.then(|| result_url.clone());
        for (name, want) in [
            ("monitor", want_monitor),
            ("cancel", want_cancel),
            ("result", want_result),
        ] {
            if link(name) != want {
                return Err(wrong(
                    "JOB-DOC-10",
                    format!("links.{name} {want:?} in status {status}"),
                    format!("links.{name} {:?}", link(name)),
                ));
            }
        }
        let has = |member: &str| doc.get(member).is_some_and(|v| !v.is_null());
        for member in ["result", "resourceLocation"] {
            if has(member) != succeeded {
                return Err(wrong(
                    "JOB-DOC-8",
                    format!("`{member}` present if and only if the job succeeded"),
                    format!(
                        "status {status} with `{member}` {}",
                        if has(member) { "present" } else { "absent" }
                    ),
                ));
            }
        }
        if has("error") != failed {
            return Err(wrong(
                "JOB-DOC-9",
                "`error` present if and only if the job failed",
                format!(
                    "status {status} with `error` {}",
                    if has("error") { "present" } else { "absent" }
                ),
            ));
        }
        if failed {
            check_plugin_error(&doc["error"], "ERR-9", expected)?;
        }
        let percent = doc.pointer("/progress/percent").and_then(Value::as_f64);
        if succeeded && percent != Some(100.0) {
            return Err(wrong(
                "JOB-DOC-7",
                "progress.percent 100 once the job succeeded",
                format!("progress.percent {percent:?}"),
            ));
        }
        if has("finishedAt") == active {
            return Err(wrong(
                "JOB-DOC-4",
                "`finishedAt` null while active and set once terminal",
                format!(
                    "status {status} with finishedAt {}",
                    doc.get("finishedAt").unwrap_or(&Value::Null)
                ),
            ));
        }
        let etag = answer.header("etag").map(str::to_owned);
        if etag.is_none() {
            return Err(wrong(
                "JOB-DOC-11",
                "an ETag with every job document",
                answer.details(),
            ));
        }
        if answer.header("retry-after").is_some() != active {
            return Err(wrong(
                "JOB-DOC-11",
                "Retry-After if and only if the job is active",
                format!(
                    "status {status} with Retry-After {:?}",
                    answer.header("retry-after")
                ),
            ));
        }
        if !active {
            let now = (without_expiry(&doc), etag.clone());
            match &self.frozen {
                Some((before, before_etag)) => {
                    if *before != now.0 {
                        return Err(wrong(
                            "JOB-STATE-3",
                            format!(
                                "the terminal document seen before (but for expiresAt): {before}"
                            ),
                            format!("{}", now.0),
                        ));
                    }
                    if *before_etag != now.1 {
                        return Err(wrong(
                            "JOB-DOC-12",
                            format!("the unchanged terminal document's ETag {before_etag:?}"),
                            format!("ETag {:?} for the same document", now.1),
                        ));
                    }
                }
                None => self.frozen = Some(now),
            }
        }
        if status == "running" {
            self.seen_running = true;
        }
        self.etag = etag;
        Ok(status)
    }

    /// Move on from what a document (or a `jobStatus`) showed.
    fn learn(&mut self, status: &str) {
        if let (State::Settling(_) | State::Holding, Some(terminal)) =
            (self.state, Terminal::parse(status))
        {
            self.state = State::Ended(terminal);
        }
    }

    /// `GET` of the job URL.
    pub fn get(&mut self, answer: &Answer) -> Checked {
        if self.state == State::Deleted {
            return self.not_found(answer, "DELETE-3");
        }
        let allowed = self.allowed();
        let expected = format!(
            "200 with a job document in status {} (JOB-DOC-1, JOB-STATE-3)",
            join(&allowed)
        );
        if answer.status != 200 {
            return Err(wrong("JOB-DOC-1", expected, answer.details()));
        }
        let requirement = match self.state {
            State::Ended(_) => "JOB-STATE-3",
            _ => "JOB-STATE-2",
        };
        let status = self.document(answer, &allowed, requirement, &expected)?;
        self.learn(&status);
        Ok(())
    }

    /// Whether the job may still change (for a long poll).
    pub fn long_poll(&mut self, sent_etag: Option<&str>, wait: u64, answer: &Answer) -> Checked {
        if self.state == State::Deleted {
            return self.not_found(answer, "DELETE-3");
        }
        let allowed = self.allowed();
        let wait_d = Duration::from_secs(wait);
        let early = answer.elapsed + CLOCK_SLACK < wait_d;
        let terminal_known = matches!(self.state, State::Ended(_));
        let frozen_etag = self.frozen.as_ref().and_then(|(_, e)| e.clone());
        let expected = match sent_etag {
            Some(tag) if terminal_known && frozen_etag.as_deref() == Some(tag) => format!(
                "304 after {wait} s: job {} is terminal and its ETag {tag} cannot change (POLL-3, POLL-5)",
                self.number
            ),
            Some(tag) => format!(
                "200 with a document in status {} whose ETag is not {tag}, or 304 after {wait} s (POLL-3)",
                join(&allowed)
            ),
            None => format!(
                "200 with a document in status {}: at once when terminal, else after {wait} s (POLL-4)",
                join(&allowed)
            ),
        };
        match answer.status {
            304 => {
                let Some(tag) = sent_etag else {
                    return Err(wrong("POLL-4", expected, answer.details()));
                };
                if answer.header("etag") != Some(tag) {
                    return Err(wrong(
                        "POLL-1",
                        expected,
                        format!("304 with ETag {:?}", answer.header("etag")),
                    ));
                }
                if !answer.body.is_empty() {
                    return Err(wrong("POLL-1", expected, "304 with a body".to_owned()));
                }
                if early {
                    return Err(wrong(
                        "POLL-5",
                        expected,
                        format!(
                            "304 after {} ms, before waitSeconds={wait} had elapsed",
                            answer.elapsed.as_millis()
                        ),
                    ));
                }
                if terminal_known && frozen_etag.as_deref() != Some(tag) {
                    return Err(wrong(
                        "POLL-3",
                        expected,
                        "304 though the ETag sent is not the terminal document's".to_owned(),
                    ));
                }
                Ok(())
            }
            200 => {
                if terminal_known
                    && let (Some(tag), Some(frozen)) = (sent_etag, frozen_etag.as_deref())
                    && tag == frozen
                {
                    return Err(wrong("POLL-3", expected, answer.details()));
                }
                let status = self.document(answer, &allowed, "POLL-3", &expected)?;
                if let Some(tag) = sent_etag
                    && self.etag.as_deref() == Some(tag)
                {
                    return Err(wrong(
                        "POLL-3",
                        expected,
                        format!("200 with the same ETag {tag} that If-None-Match named"),
                    ));
                }
                if sent_etag.is_none() && is_active(&status) && early {
                    return Err(wrong(
                        "POLL-5",
                        expected,
                        format!(
                            "200 in status {status} after {} ms, before waitSeconds={wait} had elapsed",
                            answer.elapsed.as_millis()
                        ),
                    ));
                }
                self.learn(&status);
                Ok(())
            }
            _ => Err(wrong("POLL-3", expected, answer.details())),
        }
    }

    /// `POST /cancel`.
    pub fn cancel(&mut self, answer: &Answer) -> Checked {
        let expected = match self.state {
            State::Deleted => return self.not_found(answer, "CANCEL-8"),
            State::Holding => "200 with the document in status canceled (CANCEL-1)".to_owned(),
            State::Settling(outcome) => format!(
                "200 canceled (if it was still active, CANCEL-1) or 409 job-finished with jobStatus {} (CANCEL-7)",
                outcome.as_str()
            ),
            State::Ended(Terminal::Canceled) => {
                "200 with the same canceled document and ETag (CANCEL-5)".to_owned()
            }
            State::Ended(status) => format!(
                "409 job-finished with jobStatus {} (CANCEL-6)",
                status.as_str()
            ),
        };
        let was_active = matches!(self.state, State::Holding | State::Settling(_));
        if was_active && answer.elapsed > CANCEL_BOUND {
            return Err(wrong(
                "CANCEL-3",
                expected,
                format!(
                    "an answer after {} ms, more than 5 s",
                    answer.elapsed.as_millis()
                ),
            ));
        }
        match (self.state, answer.status) {
            (State::Holding | State::Settling(_) | State::Ended(Terminal::Canceled), 200) => {
                let requirement = if self.state == State::Ended(Terminal::Canceled) {
                    "CANCEL-5"
                } else {
                    "CANCEL-1"
                };
                self.document(answer, &["canceled"], requirement, &expected)?;
                self.state = State::Ended(Terminal::Canceled);
                Ok(())
            }
            (State::Settling(status) | State::Ended(status), 409)
                if status != Terminal::Canceled =>
            {
                let requirement = if was_active { "CANCEL-7" } else { "CANCEL-6" };
                let problem = expect_problem(answer, 409, "job-finished", requirement, &expected)?;
                let got = problem.get("jobStatus").and_then(Value::as_str);
                if got != Some(status.as_str()) {
                    return Err(wrong(
                        "CANCEL-6",
                        expected,
                        format!("409 job-finished with jobStatus {got:?}"),
                    ));
                }
                self.state = State::Ended(status);
                Ok(())
            }
            (State::Holding, _) | (State::Ended(Terminal::Canceled), _) => {
                Err(wrong("CANCEL-1", expected, answer.details()))
            }
            _ => Err(wrong(
                if was_active { "CANCEL-7" } else { "CANCEL-6" },
                expected,
                answer.details(),
            )),
        }
    }

    /// `DELETE` of the job URL.
    pub fn delete(&mut self, answer: &Answer) -> Checked {
        let (allowed, requirement): (Vec<&str>, &'static str) = match self.state {
            State::Deleted => return self.not_found(answer, "DELETE-5"),
            State::Holding => (vec!["canceled"], "DELETE-1"),
            State::Settling(outcome) => (vec!["canceled", outcome.as_str()], "DELETE-2"),
            State::Ended(status) => (vec![status.as_str()], "DELETE-1"),
        };
        let expected = format!(
            "200 with the job's last document in status {} ({requirement})",
            join(&allowed)
        );
        let was_active = matches!(self.state, State::Holding | State::Settling(_));
        if was_active && answer.elapsed > CANCEL_BOUND {
            return Err(wrong(
                "DELETE-1",
                expected,
                format!(
                    "an answer after {} ms, more than the 5 s of CANCEL-3",
                    answer.elapsed.as_millis()
                ),
            ));
        }
        if answer.status != 200 {
            return Err(wrong(requirement, expected, answer.details()));
        }
        self.document(answer, &allowed, requirement, &expected)?;
        self.state = State::Deleted;
        Ok(())
    }

    /// `GET /result`.
    pub fn result(&mut self, answer: &Answer) -> Checked {
        let sha = self
            .frozen
            .as_ref()
            .and_then(|(doc, _)| doc.pointer("/result/sha256"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let (expected, may_succeed, not_available): (String, bool, Vec<&str>) = match self.state {
            State::Deleted => return self.not_found(answer, "DELETE-3"),
            State::Holding => (
                "409 result-not-available with jobStatus queued or running (RESULT-4)".into(),
                false,
                vec!["queued", "running"],
            ),
            State::Settling(Terminal::Succeeded) => (
                "200 with the probe result, or 409 result-not-available with jobStatus queued or running (RESULT-1, RESULT-4)".into(),
                true,
                vec!["queued", "running"],
            ),
            State::Settling(outcome) => (
                format!(
                    "409 result-not-available with jobStatus queued, running or {} (RESULT-4)",
                    outcome.as_str()
                ),
                false,
                vec!["queued", "running", outcome.as_str()],
            ),
            State::Ended(Terminal::Succeeded) => (
                "200 with the probe result (RESULT-1)".into(),
                true,
                vec![],
            ),
            State::Ended(status) => (
                format!(
                    "409 result-not-available with jobStatus {} (RESULT-4)",
                    status.as_str()
                ),
                false,
                vec![status.as_str()],
            ),
        };
        match answer.status {
            200 if may_succeed => {
                check_result_bytes(answer, sha.as_deref(), "RESULT-1", &expected)?;
                self.learn("succeeded");
                Ok(())
            }
            409 if !not_available.is_empty() => {
                let problem =
                    expect_problem(answer, 409, "result-not-available", "RESULT-4", &expected)?;
                let got = problem
                    .get("jobStatus")
                    .and_then(Value::as_str)
                    .unwrap_or("(none)");
                if !not_available.contains(&got) {
                    return Err(wrong(
                        "RESULT-4",
                        expected,
                        format!("409 result-not-available with jobStatus {got}"),
                    ));
                }
                self.learn(got);
                Ok(())
            }
            _ => Err(wrong(
                if may_succeed { "RESULT-1" } else { "RESULT-4" },
                expected,
                answer.details(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, headers: &[(&str, &str)], body: Value) -> Answer {
        Answer {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: if body.is_null() {
                Vec::new()
            } else {
                body.to_string().into_bytes()
            },
            elapsed: Duration::from_millis(5),
        }
    }

    const URL: &str = "http://s/v1/jobs/1";

    fn doc(status: &str) -> Value {
        let active = is_active(status);
        let mut links =
            json!({"self": URL, "events": format!("{URL}/events"), "log": format!("{URL}/log")});
        if active {
            links["monitor"] = json!(URL);
            links["cancel"] = json!(format!("{URL}/cancel"));
        }
        let mut doc = json!({
            "id": "1", "status": status, "attempt": 1, "links": links,
            "finishedAt": if active { Value::Null } else { json!("2026-01-01T00:00:00.000Z") },
            "expiresAt": if active { Value::Null } else { json!("2026-01-01T01:00:00.000Z") },
        });
        if status == "succeeded" {
            doc["links"]["result"] = json!(format!("{URL}/result"));
            doc["result"] = json!({"href": format!("{URL}/result"), "sha256": "00"});
            doc["resourceLocation"] = json!(format!("{URL}/result"));
            doc["progress"] = json!({"percent": 100});
        }
        doc
    }

    fn doc_answer(status: &str, etag: &str) -> Answer {
        let mut headers = vec![("content-type", "application/json"), ("etag", etag)];
        if is_active(status) {
            headers.push(("retry-after", "1"));
        }
        answer(200, &headers, doc(status))
    }

    fn job(state: State) -> JobModel {
        JobModel::new(1, Kind::Quick, URL.to_owned(), state)
    }

    #[test]
    fn a_settling_job_may_be_active_or_its_outcome_and_then_stays_so() {
        let mut job = job(State::Settling(Terminal::Succeeded));
        job.get(&doc_answer("running", "\"a\"")).unwrap();
        assert_eq!(job.state, State::Settling(Terminal::Succeeded));
        job.get(&doc_answer("succeeded", "\"b\"")).unwrap();
        assert_eq!(job.state, State::Ended(Terminal::Succeeded));
        let back = job.get(&doc_answer("running", "\"c\"")).unwrap_err();
        assert_eq!(back.requirement, "JOB-STATE-3");
    }

    #[test]
    fn a_terminal_document_must_not_change() {
        let mut job = job(State::Settling(Terminal::Succeeded));
        job.get(&doc_answer("succeeded", "\"b\"")).unwrap();
        let other_etag = job.get(&doc_answer("succeeded", "\"c\"")).unwrap_err();
        assert_eq!(other_etag.requirement, "JOB-DOC-12");
    }

    #[test]
    fn a_deleted_job_is_gone() {
        let mut job = job(State::Settling(Terminal::Succeeded));
        job.delete(&doc_answer("succeeded", "\"b\"")).unwrap();
        assert_eq!(job.state, State::Deleted);
        let zombie = job.get(&doc_answer("succeeded", "\"b\"")).unwrap_err();
        assert_eq!(zombie.requirement, "DELETE-3");
        let gone = answer(
            404,
            &[("content-type", "application/problem+json")],
            json!({"type": "urn:longrun:problem:job-not-found", "status": 404}),
        );
        job.get(&gone).unwrap();
        job.cancel(&gone).unwrap();
        job.delete(&gone).unwrap();
        job.result(&gone).unwrap();
    }

    #[test]
    fn cancel_of_a_settling_job_learns_which_came_first() {
        let finished = answer(
            409,
            &[("content-type", "application/problem+json")],
            json!({"type": "urn:longrun:problem:job-finished", "status": 409, "jobStatus": "succeeded"}),
        );
        let mut first = job(State::Settling(Terminal::Succeeded));
        first.cancel(&finished).unwrap();
        assert_eq!(first.state, State::Ended(Terminal::Succeeded));
        let mut second = job(State::Settling(Terminal::Succeeded));
        second.cancel(&doc_answer("canceled", "\"x\"")).unwrap();
        assert_eq!(second.state, State::Ended(Terminal::Canceled));
        assert!(second.cancel(&finished).is_err());
    }

    #[test]
    fn a_result_is_the_probe_json_with_its_digest() {
        let body = quick_result().to_string();
        let etag = format!("\"{}\"", hex(&Sha256::digest(body.as_bytes())));
        let ok = Answer {
            status: 200,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("etag".into(), etag),
            ],
            body: body.into_bytes(),
            elapsed: Duration::ZERO,
        };
        job(State::Ended(Terminal::Succeeded)).result(&ok).unwrap();
        assert!(job(State::Holding).result(&ok).is_err());
    }

    #[test]
    fn a_long_poll_on_an_unchanged_terminal_job_waits() {
        let mut job = job(State::Settling(Terminal::Failed));
        let mut failed = doc_answer("failed", "\"f\"");
        let mut body = doc("failed");
        body["error"] =
            json!({"type": "urn:longrun:problem:plugin-error", "code": "x", "detail": "y"});
        failed.body = body.to_string().into_bytes();
        job.get(&failed).unwrap();
        let mut early = answer(304, &[("etag", "\"f\"")], Value::Null);
        assert_eq!(
            job.long_poll(Some("\"f\""), 1, &early)
                .unwrap_err()
                .requirement,
            "POLL-5"
        );
        early.elapsed = Duration::from_millis(1001);
        job.long_poll(Some("\"f\""), 1, &early).unwrap();
    }
}
