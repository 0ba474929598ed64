//! Section 8: synchronous mode, `Prefer: wait=N` (class `sync`).
//!
//! The checks start `probe` jobs that succeed, fail, run on or are canceled
//! while the request waits, and check the answer for each outcome: the result
//! itself (`200`), the job's error, `409 job-canceled`, or the `202` once the
//! wait has elapsed, each with `Location`, `Operation-Location` and
//! `Preference-Applied`. Timing rules are measured around the exchange: the
//! answer comes within 1 second of the job's end (estimated from the job's own
//! timestamps) and a `202` never before the applied wait. They also cover the
//! `Prefer` syntax, the cap `limits.maxWaitSeconds`, `respond-async`, and a
//! client that disconnects while it waits.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::check::{Check, Finding, Outcome};
use crate::checks::create::{
    expect_accepted, expect_problem, find_listed, is_delay_seconds, link_rels, quick, unique,
};
use crate::checks::result::sha256_hex;
use crate::context::{Ctx, Response};
use crate::ensure;
use crate::exchange::show_body;
use crate::jobs::{hold_params, is_terminal};
use crate::timestamps::millis_between;

/// The checks of this area.
pub const CHECKS: &[Check] = &[
    Check {
        id: "sync.quick-success",
        title: "a job that succeeds within the wait is answered 200 with the result, its headers and Preference-Applied",
        class: "sync",
        requirements: &["SYNC-3", "SYNC-7"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(quick_success(ctx)),
    },
    Check {
        id: "sync.failure",
        title: "a job that fails within the wait is answered with its error problem and status",
        class: "sync",
        requirements: &["SYNC-4"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(failure(ctx)),
    },
    Check {
        id: "sync.canceled-while-waiting",
        title: "a job canceled while the request waits is answered 409 job-canceled, within 1 s",
        class: "sync",
        requirements: &["SYNC-5", "SYNC-2", "SYNC-7"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(canceled_while_waiting(ctx)),
    },
    Check {
        id: "sync.still-active",
        title: "a job still active when the wait ends is answered 202 with Preference-Applied, not before the wait",
        class: "sync",
        requirements: &["SYNC-6", "SYNC-7"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(still_active(ctx)),
    },
    Check {
        id: "sync.respond-async",
        title: "without wait, or with respond-async, the answer is 202 at once",
        class: "sync",
        requirements: &["SYNC-8"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(respond_async(ctx)),
    },
    Check {
        id: "sync.prefer-syntax",
        title: "the first wait preference counts, unknown preferences are ignored, a malformed wait is 400",
        class: "sync",
        requirements: &["SYNC-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(prefer_syntax(ctx)),
    },
    Check {
        id: "sync.wait-capped",
        title: "the applied wait is min(N, limits.maxWaitSeconds), also for N beyond 64 bits",
        class: "sync",
        requirements: &["SYNC-2"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(wait_capped(ctx)),
    },
    Check {
        id: "sync.client-disconnect",
        title: "a client that disconnects while it waits does not affect the job",
        class: "sync",
        requirements: &["SYNC-9"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(client_disconnect(ctx)),
    },
];

/// Requirements of this area that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

/// How much later than 1 second after the job's end (estimated from the
/// client's side) an answer may come, for the transit the estimate includes.
const SLACK: Duration = Duration::from_millis(500);

/// Skip unless requests may wait at least `seconds`.
fn need_wait(ctx: &Ctx, seconds: u64) -> Outcome {
    let max = ctx.limits().max_wait_seconds;
    if max < seconds {
        return Err(Finding::skip(format!(
            "limits.maxWaitSeconds is {max}; the check needs requests to wait up to {seconds} s"
        )));
    }
    Ok(())
}

/// `POST` a start of the probe with these `Prefer` headers (one header each).
async fn start_preferring(
    ctx: &Ctx,
    body: &Value,
    prefer: &[&str],
    timeout: Option<Duration>,
) -> Result<(Response, Duration), Finding> {
    let mut request = ctx.post_json(&crate::checks::create::jobs_path(ctx.probe()), body);
    for p in prefer {
        request = request.header("Prefer", *p);
    }
    if let Some(t) = timeout {
        request = request.timeout(t);
    }
    let began = Instant::now();
    let response = request.send().await?;
    let elapsed = began.elapsed();
    ctx.track_created(&response);
    if let Some(location) = response.header("location")
        && !matches!(response.status, 200 | 202)
    {
        ctx.track_job(location);
    }
    Ok((response, elapsed))
}

/// The request timeout for a request that waits up to `wait` seconds.
fn waiting(ctx: &Ctx, wait: u64) -> Option<Duration> {
    Some(Duration::from_secs(wait) + ctx.timeouts().request)
}

/// Check `Location` and `Operation-Location` of a synchronous answer and
/// return the job URL.
fn check_locations(
    response: &Response,
    requirement: &'static str,
    what: &str,
) -> Result<String, Finding> {
    let location = response.header("location").map(str::to_owned);
    let Some(location) = location else {
        return Err(Finding::violation(
            requirement,
            format!("{what}: the answer has no Location header"),
        ));
    };
    if !location.contains("/v1/jobs/")
        || response.header("operation-location") != Some(location.as_str())
    {
        return Err(Finding::violation(
            requirement,
            format!(
                "{what}: Location {location:?} and Operation-Location {:?} are not both the job URL",
                response.header("operation-location")
            ),
        ));
    }
    Ok(location)
}

async fn quick_success(ctx: Ctx) -> Outcome {
    need_wait(&ctx, 1)?;
    let wait = ctx.limits().max_wait_seconds.min(10);
    let body = json!({"params": {"steps": 2, "durationMs": 300, "resultBytes": 1000}});
    let (response, elapsed) =
        start_preferring(&ctx, &body, &[&format!("wait={wait}")], waiting(&ctx, wait)).await?;
    let what = format!("a job of 300 ms with Prefer: wait={wait}");
    ensure!(
        response.status == 200,
        "SYNC-3",
        "{what} was answered {}, expected 200 with the result: {}",
        response.status,
        show_body(&response.body)
    );
    let location = check_locations(&response, "SYNC-3", &what)?;
    ensure!(
        response.header("preference-applied") == Some(format!("wait={wait}").as_str()),
        "SYNC-3",
        "{what}: Preference-Applied is {:?}, expected wait={wait}",
        response.header("preference-applied")
    );
    let expected: Vec<u8> = (0..1000u32).map(|k| (k % 251) as u8).collect();
    ensure!(
        response.body.as_ref() == expected.as_slice(),
        "SYNC-3",
        "{what}: the body is not the job's 1000 result bytes: {}",
        show_body(&response.body)
    );
    ensure!(
        response.header("content-length") == Some("1000"),
        "SYNC-3",
        "{what}: Content-Length is {:?}, expected 1000",
        response.header("content-length")
    );
    let sha = sha256_hex(&response.body);
    ensure!(
        response.header("etag") == Some(format!("\"{sha}\"").as_str()),
        "SYNC-3",
        "{what}: ETag is {:?}, expected the result's \"{sha}\"",
        response.header("etag")
    );
    let doc = ctx.job_doc(&location).await?;
    ensure!(
        doc["status"] == "succeeded" && doc["result"]["sha256"] == sha.as_str(),
        "SYNC-3",
        "{what}: the job at Location is {} with result {}, not the succeeded job whose result was sent",
        doc["status"],
        doc["result"]
    );
    ensure!(
        response.header("content-type") == doc["result"]["mediaType"].as_str(),
        "SYNC-3",
        "{what}: Content-Type is {:?}, the result's mediaType {}",
        response.header("content-type"),
        doc["result"]["mediaType"]
    );
    if let Some(ran) = millis_between(&doc["createdAt"], &doc["finishedAt"]) {
        let late = elapsed.as_millis() as i128 - ran;
        ensure!(
            late <= (Duration::from_secs(1) + SLACK).as_millis() as i128,
            "SYNC-7",
            "{what}: the answer came {} ms after the request was sent, the job took {ran} ms from createdAt to finishedAt: the answer came about {late} ms after the job ended, more than 1 s",
            elapsed.as_millis()
        );
    }
    Ok(())
}

async fn failure(ctx: Ctx) -> Outcome {
    need_wait(&ctx, 1)?;
    let wait = ctx.limits().max_wait_seconds.min(10);
    let body = json!({"params": {"steps": 1,
        "fail": {"code": "conformance-failure", "message": "failing on purpose"}}});
    let (response, _) =
        start_preferring(&ctx, &body, &[&format!("wait={wait}")], waiting(&ctx, wait)).await?;
    let what = format!("a failing job with Prefer: wait={wait}");
    let location = check_locations(&response, "SYNC-4", &what)?;
    let doc = ctx.job_doc(&location).await?;
    ensure!(
        doc["status"] == "failed",
        "SYNC-4",
        "{what}: the job at Location is {}, expected failed",
        doc["status"]
    );
    let error = &doc["error"];
    ensure!(
        response.status as u64 == error["status"].as_u64().unwrap_or(0),
        "SYNC-4",
        "{what}: the answer's status is {}, the job's error has status {}",
        response.status,
        error["status"]
    );
    ensure!(
        response.media_type().as_deref() == Some("application/problem+json"),
        "SYNC-4",
        "{what}: Content-Type is {:?}, expected application/problem+json",
        response.header("content-type")
    );
    ensure!(
        response.json().as_ref() == Some(error),
        "SYNC-4",
        "{what}: the answer {} is not the job's error {error}",
        show_body(&response.body)
    );
    ensure!(
        response.header("preference-applied").is_some(),
        "SYNC-4",
        "{what}: the answer has no Preference-Applied"
    );
    Ok(())
}

async fn canceled_while_waiting(ctx: Ctx) -> Outcome {
    need_wait(&ctx, 5)?;
    if !ctx.claims("list") {
        return Err(Finding::skip(
            "the server does not claim `list`, the only way to find the job while its start request waits",
        ));
    }
    let cancel = ctx.claims("cancel");
    if !cancel && !ctx.claims("delete") {
        return Err(Finding::skip(
            "the server claims neither `cancel` nor `delete`",
        ));
    }
    let wait = ctx.limits().max_wait_seconds.min(30);
    let correlation = unique(&ctx, "waiting");
    let body = json!({"params": hold_params(), "correlationId": correlation});
    let waiter = {
        let ctx = ctx.clone();
        let body = body.clone();
        let prefer = format!("wait={wait}");
        tokio::spawn(async move {
            let timeout = waiting(&ctx, wait);
            start_preferring(&ctx, &body, &[&prefer], timeout).await
        })
    };
    let began = Instant::now();
    let found = find_listed(
        &ctx,
        ctx.probe(),
        &correlation,
        Duration::from_secs(wait.saturating_sub(2).max(1)),
    )
    .await;
    let found = match found {
        Ok(found) => found,
        Err(e) => {
            waiter.abort();
            return Err(e);
        }
    };
    let Some(doc) = found else {
        let finished = waiter.is_finished();
        waiter.abort();
        return Err(if finished {
            Finding::error("the waiting start request was answered before its job could be found")
        } else {
            Finding::violation(
                "SYNC-2",
                format!(
                    "the start request has waited {:.1} s, but no job with its correlationId is listed: it was not committed before the wait",
                    began.elapsed().as_secs_f64()
                ),
            )
        });
    };
    let url = doc["links"]["self"].as_str().unwrap_or_default().to_owned();
    ctx.track_job(&url);
    ctx.wait_job(&url, "running", ctx.timeouts().job, "SYNC-5", |d| {
        d["status"] == "running"
    })
    .await?;
    let canceled = if cancel {
        ctx.request(reqwest::Method::POST, &format!("{url}/cancel"))
            .send()
            .await?
    } else {
        ctx.delete(&url).send().await?
    };
    let canceled_at = Instant::now();
    if canceled.status != 200 {
        waiter.abort();
        return Err(Finding::error(format!(
            "canceling the waiting job answered {}: {}",
            canceled.status,
            show_body(&canceled.body)
        )));
    }
    let (response, _) = waiter
        .await
        .map_err(|e| Finding::error(format!("the waiting request failed: {e}")))??;
    let late = canceled_at.elapsed();
    let what = format!("a start with Prefer: wait={wait} whose job was canceled while it waited");
    expect_problem(&ctx, &response, 409, "job-canceled", "SYNC-5", &what)?;
    let location = check_locations(&response, "SYNC-5", &what)?;
    ensure!(
        location == url,
        "SYNC-5",
        "{what}: Location is {location}, the job is {url}"
    );
    ensure!(
        response.header("preference-applied").is_some(),
        "SYNC-5",
        "{what}: the answer has no Preference-Applied"
    );
    ensure!(
        late <= Duration::from_secs(1) + SLACK,
        "SYNC-7",
        "{what}: the answer came {} ms after the cancel was answered, more than 1 s",
        late.as_millis()
    );
    Ok(())
}

async fn still_active(ctx: Ctx) -> Outcome {
    let applied = ctx.limits().max_wait_seconds.min(1);
    let (response, elapsed) = start_preferring(
        &ctx,
        &json!({"params": hold_params()}),
        &["wait=1"],
        waiting(&ctx, 1),
    )
    .await?;
    let what = "a job of ten minutes with Prefer: wait=1";
    let job = expect_accepted(&ctx, response, "SYNC-6", what)?;
    let response = &job.response;
    ensure!(
        elapsed >= Duration::from_millis(applied * 1000).saturating_sub(Duration::from_millis(10)),
        "SYNC-7",
        "{what}: the 202 came after {} ms, before the applied wait of {applied} s elapsed",
        elapsed.as_millis()
    );
    ensure!(
        response.header("preference-applied") == Some(format!("wait={applied}").as_str()),
        "SYNC-6",
        "{what}: Preference-Applied is {:?}, expected wait={applied}",
        response.header("preference-applied")
    );
    let location = check_locations(response, "SYNC-6", what)?;
    ensure!(
        link_rels(response)
            .iter()
            .any(|(t, r)| r == "monitor" && *t == location),
        "SYNC-6",
        "{what}: the 202 has no Link rel=\"monitor\" to the job: {:?}",
        response.header_all("link")
    );
    ensure!(
        response
            .header("retry-after")
            .is_some_and(|v| is_delay_seconds(v.trim()))
            && response.header("etag").is_some()
            && response.no_store(),
        "SYNC-6",
        "{what}: the 202 lacks Retry-After, ETag or Cache-Control: no-store ({:?}, {:?}, {:?})",
        response.header("retry-after"),
        response.header("etag"),
        response.header_all("cache-control")
    );
    ensure!(
        !is_terminal(&job.doc),
        "SYNC-6",
        "{what}: the 202 shows the terminal status {}",
        job.doc["status"]
    );
    if applied >= 1 && job.doc["status"] == "queued" {
        // The 202 carries the current document: when the job had started
        // well before the wait ended, it must show `running`.
        let doc = ctx.job_doc(&location).await?;
        if let Some(ms) = millis_between(&doc["createdAt"], &doc["startedAt"]) {
            let before_end = applied as i128 * 1000 - 200;
            ensure!(
                ms > before_end,
                "SYNC-6",
                "{what}: the 202 after the wait shows status queued, but the job started {ms} ms after it was created, well before the wait of {applied} s ended: the answer must carry the job's current document"
            );
        }
    }
    Ok(())
}

async fn respond_async(ctx: Ctx) -> Outcome {
    let wait = ctx.limits().max_wait_seconds.min(10);
    let w = format!("wait={wait}");
    let r = format!("respond-async, wait={wait}");
    let rw = format!("wait={wait}, respond-async");
    let cases: Vec<Vec<&str>> = vec![
        vec![],
        vec!["respond-async"],
        vec![&r],
        vec![&rw],
        vec![&w, "respond-async"],
    ];
    for prefer in cases {
        // A quick job: a server that waited would answer 200 with its result.
        let (response, elapsed) = start_preferring(
            &ctx,
            &json!({"params": quick()}),
            &prefer,
            waiting(&ctx, wait),
        )
        .await?;
        let what = format!("a start with the Prefer headers {prefer:?}");
        ensure!(
            response.status == 202,
            "SYNC-8",
            "{what} was answered {}, expected 202 without waiting for the job",
            response.status
        );
        ensure!(
            elapsed < Duration::from_secs(2),
            "SYNC-8",
            "{what} was answered after {} ms, expected at once",
            elapsed.as_millis()
        );
        ensure!(
            !response
                .header("preference-applied")
                .is_some_and(|p| p.contains("wait")),
            "SYNC-8",
            "{what}: the 202 has Preference-Applied {:?}, but no wait applies",
            response.header("preference-applied")
        );
    }
    Ok(())
}

async fn prefer_syntax(ctx: Ctx) -> Outcome {
    for prefer in ["wait=soon", "wait=-1", "wait=1.5", "wait=", "wait=1s"] {
        let (response, _) = start_preferring(
            &ctx,
            &json!({"params": quick()}),
            &[prefer],
            waiting(&ctx, 2),
        )
        .await?;
        expect_problem(
            &ctx,
            &response,
            400,
            "malformed-request",
            "SYNC-1",
            &format!("Prefer: {prefer}"),
        )?;
    }
    for prefer in [
        vec!["handling=lenient"],
        vec!["conformance-unknown", "foo=bar"],
    ] {
        let (response, _) =
            start_preferring(&ctx, &json!({"params": quick()}), &prefer, None).await?;
        expect_accepted(
            &ctx,
            response,
            "SYNC-1",
            &format!("unknown preferences {prefer:?} only"),
        )?;
    }
    let max = ctx.limits().max_wait_seconds;
    if max >= 1 {
        let first = 2.min(max);
        let a = format!("handling=lenient, wait={first}, wait=9");
        let b = format!("wait={first}");
        for prefer in [vec![a.as_str()], vec![b.as_str(), "wait=9"]] {
            let (response, _) =
                start_preferring(&ctx, &json!({"params": quick()}), &prefer, waiting(&ctx, 9))
                    .await?;
            ctx.track_created(&response);
            ensure!(
                response.header("preference-applied") == Some(format!("wait={first}").as_str()),
                "SYNC-1",
                "the Prefer headers {prefer:?} were answered {} with Preference-Applied {:?}, expected wait={first} (the first wait counts)",
                response.status,
                response.header("preference-applied")
            );
        }
    }
    Ok(())
}

async fn wait_capped(ctx: Ctx) -> Outcome {
    let max = ctx.limits().max_wait_seconds;
    // N above the cap, and N above any 64-bit integer: still a non-negative
    // decimal integer (delta-seconds), so it is capped, not refused.
    for asked in [
        (max + 100).to_string(),
        "99999999999999999999999".to_owned(),
    ] {
        let (response, _) = start_preferring(
            &ctx,
            &json!({"params": quick()}),
            &[&format!("wait={asked}")],
            waiting(&ctx, max),
        )
        .await?;
        ensure!(
            response.header("preference-applied") == Some(format!("wait={max}").as_str()),
            "SYNC-2",
            "Prefer: wait={asked} was answered {} with Preference-Applied {:?}, expected wait={max} (limits.maxWaitSeconds): {}",
            response.status,
            response.header("preference-applied"),
            show_body(&response.body)
        );
    }
    Ok(())
}

async fn client_disconnect(ctx: Ctx) -> Outcome {
    need_wait(&ctx, 3)?;
    if !ctx.claims("list") {
        return Err(Finding::skip(
            "the server does not claim `list`, the only way to find the job after the client gave up",
        ));
    }
    let wait = ctx.limits().max_wait_seconds.min(30);
    let correlation = unique(&ctx, "gone");
    let body = json!({"params": {"durationMs": 1500, "steps": 3}, "correlationId": correlation});
    let gave_up = start_preferring(
        &ctx,
        &body,
        &[&format!("wait={wait}")],
        Some(Duration::from_millis(500)),
    )
    .await;
    if let Ok((response, _)) = gave_up {
        return Err(Finding::error(format!(
            "the server answered {} within 500 ms although the job runs 1.5 s and the request waits up to {wait} s; cannot disconnect while it waits",
            response.status
        )));
    }
    let found = find_listed(&ctx, ctx.probe(), &correlation, ctx.timeouts().request).await?;
    let Some(doc) = found else {
        return Err(Finding::violation(
            "SYNC-9",
            format!(
                "the client disconnected after 500 ms of waiting, and no job with its correlationId {correlation} is listed"
            ),
        ));
    };
    let url = doc["links"]["self"].as_str().unwrap_or_default().to_owned();
    ctx.track_job(&url);
    let done = ctx.wait_terminal(&url, "SYNC-9").await?;
    ensure!(
        done["status"] == "succeeded",
        "SYNC-9",
        "the job whose client disconnected while waiting ended {} instead of succeeding: {}",
        done["status"],
        done["error"]
    );
    Ok(())
}
