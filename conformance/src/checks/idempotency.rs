//! Section 7: the `Idempotency-Key` header (class `idempotency`).
//!
//! Every check uses keys unique to the run, so that checks running side by side
//! never share one. The checks cover the key's syntax, binding and replay (with
//! the current document and `Idempotent-Replayed: true`), what counts as the
//! same request, a key reused for a different request, a key still in use by a
//! request being accepted (held open by a `url` input whose fetch the suite's
//! receiver never answers), failed starts that bind nothing, deletion freeing
//! the key, replays while the queue is full, and synchronous replays.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::check::{Check, Finding, Outcome};
use crate::checks::create::{
    expect_accepted, expect_problem, fill_workers, is_delay_seconds, link_rels,
    listed_with_correlation, post_json_with, quick, unique,
};
use crate::checks::document::without_expiry;
use crate::context::{Ctx, Response};
use crate::ensure;
use crate::exchange::show_body;
use crate::jobs::{hold_params, is_terminal};
use crate::receiver::Answer;

/// The checks of this area.
pub const CHECKS: &[Check] = &[
    Check {
        id: "idempotency.key-syntax",
        title: "an Idempotency-Key that is empty, longer than 255 or not visible ASCII is 400",
        class: "idempotency",
        requirements: &["IDEM-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(key_syntax(ctx)),
    },
    Check {
        id: "idempotency.replay",
        title: "a repeat with a bound key creates no job and is a 202 replay of the current document",
        class: "idempotency",
        requirements: &["IDEM-2", "IDEM-3", "IDEM-4", "JOB-CREATE-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(replay(ctx)),
    },
    Check {
        id: "idempotency.same-request",
        title: "member order, whitespace, defaults and input kinds do not make a different request",
        class: "idempotency",
        requirements: &["IDEM-3", "IDEM-2"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(same_request(ctx)),
    },
    Check {
        id: "idempotency.reused-key",
        title: "a different request with a bound key is 422 idempotency-key-reused and creates no job",
        class: "idempotency",
        requirements: &["IDEM-5", "IDEM-2"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(reused_key(ctx)),
    },
    Check {
        id: "idempotency.key-in-use",
        title: "a request whose key another request still holds is 409 idempotency-key-in-use with Retry-After",
        class: "idempotency",
        requirements: &["IDEM-6"],
        needs: &["service.document", "probe.offered"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(key_in_use(ctx)),
    },
    Check {
        id: "idempotency.failed-start-binds-nothing",
        title: "a refused start does not bind its key; a synchronous failure of a created job does",
        class: "idempotency",
        requirements: &["IDEM-7", "JOB-CREATE-13"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(failed_start_binds_nothing(ctx)),
    },
    Check {
        id: "idempotency.delete-frees-key",
        title: "a key is bound while its job exists and free again once the job is deleted",
        class: "idempotency",
        requirements: &["IDEM-8", "IDEM-2"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(delete_frees_key(ctx)),
    },
    Check {
        id: "idempotency.replay-when-queue-full",
        title: "a replay is answered 202 even while the queue is full",
        class: "idempotency",
        requirements: &["IDEM-9", "SVC-6", "JOB-CREATE-1"],
        needs: &["service.document", "probe.offered"],
        // Exclusive: it runs alone and fills every worker and the queue.
        jobs: 0,
        exclusive: true,
        run: |ctx| Box::pin(replay_when_queue_full(ctx)),
    },
    Check {
        id: "idempotency.sync-replay",
        title: "a replay with Prefer: wait follows section 8 for the existing job, with Idempotent-Replayed",
        class: "idempotency",
        requirements: &["IDEM-10", "IDEM-2"],
        needs: &["service.document", "probe.offered"],
        jobs: 2,
        exclusive: false,
        run: |ctx| Box::pin(sync_replay(ctx)),
    },
];

/// Requirements of this area that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

/// `POST` a JSON start of the probe with an `Idempotency-Key`.
async fn keyed(ctx: &Ctx, key: &str, body: &Value) -> Result<Response, Finding> {
    post_json_with(ctx, ctx.probe(), body, &[("Idempotency-Key", key)]).await
}

/// Check that `response` is a replay of the job `id`, with the headers of
/// JOB-CREATE-2 to JOB-CREATE-4 and `Idempotent-Replayed: true`.
fn check_replay(response: &Response, id: &str, what: &str) -> Result<Value, Finding> {
    ensure!(
        response.status == 202,
        "IDEM-3",
        "{what}: expected a 202 replay, got {} {}",
        response.status,
        show_body(&response.body)
    );
    let doc = response.json_object("IDEM-3")?;
    ensure!(
        doc["id"] == id,
        "IDEM-3",
        "{what}: the answer shows the job {}, not the job {id} the key is bound to (a new job?)",
        doc["id"]
    );
    ensure!(
        response.header("idempotent-replayed") == Some("true"),
        "IDEM-3",
        "{what}: Idempotent-Replayed is {:?}, expected true",
        response.header("idempotent-replayed")
    );
    let location = response.header("location").unwrap_or_default().to_owned();
    ensure!(
        location.ends_with(&format!("/v1/jobs/{id}"))
            && response.header("operation-location") == Some(location.as_str()),
        "IDEM-3",
        "{what}: Location {:?} and Operation-Location {:?} are not both the job URL",
        response.header("location"),
        response.header("operation-location")
    );
    let rels = link_rels(response);
    for rel in ["monitor", "cancel", "result"] {
        ensure!(
            rels.iter().any(|(_, r)| r == rel),
            "IDEM-3",
            "{what}: the Link header has no rel=\"{rel}\": {:?}",
            response.header_all("link")
        );
    }
    // JOB-CREATE-4 asks for Retry-After; JOB-DOC-11 only while the job is
    // active.
    if !is_terminal(&doc) {
        ensure!(
            response
                .header("retry-after")
                .is_some_and(|v| is_delay_seconds(v.trim())),
            "IDEM-3",
            "{what}: the job is {} and Retry-After is {:?}, expected delay-seconds",
            doc["status"],
            response.header("retry-after")
        );
    }
    ensure!(
        response.header("etag").is_some() && response.no_store(),
        "IDEM-3",
        "{what}: the replay lacks ETag or Cache-Control: no-store ({:?}, {:?})",
        response.header("etag"),
        response.header_all("cache-control")
    );
    Ok(doc)
}

async fn key_syntax(ctx: Ctx) -> Outcome {
    let long = "k".repeat(256);
    for (key, what) in [
        ("", "an empty key"),
        (long.as_str(), "a key of 256 characters"),
        ("has spaces", "a key with spaces"),
        ("tab\there", "a key with a tab"),
    ] {
        let response = keyed(&ctx, key, &json!({"params": quick()})).await?;
        expect_problem(
            &ctx,
            &response,
            400,
            "malformed-request",
            "IDEM-1",
            &format!("{what} ({key:?})"),
        )?;
    }
    let mut key = unique(&ctx, "long");
    while key.len() < 255 {
        key.push('~');
    }
    let response = keyed(&ctx, &key, &json!({"params": quick()})).await?;
    expect_accepted(
        &ctx,
        response,
        "IDEM-1",
        "a key of 255 visible ASCII characters",
    )?;
    let key = format!(
        "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{{|}}~{}",
        uuid::Uuid::now_v7().simple()
    );
    let response = keyed(&ctx, &key, &json!({"params": quick()})).await?;
    expect_accepted(
        &ctx,
        response,
        "IDEM-1",
        "a key made of visible ASCII punctuation",
    )?;
    Ok(())
}

async fn replay(ctx: Ctx) -> Outcome {
    let key = unique(&ctx, "key");
    let correlation = unique(&ctx, "job");
    let body = json!({"params": hold_params(), "correlationId": correlation});
    let response = keyed(&ctx, &key, &body).await?;
    ensure!(
        response.header("idempotent-replayed").is_none(),
        "IDEM-4",
        "the first start with a key (not a replay) carries Idempotent-Replayed: {:?}",
        response.header("idempotent-replayed")
    );
    let job = expect_accepted(&ctx, response, "IDEM-2", "a start with a fresh key")?;
    // Wait until the document changed from the 202's: a replay shows the
    // current document, not the one that was committed.
    ctx.wait_job(&job.url, "running", ctx.timeouts().job, "IDEM-3", |d| {
        d["status"] == "running" && d["progress"]["stage"].is_string()
    })
    .await?;
    let response = keyed(&ctx, &key, &body).await?;
    ctx.track_created(&response);
    let doc = check_replay(
        &response,
        &job.id,
        "a repeat of the same request with the key",
    )?;
    ensure!(
        doc["status"] == "running",
        "IDEM-3",
        "the replay shows status {}, but the job is running: the answer must carry the job's current document",
        doc["status"]
    );
    let get = ctx.get(&job.url).send().await?;
    if let Some(current) = get.json()
        && without_expiry(&current) == without_expiry(&doc)
    {
        ensure!(
            get.header("etag") == response.header("etag"),
            "IDEM-3",
            "the replay has ETag {:?}, GET of the same document {:?}",
            response.header("etag"),
            get.header("etag")
        );
    }
    if ctx.claims("list") {
        let listed = listed_with_correlation(&ctx, ctx.probe(), &correlation).await?;
        ensure!(
            listed.len() == 1,
            "IDEM-3",
            "after a start and its replay, {} jobs carry the request's correlationId: {:?}",
            listed.len(),
            listed.iter().map(|j| j["id"].clone()).collect::<Vec<_>>()
        );
    }
    // A start without a key is never a replay.
    let response = ctx.start(ctx.probe(), &json!({"params": quick()})).await?;
    ensure!(
        response.header("idempotent-replayed").is_none(),
        "IDEM-4",
        "a start without a key carries Idempotent-Replayed: {:?}",
        response.header("idempotent-replayed")
    );
    expect_accepted(&ctx, response, "JOB-CREATE-1", "a start without a key")?;
    Ok(())
}

async fn same_request(ctx: Ctx) -> Outcome {
    let key = unique(&ctx, "key");
    let defaults = ctx.limits().clone();
    let first = r#"{"params": {"steps": 1, "echo": {"a": 1, "b": [true]}},
                   "inputs": {"data": {"text": "abc"}}}"#;
    let response = crate::checks::create::post_raw(
        &ctx,
        ctx.probe(),
        Some("application/json"),
        first,
        &[("Idempotency-Key", &key)],
    )
    .await?;
    let job = expect_accepted(&ctx, response, "IDEM-2", "a start with a fresh key")?;
    // The same request, written differently.
    let variants = [
        (
            format!(
                r#"{{"inputs":{{"data":{{"base64":"YWJj","mediaType":"text/plain; charset=utf-8"}}}},"params":{{"echo":{{"b":[true],"a":1}},"steps":1}},"ttlSeconds":{},"timeoutSeconds":{}}}"#,
                defaults.default_ttl_seconds, defaults.default_timeout_seconds
            ),
            "members in another order, no whitespace, the same input as base64 with its media type, and the default ttlSeconds and timeoutSeconds",
        ),
        (
            r#"{ "params" : { "steps" : 1 , "echo" : { "a" : 1 , "b" : [ true ] } } ,
                 "inputs" : { "data" : { "text" : "abc" } } }"#
                .to_owned(),
            "other whitespace",
        ),
    ];
    for (body, what) in variants {
        let response = crate::checks::create::post_raw(
            &ctx,
            ctx.probe(),
            Some("application/json"),
            body,
            &[("Idempotency-Key", &key)],
        )
        .await?;
        ctx.track_created(&response);
        check_replay(&response, &job.id, &format!("the same request with {what}"))?;
    }
    Ok(())
}

async fn reused_key(ctx: Ctx) -> Outcome {
    let key = unique(&ctx, "key");
    let base = unique(&ctx, "job");
    let response = keyed(
        &ctx,
        &key,
        &json!({"params": quick(), "correlationId": format!("{base}-0")}),
    )
    .await?;
    expect_accepted(&ctx, response, "IDEM-2", "a start with a fresh key")?;
    let ttl = ctx
        .limits()
        .default_ttl_seconds
        .saturating_sub(1)
        .max(ctx.limits().min_ttl_seconds);
    let mut variants = vec![
        (
            json!({"params": {"steps": 2}, "correlationId": format!("{base}-0")}),
            "other params",
        ),
        (
            json!({"params": quick(), "correlationId": format!("{base}-1")}),
            "another correlationId",
        ),
        (
            json!({"params": quick(), "correlationId": format!("{base}-0"),
                   "inputs": {"data": {"text": "x"}}}),
            "an extra input",
        ),
    ];
    if ttl != ctx.limits().default_ttl_seconds {
        variants.push((
            json!({"params": quick(), "correlationId": format!("{base}-0"), "ttlSeconds": ttl}),
            "another ttlSeconds",
        ));
    }
    for (body, what) in variants {
        let response = keyed(&ctx, &key, &body).await?;
        expect_problem(
            &ctx,
            &response,
            422,
            "idempotency-key-reused",
            "IDEM-5",
            &format!("a request with {what} and the key of an earlier one"),
        )?;
    }
    if ctx.claims("list") {
        let listed = listed_with_correlation(&ctx, ctx.probe(), &format!("{base}-1")).await?;
        ensure!(
            listed.is_empty(),
            "IDEM-5",
            "the request refused with idempotency-key-reused created the job {}",
            listed[0]["id"]
        );
    }
    Ok(())
}

async fn key_in_use(ctx: Ctx) -> Outcome {
    // The receiver never answers the first fetch: the first request stays
    // being accepted until the server's fetch times out.
    let endpoint = ctx.callback_endpoint(vec![Answer::Hang])?;
    let key = unique(&ctx, "key");
    let correlation = unique(&ctx, "job");
    let body = json!({"params": quick(), "correlationId": correlation,
                      "inputs": {"data": {"url": endpoint.url}}});
    let first = {
        let ctx = ctx.clone();
        let key = key.clone();
        let body = body.clone();
        tokio::spawn(async move { keyed(&ctx, &key, &body).await })
    };
    let arrived = endpoint
        .wait_attempts(1, ctx.timeouts().request, "IDEM-6")
        .await;
    if arrived.is_err() {
        let answer = if first.is_finished() {
            first.await.ok().and_then(Result::ok)
        } else {
            first.abort();
            None
        };
        if let Some(answer) = &answer {
            ctx.track_created(answer);
            if answer.problem_kind().as_deref() == Some("url-not-allowed") {
                return Err(Finding::skip(
                    "the server refuses the receiver's URL (url-not-allowed), so the check cannot hold a request open",
                ));
            }
        }
        return Err(Finding::error(format!(
            "the server never fetched the url input {} (answer: {})",
            endpoint.url,
            answer.map_or("none yet".to_owned(), |a| format!(
                "{} {}",
                a.status,
                show_body(&a.body)
            ))
        )));
    }
    let repeat = keyed(&ctx, &key, &body).await;
    first.abort();
    let repeat = repeat?;
    expect_problem(
        &ctx,
        &repeat,
        409,
        "idempotency-key-in-use",
        "IDEM-6",
        "a repeat while the first request with the key is still being accepted (fetching its url input)",
    )?;
    ensure!(
        repeat.header("retry-after").is_some(),
        "IDEM-6",
        "the 409 idempotency-key-in-use has no Retry-After"
    );
    Ok(())
}

async fn failed_start_binds_nothing(ctx: Ctx) -> Outcome {
    let key = unique(&ctx, "key");
    let response = keyed(&ctx, &key, &json!({"params": quick(), "ttlSeconds": 0})).await?;
    expect_problem(
        &ctx,
        &response,
        422,
        "invalid-request",
        "JOB-CREATE-13",
        "ttlSeconds 0 with a fresh key",
    )?;
    let response = keyed(&ctx, &key, &json!({"params": {"steps": 2}})).await?;
    ensure!(
        response.status == 202 && response.header("idempotent-replayed").is_none(),
        "IDEM-7",
        "after a start with the key was refused, a valid start with the key was answered {} (Idempotent-Replayed {:?}): {}, expected a new job",
        response.status,
        response.header("idempotent-replayed"),
        show_body(&response.body)
    );
    expect_accepted(&ctx, response, "IDEM-7", "a valid start with the key")?;

    if ctx.claims("sync") && ctx.limits().max_wait_seconds >= 1 {
        // A synchronous answer that reports the failure of a created job
        // does bind the key.
        let key = unique(&ctx, "sync-key");
        let body = json!({"params": {"steps": 1, "fail": {"code": "conformance", "message": "failing on purpose"}}});
        let wait = ctx.limits().max_wait_seconds.min(10);
        let response = post_json_with(
            &ctx,
            ctx.probe(),
            &body,
            &[
                ("Idempotency-Key", &key),
                ("Prefer", &format!("wait={wait}")),
            ],
        )
        .await?;
        if let Some(location) = response.header("location") {
            ctx.track_job(location);
        }
        let Some(location) = response.header("location").map(str::to_owned) else {
            return Err(Finding::violation(
                "IDEM-7",
                format!(
                    "a synchronous start of a failing job answered {} without Location: {}",
                    response.status,
                    show_body(&response.body)
                ),
            ));
        };
        let id = location.rsplit('/').next().unwrap_or_default().to_owned();
        let replay = keyed(&ctx, &key, &body).await?;
        ensure!(
            replay.status == 202
                && replay.header("idempotent-replayed") == Some("true")
                && replay.json().is_some_and(|d| d["id"] == id.as_str()),
            "IDEM-7",
            "a synchronous start answered {} (the job {id} failed) did not bind its key: the repeat was answered {} {:?} {}",
            response.status,
            replay.status,
            replay.header("idempotent-replayed"),
            show_body(&replay.body)
        );
    }
    Ok(())
}

async fn delete_frees_key(ctx: Ctx) -> Outcome {
    if !ctx.claims("delete") {
        return Err(Finding::skip(
            "the server does not claim `delete`; a key is freed only when its job is deleted or expired",
        ));
    }
    let key = unique(&ctx, "key");
    let body = json!({"params": quick()});
    let response = keyed(&ctx, &key, &body).await?;
    let job = expect_accepted(&ctx, response, "IDEM-2", "a start with a fresh key")?;
    let response = keyed(&ctx, &key, &body).await?;
    ctx.track_created(&response);
    check_replay(&response, &job.id, "a repeat while the job exists")?;
    let deleted = ctx.delete(&job.url).send().await?;
    if deleted.status != 200 {
        return Err(Finding::error(format!(
            "DELETE of the job answered {}: {}",
            deleted.status,
            show_body(&deleted.body)
        )));
    }
    let response = keyed(&ctx, &key, &body).await?;
    ctx.track_created(&response);
    ensure!(
        response.status == 202
            && response.header("idempotent-replayed").is_none()
            && response.json().is_some_and(|d| d["id"] != job.id.as_str()),
        "IDEM-8",
        "after the job {} was deleted, a start with its key was answered {} (Idempotent-Replayed {:?}): {}, expected a new job",
        job.id,
        response.status,
        response.header("idempotent-replayed"),
        show_body(&response.body)
    );
    Ok(())
}

async fn replay_when_queue_full(ctx: Ctx) -> Outcome {
    let size = ctx.limits().queue_size;
    if size > 64 {
        return Err(Finding::skip(format!(
            "limits.queueSize is {size}; the check fills the queue only up to 64 jobs"
        )));
    }
    let _holds = fill_workers(&ctx).await?;
    let key = unique(&ctx, "key");
    let body = json!({"params": quick()});
    let mut first = None;
    for i in 0..size {
        let response = if i == 0 {
            keyed(&ctx, &key, &body).await?
        } else {
            ctx.start(ctx.probe(), &body).await?
        };
        if response.status == 503 {
            ctx.track_created(&response);
            return Err(Finding::violation(
                "SVC-6",
                format!(
                    "limits.queueSize is {size}, but a start was refused with 503 when {i} jobs were queued"
                ),
            ));
        }
        let job = expect_accepted(
            &ctx,
            response,
            "JOB-CREATE-1",
            &format!("start {} of {size} to fill the queue", i + 1),
        )?;
        first.get_or_insert(job);
    }
    let first = first.ok_or_else(|| Finding::error("limits.queueSize is 0"))?;
    let response = ctx.start(ctx.probe(), &body).await?;
    if response.status != 503 {
        ctx.track_created(&response);
        return Err(Finding::error(format!(
            "with {size} jobs queued a new start was answered {}, not 503 queue-full; cannot check replays against a full queue",
            response.status
        )));
    }
    let response = keyed(&ctx, &key, &body).await?;
    ensure!(
        response.status != 503,
        "IDEM-9",
        "a replay while the queue is full was refused with 503: {}",
        show_body(&response.body)
    );
    ctx.track_created(&response);
    check_replay(&response, &first.id, "a replay while the queue is full")?;
    Ok(())
}

async fn sync_replay(ctx: Ctx) -> Outcome {
    if !ctx.claims("sync") {
        return Err(Finding::skip(
            "the server does not claim `sync`, so Prefer: wait is ignored",
        ));
    }
    let max = ctx.limits().max_wait_seconds;
    if max < 1 {
        return Err(Finding::skip(
            "limits.maxWaitSeconds is 0: no request waits",
        ));
    }
    // A replay of a succeeded job: 200 with the result.
    let key = unique(&ctx, "done");
    let body = json!({"params": quick()});
    let response = keyed(&ctx, &key, &body).await?;
    let job = expect_accepted(&ctx, response, "IDEM-2", "a start with a fresh key")?;
    ctx.wait_terminal(&job.url, "IDEM-10").await?;
    let wait = max.min(5);
    let response = post_json_with(
        &ctx,
        ctx.probe(),
        &body,
        &[
            ("Idempotency-Key", &key),
            ("Prefer", &format!("wait={wait}")),
        ],
    )
    .await?;
    ctx.track_created(&response);
    ensure!(
        response.status == 200,
        "IDEM-10",
        "a replay with Prefer: wait={wait} of a succeeded job was answered {}, expected 200 with the result: {}",
        response.status,
        show_body(&response.body)
    );
    ensure!(
        response.header("idempotent-replayed") == Some("true"),
        "IDEM-10",
        "the synchronous replay has Idempotent-Replayed {:?}, expected true",
        response.header("idempotent-replayed")
    );
    ensure!(
        response.header("location") == Some(job.url.as_str())
            && response.header("preference-applied").is_some(),
        "IDEM-10",
        "the synchronous replay has Location {:?} and Preference-Applied {:?}, expected the job URL and the applied wait",
        response.header("location"),
        response.header("preference-applied")
    );

    // A replay of a running job: 202 after the wait.
    let key = unique(&ctx, "active");
    let body = json!({"params": hold_params()});
    let response = keyed(&ctx, &key, &body).await?;
    let job = expect_accepted(&ctx, response, "IDEM-2", "a start with a fresh key")?;
    let began = Instant::now();
    let response = post_json_with(
        &ctx,
        ctx.probe(),
        &body,
        &[("Idempotency-Key", &key), ("Prefer", "wait=1")],
    )
    .await?;
    let elapsed = began.elapsed();
    ctx.track_created(&response);
    check_replay(
        &response,
        &job.id,
        "a replay with Prefer: wait=1 of a running job",
    )
    .map_err(|f| match f {
        Finding::Violation { message, .. } => Finding::violation("IDEM-10", message),
        other => other,
    })?;
    ensure!(
        elapsed >= Duration::from_millis(990),
        "IDEM-10",
        "a replay with Prefer: wait=1 of a running job was answered 202 after {} ms, before the wait elapsed (SYNC-7)",
        elapsed.as_millis()
    );
    ensure!(
        response.header("preference-applied") == Some("wait=1"),
        "IDEM-10",
        "the replay with Prefer: wait=1 has Preference-Applied {:?}, expected wait=1",
        response.header("preference-applied")
    );
    Ok(())
}
