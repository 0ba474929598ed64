//! Section 6.1 and 6.3: starting a job with a JSON body.
//!
//! The checks cover the `202` answer (its document and headers), the order in
//! which a start request is validated and the problem each failed check gives
//! (operation, headers, media type, size — where `limits.maxBodyBytes` is small
//! enough to exceed cheaply —, syntax, `callback`, inputs, params, bounds,
//! idempotency key, queue capacity), the bounds and defaults of
//! `ttlSeconds`, `timeoutSeconds` and `correlationId`, `output.file` paths, and
//! that a refused request creates no job. Two checks need the server to
//! themselves: one fills every worker so that a job stays `queued` (to compare
//! the `ETag` of the `202` with that of `GET`), the other fills the queue.
//!
//! The module also holds the helpers that the checks of sections 6 to 8
//! (`inputs`, `multipart`, `idempotency`, `sync`) share.

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::Method;
use serde_json::{Value, json};

use crate::check::{Check, Finding, Outcome};
use crate::checks::document::without_expiry;
use crate::context::{Ctx, Response};
use crate::ensure;
use crate::exchange::show_body;
use crate::jobs::Job;

/// The checks of this area.
pub const CHECKS: &[Check] = &[
    Check {
        id: "create.accepted",
        title: "a valid start is answered 202 with the queued document, Location, Operation-Location, Link, Retry-After, ETag and Cache-Control",
        class: "core",
        requirements: &[
            "JOB-CREATE-1",
            "JOB-CREATE-2",
            "JOB-CREATE-3",
            "JOB-CREATE-4",
            "GEN-3",
            "GEN-5",
        ],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(accepted(ctx)),
    },
    Check {
        id: "create.no-job-on-failure",
        title: "start requests that fail validation create no job",
        class: "core",
        requirements: &["JOB-CREATE-6", "JOB-CREATE-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(no_job_on_failure(ctx)),
    },
    Check {
        id: "create.check-order",
        title: "a start request with several faults is answered by the first failing check of JOB-CREATE-7 (413 over maxBodyBytes)",
        class: "core",
        requirements: &["JOB-CREATE-7", "JOB-CREATE-9", "IDEM-2"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(check_order(ctx)),
    },
    Check {
        id: "create.content-type",
        title: "a start body that is neither JSON nor multipart, or has no Content-Type, is answered 415",
        class: "core",
        requirements: &["JOB-CREATE-8"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(content_type(ctx)),
    },
    Check {
        id: "create.malformed-body",
        title: "invalid JSON, a non-object, unknown members and wrongly typed members are answered 400",
        class: "core",
        requirements: &["JOB-CREATE-10"],
        needs: &["service.document", "probe.offered"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(malformed_body(ctx)),
    },
    Check {
        id: "create.callback-member",
        title: "the callback member is refused with 422 without the callbacks class, and validated with it",
        class: "core",
        requirements: &["JOB-CREATE-11"],
        needs: &["service.document", "probe.offered"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(callback_member(ctx)),
    },
    Check {
        id: "create.invalid-params",
        title: "params that are not an object or fail paramsSchema are answered 422 invalid-params with errors",
        class: "core",
        requirements: &["JOB-CREATE-12"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(invalid_params(ctx)),
    },
    Check {
        id: "create.ttl-bounds",
        title: "ttlSeconds outside [minTtlSeconds, maxTtlSeconds] is 422; absent, it is defaultTtlSeconds",
        class: "core",
        requirements: &["JOB-CREATE-13"],
        needs: &["service.document", "probe.offered"],
        jobs: 3,
        exclusive: false,
        run: |ctx| Box::pin(ttl_bounds(ctx)),
    },
    Check {
        id: "create.timeout-bounds",
        title: "timeoutSeconds outside [1, maxTimeoutSeconds] is 422; absent, it is defaultTimeoutSeconds",
        class: "core",
        requirements: &["JOB-CREATE-14"],
        needs: &["service.document", "probe.offered"],
        jobs: 3,
        exclusive: false,
        run: |ctx| Box::pin(timeout_bounds(ctx)),
    },
    Check {
        id: "create.correlation-id",
        title: "correlationId of 1 to 256 characters is echoed unchanged; empty or longer is 422",
        class: "core",
        requirements: &["JOB-CREATE-15"],
        needs: &["service.document", "probe.offered"],
        jobs: 3,
        exclusive: false,
        run: |ctx| Box::pin(correlation_id(ctx)),
    },
    Check {
        id: "create.output-file",
        title: "an absolute output.file or one that escapes the output root is answered 422",
        class: "core",
        requirements: &["JOB-CREATE-16"],
        needs: &["service.document", "probe.offered"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(output_file(ctx)),
    },
    Check {
        id: "create.etag-of-queued-job",
        title: "the ETag of the 202 equals the ETag GET gives for the same (still queued) document",
        class: "core",
        requirements: &["JOB-CREATE-4", "JOB-CREATE-1", "SVC-6"],
        needs: &["service.document", "probe.offered"],
        // Exclusive: it runs alone and fills every worker.
        jobs: 0,
        exclusive: true,
        run: |ctx| Box::pin(etag_of_queued_job(ctx)),
    },
    Check {
        id: "create.queue-full",
        title: "with queueSize jobs queued a start is answered 503 queue-full with Retry-After, after the other checks",
        class: "core",
        requirements: &[
            "JOB-CREATE-18",
            "JOB-CREATE-7",
            "JOB-CREATE-6",
            "SVC-6",
            "JOB-CREATE-1",
        ],
        needs: &["service.document", "probe.offered"],
        // Exclusive: it runs alone and fills every worker and the queue.
        jobs: 0,
        exclusive: true,
        run: |ctx| Box::pin(queue_full(ctx)),
    },
];

/// Requirements of this area that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[
    (
        "JOB-CREATE-5",
        "durability across a crash or restart needs control of the server process, which a client does not have",
    ),
    (
        "JOB-CREATE-17",
        "the copy under the output root is on the operator's file system, which a client cannot read",
    ),
];

// ---------------------------------------------------------------------------
// Helpers shared by the checks of sections 6 to 8.
// ---------------------------------------------------------------------------

/// The largest body the checks send to exceed a size limit (1 MiB): larger
/// limits are not checked. A server may refuse an oversized body by its
/// `Content-Length` and close the connection while the client still writes;
/// a body this small fits into the connection's buffers, so the answer can
/// still be read.
pub(crate) const SMALL_BODY_BYTES: u64 = 1024 * 1024;

/// A value unique to this check and call, for correlation ids and idempotency
/// keys (visible ASCII, well under 256 characters).
pub(crate) fn unique(ctx: &Ctx, tag: &str) -> String {
    format!("{}-{tag}-{}", ctx.check_id(), uuid::Uuid::now_v7().simple())
}

/// `/v1/operations/{op}/jobs`.
pub(crate) fn jobs_path(op: &str) -> String {
    format!("/v1/operations/{op}/jobs")
}

/// `POST` a start request for `op` with `headers` and a raw body with this
/// `Content-Type` (none when `None`).
pub(crate) async fn post_raw(
    ctx: &Ctx,
    op: &str,
    content_type: Option<&str>,
    body: impl Into<Bytes>,
    headers: &[(&str, &str)],
) -> Result<Response, Finding> {
    let mut request = ctx.request(Method::POST, &jobs_path(op));
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    let request = match content_type {
        Some(ct) => request.body(ct, body),
        None => request.raw_body(body),
    };
    request.send().await
}

/// `POST` a JSON start request for `op` with extra headers.
pub(crate) async fn post_json_with(
    ctx: &Ctx,
    op: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> Result<Response, Finding> {
    post_raw(ctx, op, Some("application/json"), body.to_string(), headers).await
}

/// Expect the problem `kind` with `status`; otherwise a violation of
/// `requirement` whose message starts with `what` (the request that was sent).
pub(crate) fn expect_problem(
    ctx: &Ctx,
    response: &Response,
    status: u16,
    kind: &str,
    requirement: &'static str,
    what: &str,
) -> Result<Value, Finding> {
    ctx.track_created(response);
    response
        .expect_problem(status, kind, requirement)
        .map_err(|finding| match finding {
            Finding::Violation {
                requirement,
                level,
                message,
            } => Finding::Violation {
                requirement,
                level,
                message: format!("{what}: {message}"),
            },
            other => other,
        })
}

/// Expect a `202` and read it as a [`Job`]; otherwise a violation of
/// `requirement` whose message starts with `what`.
pub(crate) fn expect_accepted(
    ctx: &Ctx,
    response: Response,
    requirement: &'static str,
    what: &str,
) -> Result<Job, Finding> {
    if response.status != 202 {
        ctx.track_created(&response);
        return Err(Finding::violation(
            requirement,
            format!(
                "{what}: expected 202, got {} with body {}",
                response.status,
                show_body(&response.body)
            ),
        ));
    }
    ctx.accepted(response)
}

/// The `(target, rel)` pairs of every `Link` header of `response`.
pub(crate) fn link_rels(response: &Response) -> Vec<(String, String)> {
    response
        .header_all("link")
        .into_iter()
        .flat_map(parse_link_header)
        .collect()
}

/// Parse one `Link` header value (RFC 8288) into `(target, rel)` pairs; a link
/// with several relation types yields one pair for each.
fn parse_link_header(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let target = rest[open + 1..open + close].to_owned();
        rest = &rest[open + close + 1..];
        // The parameters run to the next link (a comma outside quotes).
        let mut end = rest.len();
        let mut quoted = false;
        for (i, c) in rest.char_indices() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        for param in rest[..end].split(';') {
            if let Some((name, value)) = param.split_once('=')
                && name.trim().eq_ignore_ascii_case("rel")
            {
                for rel in value.trim().trim_matches('"').split_whitespace() {
                    out.push((target.clone(), rel.to_ascii_lowercase()));
                }
            }
        }
        rest = &rest[end..];
    }
    out
}

/// Whether a `Retry-After` value is in the delay-seconds form.
pub(crate) fn is_delay_seconds(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
}

/// Whether two media types are the same, ignoring case and spaces.
pub(crate) fn same_media_type(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    norm(a) == norm(b)
}

/// Every job of `operation` whose `correlationId` starts with `prefix`, found
/// by walking `GET /v1/jobs?operation=…` (class `list`).
pub(crate) async fn listed_with_correlation(
    ctx: &Ctx,
    operation: &str,
    prefix: &str,
) -> Result<Vec<Value>, Finding> {
    let limit = ctx.limits().max_page_size.clamp(1, 100);
    let mut url = format!("/v1/jobs?operation={operation}&limit={limit}");
    let mut found = Vec::new();
    for _ in 0..200 {
        let response = ctx.get(&url).send().await?;
        if response.status != 200 {
            return Err(Finding::error(format!(
                "listing jobs to find this check's jobs answered {}: {}",
                response.status,
                show_body(&response.body)
            )));
        }
        let page = response.json().unwrap_or(Value::Null);
        let Some(jobs) = page["jobs"].as_array() else {
            return Err(Finding::error(format!(
                "listing jobs to find this check's jobs gave no `jobs` array: {}",
                show_body(&response.body)
            )));
        };
        found.extend(
            jobs.iter()
                .filter(|j| {
                    j["correlationId"]
                        .as_str()
                        .is_some_and(|c| c.starts_with(prefix))
                })
                .cloned(),
        );
        match page["next"].as_str() {
            Some(next) => url = next.to_owned(),
            None => return Ok(found),
        }
    }
    Err(Finding::error("listing jobs took more than 200 pages"))
}

/// Wait (bounded) until a job of `operation` with exactly this
/// `correlationId` is listed, and return its document.
pub(crate) async fn find_listed(
    ctx: &Ctx,
    operation: &str,
    correlation_id: &str,
    within: Duration,
) -> Result<Option<Value>, Finding> {
    let deadline = Instant::now() + within;
    loop {
        let found = listed_with_correlation(ctx, operation, correlation_id).await?;
        if let Some(doc) = found
            .into_iter()
            .find(|d| d["correlationId"] == correlation_id)
        {
            return Ok(Some(doc));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Start `limits.workers` hold jobs and wait until each is `running`, so that
/// the next job stays `queued`. For exclusive checks only.
pub(crate) async fn fill_workers(ctx: &Ctx) -> Result<Vec<Job>, Finding> {
    let workers = ctx.limits().workers;
    if workers > 256 {
        return Err(Finding::skip(format!(
            "limits.workers is {workers}; the check fills every worker with a job and does so only up to 256"
        )));
    }
    let started = futures::future::join_all((0..workers).map(|_| ctx.start_hold())).await;
    let mut holds = Vec::new();
    for job in started {
        holds.push(job?);
    }
    let waits = holds.iter().map(|job| {
        ctx.wait_job(&job.url, "running", ctx.timeouts().job, "SVC-6", |doc| {
            doc["status"] == "running"
        })
    });
    for waited in futures::future::join_all(waits).await {
        waited.map_err(|f| match f {
            Finding::Violation { message, .. } => Finding::violation(
                "SVC-6",
                format!(
                    "limits.workers is {workers}, but of {workers} jobs started on an otherwise idle server one did not run: {message}"
                ),
            ),
            other => other,
        })?;
    }
    Ok(holds)
}

/// The params of a quick `probe` job.
pub(crate) fn quick() -> Value {
    json!({"steps": 1})
}

// ---------------------------------------------------------------------------
// The checks.
// ---------------------------------------------------------------------------

async fn accepted(ctx: Ctx) -> Outcome {
    let response = ctx.start(ctx.probe(), &json!({"params": quick()})).await?;
    ensure!(
        response.status == 202,
        "JOB-CREATE-1",
        "a valid start request was answered {} instead of 202: {}",
        response.status,
        show_body(&response.body)
    );
    ctx.track_created(&response);
    ensure!(
        response.media_type().as_deref() == Some("application/json"),
        "GEN-5",
        "the 202 has Content-Type {:?}, expected application/json",
        response.header("content-type")
    );
    let doc = response.json_object("JOB-CREATE-1")?;
    ensure!(
        doc["status"] == "queued",
        "JOB-CREATE-1",
        "the 202 document has status {}, expected \"queued\" (the document as committed)",
        doc["status"]
    );
    ensure!(
        doc["attempt"] == 1,
        "JOB-CREATE-1",
        "the 202 document has attempt {}, expected 1",
        doc["attempt"]
    );
    let id = doc["id"].as_str().unwrap_or_default().to_owned();
    ensure!(
        !id.is_empty(),
        "JOB-CREATE-1",
        "the 202 document has no string `id`: {doc}"
    );

    let location = response.header("location");
    ensure!(
        location.is_some(),
        "JOB-CREATE-2",
        "the 202 has no Location header"
    );
    let location = location.unwrap_or_default().to_owned();
    ensure!(
        location.starts_with("http://") || location.starts_with("https://"),
        "GEN-3",
        "Location is {location:?}, expected an absolute URL"
    );
    ensure!(
        location.ends_with(&format!("/v1/jobs/{id}")),
        "JOB-CREATE-2",
        "Location is {location:?}, expected the job URL (ending in /v1/jobs/{id})"
    );
    let operation_location = response.header("operation-location");
    ensure!(
        operation_location == Some(location.as_str()),
        "JOB-CREATE-2",
        "Operation-Location is {operation_location:?}, expected the job URL {location:?} (as Location)"
    );

    let rels = link_rels(&response);
    for (rel, target) in [
        ("monitor", location.clone()),
        ("cancel", format!("{location}/cancel")),
        ("result", format!("{location}/result")),
    ] {
        ensure!(
            rels.iter().any(|(t, r)| r == rel && *t == target),
            "JOB-CREATE-3",
            "the Link header has no <{target}>; rel=\"{rel}\"; Link: {:?}",
            response.header_all("link")
        );
    }

    let retry = response.header("retry-after");
    ensure!(
        retry.is_some_and(|v| is_delay_seconds(v.trim())),
        "JOB-CREATE-4",
        "Retry-After is {retry:?}, expected delay-seconds (for example 1)"
    );
    let etag = response.header("etag").map(str::to_owned);
    ensure!(
        etag.as_deref().is_some_and(|e| !e.is_empty()),
        "JOB-CREATE-4",
        "the 202 has no ETag"
    );
    ensure!(
        response.no_store(),
        "JOB-CREATE-4",
        "Cache-Control is {:?}, expected no-store",
        response.header_all("cache-control")
    );

    // The job URL names the job; when the document has not changed yet, GET
    // must give the same ETag (create.etag-of-queued-job checks this reliably).
    let get = ctx.get(&location).send().await?;
    ensure!(
        get.status == 200,
        "JOB-CREATE-2",
        "GET of the Location {location} answered {}, expected 200 with the job document",
        get.status
    );
    let current = get.json_object("JOB-CREATE-2")?;
    ensure!(
        current["id"] == id.as_str(),
        "JOB-CREATE-2",
        "GET of the Location {location} shows the job {}, expected {id}",
        current["id"]
    );
    if without_expiry(&current) == without_expiry(&doc) {
        ensure!(
            get.header("etag") == etag.as_deref(),
            "JOB-CREATE-4",
            "the 202 had ETag {etag:?}, GET of the unchanged document gives {:?}",
            get.header("etag")
        );
    }
    Ok(())
}

async fn no_job_on_failure(ctx: Ctx) -> Outcome {
    if !ctx.claims("list") {
        return Err(Finding::skip(
            "the server does not claim `list`, the only way a client can look for jobs it was not told about",
        ));
    }
    let probe = ctx.probe().to_owned();
    let base = unique(&ctx, "refused");
    let refused: Vec<(&str, Value)> = vec![
        ("ttlSeconds 0", json!({"ttlSeconds": 0})),
        ("timeoutSeconds 0", json!({"timeoutSeconds": 0})),
        ("params invalid", json!({"params": {"steps": "many"}})),
        (
            "unknown input",
            json!({"inputs": {"conformance-no-such-input": {"text": "x"}}}),
        ),
        ("bad base64", json!({"inputs": {"data": {"base64": "!!"}}})),
        (
            "absolute output.file",
            json!({"output": {"file": "/tmp/x.json"}}),
        ),
        ("unknown member", json!({"conformanceUnknownMember": 1})),
    ];
    for (i, (what, mut body)) in refused.into_iter().enumerate() {
        body["correlationId"] = json!(format!("{base}-{i}"));
        let response = ctx.start(&probe, &body).await?;
        ctx.track_created(&response);
        ensure!(
            (400..500).contains(&response.status),
            "JOB-CREATE-6",
            "a start request with {what} ({body}) was answered {}, expected a 4xx refusal",
            response.status
        );
    }
    let control = format!("{base}-accepted");
    let response = ctx
        .start(
            &probe,
            &json!({"params": quick(), "correlationId": control}),
        )
        .await?;
    expect_accepted(&ctx, response, "JOB-CREATE-1", "a valid start request")?;

    let listed = listed_with_correlation(&ctx, &probe, &base).await?;
    if !listed
        .iter()
        .any(|j| j["correlationId"] == control.as_str())
    {
        return Err(Finding::error(format!(
            "GET /v1/jobs?operation={probe} does not list the job this check started with correlationId {control}; cannot look for jobs there"
        )));
    }
    let created: Vec<&Value> = listed
        .iter()
        .filter(|j| j["correlationId"] != control.as_str())
        .collect();
    ensure!(
        created.is_empty(),
        "JOB-CREATE-6",
        "refused start requests created jobs: {}",
        created
            .iter()
            .map(|j| format!("{} ({})", j["id"], j["correlationId"]))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

async fn check_order(ctx: Ctx) -> Outcome {
    let probe = ctx.probe().to_owned();
    let sync = ctx.claims("sync");
    let idempotency = ctx.claims("idempotency");
    let mut bad_headers: Vec<(&str, &str)> = Vec::new();
    if sync {
        bad_headers.push(("Prefer", "wait=soon"));
    }
    if idempotency {
        bad_headers.push(("Idempotency-Key", "has spaces in it"));
    }

    // (1) the operation before anything else.
    let response = post_raw(
        &ctx,
        "conformance-no-such-operation",
        Some("text/plain"),
        "not json",
        &bad_headers,
    )
    .await?;
    expect_problem(
        &ctx,
        &response,
        404,
        "operation-not-found",
        "JOB-CREATE-7",
        "an unknown operation with a text/plain body (and malformed Prefer/Idempotency-Key headers)",
    )?;

    // (2) the headers before the media type.
    if !bad_headers.is_empty() {
        let response = post_raw(&ctx, &probe, Some("text/plain"), "not json", &bad_headers).await?;
        expect_problem(
            &ctx,
            &response,
            400,
            "malformed-request",
            "JOB-CREATE-7",
            &format!("a text/plain body with the malformed headers {bad_headers:?}"),
        )?;
    }

    // (3) the media type before the syntax of the body.
    let response = post_raw(&ctx, &probe, Some("text/plain"), "{not json", &[]).await?;
    expect_problem(
        &ctx,
        &response,
        415,
        "unsupported-media-type",
        "JOB-CREATE-7",
        "a text/plain body that is not JSON either",
    )?;

    // (4) the size, after the media type and before the syntax; only when
    // limits.maxBodyBytes is small enough to exceed cheaply.
    let max = ctx.limits().max_body_bytes;
    if max <= SMALL_BODY_BYTES {
        // Not valid JSON either (never closed).
        let mut oversized = br#"{"params": {"echo": ""#.to_vec();
        oversized.resize(max as usize + 1, b'x');
        let sent = post_raw(&ctx, &probe, Some("text/plain"), oversized.clone(), &[]).await;
        // A transport error means the server closed the connection before the
        // client could read an answer: nothing to judge.
        if let Ok(response) = sent {
            expect_problem(
                &ctx,
                &response,
                415,
                "unsupported-media-type",
                "JOB-CREATE-7",
                &format!(
                    "a text/plain body of {} bytes (limits.maxBodyBytes + 1)",
                    max + 1
                ),
            )?;
        }
        if let Ok(response) = post_raw(&ctx, &probe, Some("application/json"), oversized, &[]).await
        {
            expect_problem(
                &ctx,
                &response,
                413,
                "payload-too-large",
                "JOB-CREATE-9",
                &format!(
                    "a body of {} bytes (limits.maxBodyBytes + 1) that is not valid JSON either",
                    max + 1
                ),
            )?;
        }
    }

    // (5) to (9): each body has the faults of every later step too.
    let callback = json!({"url": "https://example.com/longrun-hook", "method": "PUT"});
    let steps: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"conformanceUnknownMember": 1, "callback": callback,
                   "inputs": {"conformance-no-such-input": {"text": "x"}},
                   "params": {"steps": 0}, "ttlSeconds": 0}),
            400,
            "malformed-request",
            "an unknown member with an invalid callback, an unknown input, invalid params and ttlSeconds 0",
        ),
        (
            json!({"callback": callback,
                   "inputs": {"conformance-no-such-input": {"text": "x"}},
                   "params": {"steps": 0}, "ttlSeconds": 0}),
            422,
            "invalid-request",
            "a callback with method PUT (or any callback, without the class callbacks) with an unknown input, invalid params and ttlSeconds 0",
        ),
        (
            json!({"inputs": {"conformance-no-such-input": {"text": "x"}},
                   "params": {"steps": 0}, "ttlSeconds": 0}),
            422,
            "invalid-inputs",
            "an unknown input with invalid params and ttlSeconds 0",
        ),
        (
            json!({"params": {"steps": 0}, "ttlSeconds": 0}),
            422,
            "invalid-params",
            "invalid params with ttlSeconds 0",
        ),
    ];
    for (body, status, kind, what) in steps {
        let response = ctx.start(&probe, &body).await?;
        expect_problem(&ctx, &response, status, kind, "JOB-CREATE-7", what)?;
    }

    // (9) before (10): the bounds before the idempotency key.
    if idempotency {
        let key = unique(&ctx, "key");
        let response = post_json_with(
            &ctx,
            &probe,
            &json!({"params": quick()}),
            &[("Idempotency-Key", &key)],
        )
        .await?;
        expect_accepted(
            &ctx,
            response,
            "IDEM-2",
            "a valid start request with a fresh key",
        )?;
        let response = post_json_with(
            &ctx,
            &probe,
            &json!({"params": {"steps": 2}, "ttlSeconds": 0}),
            &[("Idempotency-Key", &key)],
        )
        .await?;
        expect_problem(
            &ctx,
            &response,
            422,
            "invalid-request",
            "JOB-CREATE-7",
            "ttlSeconds 0 with an Idempotency-Key bound to a different request",
        )?;
    }
    Ok(())
}

async fn content_type(ctx: Ctx) -> Outcome {
    let probe = ctx.probe().to_owned();
    let body = json!({"params": quick()}).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/merge-patch+json"),
        Some("text/json"),
    ] {
        let response = post_raw(&ctx, &probe, content_type, body.clone(), &[]).await?;
        expect_problem(
            &ctx,
            &response,
            415,
            "unsupported-media-type",
            "JOB-CREATE-8",
            &format!(
                "a JSON body sent with {}",
                content_type.map_or("no Content-Type".to_owned(), |c| format!(
                    "Content-Type: {c}"
                ))
            ),
        )?;
    }
    let response = post_raw(
        &ctx,
        &probe,
        Some("Application/JSON; charset=UTF-8"),
        body,
        &[],
    )
    .await?;
    expect_accepted(
        &ctx,
        response,
        "JOB-CREATE-8",
        "a valid body with Content-Type: Application/JSON; charset=UTF-8 (case and parameters do not matter)",
    )?;
    Ok(())
}

async fn malformed_body(ctx: Ctx) -> Outcome {
    let probe = ctx.probe().to_owned();
    let bodies: &[(&str, &str)] = &[
        ("an empty body", ""),
        ("invalid JSON", "{"),
        ("invalid JSON", "{\"params\": {}"),
        ("invalid JSON", "not json"),
        ("an array", "[]"),
        ("null", "null"),
        ("a number", "42"),
        ("a string", "\"params\""),
        ("an unknown member", r#"{"conformanceUnknownMember": 1}"#),
        ("a member in the wrong case", r#"{"Params": {}}"#),
        ("inputs as an array", r#"{"inputs": []}"#),
        ("inputs as a string", r#"{"inputs": "data"}"#),
        ("output as a string", r#"{"output": "out.json"}"#),
        ("ttlSeconds as a string", r#"{"ttlSeconds": "60"}"#),
        ("ttlSeconds as a fraction", r#"{"ttlSeconds": 60.5}"#),
        ("timeoutSeconds as a string", r#"{"timeoutSeconds": "60"}"#),
        ("timeoutSeconds as a boolean", r#"{"timeoutSeconds": true}"#),
        ("correlationId as a number", r#"{"correlationId": 7}"#),
        ("correlationId as an array", r#"{"correlationId": ["a"]}"#),
    ];
    for (what, body) in bodies {
        let response = post_raw(&ctx, &probe, Some("application/json"), *body, &[]).await?;
        expect_problem(
            &ctx,
            &response,
            400,
            "malformed-request",
            "JOB-CREATE-10",
            &format!("a start body with {what} ({body})"),
        )?;
    }
    Ok(())
}

async fn callback_member(ctx: Ctx) -> Outcome {
    let probe = ctx.probe().to_owned();
    if !ctx.claims("callbacks") {
        for callback in [
            json!({"url": "https://example.com/longrun-hook"}),
            json!({}),
            json!("https://example.com/longrun-hook"),
            json!(null),
        ] {
            let response = ctx
                .start(&probe, &json!({"params": quick(), "callback": callback}))
                .await?;
            expect_problem(
                &ctx,
                &response,
                422,
                "invalid-request",
                "JOB-CREATE-11",
                &format!(
                    "the server does not claim callbacks; a start request with \"callback\": {callback}"
                ),
            )?;
        }
        return Ok(());
    }
    // The server claims callbacks: it validates the member (section 24.1).
    let cases = [
        (
            json!("https://example.com/longrun-hook"),
            400,
            "malformed-request",
            "a callback that is not an object (CALLBACK-2)",
        ),
        (
            json!({"url": "https://example.com/longrun-hook", "conformanceUnknownMember": 1}),
            400,
            "malformed-request",
            "a callback with an unknown member (CALLBACK-2)",
        ),
        (
            json!({"url": "https://example.com/longrun-hook", "method": "PUT"}),
            422,
            "invalid-request",
            "a callback with method PUT (CALLBACK-3)",
        ),
    ];
    for (callback, status, kind, what) in cases {
        let response = ctx
            .start(&probe, &json!({"params": quick(), "callback": callback}))
            .await?;
        expect_problem(
            &ctx,
            &response,
            status,
            kind,
            "JOB-CREATE-11",
            &format!("the server claims callbacks; {what}"),
        )?;
    }
    Ok(())
}

/// Check the `errors` member of an `invalid-params` problem.
fn check_params_errors(problem: &Value, what: &str, want_root: bool) -> Outcome {
    let errors = problem["errors"].as_array();
    ensure!(
        errors.is_some_and(|e| !e.is_empty()),
        "JOB-CREATE-12",
        "{what}: the invalid-params problem has no non-empty `errors` array: {problem}"
    );
    for error in errors.into_iter().flatten() {
        let pointer = error["pointer"].as_str();
        ensure!(
            pointer.is_some_and(|p| p.is_empty() || p.starts_with('/')),
            "JOB-CREATE-12",
            "{what}: an entry of `errors` has no JSON Pointer `pointer`: {error}"
        );
        ensure!(
            error["message"].is_string(),
            "JOB-CREATE-12",
            "{what}: an entry of `errors` has no string `message`: {error}"
        );
    }
    if want_root {
        ensure!(
            errors.into_iter().flatten().any(|e| e["pointer"] == ""),
            "JOB-CREATE-12",
            "{what}: `errors` has no entry with the pointer \"\" (params itself): {problem}"
        );
    }
    Ok(())
}

async fn invalid_params(ctx: Ctx) -> Outcome {
    let probe = ctx.probe().to_owned();
    for (params, what) in [
        (json!("steps"), "params that are a string"),
        (json!([1]), "params that are an array"),
        (json!(null), "params that are null"),
    ] {
        let response = ctx.start(&probe, &json!({ "params": params })).await?;
        let what = format!("{what} ({params})");
        let problem = expect_problem(
            &ctx,
            &response,
            422,
            "invalid-params",
            "JOB-CREATE-12",
            &what,
        )?;
        check_params_errors(&problem, &what, true)?;
    }
    for (params, what) in [
        (json!({"steps": "ten"}), "steps as a string"),
        (json!({"steps": 0}), "steps below its minimum"),
        (json!({"durationMs": -1}), "a negative durationMs"),
        (
            json!({"conformanceUnknown": true}),
            "a member the schema does not allow",
        ),
        (
            json!({"fail": {"code": ""}}),
            "fail without message and with an empty code",
        ),
        (
            json!({"resultBytes": 1, "echoInput": false}),
            "both resultBytes and echoInput",
        ),
    ] {
        let response = ctx.start(&probe, &json!({ "params": params })).await?;
        let what = format!("params with {what} ({params})");
        let problem = expect_problem(
            &ctx,
            &response,
            422,
            "invalid-params",
            "JOB-CREATE-12",
            &what,
        )?;
        check_params_errors(&problem, &what, false)?;
    }
    let response = ctx
        .start(
            &probe,
            &json!({"params": {"steps": 1, "echo": {"any": ["json", 1, null]}}}),
        )
        .await?;
    expect_accepted(
        &ctx,
        response,
        "JOB-CREATE-12",
        "params valid against paramsSchema",
    )?;
    Ok(())
}

/// Refuse each out-of-bounds value of `member` with `422 invalid-request`,
/// accept each in-bounds value and check the default.
async fn bounds(
    ctx: &Ctx,
    member: &str,
    outside: &[i64],
    inside: &[u64],
    default: u64,
    requirement: &'static str,
) -> Outcome {
    let probe = ctx.probe().to_owned();
    for value in outside {
        let response = ctx
            .start(&probe, &json!({"params": quick(), member: value}))
            .await?;
        expect_problem(
            ctx,
            &response,
            422,
            "invalid-request",
            requirement,
            &format!("{member} {value} (out of bounds)"),
        )?;
    }
    for value in inside {
        let response = ctx
            .start(&probe, &json!({"params": quick(), member: value}))
            .await?;
        let job = expect_accepted(
            ctx,
            response,
            requirement,
            &format!("{member} {value} (within bounds)"),
        )?;
        if job.doc[member] != *value {
            return Err(Finding::violation(
                requirement,
                format!(
                    "a job started with {member} {value} shows {member} {}",
                    job.doc[member]
                ),
            ));
        }
    }
    let response = ctx.start(&probe, &json!({"params": quick()})).await?;
    let job = expect_accepted(
        ctx,
        response,
        requirement,
        &format!("a start without {member}"),
    )?;
    if job.doc[member] != default {
        return Err(Finding::violation(
            requirement,
            format!(
                "a job started without {member} shows {member} {}, expected the default {default}",
                job.doc[member]
            ),
        ));
    }
    Ok(())
}

async fn ttl_bounds(ctx: Ctx) -> Outcome {
    let l = ctx.limits().clone();
    let mut outside = vec![-1, 0, l.max_ttl_seconds as i64 + 1];
    if l.min_ttl_seconds > 1 {
        outside.push(l.min_ttl_seconds as i64 - 1);
    }
    bounds(
        &ctx,
        "ttlSeconds",
        &outside,
        &[l.min_ttl_seconds, l.max_ttl_seconds],
        l.default_ttl_seconds,
        "JOB-CREATE-13",
    )
    .await
}

async fn timeout_bounds(ctx: Ctx) -> Outcome {
    let l = ctx.limits().clone();
    bounds(
        &ctx,
        "timeoutSeconds",
        &[-1, 0, l.max_timeout_seconds as i64 + 1],
        &[1, l.max_timeout_seconds],
        l.default_timeout_seconds,
        "JOB-CREATE-14",
    )
    .await
}

async fn correlation_id(ctx: Ctx) -> Outcome {
    let probe = ctx.probe().to_owned();
    for (value, what) in [
        (String::new(), "an empty correlationId"),
        ("a".repeat(257), "a correlationId of 257 characters"),
        (
            "é".repeat(257),
            "a correlationId of 257 two-byte characters",
        ),
    ] {
        let response = ctx
            .start(&probe, &json!({"params": quick(), "correlationId": value}))
            .await?;
        expect_problem(
            &ctx,
            &response,
            422,
            "invalid-request",
            "JOB-CREATE-15",
            what,
        )?;
    }
    for (value, what) in [
        (
            "é".repeat(256),
            "a correlationId of 256 two-byte characters",
        ),
        (
            format!("order 4711 / ü ✓ {}", uuid::Uuid::now_v7()),
            "a correlationId with spaces and non-ASCII characters",
        ),
    ] {
        let response = ctx
            .start(&probe, &json!({"params": quick(), "correlationId": value}))
            .await?;
        let job = expect_accepted(&ctx, response, "JOB-CREATE-15", what)?;
        ensure!(
            job.doc["correlationId"] == value.as_str(),
            "JOB-CREATE-15",
            "{what}: the job shows correlationId {}, expected {value:?} unchanged",
            job.doc["correlationId"]
        );
        let doc = ctx.job_doc(&job.url).await?;
        ensure!(
            doc["correlationId"] == value.as_str(),
            "JOB-CREATE-15",
            "{what}: GET of the job shows correlationId {}, expected {value:?} unchanged",
            doc["correlationId"]
        );
    }
    let response = ctx.start(&probe, &json!({"params": quick()})).await?;
    let job = expect_accepted(
        &ctx,
        response,
        "JOB-CREATE-15",
        "a start without correlationId",
    )?;
    ensure!(
        job.doc["correlationId"].is_null(),
        "JOB-CREATE-15",
        "a job started without correlationId shows {}, expected null",
        job.doc["correlationId"]
    );
    Ok(())
}

async fn output_file(ctx: Ctx) -> Outcome {
    let probe = ctx.probe().to_owned();
    for (file, what) in [
        ("/tmp/longrun-conformance.json", "an absolute output.file"),
        (
            "../longrun-conformance.json",
            "an output.file that starts with ..",
        ),
        (
            "results/../../longrun-conformance.json",
            "an output.file that climbs out of the root through ..",
        ),
    ] {
        let response = ctx
            .start(
                &probe,
                &json!({"params": quick(), "output": {"file": file}}),
            )
            .await?;
        expect_problem(
            &ctx,
            &response,
            422,
            "invalid-request",
            "JOB-CREATE-16",
            &format!("{what} ({file:?})"),
        )?;
    }
    Ok(())
}

async fn etag_of_queued_job(ctx: Ctx) -> Outcome {
    let _holds = fill_workers(&ctx).await?;
    let response = ctx.start(ctx.probe(), &json!({"params": quick()})).await?;
    let job = expect_accepted(&ctx, response, "JOB-CREATE-1", "a valid start request")?;
    let etag = job.response.header("etag").map(str::to_owned);
    ensure!(etag.is_some(), "JOB-CREATE-4", "the 202 has no ETag");
    let get = ctx.get(&job.url).send().await?;
    ensure!(
        get.status == 200,
        "JOB-CREATE-4",
        "GET of the new job answered {}, expected 200",
        get.status
    );
    let doc = get.json_object("JOB-CREATE-4")?;
    if doc["status"] != "queued" {
        return Err(Finding::error(format!(
            "the job started although every worker ran a hold job (status {}); is another client using the server?",
            doc["status"]
        )));
    }
    ensure!(
        without_expiry(&doc) == without_expiry(&job.doc),
        "JOB-CREATE-1",
        "the job is still queued, yet GET shows another document than the 202 (not the document as committed): 202 {} vs GET {}",
        job.doc,
        doc
    );
    ensure!(
        get.header("etag") == etag.as_deref(),
        "JOB-CREATE-4",
        "the 202 had ETag {etag:?}, GET of the same (still queued) document gives {:?}",
        get.header("etag")
    );
    Ok(())
}

async fn queue_full(ctx: Ctx) -> Outcome {
    let size = ctx.limits().queue_size;
    if size > 64 {
        return Err(Finding::skip(format!(
            "limits.queueSize is {size}; the check fills the queue only up to 64 jobs"
        )));
    }
    let probe = ctx.probe().to_owned();
    let _holds = fill_workers(&ctx).await?;
    let idempotency = ctx.claims("idempotency");
    let key = unique(&ctx, "key");
    for i in 0..size {
        let headers: Vec<(&str, &str)> = if i == 0 && idempotency {
            vec![("Idempotency-Key", key.as_str())]
        } else {
            Vec::new()
        };
        let response = post_json_with(&ctx, &probe, &json!({"params": quick()}), &headers).await?;
        if response.status == 503 {
            ctx.track_created(&response);
            return Err(Finding::violation(
                "SVC-6",
                format!(
                    "limits.queueSize is {size}, but the server refused a start with 503 when {i} jobs were queued (every worker busy)"
                ),
            ));
        }
        expect_accepted(
            &ctx,
            response,
            "JOB-CREATE-1",
            &format!("start {} of {size} to fill the queue", i + 1),
        )?;
    }

    // (9) before (11): the bounds before the queue.
    let response = ctx
        .start(&probe, &json!({"params": quick(), "ttlSeconds": 0}))
        .await?;
    expect_problem(
        &ctx,
        &response,
        422,
        "invalid-request",
        "JOB-CREATE-7",
        "ttlSeconds 0 while the queue is full",
    )?;
    // (10) before (11): the idempotency key before the queue.
    if idempotency {
        let response = post_json_with(
            &ctx,
            &probe,
            &json!({"params": {"steps": 2}}),
            &[("Idempotency-Key", key.as_str())],
        )
        .await?;
        expect_problem(
            &ctx,
            &response,
            422,
            "idempotency-key-reused",
            "JOB-CREATE-7",
            "a different request with a bound Idempotency-Key while the queue is full",
        )?;
    }

    let correlation = unique(&ctx, "refused");
    let response = ctx
        .start(
            &probe,
            &json!({"params": quick(), "correlationId": correlation}),
        )
        .await?;
    expect_problem(
        &ctx,
        &response,
        503,
        "queue-full",
        "JOB-CREATE-18",
        &format!("a start with {size} jobs queued (limits.queueSize)"),
    )?;
    let retry = response.header("retry-after");
    ensure!(
        retry.is_some(),
        "JOB-CREATE-18",
        "the 503 queue-full has no Retry-After header"
    );
    if ctx.claims("list") {
        let listed = listed_with_correlation(&ctx, &probe, &correlation).await?;
        ensure!(
            listed.is_empty(),
            "JOB-CREATE-6",
            "the start refused with 503 queue-full created the job {}",
            listed[0]["id"]
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_link_headers() {
        let links = parse_link_header(
            r#"<http://h/v1/jobs/1>; rel="monitor", <http://h/v1/jobs/1/cancel>; rel="cancel", <http://h/v1/jobs/1/result>; rel="result""#,
        );
        assert_eq!(
            links,
            vec![
                ("http://h/v1/jobs/1".into(), "monitor".into()),
                ("http://h/v1/jobs/1/cancel".into(), "cancel".into()),
                ("http://h/v1/jobs/1/result".into(), "result".into()),
            ]
        );
        let links = parse_link_header(r#"<a>;rel="x y";title="a, b",<b>; REL=next"#);
        assert_eq!(
            links,
            vec![
                ("a".into(), "x".into()),
                ("a".into(), "y".into()),
                ("b".into(), "next".into()),
            ]
        );
    }

    #[test]
    fn compares_media_types() {
        assert!(same_media_type(
            "text/plain; charset=utf-8",
            "Text/Plain;charset=UTF-8"
        ));
        assert!(!same_media_type("text/plain", "text/csv"));
    }
}
