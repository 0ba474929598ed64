//! Section 13: cancel (`POST /v1/jobs/{id}/cancel`, class `cancel`).
//!
//! The checks cancel `probe` jobs that hold a worker until they are canceled
//! (`hold` jobs) and quick ones that have already ended:
//!
//! - a running job is canceled within 5 seconds and answered with its canceled
//!   document (CANCEL-1, CANCEL-3), which never gains a result afterwards
//!   (CANCEL-2), and a second cancel changes nothing (CANCEL-5);
//! - a job canceled while `queued` never starts (CANCEL-4); this check fills
//!   every worker, so it runs alone;
//! - succeeded and failed jobs answer `409` `job-finished` (CANCEL-6), unknown
//!   and deleted ones `404` (CANCEL-8);
//! - a cancel racing the job's own end is answered consistently with the status
//!   the job ends in (CANCEL-7, best effort: which side wins is up to timing).
//!
//! The module also holds helpers the other checks of this suite part use: a
//! running hold job, the shape of a canceled document, the document headers.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::check::{Check, Finding, Outcome};
use crate::checks::document::has;
use crate::context::{Ctx, Response};
use crate::ensure;
use crate::exchange::show_body;
use crate::jobs::{Job, is_terminal};

/// The checks of this section.
pub const CHECKS: &[Check] = &[
    Check {
        id: "cancel.running",
        title: "cancel of a running job answers 200 within 5 s with the canceled document",
        class: "cancel",
        requirements: &["CANCEL-1", "CANCEL-3", "JOB-DOC-11"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(running(ctx)),
    },
    Check {
        id: "cancel.no-result-after",
        title: "a canceled job never gains a result: its document and result endpoint say so",
        class: "cancel",
        requirements: &["CANCEL-2", "RESULT-4"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(no_result_after(ctx)),
    },
    Check {
        id: "cancel.repeat",
        title: "cancel of a canceled job answers 200 with the unchanged document (same ETag)",
        class: "cancel",
        requirements: &["CANCEL-5"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(repeat(ctx)),
    },
    Check {
        id: "cancel.finished",
        title: "cancel of a succeeded or failed job answers 409 job-finished with jobStatus",
        class: "cancel",
        requirements: &["CANCEL-6", "ERR-6"],
        needs: &["service.document", "probe.offered"],
        jobs: 2,
        exclusive: false,
        run: |ctx| Box::pin(finished(ctx)),
    },
    Check {
        id: "cancel.race",
        title: "a cancel racing the job's end agrees with the status the job ends in",
        class: "cancel",
        requirements: &["CANCEL-7", "CANCEL-2"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(race(ctx)),
    },
    Check {
        id: "cancel.unknown",
        title: "cancel of an unknown or deleted job answers 404 job-not-found",
        class: "cancel",
        requirements: &["CANCEL-8"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(unknown(ctx)),
    },
    Check {
        id: "cancel.queued-never-starts",
        title: "a job canceled while queued (all workers busy) never starts",
        class: "cancel",
        requirements: &["CANCEL-1", "CANCEL-4", "RESULT-4", "LOG-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: true,
        run: |ctx| Box::pin(queued_never_starts(ctx)),
    },
];

/// Requirements of this section that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

/// The most workers the suite fills with hold jobs to keep a job queued.
const MAX_WORKERS_TO_FILL: u64 = 32;

/// The protocol's own bound on answering a cancel of a running job (CANCEL-3).
const CANCEL_BOUND: Duration = Duration::from_secs(5);

/// Start a `probe` job that runs until it is canceled and wait until it runs.
pub(crate) async fn running_hold(ctx: &Ctx) -> Result<Job, Finding> {
    running_hold_with(ctx, json!({ "params": crate::jobs::hold_params() })).await
}

/// Start a hold job with this whole request body and wait until it runs.
pub(crate) async fn running_hold_with(ctx: &Ctx, body: Value) -> Result<Job, Finding> {
    let job = ctx.start_probe_with(body).await?;
    ctx.wait_setup(&job.url, "running", |doc| doc["status"] == "running")
        .await?;
    Ok(job)
}

/// Start a quick `probe` job with this whole request body and wait until it is
/// terminal; returns the job and its terminal document.
pub(crate) async fn ended(ctx: &Ctx, body: Value) -> Result<(Job, Value), Finding> {
    let job = ctx.start_probe_with(body).await?;
    let doc = ctx.wait_setup(&job.url, "terminal", is_terminal).await?;
    Ok((job, doc))
}

/// `POST {job}/cancel` without a body.
pub(crate) async fn cancel(ctx: &Ctx, job_url: &str) -> Result<Response, Finding> {
    ctx.request(Method::POST, &format!("{job_url}/cancel"))
        .send()
        .await
}

/// What is wrong with a document that should show a job canceled under the
/// rules of CANCEL-1, if anything.
pub(crate) fn canceled_shape(doc: &Value) -> Result<(), String> {
    if doc["status"] != "canceled" {
        return Err(format!(
            "status is {}, expected \"canceled\"",
            doc["status"]
        ));
    }
    for member in ["finishedAt", "expiresAt"] {
        if !doc[member].is_string() {
            return Err(format!(
                "{member} is {}, expected a timestamp once the job is canceled",
                doc[member]
            ));
        }
    }
    for member in ["result", "resourceLocation", "error"] {
        if has(doc, member) {
            return Err(format!(
                "the canceled document has `{member}`: {}",
                doc[member]
            ));
        }
    }
    for rel in ["monitor", "cancel"] {
        if has(&doc["links"], rel) {
            return Err(format!(
                "the canceled document still has links.{rel}: {}",
                doc["links"][rel]
            ));
        }
    }
    Ok(())
}

/// What is wrong with the headers of an answer carrying one terminal job
/// document (JOB-DOC-11), if anything.
pub(crate) fn terminal_doc_headers(response: &Response) -> Result<(), String> {
    if response.header("etag").is_none() {
        return Err("the answer has no ETag".into());
    }
    let cache = response.header("cache-control").unwrap_or("");
    if !cache
        .split(',')
        .any(|d| d.trim().eq_ignore_ascii_case("no-store"))
    {
        return Err(format!(
            "Cache-Control is {:?}, expected no-store",
            response.header("cache-control")
        ));
    }
    if let Some(retry) = response.header("retry-after") {
        return Err(format!(
            "the answer carries Retry-After: {retry} although the job is terminal"
        ));
    }
    Ok(())
}

async fn running(ctx: Ctx) -> Outcome {
    let job = running_hold(&ctx).await?;
    let started = Instant::now();
    let response = ctx
        .request(Method::POST, &job.sub("/cancel"))
        .send_within(CANCEL_BOUND, Some("CANCEL-3"))
        .await?;
    let elapsed = started.elapsed();
    ensure!(
        elapsed <= CANCEL_BOUND,
        "CANCEL-3",
        "the cancel of a running probe job was answered after {:.2} s, expected within 5 s",
        elapsed.as_secs_f64()
    );
    ensure!(
        response.status == 200,
        "CANCEL-1",
        "cancel of a running job answered {}, expected 200: {}",
        response.status,
        show_body(&response.body)
    );
    let doc = response.json_object("CANCEL-1")?;
    ensure!(
        doc["id"] == job.id.as_str(),
        "CANCEL-1",
        "the cancel answered the document of {}, expected job {}",
        doc["id"],
        job.id
    );
    if let Err(message) = canceled_shape(&doc) {
        ensure!(false, "CANCEL-1", "cancel of a running job: {message}");
    }
    if let Err(message) = terminal_doc_headers(&response) {
        ensure!(false, "JOB-DOC-11", "the 200 of a cancel: {message}");
    }
    Ok(())
}

async fn no_result_after(ctx: Ctx) -> Outcome {
    let job = running_hold(&ctx).await?;
    let response = cancel(&ctx, &job.url).await?;
    ensure!(
        response.status == 200,
        "CANCEL-2",
        "cancel of a running job answered {}, expected 200 (CANCEL-1): {}",
        response.status,
        show_body(&response.body)
    );
    let canceled = response.json_object("CANCEL-2")?;
    ensure!(
        canceled["status"] == "canceled",
        "CANCEL-2",
        "the cancel answered 200 with status {}, expected \"canceled\"",
        canceled["status"]
    );
    // Read the job again: it stays canceled, without a result.
    let doc = ctx.job_doc(&job.url).await?;
    ensure!(
        doc["status"] == "canceled",
        "CANCEL-2",
        "after a cancel answered 200, GET shows status {}, expected \"canceled\"",
        doc["status"]
    );
    for member in ["result", "resourceLocation"] {
        ensure!(
            !has(&doc, member),
            "CANCEL-2",
            "the canceled job gained `{member}`: {}",
            doc[member]
        );
    }
    ensure!(
        !has(&doc["links"], "result"),
        "CANCEL-2",
        "the canceled job gained links.result: {}",
        doc["links"]["result"]
    );
    let result = ctx.get(&job.sub("/result")).send().await?;
    ensure!(
        result.status != 200 && result.status != 206,
        "CANCEL-2",
        "the result of a canceled job answered {} with {}",
        result.status,
        show_body(&result.body)
    );
    let problem = result.expect_problem(409, "result-not-available", "RESULT-4")?;
    ensure!(
        problem["jobStatus"] == "canceled",
        "RESULT-4",
        "the result of a canceled job answered 409 with jobStatus {}, expected \"canceled\"",
        problem["jobStatus"]
    );
    let head = ctx
        .request(Method::HEAD, &job.sub("/result"))
        .send()
        .await?;
    ensure!(
        head.status == 409,
        "CANCEL-2",
        "HEAD of the result of a canceled job answered {}, expected 409 (RESULT-4)",
        head.status
    );
    Ok(())
}

async fn repeat(ctx: Ctx) -> Outcome {
    let job = running_hold(&ctx).await?;
    let first = cancel(&ctx, &job.url).await?;
    ensure!(
        first.status == 200,
        "CANCEL-5",
        "the first cancel of a running job answered {}, expected 200 (CANCEL-1): {}",
        first.status,
        show_body(&first.body)
    );
    let first_doc = first.json_object("CANCEL-5")?;
    let etag = first.header("etag").map(str::to_owned).ok_or_else(|| {
        Finding::violation(
            "CANCEL-5",
            "the first cancel's 200 has no ETag to compare (JOB-DOC-11)",
        )
    })?;
    let second = cancel(&ctx, &job.url).await?;
    ensure!(
        second.status == 200,
        "CANCEL-5",
        "cancel of a canceled job answered {}, expected 200: {}",
        second.status,
        show_body(&second.body)
    );
    ensure!(
        second.header("etag") == Some(etag.as_str()),
        "CANCEL-5",
        "cancel of a canceled job changed the ETag from {etag} to {:?}",
        second.header("etag")
    );
    let second_doc = second.json_object("CANCEL-5")?;
    let strip = |doc: &Value| {
        let mut doc = doc.clone();
        if let Some(map) = doc.as_object_mut() {
            map.remove("expiresAt");
        }
        doc
    };
    ensure!(
        strip(&first_doc) == strip(&second_doc),
        "CANCEL-5",
        "cancel of a canceled job changed its document from {first_doc} to {second_doc}"
    );
    Ok(())
}

async fn finished(ctx: Ctx) -> Outcome {
    let (succeeded, failed) = tokio::try_join!(
        ended(&ctx, json!({"params": {"steps": 1}})),
        ended(
            &ctx,
            json!({"params": {"steps": 1, "fail": {"code": "cancel-check", "message": "failed on purpose"}}}),
        )
    )?;
    for ((job, before), want) in [(succeeded, "succeeded"), (failed, "failed")] {
        if before["status"] != want {
            return Err(Finding::error(format!(
                "setting the check up: a probe job meant to end {want} ended {}",
                before["status"]
            )));
        }
        let response = cancel(&ctx, &job.url).await?;
        let problem = response.expect_problem(409, "job-finished", "CANCEL-6")?;
        ensure!(
            problem["jobStatus"] == want,
            "CANCEL-6",
            "cancel of a {want} job answered 409 with jobStatus {}, expected \"{want}\"",
            problem["jobStatus"]
        );
        let after = ctx.job_doc(&job.url).await?;
        ensure!(
            after["status"] == want && after["finishedAt"] == before["finishedAt"],
            "CANCEL-6",
            "after a refused cancel the {want} job shows status {} and finishedAt {} (before: {})",
            after["status"],
            after["finishedAt"],
            before["finishedAt"]
        );
    }
    Ok(())
}

async fn race(ctx: Ctx) -> Outcome {
    for duration in [0, 5, 20, 50, 100] {
        let job = ctx
            .start_probe(json!({"durationMs": duration, "steps": 1}))
            .await?;
        let response = cancel(&ctx, &job.url).await?;
        let end = ctx.wait_setup(&job.url, "terminal", is_terminal).await?;
        match response.status {
            200 => {
                let doc = response.json_object("CANCEL-7")?;
                ensure!(
                    doc["status"] == "canceled",
                    "CANCEL-7",
                    "a cancel answered 200 with status {}, expected \"canceled\"",
                    doc["status"]
                );
                ensure!(
                    end["status"] == "canceled" && !has(&end, "result"),
                    "CANCEL-2",
                    "a cancel answered 200 (canceled), but the job then shows status {} {}",
                    end["status"],
                    if has(&end, "result") {
                        "with a result"
                    } else {
                        "without a result"
                    }
                );
            }
            409 => {
                let problem = response.expect_problem(409, "job-finished", "CANCEL-7")?;
                ensure!(
                    matches!(end["status"].as_str(), Some("succeeded" | "failed"))
                        && problem["jobStatus"] == end["status"],
                    "CANCEL-7",
                    "a cancel answered 409 job-finished with jobStatus {}, and the job ended {}",
                    problem["jobStatus"],
                    end["status"]
                );
            }
            status => {
                ensure!(
                    false,
                    "CANCEL-7",
                    "a cancel of a job of {duration} ms answered {status}, expected 200 (canceled) or 409 (job-finished): {}",
                    show_body(&response.body)
                );
            }
        }
    }
    Ok(())
}

async fn unknown(ctx: Ctx) -> Outcome {
    let id = format!("conformance-unknown-{}", uuid::Uuid::now_v7());
    let response = cancel(&ctx, &format!("/v1/jobs/{id}")).await?;
    response.expect_problem(404, "job-not-found", "CANCEL-8")?;
    if ctx.claims("delete") {
        let job = ctx.start_probe(json!({"steps": 1})).await?;
        let deleted = ctx.delete(&job.url).send().await?;
        if deleted.status != 200 {
            return Err(Finding::error(format!(
                "setting the check up: DELETE of a job answered {}, so a deleted job cannot be canceled",
                deleted.status
            )));
        }
        let response = cancel(&ctx, &job.url).await?;
        response.expect_problem(404, "job-not-found", "CANCEL-8")?;
    }
    Ok(())
}

async fn queued_never_starts(ctx: Ctx) -> Outcome {
    let workers = ctx.limits().workers;
    if workers > MAX_WORKERS_TO_FILL {
        return Err(Finding::skip(format!(
            "limits.workers is {workers}; the suite keeps a job queued by filling every worker with a hold job, and fills at most {MAX_WORKERS_TO_FILL}"
        )));
    }
    // Fill every worker with a job that runs until it is canceled.
    let holds = futures::future::try_join_all((0..workers).map(|_| ctx.start_hold())).await?;
    for hold in &holds {
        ctx.wait_setup(&hold.url, "running", |doc| doc["status"] == "running")
            .await
            .map_err(|f| match f {
                Finding::Error(message) => Finding::error(format!(
                    "{message} (the check starts limits.workers = {workers} hold jobs and needs them all running; is another client using the server?)"
                )),
                other => other,
            })?;
    }
    let job = ctx.start_probe(json!({"steps": 1})).await?;
    let doc = ctx.job_doc(&job.url).await?;
    if doc["status"] != "queued" {
        return Err(Finding::error(format!(
            "with all {workers} workers busy, a new job shows status {} instead of queued; the check cannot keep a job queued",
            doc["status"]
        )));
    }
    if ctx.claims("log") {
        let log = ctx.get(&job.sub("/log")).send().await?;
        ensure!(
            log.status == 200 && crate::checks::log::is_log_media_type(&log),
            "LOG-1",
            "the log of a queued job answered {} with Content-Type {:?}, expected 200 text/plain; charset=utf-8",
            log.status,
            log.header("content-type")
        );
    }
    let result = ctx.get(&job.sub("/result")).send().await?;
    let problem = result.expect_problem(409, "result-not-available", "RESULT-4")?;
    ensure!(
        problem["jobStatus"] == "queued",
        "RESULT-4",
        "the result of a queued job answered 409 with jobStatus {}, expected \"queued\"",
        problem["jobStatus"]
    );

    let response = cancel(&ctx, &job.url).await?;
    ensure!(
        response.status == 200,
        "CANCEL-1",
        "cancel of a queued job answered {}, expected 200: {}",
        response.status,
        show_body(&response.body)
    );
    let canceled = response.json_object("CANCEL-1")?;
    if let Err(message) = canceled_shape(&canceled) {
        ensure!(false, "CANCEL-1", "cancel of a queued job: {message}");
    }
    ensure!(
        canceled["startedAt"].is_null(),
        "CANCEL-4",
        "a job canceled while queued shows startedAt {}, expected null",
        canceled["startedAt"]
    );

    // Free a worker and let a later job run to its end: the canceled job must
    // not have started meanwhile.
    let freed = cancel(&ctx, &holds[0].url).await?;
    if freed.status != 200 {
        return Err(Finding::error(format!(
            "setting the check up: cancel of a hold job answered {}",
            freed.status
        )));
    }
    let later = ctx.start_probe(json!({"steps": 1})).await?;
    ctx.wait_setup(&later.url, "terminal", is_terminal).await?;
    let after = ctx.job_doc(&job.url).await?;
    ensure!(
        after["status"] == "canceled" && after["startedAt"].is_null(),
        "CANCEL-4",
        "after a later job ran, the job canceled while queued shows status {} and startedAt {}, expected canceled and null",
        after["status"],
        after["startedAt"]
    );
    Ok(())
}
