//! Section 12: server-sent events (`GET /v1/jobs/{id}/events`).
//!
//! The checks read event streams with the strict reader of [`crate::sse`]:
//! the answer's headers and the `404` for unknown jobs (EVENTS-1); the first
//! event, which is the current document (EVENTS-2); the fields of every event
//! (EVENTS-3); `status` versus `progress` events (EVENTS-4); unique ids and the
//! terminal status (EVENTS-5); the end of the stream right after it, and the
//! single event of a terminal job (EVENTS-6); and the end of the stream when
//! the job is deleted (EVENTS-9).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::check::{Check, Finding, Outcome};
use crate::checks::document::without_expiry;
use crate::checks::document::{
    failing_params, get_doc, quick_params, quiet_params, stepped_params,
};
use crate::context::Ctx;
use crate::exchange::show_body;
use crate::jobs::is_terminal;
use crate::sse::{EventStream, Next, SseEvent};
use crate::{ensure, ensure_should};

/// The checks of this section.
pub const CHECKS: &[Check] = &[
    Check {
        id: "events.headers",
        title: "the event stream is text/event-stream with no-store; an unknown job is 404 job-not-found",
        class: "events",
        requirements: &["EVENTS-1", "JOB-DOC-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(headers(ctx)),
    },
    Check {
        id: "events.stream",
        title: "a running job's stream: well-formed events, status vs progress, unique ids, ends after the terminal status",
        class: "events",
        requirements: &[
            "EVENTS-2",
            "EVENTS-3",
            "EVENTS-4",
            "EVENTS-5",
            "EVENTS-6",
            "EVENTS-1",
            "JOB-DOC-1",
        ],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(stream(ctx)),
    },
    Check {
        id: "events.first-current",
        title: "the first event is a status event with the current document, also when reconnecting",
        class: "events",
        requirements: &["EVENTS-2", "EVENTS-3", "EVENTS-1", "JOB-DOC-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(first_current(ctx)),
    },
    Check {
        id: "events.terminal",
        title: "the stream of a terminal job holds exactly one status event and ends",
        class: "events",
        requirements: &["EVENTS-6", "EVENTS-2", "EVENTS-3", "EVENTS-1", "JOB-DOC-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(terminal(ctx)),
    },
    Check {
        id: "events.deleted",
        title: "deleting the job ends its open stream, after the canceled status event",
        class: "events",
        requirements: &["EVENTS-9", "EVENTS-1", "JOB-DOC-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(deleted(ctx)),
    },
];

/// Requirements of this section that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[
    (
        "EVENTS-7",
        "takes 15 s: a quiet stream must be watched for 15 s to see the heartbeat comment, too long for the suite's time budget",
    ),
    (
        "EVENTS-8",
        "a MAY: ignoring Last-Event-ID or not cannot be wrong (the first event after reconnecting is checked by events.first-current)",
    ),
];

/// Open the event stream of the job at `url` and expect `200` with the
/// headers of EVENTS-1.
async fn open(ctx: &Ctx, url: &str, last_event_id: Option<&str>) -> Result<EventStream, Finding> {
    let mut request = ctx
        .get(&format!("{url}/events"))
        .timeout(ctx.timeouts().job);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    let response = request.send_streaming().await?;
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    ensure!(
        status == 200,
        "EVENTS-1",
        "GET {url}/events answered {status}, expected 200"
    );
    let content_type = header("content-type");
    ensure!(
        content_type.first().is_some_and(|ct| ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("text/event-stream")),
        "EVENTS-1",
        "GET {url}/events has Content-Type {content_type:?}, expected text/event-stream"
    );
    let cache = header("cache-control");
    ensure!(
        cache.iter().any(|v| v
            .split(',')
            .any(|d| d.trim().eq_ignore_ascii_case("no-store"))),
        "EVENTS-1",
        "GET {url}/events has Cache-Control {cache:?}, expected no-store"
    );
    Ok(EventStream::new(response))
}

/// The document of an event after judging its fields (EVENTS-3): `event` is
/// `status` or `progress`, `id` is there, and one `data` line holds a job
/// document of the job `job_id` as JSON.
fn judge_event(event: &SseEvent, job_id: &Value) -> Result<Value, Finding> {
    ensure!(
        matches!(event.event.as_deref(), Some("status" | "progress")),
        "EVENTS-3",
        "an event has the event field {:?}, expected status or progress: {event:?}",
        event.event
    );
    ensure!(
        event.id.as_deref().is_some_and(|id| !id.is_empty()),
        "EVENTS-3",
        "an event has no id field: {event:?}"
    );
    ensure!(
        event.data.len() == 1,
        "EVENTS-3",
        "an event has {} data lines, expected exactly one holding the document as single-line JSON: {event:?}",
        event.data.len()
    );
    let doc: Value = serde_json::from_str(&event.data[0]).map_err(|e| {
        Finding::violation(
            "EVENTS-3",
            format!("an event's data is not JSON ({e}): {:?}", event.data[0]),
        )
    })?;
    ensure!(
        doc.is_object() && doc["id"] == *job_id,
        "EVENTS-3",
        "an event's data is not the job document of {job_id}: {}",
        event.data[0]
    );
    Ok(doc)
}

/// Read events until the stream ends, for at most `within`. Returns the events
/// and whether the stream ended (rather than the time running out).
async fn read_to_end(stream: &mut EventStream, within: Duration) -> (Vec<SseEvent>, bool) {
    let deadline = Instant::now() + within;
    let mut events = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match stream.next(left).await {
            Next::Event(e) => events.push(e),
            Next::End => return (events, true),
            Next::Timeout => return (events, false),
        }
    }
}

/// Judge a whole stream that ran to the job's end (EVENTS-2 to EVENTS-6):
/// returns the documents of its events.
async fn judge_stream(
    stream: &mut EventStream,
    job_id: &Value,
    within: Duration,
    grace: Duration,
) -> Result<Vec<Value>, Finding> {
    let deadline = Instant::now() + within;
    let mut ids = HashSet::new();
    let mut docs: Vec<Value> = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = match stream.next(left).await {
            Next::Event(e) => e,
            Next::End => {
                let last = docs.last().map(|d| d["status"].clone());
                return Err(Finding::violation(
                    "EVENTS-5",
                    format!(
                        "the stream ended after {} events without the terminal status (last status {last:?})",
                        docs.len()
                    ),
                ));
            }
            Next::Timeout => {
                return Err(Finding::error(format!(
                    "the job did not end within {:.0} s (events so far: {})",
                    within.as_secs_f64(),
                    docs.len()
                )));
            }
        };
        let doc = judge_event(&event, job_id)?;
        let kind = event.event.as_deref().unwrap_or("");
        let id = event.id.clone().unwrap_or_default();
        ensure!(
            ids.insert(id.clone()),
            "EVENTS-5",
            "two events of the stream carry the id {id:?}"
        );
        match docs.last() {
            None => ensure!(
                kind == "status",
                "EVENTS-2",
                "the first event is `{kind}`, expected `status` with the current document"
            ),
            Some(previous) => {
                let changed_status = previous["status"] != doc["status"];
                ensure!(
                    without_expiry(previous) != without_expiry(&doc),
                    "EVENTS-4",
                    "a `{kind}` event (id {id}) carries the same document as the event before it"
                );
                let want = if changed_status { "status" } else { "progress" };
                ensure!(
                    kind == want,
                    "EVENTS-4",
                    "an event that changed the status from {} to {} is `{kind}`, expected `{want}`",
                    previous["status"],
                    doc["status"]
                );
            }
        }
        let done = is_terminal(&doc);
        docs.push(doc);
        if done {
            break;
        }
    }
    let (more, ended) = read_to_end(stream, grace).await;
    ensure!(
        more.is_empty(),
        "EVENTS-6",
        "the stream went on after the terminal status with {} more events: {more:?}",
        more.len()
    );
    ensure!(
        ended,
        "EVENTS-6",
        "the stream was still open {:.1} s after the event with the terminal status",
        grace.as_secs_f64()
    );
    Ok(docs)
}

/// How long a stream may stay open after its last event.
fn grace(ctx: &Ctx) -> Duration {
    ctx.timeouts().scale(Duration::from_secs(2))
}

async fn headers(ctx: Ctx) -> Outcome {
    let job = ctx.start_probe(quick_params()).await?;
    ctx.wait_setup(&job.url, "terminal", is_terminal).await?;
    let mut stream = open(&ctx, &job.url, None).await?;
    read_to_end(&mut stream, grace(&ctx)).await;
    let unknown = format!(
        "/v1/jobs/conformance-no-such-job-{}/events",
        uuid::Uuid::now_v7()
    );
    let response = ctx.get(&unknown).send().await?;
    response.expect_problem(404, "job-not-found", "EVENTS-1")?;
    Ok(())
}

async fn stream(ctx: Ctx) -> Outcome {
    let job = ctx.start_probe(stepped_params()).await?;
    let mut stream = open(&ctx, &job.url, None).await?;
    let docs = judge_stream(&mut stream, &job.doc["id"], ctx.timeouts().job, grace(&ctx)).await?;
    let last = docs.last().expect("a terminal document");
    let (_, now) = get_doc(&ctx, &job.url).await?;
    ensure!(
        without_expiry(last) == without_expiry(&now),
        "EVENTS-3",
        "the terminal event carries {last}, but GET gives {now}"
    );
    Ok(())
}

async fn first_current(ctx: Ctx) -> Outcome {
    let job = ctx.start_probe(quiet_params()).await?;
    ctx.wait_setup(&job.url, "running with stage prepare", |d| {
        d["status"] == "running" && d["progress"]["stage"] == "prepare"
    })
    .await?;
    let (_, current) = get_doc(&ctx, &job.url).await?;
    let mut last_id = None;
    for reconnect in [false, true] {
        let mut stream = open(&ctx, &job.url, last_id.as_deref()).await?;
        let label = if reconnect {
            "after reconnecting with Last-Event-ID"
        } else {
            "of a new stream"
        };
        let event = match stream.next(ctx.timeouts().request).await {
            Next::Event(e) => e,
            Next::End => {
                return Err(Finding::violation(
                    "EVENTS-2",
                    format!("the stream {label} of a running job ended without an event"),
                ));
            }
            Next::Timeout => {
                return Err(Finding::violation(
                    "EVENTS-2",
                    format!(
                        "the stream {label} of a running job sent no event within {:.0} s",
                        ctx.timeouts().request.as_secs_f64()
                    ),
                ));
            }
        };
        let doc = judge_event(&event, &job.doc["id"])?;
        ensure!(
            event.event.as_deref() == Some("status"),
            "EVENTS-2",
            "the first event {label} is {:?}, expected `status`",
            event.event
        );
        ensure!(
            without_expiry(&doc) == without_expiry(&current),
            "EVENTS-2",
            "the first event {label} carries {doc}, but the current document (unchanged since) is {current}"
        );
        last_id = event.id.clone();
    }
    Ok(())
}

async fn terminal(ctx: Ctx) -> Outcome {
    for params in [quick_params(), failing_params()] {
        let job = ctx.start_probe(params).await?;
        ctx.wait_setup(&job.url, "terminal", is_terminal).await?;
        let (_, current) = get_doc(&ctx, &job.url).await?;
        let mut stream = open(&ctx, &job.url, None).await?;
        let (events, ended) = read_to_end(&mut stream, grace(&ctx)).await;
        let status = &current["status"];
        ensure!(
            events.len() == 1,
            "EVENTS-6",
            "the stream of a {status} job holds {} events, expected exactly one: {events:?}",
            events.len()
        );
        ensure!(
            ended,
            "EVENTS-6",
            "the stream of a {status} job was still open {:.1} s after its one event",
            grace(&ctx).as_secs_f64()
        );
        let doc = judge_event(&events[0], &job.doc["id"])?;
        ensure!(
            events[0].event.as_deref() == Some("status"),
            "EVENTS-2",
            "the one event of a {status} job is {:?}, expected `status`",
            events[0].event
        );
        ensure!(
            without_expiry(&doc) == without_expiry(&current),
            "EVENTS-2",
            "the one event of a {status} job carries {doc}, but GET gives {current}"
        );
    }
    Ok(())
}

async fn deleted(ctx: Ctx) -> Outcome {
    if !ctx.claims("delete") {
        return Err(Finding::skip(
            "the server does not claim `delete`, so a job cannot be deleted under an open stream",
        ));
    }
    let job = ctx.start_probe(quiet_params()).await?;
    ctx.wait_setup(&job.url, "running with stage prepare", |d| {
        d["status"] == "running" && d["progress"]["stage"] == "prepare"
    })
    .await?;
    let mut stream = open(&ctx, &job.url, None).await?;
    match stream.next(ctx.timeouts().request).await {
        Next::Event(_) => {}
        other => {
            return Err(Finding::error(format!(
                "the stream of a running job gave no first event: {other:?}"
            )));
        }
    }
    let response = ctx.delete(&job.url).send().await?;
    if response.status != 200 {
        return Err(Finding::error(format!(
            "DELETE of a running job answered {}: {}",
            response.status,
            show_body(&response.body)
        )));
    }
    let within = ctx.timeouts().request;
    let (events, ended) = read_to_end(&mut stream, within).await;
    ensure!(
        ended,
        "EVENTS-9",
        "the stream was still open {:.0} s after the job was deleted ({} events meanwhile)",
        within.as_secs_f64(),
        events.len()
    );
    let last = events.last().map(|e| (e.event.clone(), e.data.clone()));
    let canceled = events.last().is_some_and(|e| {
        e.event.as_deref() == Some("status")
            && e.data.len() == 1
            && serde_json::from_str::<Value>(&e.data[0]).is_ok_and(|d| d["status"] == "canceled")
    });
    ensure_should!(
        canceled,
        "EVENTS-9",
        "the deletion canceled the running job, but the stream ended without a `canceled` status event (last event: {last:?})"
    );
    Ok(())
}
