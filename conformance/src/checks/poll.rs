//! Section 10: conditional requests and long polling of `GET /v1/jobs/{id}`.
//!
//! The checks cover `304 Not Modified` for a matching `If-None-Match` (POLL-1),
//! the syntax and the cap of `waitSeconds` (POLL-2), long polls with a tag
//! that answer on a change or with `304` after the wait (POLL-3), long polls
//! without a tag that answer when the job ends (POLL-4), the timing of both
//! (POLL-5), and a job deleted under a waiting request (POLL-6).
//!
//! Jobs whose documents must not change while a check waits are terminal jobs
//! or "quiet" probe jobs (one step of ten minutes, read after their `prepare`
//! report). How soon after a change an answer came is bounded with the
//! server's own timestamps (`updatedAt`, `finishedAt`) mapped onto the suite's
//! clock through the `createdAt` of the job's `202` (see
//! [`ServerClock`](crate::checks::document)).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::check::{Check, Finding, Outcome};
use crate::checks::document::{
    ServerClock, get_doc, quick_params, quiet_params, start_clocked, time_of, weak,
};
use crate::context::{Ctx, Response};
use crate::ensure;
use crate::exchange::show_body;
use crate::jobs::{Job, is_terminal};

/// The checks of this section.
pub const CHECKS: &[Check] = &[
    Check {
        id: "poll.not-modified",
        title: "If-None-Match with the current ETag (also weak, in a list, or *) answers 304 with the headers",
        class: "long-poll",
        requirements: &["POLL-1", "JOB-DOC-1", "JOB-DOC-11"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(not_modified(ctx)),
    },
    Check {
        id: "poll.wait-seconds-invalid",
        title: "a waitSeconds that is not a non-negative integer answers 400 malformed-request",
        class: "long-poll",
        requirements: &["POLL-2", "JOB-DOC-1", "JOB-DOC-11"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(wait_seconds_invalid(ctx)),
    },
    Check {
        id: "poll.wait-capped",
        title: "a waitSeconds above limits.maxWaitSeconds is capped to it, not refused",
        class: "long-poll",
        requirements: &["POLL-2", "POLL-3", "POLL-5", "JOB-DOC-1", "JOB-DOC-11"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(wait_capped(ctx)),
    },
    Check {
        id: "poll.wait-unchanged",
        title: "a long poll with the current ETag on an unchanging job answers 304 after waitSeconds, not before",
        class: "long-poll",
        requirements: &["POLL-3", "POLL-5", "POLL-1", "JOB-DOC-1", "JOB-DOC-11"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(wait_unchanged(ctx)),
    },
    Check {
        id: "poll.wait-match-forms",
        title: "a long poll with a weak tag, a tag list or * waits like one with the plain current ETag",
        class: "long-poll",
        requirements: &["POLL-3", "POLL-5", "JOB-DOC-1", "JOB-DOC-11"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(wait_match_forms(ctx)),
    },
    Check {
        id: "poll.change",
        title: "a long poll answers 200 at once for a stale tag, and within 1 s of a change for the current one",
        class: "long-poll",
        requirements: &["POLL-3", "POLL-5", "JOB-DOC-1", "JOB-DOC-11", "GEN-2"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(change(ctx)),
    },
    Check {
        id: "poll.terminal",
        title: "a long poll without If-None-Match answers when the job ends, or after waitSeconds",
        class: "long-poll",
        requirements: &["POLL-4", "POLL-5", "JOB-DOC-1", "JOB-DOC-11", "GEN-2"],
        needs: &["service.document", "probe.offered"],
        jobs: 2,
        exclusive: false,
        run: |ctx| Box::pin(terminal(ctx)),
    },
    Check {
        id: "poll.deleted",
        title: "a long poll on a job deleted meanwhile answers 404 job-not-found",
        class: "long-poll",
        requirements: &["POLL-6", "JOB-DOC-1", "JOB-DOC-11"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(deleted(ctx)),
    },
];

/// Requirements of this section that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

/// Slack for the suite's own clock and timers when a rule says "not before N
/// seconds".
const EARLY: Duration = Duration::from_millis(10);

/// Slack on top of the protocol's "within 1 second" for the measurement
/// itself (scheduling of the suite's tasks).
const LATE: Duration = Duration::from_millis(250);

/// A long poll: `GET url?waitSeconds=wait` with `If-None-Match: tag` when
/// given, allowed `wait` plus the request timeout.
async fn long_poll(
    ctx: &Ctx,
    url: &str,
    wait: &str,
    tag: Option<&str>,
    allowed: Duration,
) -> Result<(Response, Duration), Finding> {
    let mut request = ctx
        .get(&format!("{url}?waitSeconds={wait}"))
        .timeout(allowed + ctx.timeouts().request);
    if let Some(tag) = tag {
        request = request.header("If-None-Match", tag);
    }
    let began = Instant::now();
    let response = request.send().await?;
    Ok((response, began.elapsed()))
}

/// The `ETag` of an answer, or a violation of JOB-DOC-11.
fn etag_of(response: &Response) -> Result<String, Finding> {
    response.header("etag").map(str::to_owned).ok_or_else(|| {
        Finding::violation(
            "JOB-DOC-11",
            "an answer with a job document has no ETag".to_owned(),
        )
    })
}

/// A terminal probe job and its current `ETag`.
async fn terminal_job(ctx: &Ctx) -> Result<(Job, String), Finding> {
    let job = ctx.start_probe(quick_params()).await?;
    ctx.wait_setup(&job.url, "terminal", is_terminal).await?;
    let (response, _) = get_doc(ctx, &job.url).await?;
    let tag = etag_of(&response)?;
    Ok((job, tag))
}

/// A running probe job that will not change for ten minutes (it has made its
/// `prepare` report), and its current `ETag`.
async fn quiet_job(ctx: &Ctx) -> Result<(Job, String), Finding> {
    let job = ctx.start_probe(quiet_params()).await?;
    ctx.wait_setup(&job.url, "running with stage prepare", |d| {
        d["status"] == "running" && d["progress"]["stage"] == "prepare"
    })
    .await?;
    let (response, _) = get_doc(ctx, &job.url).await?;
    let tag = etag_of(&response)?;
    Ok((job, tag))
}

/// A `304` of POLL-1: no body, the current `ETag`, `Cache-Control: no-store`,
/// and `Retry-After` exactly while the job is active.
fn judge_304(response: &Response, tag: &str, active: bool, what: &str) -> Outcome {
    ensure!(
        response.status == 304,
        "POLL-1",
        "{what} answered {}, expected 304 Not Modified: {}",
        response.status,
        show_body(&response.body)
    );
    ensure!(
        response.body.is_empty(),
        "POLL-1",
        "{what}: the 304 has a body: {}",
        show_body(&response.body)
    );
    let got = response.header("etag");
    ensure!(
        got.is_some_and(|g| weak(g) == weak(tag)),
        "POLL-1",
        "{what}: the 304 has ETag {got:?}, expected the current {tag}"
    );
    ensure!(
        response.no_store(),
        "POLL-1",
        "{what}: the 304 has Cache-Control {:?}, expected no-store",
        response.header("cache-control")
    );
    let retry = response.header("retry-after");
    if active {
        ensure!(
            retry.is_some_and(|r| r.trim().parse::<u64>().is_ok()),
            "POLL-1",
            "{what}: the 304 for an active job has Retry-After {retry:?}, expected delay-seconds"
        );
    } else {
        ensure!(
            retry.is_none(),
            "POLL-1",
            "{what}: the 304 for a terminal job has Retry-After {retry:?}, expected none"
        );
    }
    Ok(())
}

async fn not_modified(ctx: Ctx) -> Outcome {
    let (done, done_tag) = terminal_job(&ctx).await?;
    let (quiet, quiet_tag) = quiet_job(&ctx).await?;
    for (job, tag, active) in [(&done, &done_tag, false), (&quiet, &quiet_tag, true)] {
        let state = if active { "running" } else { "terminal" };
        let forms = [
            (tag.clone(), "the current ETag"),
            (format!("W/{}", weak(tag)), "the current ETag as a weak tag"),
            (
                format!("\"conformance-other\", {tag}"),
                "a list with the current ETag",
            ),
            ("*".to_owned(), "*"),
        ];
        for (value, label) in forms {
            let response = ctx
                .get(&job.url)
                .header("If-None-Match", value.clone())
                .send()
                .await?;
            judge_304(
                &response,
                tag,
                active,
                &format!("GET of a {state} job with If-None-Match: {value} ({label})"),
            )?;
        }
        let response = ctx
            .get(&job.url)
            .header("If-None-Match", "\"conformance-other\"")
            .send()
            .await?;
        ensure!(
            response.status == 200,
            "POLL-1",
            "GET of a {state} job with an If-None-Match that does not match answered {}, expected 200",
            response.status
        );
    }
    let unknown = format!("/v1/jobs/conformance-no-such-job-{}", uuid::Uuid::now_v7());
    let response = ctx
        .get(&unknown)
        .header("If-None-Match", "*")
        .send()
        .await?;
    response.expect_problem(404, "job-not-found", "JOB-DOC-1")?;
    Ok(())
}

async fn wait_seconds_invalid(ctx: Ctx) -> Outcome {
    let (job, _) = terminal_job(&ctx).await?;
    for value in ["abc", "-1", "1.5", "", "1e2", "%201", "0x10", "+1"] {
        let response = ctx
            .get(&format!("{}?waitSeconds={value}", job.url))
            .send()
            .await?;
        response.expect_problem(400, "malformed-request", "POLL-2")?;
    }
    Ok(())
}

async fn wait_capped(ctx: Ctx) -> Outcome {
    let max = ctx.limits().max_wait_seconds;
    let above = (max + 1).max(3600);
    // A terminal job without a tag is answered at once whatever the wait: a
    // value above the cap must be accepted.
    let (job, tag) = terminal_job(&ctx).await?;
    // However large: also beyond 64 bits.
    for value in [above.to_string(), "99999999999999999999999".to_owned()] {
        let (response, _) = long_poll(&ctx, &job.url, &value, None, Duration::from_secs(1)).await?;
        ensure!(
            response.status == 200,
            "POLL-2",
            "waitSeconds={value}, above limits.maxWaitSeconds ({max}), answered {} instead of being capped: {}",
            response.status,
            show_body(&response.body)
        );
    }
    // A small cap can be waited out: with the current tag, the 304 comes after
    // maxWaitSeconds.
    if max > 2 {
        return Ok(());
    }
    let (response, elapsed) = long_poll(
        &ctx,
        &job.url,
        &above.to_string(),
        Some(tag.as_str()),
        Duration::from_secs(max),
    )
    .await?;
    ensure!(
        response.status == 304,
        "POLL-3",
        "a long poll with the current ETag of a terminal job answered {}, expected 304 after the capped wait",
        response.status
    );
    let cap = Duration::from_secs(max);
    ensure!(
        elapsed + EARLY >= cap,
        "POLL-5",
        "waitSeconds={above} (capped to {max}) with the current ETag answered 304 after {:.3} s, before the capped wait",
        elapsed.as_secs_f64()
    );
    ensure!(
        elapsed <= cap + Duration::from_secs(1) + LATE,
        "POLL-2",
        "waitSeconds={above} with limits.maxWaitSeconds {max} answered after {:.3} s: the wait was not capped",
        elapsed.as_secs_f64()
    );
    Ok(())
}

/// The applied wait of a one-second long poll, or a skip when the server caps
/// waits to 0.
fn one_second(ctx: &Ctx) -> Result<Duration, Finding> {
    if ctx.limits().max_wait_seconds == 0 {
        return Err(Finding::skip(
            "limits.maxWaitSeconds is 0: no long poll waits",
        ));
    }
    Ok(Duration::from_secs(1))
}

async fn wait_unchanged(ctx: Ctx) -> Outcome {
    let wait = one_second(&ctx)?;
    let (job, tag) = terminal_job(&ctx).await?;
    let (response, elapsed) = long_poll(&ctx, &job.url, "1", Some(tag.as_str()), wait).await?;
    ensure!(
        response.status == 304,
        "POLL-3",
        "a long poll (waitSeconds=1) with the current ETag of an unchanging terminal job answered {}, expected 304: {}",
        response.status,
        show_body(&response.body)
    );
    judge_304(
        &response,
        &tag,
        false,
        "a long poll (waitSeconds=1) with the current ETag of a terminal job",
    )?;
    ensure!(
        elapsed + EARLY >= wait,
        "POLL-5",
        "a long poll (waitSeconds=1) with the current ETag of an unchanging job answered 304 after {:.3} s, before the second was up",
        elapsed.as_secs_f64()
    );
    ensure!(
        elapsed <= wait + Duration::from_secs(1) + LATE,
        "POLL-3",
        "a long poll (waitSeconds=1) with the current ETag of an unchanging job answered 304 only after {:.3} s",
        elapsed.as_secs_f64()
    );
    Ok(())
}

async fn wait_match_forms(ctx: Ctx) -> Outcome {
    let wait = one_second(&ctx)?;
    let (job, tag) = terminal_job(&ctx).await?;
    let forms = [
        format!("W/{}", weak(&tag)),
        format!("\"conformance-other\", {tag}"),
        "*".to_owned(),
    ];
    let polls = forms
        .iter()
        .map(|value| long_poll(&ctx, &job.url, "1", Some(value), wait));
    let answers = futures::future::join_all(polls).await;
    // Judge every form before reporting, so one report names all that fail.
    let mut status_problems = Vec::new();
    let mut early = Vec::new();
    for (value, answer) in forms.iter().zip(answers) {
        let (response, elapsed) = answer?;
        if response.status != 304 {
            status_problems.push(format!(
                "If-None-Match: {value} answered {}, expected 304",
                response.status
            ));
        } else if elapsed + EARLY < wait {
            early.push(format!(
                "If-None-Match: {value} answered 304 after {:.3} s",
                elapsed.as_secs_f64()
            ));
        }
    }
    ensure!(
        status_problems.is_empty(),
        "POLL-3",
        "long polls (waitSeconds=1) on an unchanging terminal job whose current ETag is {tag}: {}",
        status_problems.join("; ")
    );
    ensure!(
        early.is_empty(),
        "POLL-5",
        "long polls (waitSeconds=1) on an unchanging terminal job whose current ETag is {tag}, with tags that match it, answered before the second was up: {}",
        early.join("; ")
    );
    Ok(())
}

/// How long after the server time `t` an answer that arrived at `arrived`
/// came, at least.
fn late_by(clock: &ServerClock, t: time::OffsetDateTime, arrived: Instant) -> Duration {
    arrived.saturating_duration_since(clock.latest(t))
}

async fn change(ctx: Ctx) -> Outcome {
    let max = ctx.limits().max_wait_seconds;
    if max == 0 {
        return Err(Finding::skip(
            "limits.maxWaitSeconds is 0: no long poll waits",
        ));
    }
    // One step of two seconds: after `prepare`, the document changes about 2 s
    // later (PROBE-3).
    let (job, clock) = start_clocked(&ctx, json!({"durationMs": 2000, "steps": 1})).await?;
    ctx.wait_setup(&job.url, "running with stage prepare", |d| {
        d["status"] == "running" && d["progress"]["stage"] == "prepare"
    })
    .await?;

    // A tag that does not match: 200 at once.
    let (response, elapsed) = long_poll(
        &ctx,
        &job.url,
        "10",
        Some("\"conformance-stale\""),
        Duration::from_secs(10),
    )
    .await?;
    ensure!(
        response.status == 200,
        "POLL-3",
        "a long poll whose If-None-Match does not match answered {}, expected 200 at once",
        response.status
    );
    ensure!(
        elapsed <= Duration::from_secs(1),
        "POLL-3",
        "a long poll whose If-None-Match does not match answered after {:.3} s, expected at once",
        elapsed.as_secs_f64()
    );
    let mut doc = response.json_object("JOB-DOC-1")?;
    let mut tag = etag_of(&response)?;

    // The current tag: 200 with a new tag once the document changes.
    let deadline = Instant::now() + ctx.timeouts().job;
    while !is_terminal(&doc) {
        if Instant::now() >= deadline {
            return Err(Finding::error(format!(
                "the probe job did not end within {:.0} s: {doc}",
                ctx.timeouts().job.as_secs_f64()
            )));
        }
        let wait = max.min(10);
        let (response, elapsed) = long_poll(
            &ctx,
            &job.url,
            &wait.to_string(),
            Some(tag.as_str()),
            Duration::from_secs(wait),
        )
        .await?;
        let arrived = Instant::now();
        match response.status {
            304 => {
                ensure!(
                    elapsed + EARLY >= Duration::from_secs(wait),
                    "POLL-5",
                    "a long poll (waitSeconds={wait}) answered 304 after {:.3} s, before the wait was up",
                    elapsed.as_secs_f64()
                );
                // Nothing may have changed long before the 304.
                let (_, now) = get_doc(&ctx, &job.url).await?;
                if let Some(t) = time_of(&now, "updatedAt")
                    && now != doc
                {
                    let late = late_by(&clock, t, arrived);
                    ensure!(
                        late <= Duration::from_secs(1) + LATE,
                        "POLL-3",
                        "a long poll answered 304 although the document had changed (updatedAt {}) at least {:.3} s before",
                        now["updatedAt"],
                        late.as_secs_f64()
                    );
                }
            }
            200 => {
                let new = response.json_object("JOB-DOC-1")?;
                let new_tag = etag_of(&response)?;
                ensure!(
                    weak(&new_tag) != weak(&tag),
                    "POLL-3",
                    "a long poll with the current ETag answered 200 with the same ETag {tag}"
                );
                if let Some(t) = time_of(&new, "updatedAt") {
                    let late = late_by(&clock, t, arrived);
                    ensure!(
                        late <= Duration::from_secs(1) + LATE,
                        "POLL-5",
                        "a long poll answered at least {:.3} s after the change it waited for (updatedAt {}), expected within 1 s",
                        late.as_secs_f64(),
                        new["updatedAt"]
                    );
                }
                doc = new;
                tag = new_tag;
            }
            status => {
                return Err(Finding::violation(
                    "JOB-DOC-1",
                    format!(
                        "a long poll of an existing job answered {status}: {}",
                        show_body(&response.body)
                    ),
                ));
            }
        }
    }
    Ok(())
}

async fn terminal(ctx: Ctx) -> Outcome {
    let max = ctx.limits().max_wait_seconds;
    // A terminal job: at once.
    let (done, _) = terminal_job(&ctx).await?;
    let (response, elapsed) =
        long_poll(&ctx, &done.url, "10", None, Duration::from_secs(10)).await?;
    ensure!(
        response.status == 200,
        "POLL-4",
        "a long poll without If-None-Match of a terminal job answered {}, expected 200",
        response.status
    );
    ensure!(
        elapsed <= Duration::from_secs(1),
        "POLL-4",
        "a long poll without If-None-Match of a terminal job answered after {:.3} s, expected at once",
        elapsed.as_secs_f64()
    );
    if max == 0 {
        return Ok(());
    }

    // A job that ends during the wait: answered when it ends, not at a
    // progress change before.
    let wait = max.min(10);
    let (job, clock) = start_clocked(&ctx, json!({"durationMs": 800, "steps": 4})).await?;
    let (response, elapsed) = long_poll(
        &ctx,
        &job.url,
        &wait.to_string(),
        None,
        Duration::from_secs(wait),
    )
    .await?;
    let arrived = Instant::now();
    ensure!(
        response.status == 200,
        "POLL-4",
        "a long poll without If-None-Match answered {}, expected 200: {}",
        response.status,
        show_body(&response.body)
    );
    let doc = response.json_object("JOB-DOC-1")?;
    if is_terminal(&doc) {
        if let Some(t) = time_of(&doc, "finishedAt") {
            let late = late_by(&clock, t, arrived);
            ensure!(
                late <= Duration::from_secs(1) + LATE,
                "POLL-5",
                "a long poll without If-None-Match answered at least {:.3} s after the job ended (finishedAt {}), expected within 1 s",
                late.as_secs_f64(),
                doc["finishedAt"]
            );
        }
    } else {
        ensure!(
            elapsed + EARLY >= Duration::from_secs(wait),
            "POLL-4",
            "a long poll without If-None-Match (waitSeconds={wait}) answered after {:.3} s with the {} job, before it ended and before the wait was up",
            elapsed.as_secs_f64(),
            doc["status"]
        );
    }

    // A job that does not end: answered after the wait.
    let (quiet, _) = quiet_job(&ctx).await?;
    let (response, elapsed) =
        long_poll(&ctx, &quiet.url, "1", None, Duration::from_secs(1)).await?;
    ensure!(
        response.status == 200,
        "POLL-4",
        "a long poll without If-None-Match of a running job answered {}, expected 200 after the wait",
        response.status
    );
    let doc: Value = response.json_object("JOB-DOC-1")?;
    ensure!(
        elapsed + EARLY >= Duration::from_secs(1),
        "POLL-5",
        "a long poll without If-None-Match (waitSeconds=1) of a job that did not end answered after {:.3} s ({}), before the wait was up",
        elapsed.as_secs_f64(),
        doc["status"]
    );
    ensure!(
        elapsed <= Duration::from_secs(2) + LATE,
        "POLL-4",
        "a long poll without If-None-Match (waitSeconds=1) of a job that did not end answered only after {:.3} s",
        elapsed.as_secs_f64()
    );
    Ok(())
}

async fn deleted(ctx: Ctx) -> Outcome {
    if !ctx.claims("delete") {
        return Err(Finding::skip(
            "the server does not claim `delete`, so a job cannot be deleted under a waiting request",
        ));
    }
    let max = ctx.limits().max_wait_seconds;
    if max < 2 {
        return Err(Finding::skip(format!(
            "limits.maxWaitSeconds is {max}: too short to delete a job under a waiting request"
        )));
    }
    let wait = max.min(20);
    let (job, tag) = quiet_job(&ctx).await?;
    let wait_text = wait.to_string();
    let with_tag = long_poll(
        &ctx,
        &job.url,
        &wait_text,
        Some(tag.as_str()),
        Duration::from_secs(wait),
    );
    let without_tag = long_poll(&ctx, &job.url, &wait_text, None, Duration::from_secs(wait));
    let delete = async {
        // Give the two waiting requests a second to arrive, with a long poll
        // of our own on the unchanging job rather than a sleep.
        let _ = long_poll(
            &ctx,
            &job.url,
            "1",
            Some(tag.as_str()),
            Duration::from_secs(1),
        )
        .await;
        ctx.delete(&job.url).send().await
    };
    let (a, b, deleted) = tokio::join!(with_tag, without_tag, delete);
    let deleted = deleted?;
    if deleted.status != 200 {
        return Err(Finding::error(format!(
            "DELETE of a running job answered {}: {}",
            deleted.status,
            show_body(&deleted.body)
        )));
    }
    for ((response, _), label) in [(a?, "with If-None-Match"), (b?, "without If-None-Match")] {
        response
            .expect_problem(404, "job-not-found", "POLL-6")
            .map_err(|f| match f {
                Finding::Violation { message, .. } => Finding::violation(
                    "POLL-6",
                    format!("a long poll {label} on a job deleted meanwhile: {message}"),
                ),
                other => other,
            })?;
    }
    Ok(())
}
