//! Section 17: expiry, the sliding time to live of terminal jobs (class
//! `expiry`).
//!
//! Expiry is about the passing of time, and most ways of looking at a job are
//! themselves *uses* that move its deadline. So these checks look at jobs
//! through requests that are not uses wherever the deadline matters: the first
//! event of the job's event stream (class `events`) or the job's entry in the
//! list (class `list`), and the log and cancel endpoints, whose status says
//! whether the job still exists.
//!
//! - an active job has no `expiresAt` and outlives its TTL (EXPIRY-1);
//! - a job that becomes terminal gets `expiresAt` = `finishedAt` + `ttlSeconds`
//!   (EXPIRY-2);
//! - a `GET` of the job, a read of its result and a `304` move the deadline to
//!   the time of the use plus the TTL, and the document a use returns shows it
//!   (EXPIRY-3); requests that are not uses leave it (EXPIRY-4);
//! - with the smallest TTL, the job is there before its `expiresAt` and gone
//!   from every endpoint and the list from then on (EXPIRY-3, EXPIRY-5).
//!
//! Deadlines are in the server's clock, the suite measures with its own. To
//! stay independent of the offset between the two, a check only relates the
//! server's timestamps to each other plus durations measured locally between
//! exchanges (a server time read in an answer was taken after the request was
//! sent and before the answer arrived). Letting time pass until a deadline is
//! done with a timer, not by polling; "is it gone yet" is polled with a bound.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::check::{Check, Finding, Outcome};
use crate::checks::cancel::{cancel, running_hold_with};
use crate::context::{Ctx, Response};
use crate::ensure;
use crate::exchange::show_body;
use crate::jobs::{Job, is_terminal};
use crate::sse::{EventStream, Next};
use crate::timestamps::{self, format_gen2};

/// The checks of this section.
pub const CHECKS: &[Check] = &[
    Check {
        id: "expiry.active",
        title: "an active job has expiresAt null and does not expire when its TTL passes",
        class: "expiry",
        requirements: &["EXPIRY-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(active(ctx)),
    },
    Check {
        id: "expiry.set-on-terminal",
        title: "a job that becomes terminal gets expiresAt = finishedAt + ttlSeconds",
        class: "expiry",
        requirements: &["EXPIRY-2"],
        needs: &["service.document", "probe.offered"],
        jobs: 2,
        exclusive: false,
        run: |ctx| Box::pin(set_on_terminal(ctx)),
    },
    Check {
        id: "expiry.use-moves",
        title: "a GET of the job, of its result and a 304 move expiresAt to the time of the use + ttlSeconds",
        class: "expiry",
        requirements: &["EXPIRY-3"],
        needs: &["service.document", "probe.offered"],
        jobs: 3,
        exclusive: false,
        run: |ctx| Box::pin(use_moves(ctx)),
    },
    Check {
        id: "expiry.non-uses",
        title: "the log, events, the list, a refused cancel and error answers do not move expiresAt",
        class: "expiry",
        requirements: &["EXPIRY-4"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(non_uses(ctx)),
    },
    Check {
        id: "expiry.deadline",
        title: "with the smallest TTL the job is there before expiresAt and answers 404 everywhere from then on",
        class: "expiry",
        requirements: &["EXPIRY-5", "EXPIRY-3"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(deadline(ctx)),
    },
];

/// Requirements of this section that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[
    (
        "EXPIRY-6",
        "removal from the server's storage is not observable over HTTP beyond the 404 of EXPIRY-5",
    ),
    (
        "EXPIRY-7",
        "needs a restart of the server while a deadline passes, which a client cannot cause",
    ),
];

/// The largest `limits.minTtlSeconds` the checks that wait for a deadline
/// accept.
const MAX_SHORT_TTL: u64 = 3;

/// How long after the last move of a deadline a use is made, so that the move
/// is well visible (more than a second: a server may round).
const GAP: Duration = Duration::from_millis(1100);

/// The slack allowed when relating the server's millisecond timestamps to
/// local durations.
const SLACK: Duration = Duration::from_millis(10);

/// The smallest TTL the server allows, or a skip when it is too long to wait.
fn short_ttl(ctx: &Ctx) -> Result<u64, Finding> {
    let min = ctx.limits().min_ttl_seconds;
    if min > MAX_SHORT_TTL {
        return Err(Finding::skip(format!(
            "limits.minTtlSeconds is {min}; the suite waits for deadlines of at most {MAX_SHORT_TTL} s"
        )));
    }
    Ok(min.max(1))
}

/// A TTL long enough not to pass during a check.
fn long_ttl(ctx: &Ctx) -> u64 {
    let limits = ctx.limits();
    60u64.clamp(
        limits.min_ttl_seconds,
        limits.max_ttl_seconds.max(limits.min_ttl_seconds),
    )
}

/// A timestamp member of a document.
pub(crate) fn time_of(doc: &Value, member: &str) -> Option<OffsetDateTime> {
    timestamps::value(&doc[member])
}

fn required_time(
    doc: &Value,
    member: &str,
    requirement: &'static str,
) -> Result<OffsetDateTime, Finding> {
    time_of(doc, member).ok_or_else(|| {
        Finding::violation(
            requirement,
            format!("{member} is {}, expected a timestamp", doc[member]),
        )
    })
}

/// The signed difference `a - b`, for messages.
fn seconds_between(a: OffsetDateTime, b: OffsetDateTime) -> f64 {
    (a - b).as_seconds_f64()
}

fn std_to_time(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

/// The job as `GET /v1/jobs` lists it (not a use), or `None` when it is not
/// listed. The query selects jobs created within a millisecond of it.
pub(crate) async fn listed(ctx: &Ctx, doc: &Value) -> Result<Option<Value>, Finding> {
    let id = doc["id"].as_str().unwrap_or("");
    let created = time_of(doc, "createdAt").ok_or_else(|| {
        Finding::error(format!(
            "cannot look the job up in the list: its createdAt is {}",
            doc["createdAt"]
        ))
    })?;
    let one_ms = time::Duration::milliseconds(1);
    let format = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    let limit = ctx.limits().max_page_size.clamp(1, 100);
    let mut url = format!(
        "/v1/jobs?createdAfter={}&createdBefore={}&limit={limit}",
        format(created - one_ms),
        format(created + one_ms)
    );
    for _ in 0..20 {
        let response = ctx.get(&url).send().await?;
        if response.status != 200 {
            return Err(Finding::error(format!(
                "GET {url} (to read a job without using it) answered {}: {}",
                response.status,
                show_body(&response.body)
            )));
        }
        let page = response.json().unwrap_or(Value::Null);
        if let Some(doc) = page["jobs"]
            .as_array()
            .and_then(|jobs| jobs.iter().find(|j| j["id"] == id))
        {
            return Ok(Some(doc.clone()));
        }
        match page["next"].as_str() {
            Some(next) => url = next.to_owned(),
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// `GET {job}/events` as a whole answer when it is not `200`; a `200` stream
/// is closed at once and returned without its body.
pub(crate) async fn events_response(ctx: &Ctx, job_url: &str) -> Result<Response, Finding> {
    let started = Instant::now();
    let response = ctx
        .get(&format!("{job_url}/events"))
        .send_streaming()
        .await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = if status == 200 {
        bytes::Bytes::new()
    } else {
        tokio::time::timeout(ctx.timeouts().request, response.bytes())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default()
    };
    Ok(Response {
        status,
        headers,
        body,
        elapsed: started.elapsed(),
    })
}

/// Open the job's event stream (not a use), or say why it could not be.
async fn open_events(ctx: &Ctx, job_url: &str) -> Result<EventStream, Finding> {
    let response = ctx
        .get(&format!("{job_url}/events"))
        .send_streaming()
        .await?;
    if response.status().as_u16() != 200 {
        return Err(Finding::error(format!(
            "GET {job_url}/events (to read the job without using it) answered {}",
            response.status()
        )));
    }
    Ok(EventStream::new(response))
}

/// The job document an event carries.
fn event_doc(event: &crate::sse::SseEvent) -> Result<Value, Finding> {
    serde_json::from_str(&event.data.join("\n")).map_err(|e| {
        Finding::error(format!(
            "an event's data is not a job document ({e}): {:?}",
            event.data
        ))
    })
}

/// Whether the server offers a way to read a job's document without using it.
fn can_read_unused(ctx: &Ctx) -> bool {
    ctx.claims("events") || ctx.claims("list")
}

/// The job's current document, read without using it (the first event of its
/// stream, else its list entry); `None` when the server offers neither.
pub(crate) async fn current_unused(ctx: &Ctx, job: &Job) -> Result<Option<Value>, Finding> {
    if ctx.claims("events") {
        let mut stream = open_events(ctx, &job.url).await?;
        return match stream.next(ctx.timeouts().request).await {
            Next::Event(event) => event_doc(&event).map(Some),
            Next::End | Next::Timeout => Err(Finding::error(format!(
                "the event stream of {} gave no first event",
                job.url
            ))),
        };
    }
    if ctx.claims("list") {
        return listed(ctx, &job.doc).await.and_then(|doc| {
            doc.map(Some)
                .ok_or_else(|| Finding::error(format!("job {} is not listed", job.id)))
        });
    }
    Ok(None)
}

/// Wait until the job is terminal, watching it without using it; returns its
/// terminal document, or `None` when the server offers no such way.
pub(crate) async fn terminal_unused(ctx: &Ctx, job: &Job) -> Result<Option<Value>, Finding> {
    if !can_read_unused(ctx) {
        return Ok(None);
    }
    let deadline = Instant::now() + ctx.timeouts().job;
    let late = || {
        Finding::error(format!(
            "setting the check up: job {} did not become terminal within {:.0} s",
            job.id,
            ctx.timeouts().job.as_secs_f64()
        ))
    };
    if ctx.claims("events") {
        loop {
            let mut stream = open_events(ctx, &job.url).await?;
            loop {
                let remaining = deadline.saturating_duration_since(Instant::now());
                match stream.next(remaining).await {
                    Next::Event(event) => {
                        let doc = event_doc(&event)?;
                        if is_terminal(&doc) {
                            return Ok(Some(doc));
                        }
                    }
                    Next::End => break,
                    Next::Timeout => return Err(late()),
                }
            }
            if Instant::now() >= deadline {
                return Err(late());
            }
        }
    }
    loop {
        if let Some(doc) = current_unused(ctx, job).await?
            && is_terminal(&doc)
        {
            return Ok(Some(doc));
        }
        if Instant::now() >= deadline {
            return Err(late());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// After a job was deleted or expired: what still answers for it, if anything.
/// Asks every endpoint that names the job (those of classes the server claims)
/// and the list.
pub(crate) async fn still_there(
    ctx: &Ctx,
    job_url: &str,
    doc: &Value,
) -> Result<Option<String>, Finding> {
    let mut requests: Vec<(String, Response)> = Vec::new();
    requests.push(("GET of the job".into(), ctx.get(job_url).send().await?));
    let result = format!("{job_url}/result");
    requests.push(("GET of the result".into(), ctx.get(&result).send().await?));
    if ctx.claims("delete") {
        requests.push((
            "DELETE of the job".into(),
            ctx.delete(job_url).send().await?,
        ));
    }
    if ctx.claims("log") {
        requests.push((
            "GET of the log".into(),
            ctx.get(&format!("{job_url}/log")).send().await?,
        ));
    }
    if ctx.claims("events") {
        requests.push((
            "GET of the events".into(),
            events_response(ctx, job_url).await?,
        ));
    }
    if ctx.claims("cancel") {
        requests.push(("POST of cancel".into(), cancel(ctx, job_url).await?));
    }
    for (what, response) in &requests {
        if response.status != 404 || response.problem_kind().as_deref() != Some("job-not-found") {
            return Ok(Some(format!(
                "{what} answered {} {}, expected 404 job-not-found",
                response.status,
                show_body(&response.body)
            )));
        }
    }
    let head = ctx.request(Method::HEAD, &result).send().await?;
    if head.status != 404 {
        return Ok(Some(format!(
            "HEAD of the result answered {}, expected 404",
            head.status
        )));
    }
    if ctx.claims("list") && listed(ctx, doc).await?.is_some() {
        return Ok(Some("the job is still listed by GET /v1/jobs".into()));
    }
    Ok(None)
}

async fn active(ctx: Ctx) -> Outcome {
    let ttl = short_ttl(&ctx)?;
    let job = ctx
        .start_probe_with(json!({
            "params": {"durationMs": ttl * 1000 + 1200, "steps": 2},
            "ttlSeconds": ttl
        }))
        .await?;
    // The job was created before this moment.
    let created = Instant::now();
    ensure!(
        job.doc["expiresAt"].is_null(),
        "EXPIRY-1",
        "the 202 of a start shows expiresAt {}, expected null for an active job",
        job.doc["expiresAt"]
    );
    let long_poll = ctx.claims("long-poll");
    let give_up = created + ctx.timeouts().job + Duration::from_secs(ttl);
    let end = loop {
        let sent = Instant::now();
        let response = if long_poll {
            ctx.get(&format!("{}?waitSeconds=1", job.url))
                .timeout(ctx.timeouts().request + Duration::from_secs(1))
                .send()
                .await?
        } else {
            ctx.get(&job.url).send().await?
        };
        let age = sent.duration_since(created).as_secs_f64();
        ensure!(
            response.status == 200,
            "EXPIRY-1",
            "GET of a job that was active at the last look answered {} {age:.2} s after it was created with ttlSeconds {ttl}: {}",
            response.status,
            show_body(&response.body)
        );
        let doc = response.json_object("EXPIRY-1")?;
        if is_terminal(&doc) {
            break doc;
        }
        ensure!(
            doc["expiresAt"].is_null(),
            "EXPIRY-1",
            "a {} job shows expiresAt {}, expected null while it is active",
            doc["status"],
            doc["expiresAt"]
        );
        if Instant::now() > give_up {
            return Err(Finding::error(format!(
                "setting the check up: a probe job of {} ms did not end within {:.0} s",
                ttl * 1000 + 1200,
                give_up.duration_since(created).as_secs_f64()
            )));
        }
        if !long_poll {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    // The job is still there after having been active for longer than its TTL.
    let active_for = match (time_of(&end, "createdAt"), time_of(&end, "finishedAt")) {
        (Some(created), Some(finished)) => seconds_between(finished, created),
        _ => 0.0,
    };
    if active_for <= ttl as f64 {
        return Err(Finding::error(format!(
            "a probe job of {} ms was active for only {active_for:.3} s (createdAt to finishedAt), not longer than its ttlSeconds ({ttl}), so the check saw no active job outlive its TTL",
            ttl * 1000 + 1200
        )));
    }
    Ok(())
}

/// Compare a terminal document's `expiresAt` with `finishedAt + ttlSeconds`.
fn expect_finished_plus_ttl(doc: &Value, ttl: u64, how: &str) -> Outcome {
    let finished = required_time(doc, "finishedAt", "EXPIRY-2")?;
    let expires = required_time(doc, "expiresAt", "EXPIRY-2")?;
    let want = finished + time::Duration::seconds(ttl as i64);
    ensure!(
        expires == want,
        "EXPIRY-2",
        "{how}: a {} job with ttlSeconds {ttl} has expiresAt {}, expected finishedAt + ttlSeconds = {} ({:+.3} s off)",
        doc["status"],
        doc["expiresAt"],
        format_gen2(want),
        seconds_between(expires, want)
    );
    Ok(())
}

async fn set_on_terminal(ctx: Ctx) -> Outcome {
    let ttl = long_ttl(&ctx);
    if !can_read_unused(&ctx) && !ctx.claims("cancel") {
        return Err(Finding::skip(
            "the server claims neither events nor list (to read a finished job without using it) nor cancel (whose answer shows the deadline)",
        ));
    }
    if can_read_unused(&ctx) {
        let job = ctx
            .start_probe_with(json!({"params": {"steps": 1}, "ttlSeconds": ttl}))
            .await?;
        if let Some(doc) = terminal_unused(&ctx, &job).await? {
            expect_finished_plus_ttl(&doc, ttl, "read without a use")?;
        }
    }
    if ctx.claims("cancel") {
        let hold = running_hold_with(
            &ctx,
            json!({"params": crate::jobs::hold_params(), "ttlSeconds": ttl}),
        )
        .await?;
        let response = cancel(&ctx, &hold.url).await?;
        if response.status != 200 {
            return Err(Finding::error(format!(
                "setting the check up: cancel of a running job answered {}",
                response.status
            )));
        }
        let doc = response.json_object("EXPIRY-2")?;
        expect_finished_plus_ttl(&doc, ttl, "the answer to a cancel")?;
    }
    Ok(())
}

/// The uses `expiry.use-moves` makes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Use {
    /// `GET` of the job, answered `200`.
    Get,
    /// `GET` of the result, answered `200`.
    Result,
    /// `GET` of the job with a matching `If-None-Match`, answered `304`.
    NotModified,
}

async fn one_use(ctx: &Ctx, ttl: u64, kind: Use) -> Outcome {
    if kind != Use::Get && !can_read_unused(ctx) {
        return Ok(());
    }
    if kind == Use::NotModified && !ctx.claims("long-poll") {
        return Ok(());
    }
    let posted = Instant::now();
    let job = ctx
        .start_probe_with(json!({"params": {"steps": 1}, "ttlSeconds": ttl}))
        .await?;
    let created = time_of(&job.doc, "createdAt")
        .ok_or_else(|| Finding::error(format!("the 202 has no createdAt: {}", job.doc)))?;
    // The last document seen, and a moment after the answer that showed it.
    let (mut seen, mut seen_at) = match terminal_unused(ctx, &job).await? {
        Some(doc) => (doc, Instant::now()),
        None => {
            let doc = ctx.wait_setup(&job.url, "terminal", is_terminal).await?;
            (doc, Instant::now())
        }
    };
    if seen["status"] != "succeeded" {
        return Err(Finding::error(format!(
            "setting the check up: a quick probe job ended {}",
            seen["status"]
        )));
    }
    let mut etag = String::new();
    if kind == Use::NotModified {
        let response = ctx.get(&job.url).send().await?;
        seen_at = Instant::now();
        etag = response.header("etag").unwrap_or("").to_owned();
        seen = response.json_object("JOB-DOC-1")?;
        if etag.is_empty() {
            return Err(Finding::error(
                "the job document has no ETag to send in If-None-Match",
            ));
        }
    }
    // Let time pass, so that the deadline a use sets is visibly later.
    tokio::time::sleep_until((seen_at + GAP).into()).await;
    let sent = Instant::now();
    let (what, doc) = match kind {
        Use::Get => {
            let response = ctx.get(&job.url).send().await?;
            ensure!(
                response.status == 200,
                "EXPIRY-3",
                "GET of a succeeded job answered {}",
                response.status
            );
            (
                "a GET of the job (in the document it returned)",
                response.json_object("EXPIRY-3")?,
            )
        }
        Use::Result => {
            let response = ctx.get(&job.sub("/result")).send().await?;
            if response.status != 200 {
                return Err(Finding::error(format!(
                    "setting the check up: GET of a succeeded job's result answered {}",
                    response.status
                )));
            }
            let doc = current_unused(ctx, &job).await?.unwrap_or(Value::Null);
            ("a GET of the result", doc)
        }
        Use::NotModified => {
            let response = ctx
                .get(&job.url)
                .header("If-None-Match", etag.clone())
                .send()
                .await?;
            if !matches!(response.status, 200 | 304) {
                return Err(Finding::error(format!(
                    "setting the check up: GET of the job with If-None-Match {etag} answered {}",
                    response.status
                )));
            }
            let doc = current_unused(ctx, &job).await?.unwrap_or(Value::Null);
            ("a GET of the job answered 304", doc)
        }
    };
    let answered = Instant::now();
    let ttl_d = time::Duration::seconds(ttl as i64);
    let before = required_time(&seen, "expiresAt", "EXPIRY-2")?;
    let moved = required_time(&doc, "expiresAt", "EXPIRY-3")?;
    // The use happened after the last deadline was set plus the time waited
    // locally, and before the answer (bounded via the job's createdAt).
    let earliest = before - ttl_d + std_to_time(sent.duration_since(seen_at)) - std_to_time(SLACK);
    let latest = created + std_to_time(answered.duration_since(posted)) + std_to_time(SLACK);
    let used_at = moved - ttl_d;
    ensure!(
        used_at >= earliest,
        "EXPIRY-3",
        "after {what} {:.2} s after the last deadline was set, expiresAt is {} (it was {}); expected the time of the use plus ttlSeconds {ttl}, at least {}",
        sent.duration_since(seen_at).as_secs_f64(),
        doc["expiresAt"],
        seen["expiresAt"],
        format_gen2(earliest + ttl_d)
    );
    ensure!(
        used_at <= latest,
        "EXPIRY-3",
        "after {what}, expiresAt is {}, later than the time of the use plus ttlSeconds {ttl} can be (at most {})",
        doc["expiresAt"],
        format_gen2(latest + ttl_d)
    );
    Ok(())
}

async fn use_moves(ctx: Ctx) -> Outcome {
    let ttl = long_ttl(&ctx);
    tokio::try_join!(
        one_use(&ctx, ttl, Use::Get),
        one_use(&ctx, ttl, Use::Result),
        one_use(&ctx, ttl, Use::NotModified)
    )?;
    Ok(())
}

async fn non_uses(ctx: Ctx) -> Outcome {
    if !can_read_unused(&ctx) {
        return Err(Finding::skip(
            "the server claims neither events nor list, so a job's deadline cannot be read without using the job",
        ));
    }
    let ttl = long_ttl(&ctx);
    let job = ctx
        .start_probe_with(json!({"params": {"steps": 1}, "ttlSeconds": ttl}))
        .await?;
    let Some(first) = terminal_unused(&ctx, &job).await? else {
        return Ok(());
    };
    let seen_at = Instant::now();
    let deadline = first["expiresAt"].clone();
    // Let time pass, so that a request that wrongly counted as a use would
    // visibly move the deadline.
    tokio::time::sleep_until((seen_at + GAP).into()).await;
    let mut asked: Vec<&str> = Vec::new();
    for what in [
        "GET of the log",
        "a listing",
        "opening the event stream",
        "a cancel answered 409",
        "a GET of the result answered 416",
        "a GET of the job answered 400",
    ] {
        match what {
            "GET of the log" if ctx.claims("log") => {
                let response = ctx.get(&job.sub("/log")).send().await?;
                if response.status != 200 {
                    return Err(Finding::error(format!(
                        "the log of a succeeded job answered {}",
                        response.status
                    )));
                }
            }
            "a listing" if ctx.claims("list") => {
                listed(&ctx, &job.doc).await?;
            }
            "opening the event stream" if ctx.claims("events") => {
                let mut stream = open_events(&ctx, &job.url).await?;
                let _ = stream.next(ctx.timeouts().request).await;
            }
            "a cancel answered 409" if ctx.claims("cancel") => {
                let response = cancel(&ctx, &job.url).await?;
                if response.status != 409 {
                    return Err(Finding::error(format!(
                        "cancel of a succeeded job answered {}, not 409",
                        response.status
                    )));
                }
            }
            "a GET of the result answered 416" if ctx.claims("result-range") => {
                let response = ctx
                    .get(&job.sub("/result"))
                    .header("Range", "bytes=100000000-")
                    .send()
                    .await?;
                if response.status != 416 {
                    return Err(Finding::error(format!(
                        "GET of a small result with Range: bytes=100000000- answered {}, not 416",
                        response.status
                    )));
                }
            }
            "a GET of the job answered 400" if ctx.claims("long-poll") => {
                let response = ctx
                    .get(&format!("{}?waitSeconds=soon", job.url))
                    .send()
                    .await?;
                if response.status != 400 {
                    return Err(Finding::error(format!(
                        "GET of the job with waitSeconds=soon answered {}, not 400",
                        response.status
                    )));
                }
            }
            _ => continue,
        }
        asked.push(what);
        let now = current_unused(&ctx, &job).await?.unwrap_or(Value::Null);
        ensure!(
            now["expiresAt"] == deadline,
            "EXPIRY-4",
            "{what} moved expiresAt from {deadline} to {} (requests made so far that are not uses: {})",
            now["expiresAt"],
            asked.join(", ")
        );
    }
    Ok(())
}

/// What a request that is not a use says about whether the job is there.
enum Seen {
    There,
    Gone,
}

/// The requests `expiry.deadline` asks with, best first.
#[derive(Debug, Clone, Copy)]
enum Asker {
    Log,
    Events,
    Cancel,
    List,
}

impl Asker {
    fn pick(ctx: &Ctx) -> Option<Asker> {
        [
            ("log", Asker::Log),
            ("events", Asker::Events),
            ("cancel", Asker::Cancel),
            ("list", Asker::List),
        ]
        .into_iter()
        .find(|(class, _)| ctx.claims(class))
        .map(|(_, asker)| asker)
    }

    fn describe(self) -> &'static str {
        match self {
            Asker::Log => "GET of the log",
            Asker::Events => "GET of the events",
            Asker::Cancel => "POST of cancel",
            Asker::List => "GET /v1/jobs",
        }
    }

    async fn ask(self, ctx: &Ctx, job: &Job) -> Result<Seen, Finding> {
        let response = match self {
            Asker::Log => ctx.get(&job.sub("/log")).send().await?,
            Asker::Events => events_response(ctx, &job.url).await?,
            Asker::Cancel => cancel(ctx, &job.url).await?,
            Asker::List => {
                return Ok(match listed(ctx, &job.doc).await? {
                    Some(_) => Seen::There,
                    None => Seen::Gone,
                });
            }
        };
        let there = match self {
            Asker::Cancel => 409,
            _ => 200,
        };
        if response.status == there {
            return Ok(Seen::There);
        }
        response.expect_problem(404, "job-not-found", "EXPIRY-5")?;
        Ok(Seen::Gone)
    }
}

async fn deadline(ctx: Ctx) -> Outcome {
    let ttl = short_ttl(&ctx)?;
    let Some(asker) = Asker::pick(&ctx) else {
        return Err(Finding::skip(
            "the server claims none of log, events, cancel and list, so whether a job still exists cannot be asked without using it",
        ));
    };
    let ttl_d = Duration::from_secs(ttl);
    let posted = Instant::now();
    let job = ctx
        .start_probe_with(json!({"params": {"steps": 1}, "ttlSeconds": ttl}))
        .await?;
    ctx.wait_setup(&job.url, "terminal", is_terminal).await?;
    // One more use; its answer shows the deadline as it stands. Nothing after
    // it is a use.
    let response = ctx.get(&job.url).send().await?;
    let answered = Instant::now();
    if response.status != 200 {
        return Err(Finding::error(format!(
            "GET of a job that just ended answered {}; with ttlSeconds {ttl} the machine may be too slow for this check",
            response.status
        )));
    }
    let doc = response.json_object("JOB-DOC-1")?;
    let expires = doc["expiresAt"].clone();
    let (Some(created_at), Some(expires_at)) =
        (time_of(&doc, "createdAt"), time_of(&doc, "expiresAt"))
    else {
        return Err(Finding::violation(
            "EXPIRY-2",
            format!(
                "a terminal job shows createdAt {} and expiresAt {}, expected timestamps",
                doc["createdAt"], doc["expiresAt"]
            ),
        ));
    };
    // The server's clock, read through the local one: the job was created
    // after `posted`, so at a local instant t the server's time is at most
    // createdAt + (t - posted); the deadline was set at expiresAt - ttl, before
    // `answered`, so at t it is at least expiresAt - ttl + (t - answered).
    let lifetime = Duration::try_from(expires_at - created_at).unwrap_or(Duration::ZERO);
    let surely_before = |t: Instant| t.duration_since(posted) + SLACK < lifetime;
    let surely_after = |t: Instant| t.duration_since(answered) >= ttl_d + SLACK;

    // Before expiresAt.
    let seen = asker.ask(&ctx, &job).await?;
    let got = Instant::now();
    ensure!(
        matches!(seen, Seen::There) || !surely_before(got),
        "EXPIRY-3",
        "{} answered 404 although the job's expiresAt {expires} had not come yet ({:.3} s at most since its createdAt {})",
        asker.describe(),
        got.duration_since(posted).as_secs_f64(),
        doc["createdAt"]
    );
    if ctx.claims("list") {
        let listed_now = listed(&ctx, &doc).await?;
        let got = Instant::now();
        ensure!(
            listed_now.is_some() || !surely_before(got),
            "EXPIRY-3",
            "the job is not listed although its expiresAt {expires} had not come yet ({:.3} s at most since its createdAt {})",
            got.duration_since(posted).as_secs_f64(),
            doc["createdAt"]
        );
    }

    // Around expiresAt: ask until the job is gone.
    tokio::time::sleep_until((answered + ttl_d.saturating_sub(Duration::from_millis(100))).into())
        .await;
    let give_up = answered + ttl_d + ctx.timeouts().request;
    loop {
        let asked = Instant::now();
        let seen = asker.ask(&ctx, &job).await?;
        let got = Instant::now();
        match seen {
            Seen::There => {
                ensure!(
                    !surely_after(asked),
                    "EXPIRY-5",
                    "{} still found the job at least {:.3} s after its expiresAt {expires}",
                    asker.describe(),
                    (asked.duration_since(answered).saturating_sub(ttl_d)).as_secs_f64()
                );
            }
            Seen::Gone => {
                ensure!(
                    !surely_before(got),
                    "EXPIRY-3",
                    "{} answered 404 before the job's expiresAt {expires} ({:.3} s at most since its createdAt {})",
                    asker.describe(),
                    got.duration_since(posted).as_secs_f64(),
                    doc["createdAt"]
                );
                break;
            }
        }
        if Instant::now() > give_up {
            ensure!(
                false,
                "EXPIRY-5",
                "the job was still there {:.1} s after its expiresAt {expires}",
                give_up.duration_since(answered + ttl_d).as_secs_f64()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if let Some(message) = still_there(&ctx, &job.url, &doc).await? {
        ensure!(
            false,
            "EXPIRY-5",
            "after its expiresAt {expires}: {message}"
        );
    }
    Ok(())
}
