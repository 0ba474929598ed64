//! Section 15: the result (`GET` and `HEAD /v1/jobs/{id}/result`).
//!
//! The checks read the results of `probe` jobs started with `resultBytes`
//! (n bytes where byte k is `k mod 251`, PROBE-6), so every byte can be judged:
//!
//! - class `core`: the whole result with its headers and digest, also for an
//!   empty result (RESULT-1, RESULT-2); `HEAD` (RESULT-3); no result for a
//!   running, failed or canceled job (RESULT-4; a queued one is read by
//!   `cancel.queued-never-starts`) or an unknown one (RESULT-5);
//! - class `result-range`: single ranges (RESULT-6), unsatisfiable ones
//!   (RESULT-7), several ranges (RESULT-8) and ranges that must be ignored
//!   (RESULT-9).

use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::check::{Check, Finding, Outcome};
use crate::checks::cancel::{cancel, ended, running_hold};
use crate::context::{Ctx, Response};
use crate::ensure;
use crate::exchange::show_body;
use crate::jobs::Job;

/// The checks of this section.
pub const CHECKS: &[Check] = &[
    Check {
        id: "result.get",
        title: "GET of a result: the exact bytes with Content-Type, Content-Length, ETag and Accept-Ranges",
        class: "core",
        requirements: &["RESULT-1", "RESULT-2"],
        needs: &["service.document", "probe.offered"],
        jobs: 2,
        exclusive: false,
        run: |ctx| Box::pin(get(ctx)),
    },
    Check {
        id: "result.head",
        title: "HEAD of a result answers the status and headers of GET without a body",
        class: "core",
        requirements: &["RESULT-3"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(head(ctx)),
    },
    Check {
        id: "result.not-available",
        title: "the result of a running, failed or canceled job is 409 result-not-available with jobStatus",
        class: "core",
        requirements: &["RESULT-4", "ERR-6"],
        needs: &["service.document", "probe.offered"],
        jobs: 2,
        exclusive: false,
        run: |ctx| Box::pin(not_available(ctx)),
    },
    Check {
        id: "result.unknown",
        title: "GET and HEAD of an unknown job's result answer 404 job-not-found",
        class: "core",
        requirements: &["RESULT-5"],
        needs: &["service.document"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(unknown(ctx)),
    },
    Check {
        id: "result.range",
        title: "a single satisfiable byte range answers 206 with exactly those bytes and Content-Range",
        class: "result-range",
        requirements: &["RESULT-6"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(range(ctx)),
    },
    Check {
        id: "result.range-unsatisfiable",
        title: "an unsatisfiable range (also any range of an empty result) answers 416 with Content-Range bytes */size",
        class: "result-range",
        requirements: &["RESULT-7"],
        needs: &["service.document", "probe.offered"],
        jobs: 2,
        exclusive: false,
        run: |ctx| Box::pin(unsatisfiable(ctx)),
    },
    Check {
        id: "result.range-multiple",
        title: "a request for several ranges answers 200 with the whole result",
        class: "result-range",
        requirements: &["RESULT-8"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(multiple(ctx)),
    },
    Check {
        id: "result.range-ignored",
        title: "invalid ranges, other units, Range on HEAD and a mismatching If-Range are ignored (200, whole result)",
        class: "result-range",
        requirements: &["RESULT-9"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(ignored(ctx)),
    },
];

/// Requirements of this section that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

/// The size of the results the range checks read.
const SIZE: usize = 1000;

/// The bytes of a `probe` result with `resultBytes` = `n` (PROBE-6).
pub(crate) fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|k| (k % 251) as u8).collect()
}

/// The SHA-256 of `bytes` as lowercase hexadecimal.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A succeeded `probe` job whose result is `n` pattern bytes, with its
/// terminal document.
pub(crate) async fn result_job(ctx: &Ctx, n: usize) -> Result<(Job, Value), Finding> {
    let (job, doc) = ended(ctx, json!({"params": {"steps": 1, "resultBytes": n}})).await?;
    if doc["status"] != "succeeded" || !doc["result"].is_object() {
        return Err(Finding::error(format!(
            "setting the check up: a probe job with resultBytes {n} ended {} with result {}",
            doc["status"], doc["result"]
        )));
    }
    Ok((job, doc))
}

/// The ETag RESULT-1 prescribes for a document's result.
fn result_etag(doc: &Value) -> String {
    format!("\"{}\"", doc["result"]["sha256"].as_str().unwrap_or(""))
}

/// Where the first difference between two byte strings is, for messages.
fn first_difference(got: &[u8], want: &[u8]) -> String {
    match got.iter().zip(want).position(|(a, b)| a != b) {
        Some(i) => format!("byte {i} is {}, expected {}", got[i], want[i]),
        None => format!("{} bytes, expected {}", got.len(), want.len()),
    }
}

/// A `GET` of the result with a `Range` header (and optionally `If-Range`).
async fn ranged(
    ctx: &Ctx,
    job: &Job,
    range: &str,
    if_range: Option<&str>,
) -> Result<Response, Finding> {
    let mut request = ctx.get(&job.sub("/result")).header("Range", range);
    if let Some(tag) = if_range {
        request = request.header("If-Range", tag);
    }
    request.send().await
}

async fn get(ctx: Ctx) -> Outcome {
    let ((job, doc), (empty, empty_doc)) =
        tokio::try_join!(result_job(&ctx, 5000), result_job(&ctx, 0))?;
    let want = pattern(5000);
    let mut first: Option<Vec<u8>> = None;
    for (job, doc, want) in [(&job, &doc, &want[..]), (&empty, &empty_doc, &[][..])] {
        for _ in 0..2 {
            let response = ctx.get(&job.sub("/result")).send().await?;
            ensure!(
                response.status == 200,
                "RESULT-1",
                "GET of the result of a succeeded job answered {}, expected 200: {}",
                response.status,
                show_body(&response.body)
            );
            let media = doc["result"]["mediaType"].as_str().unwrap_or("");
            ensure!(
                response
                    .header("content-type")
                    .is_some_and(|ct| ct.trim().eq_ignore_ascii_case(media)),
                "RESULT-1",
                "the result has Content-Type {:?}, expected result.mediaType {media:?}",
                response.header("content-type")
            );
            ensure!(
                response.header("content-length") == Some(&doc["result"]["size"].to_string()),
                "RESULT-1",
                "the result has Content-Length {:?}, expected result.size {}",
                response.header("content-length"),
                doc["result"]["size"]
            );
            ensure!(
                response.header("etag") == Some(result_etag(doc).as_str()),
                "RESULT-1",
                "the result has ETag {:?}, expected {} (the quoted result.sha256)",
                response.header("etag"),
                result_etag(doc)
            );
            ensure!(
                response
                    .header("accept-ranges")
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("bytes")),
                "RESULT-1",
                "the result has Accept-Ranges {:?}, expected bytes",
                response.header("accept-ranges")
            );
            ensure!(
                response.body[..] == *want,
                "RESULT-2",
                "the result of resultBytes {} is not byte k = k mod 251 (PROBE-6): {}",
                want.len(),
                first_difference(&response.body, want)
            );
            ensure!(
                doc["result"]["sha256"] == sha256_hex(&response.body).as_str(),
                "RESULT-2",
                "the SHA-256 of the result bytes is {}, but result.sha256 is {}",
                sha256_hex(&response.body),
                doc["result"]["sha256"]
            );
            if want.len() == 5000 {
                if let Some(first) = &first {
                    ensure!(
                        first[..] == response.body[..],
                        "RESULT-2",
                        "two reads of the same result differ: {}",
                        first_difference(&response.body, first)
                    );
                }
                first = Some(response.body.to_vec());
            }
        }
    }
    Ok(())
}

async fn head(ctx: Ctx) -> Outcome {
    let (job, _) = result_job(&ctx, SIZE).await?;
    let get = ctx.get(&job.sub("/result")).send().await?;
    if get.status != 200 {
        return Err(Finding::violation(
            "RESULT-3",
            format!(
                "GET of the result answered {}, so HEAD has nothing to agree with (RESULT-1)",
                get.status
            ),
        ));
    }
    let head = ctx
        .request(Method::HEAD, &job.sub("/result"))
        .send()
        .await?;
    ensure!(
        head.status == 200,
        "RESULT-3",
        "HEAD of the result answered {}, GET answered 200",
        head.status
    );
    for name in ["content-type", "content-length", "etag", "accept-ranges"] {
        ensure!(
            head.header(name) == get.header(name),
            "RESULT-3",
            "HEAD of the result has {name} {:?}, GET has {:?}",
            head.header(name),
            get.header(name)
        );
    }
    ensure!(
        head.body.is_empty(),
        "RESULT-3",
        "HEAD of the result has a body of {} bytes",
        head.body.len()
    );
    Ok(())
}

/// `GET` and `HEAD` of a job's result both answer `409` `result-not-available`
/// with `jobStatus` = `status`.
async fn expect_not_available(ctx: &Ctx, job: &Job, status: &str) -> Outcome {
    let response = ctx.get(&job.sub("/result")).send().await?;
    let problem = response.expect_problem(409, "result-not-available", "RESULT-4")?;
    ensure!(
        problem["jobStatus"] == status,
        "RESULT-4",
        "the result of a {status} job answered 409 with jobStatus {}, expected \"{status}\"",
        problem["jobStatus"]
    );
    let head = ctx
        .request(Method::HEAD, &job.sub("/result"))
        .send()
        .await?;
    ensure!(
        head.status == 409,
        "RESULT-4",
        "HEAD of the result of a {status} job answered {}, expected 409",
        head.status
    );
    Ok(())
}

async fn not_available(ctx: Ctx) -> Outcome {
    let failing = json!({"params": {"steps": 1, "fail": {"code": "result-check", "message": "failed on purpose"}}});
    let (hold, (failed, doc)) = tokio::try_join!(running_hold(&ctx), ended(&ctx, failing))?;
    if doc["status"] != "failed" {
        return Err(Finding::error(format!(
            "setting the check up: a probe job with `fail` ended {}",
            doc["status"]
        )));
    }
    expect_not_available(&ctx, &hold, "running").await?;
    expect_not_available(&ctx, &failed, "failed").await?;
    if ctx.claims("cancel") {
        let response = cancel(&ctx, &hold.url).await?;
        if response.status != 200 {
            return Err(Finding::error(format!(
                "setting the check up: cancel of a running job answered {}",
                response.status
            )));
        }
        expect_not_available(&ctx, &hold, "canceled").await?;
    }
    Ok(())
}

async fn unknown(ctx: Ctx) -> Outcome {
    let id = format!("conformance-unknown-{}", uuid::Uuid::now_v7());
    let url = format!("/v1/jobs/{id}/result");
    let response = ctx.get(&url).send().await?;
    response.expect_problem(404, "job-not-found", "RESULT-5")?;
    let head = ctx.request(Method::HEAD, &url).send().await?;
    ensure!(
        head.status == 404,
        "RESULT-5",
        "HEAD of an unknown job's result answered {}, expected 404",
        head.status
    );
    Ok(())
}

async fn range(ctx: Ctx) -> Outcome {
    let (job, doc) = result_job(&ctx, SIZE).await?;
    let bytes = pattern(SIZE);
    let etag = result_etag(&doc);
    let cases: &[(&str, Option<&str>, usize, usize)] = &[
        ("bytes=0-9", None, 0, 9),
        ("bytes=990-", None, 990, 999),
        ("bytes=-5", None, 995, 999),
        ("bytes=500-500", None, 500, 500),
        ("bytes=900-5000", None, 900, 999),
        ("bytes=-2000", None, 0, 999),
        ("bytes=10-19", Some(etag.as_str()), 10, 19),
    ];
    for (range, if_range, first, last) in cases {
        let response = ranged(&ctx, &job, range, *if_range).await?;
        let what = match if_range {
            Some(tag) => format!("Range: {range} with If-Range: {tag}"),
            None => format!("Range: {range}"),
        };
        ensure!(
            response.status == 206,
            "RESULT-6",
            "{what} on a result of {SIZE} bytes answered {}, expected 206",
            response.status
        );
        let want_range = format!("bytes {first}-{last}/{SIZE}");
        ensure!(
            response.header("content-range") == Some(want_range.as_str()),
            "RESULT-6",
            "{what} answered Content-Range {:?}, expected {want_range:?}",
            response.header("content-range")
        );
        let want = &bytes[*first..=*last];
        ensure!(
            response.body[..] == *want,
            "RESULT-6",
            "{what} answered other bytes than {first}-{last}: {}",
            first_difference(&response.body, want)
        );
        ensure!(
            response.header("content-length") == Some(want.len().to_string().as_str()),
            "RESULT-6",
            "{what} answered Content-Length {:?}, expected {}",
            response.header("content-length"),
            want.len()
        );
        let media = doc["result"]["mediaType"].as_str().unwrap_or("");
        ensure!(
            response
                .header("content-type")
                .is_some_and(|ct| ct.trim().eq_ignore_ascii_case(media)),
            "RESULT-6",
            "{what} answered Content-Type {:?}, expected {media:?}",
            response.header("content-type")
        );
        ensure!(
            response.header("etag") == Some(etag.as_str()),
            "RESULT-6",
            "{what} answered ETag {:?}, expected {etag}",
            response.header("etag")
        );
        ensure!(
            response
                .header("accept-ranges")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("bytes")),
            "RESULT-6",
            "{what} answered Accept-Ranges {:?}, expected bytes",
            response.header("accept-ranges")
        );
    }
    Ok(())
}

async fn unsatisfiable(ctx: Ctx) -> Outcome {
    let ((job, _), (empty, _)) = tokio::try_join!(result_job(&ctx, SIZE), result_job(&ctx, 0))?;
    let cases: [(&Job, usize, &[&str]); 2] = [
        (&job, SIZE, &["bytes=1000-", "bytes=2000-3000", "bytes=-0"]),
        (&empty, 0, &["bytes=0-", "bytes=0-0", "bytes=-1"]),
    ];
    for (job, size, ranges) in cases {
        for range in ranges {
            let response = ranged(&ctx, job, range, None).await?;
            ensure!(
                response.status == 416,
                "RESULT-7",
                "Range: {range} on a result of {size} bytes answered {}, expected 416",
                response.status
            );
            let want = format!("bytes */{size}");
            ensure!(
                response.header("content-range") == Some(want.as_str()),
                "RESULT-7",
                "Range: {range} on a result of {size} bytes answered 416 with Content-Range {:?}, expected {want:?}",
                response.header("content-range")
            );
            response.expect_problem(416, "range-not-satisfiable", "RESULT-7")?;
        }
    }
    Ok(())
}

/// Expect `200` with the whole result and no `Content-Range`.
fn expect_whole(response: &Response, bytes: &[u8], what: &str) -> Result<(), String> {
    if response.status != 200 {
        return Err(format!(
            "{what} answered {}, expected 200 with the whole result",
            response.status
        ));
    }
    if let Some(range) = response.header("content-range") {
        return Err(format!("{what} answered 200 with Content-Range {range:?}"));
    }
    if response.body[..] != *bytes {
        return Err(format!(
            "{what} answered 200 without the whole result: {}",
            first_difference(&response.body, bytes)
        ));
    }
    Ok(())
}

async fn multiple(ctx: Ctx) -> Outcome {
    let (job, _) = result_job(&ctx, SIZE).await?;
    let bytes = pattern(SIZE);
    for range in ["bytes=0-1,5-6", "bytes=0-9, 20-29", "bytes=-5,0-1"] {
        let response = ranged(&ctx, &job, range, None).await?;
        if let Err(message) = expect_whole(&response, &bytes, &format!("Range: {range}")) {
            ensure!(false, "RESULT-8", "{message}");
        }
    }
    Ok(())
}

async fn ignored(ctx: Ctx) -> Outcome {
    let (job, _) = result_job(&ctx, SIZE).await?;
    let bytes = pattern(SIZE);
    for range in [
        "chars=0-5",
        "items=0-1",
        "bytes=abc",
        "bytes=5-2",
        "bytes 0-5",
        "bytes=",
    ] {
        let response = ranged(&ctx, &job, range, None).await?;
        if let Err(message) = expect_whole(&response, &bytes, &format!("Range: {range}")) {
            ensure!(false, "RESULT-9", "{message}");
        }
    }
    let response = ranged(&ctx, &job, "bytes=0-9", Some("\"not-the-etag\"")).await?;
    if let Err(message) = expect_whole(
        &response,
        &bytes,
        "Range: bytes=0-9 with a mismatching If-Range",
    ) {
        ensure!(false, "RESULT-9", "{message}");
    }
    let head = ctx
        .request(Method::HEAD, &job.sub("/result"))
        .header("Range", "bytes=0-9")
        .send()
        .await?;
    ensure!(
        head.status == 200
            && head.header("content-range").is_none()
            && head.header("content-length") == Some(SIZE.to_string().as_str()),
        "RESULT-9",
        "HEAD with Range: bytes=0-9 answered {} with Content-Range {:?} and Content-Length {:?}, expected 200 for the whole result ({SIZE} bytes)",
        head.status,
        head.header("content-range"),
        head.header("content-length")
    );
    Ok(())
}
