//! Section 9.1: the job document.
//!
//! The checks read documents of `probe` jobs in every state and judge them:
//! `404` for unknown ids (JOB-DOC-1); the members that are always there, with
//! `null` for absent values (JOB-DOC-2); the id's characters (JOB-DOC-3); the
//! plugin the job names, that of the operation (JOB-DOC-13); the
//! timestamps and their order (JOB-DOC-4, JOB-DOC-5); `progress` (JOB-DOC-6,
//! JOB-DOC-7, watched over a job of a few steps); `result` and
//! `resourceLocation` against the bytes of the result endpoint (JOB-DOC-8);
//! `error` (JOB-DOC-9); `links` (JOB-DOC-10); the headers of document answers
//! (JOB-DOC-11); and the `ETag`, which changes exactly when a member other than
//! `expiresAt` does (JOB-DOC-12).
//!
//! The module also holds what the checks of sections 9 to 12 share: the
//! judgement of one document (`check_doc`) and of the headers of an answer
//! that carries one (`check_doc_headers`), strict timestamps, and `watch`,
//! which collects the successive documents of a job.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::check::{Check, Finding, Outcome};
use crate::context::{Ctx, PROBLEM_PREFIX, Response};
use crate::ensure;
use crate::exchange::show_body;
use crate::jobs::{Job, hold_params, is_terminal};
use crate::timestamps::gen2_value;

/// The checks of this section.
pub const CHECKS: &[Check] = &[
    Check {
        id: "document.not-found",
        title: "GET of an unknown or deleted job answers 404 job-not-found",
        class: "core",
        requirements: &["JOB-DOC-1", "ERR-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(not_found(ctx)),
    },
    Check {
        id: "document.active",
        title: "the documents of a queued and a running job: members, nulls, links, headers",
        class: "core",
        requirements: &[
            "JOB-DOC-1",
            "JOB-DOC-2",
            "JOB-DOC-3",
            "JOB-DOC-4",
            "JOB-DOC-5",
            "JOB-DOC-6",
            "JOB-DOC-7",
            "JOB-DOC-8",
            "JOB-DOC-9",
            "JOB-DOC-10",
            "JOB-DOC-11",
            "JOB-DOC-13",
            "JOB-STATE-1",
            "GEN-2",
            "GEN-5",
        ],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(active(ctx)),
    },
    Check {
        id: "document.progress",
        title: "progress of a watched job: its shape, 0 at the start, never down, 100 on success",
        class: "core",
        requirements: &[
            "JOB-DOC-6",
            "JOB-DOC-7",
            "JOB-DOC-1",
            "JOB-DOC-2",
            "JOB-DOC-3",
            "JOB-DOC-4",
            "JOB-DOC-5",
            "JOB-DOC-8",
            "JOB-DOC-9",
            "JOB-DOC-10",
            "JOB-DOC-11",
            "JOB-DOC-13",
            "JOB-STATE-1",
            "GEN-2",
        ],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(progress(ctx)),
    },
    Check {
        id: "document.succeeded",
        title: "a succeeded job's result and resourceLocation describe the bytes the result endpoint serves",
        class: "core",
        requirements: &[
            "JOB-DOC-8",
            "JOB-DOC-1",
            "JOB-DOC-4",
            "JOB-DOC-10",
            "JOB-DOC-11",
            "JOB-DOC-2",
            "JOB-DOC-3",
            "JOB-DOC-5",
            "JOB-DOC-6",
            "JOB-DOC-7",
            "JOB-DOC-9",
            "JOB-DOC-13",
            "JOB-STATE-1",
            "GEN-2",
        ],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(succeeded(ctx)),
    },
    Check {
        id: "document.failed",
        title: "a failed job has an error problem document and no result; a canceled job neither",
        class: "core",
        requirements: &[
            "JOB-DOC-9",
            "JOB-DOC-1",
            "JOB-DOC-8",
            "JOB-DOC-4",
            "JOB-DOC-10",
            "JOB-DOC-11",
            "JOB-DOC-2",
            "JOB-DOC-3",
            "JOB-DOC-5",
            "JOB-DOC-6",
            "JOB-DOC-7",
            "JOB-DOC-13",
            "JOB-STATE-1",
            "GEN-2",
        ],
        needs: &["service.document", "probe.offered"],
        jobs: 2,
        exclusive: false,
        run: |ctx| Box::pin(failed(ctx)),
    },
    Check {
        id: "document.etag",
        title: "the ETag changes with every change of the document, and not when only expiresAt moves",
        class: "core",
        requirements: &["JOB-DOC-12", "JOB-DOC-5", "JOB-DOC-11", "JOB-DOC-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(etag(ctx)),
    },
];

/// Requirements of this section that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

/// The members every job document has (JOB-DOC-2).
pub(crate) const MEMBERS: &[&str] = &[
    "id",
    "operation",
    "operationVersion",
    "pluginSha256",
    "status",
    "attempt",
    "createdAt",
    "startedAt",
    "finishedAt",
    "updatedAt",
    "expiresAt",
    "ttlSeconds",
    "timeoutSeconds",
    "progress",
    "correlationId",
    "links",
];

/// The values of `status` (JOB-STATE-1).
pub(crate) const STATUSES: &[&str] = &["queued", "running", "succeeded", "failed", "canceled"];

/// The job-failure problem kinds a failed job's `error` may have (JOB-DOC-9).
pub(crate) const FAILURE_KINDS: &[&str] = &[
    "plugin-error",
    "plugin-trap",
    "memory-limit-exceeded",
    "deadline-exceeded",
    "attempts-exhausted",
    "runner-error",
];

/// Params of a `probe` job that runs about a second in five steps.
pub(crate) fn stepped_params() -> Value {
    json!({"durationMs": 1000, "steps": 5})
}

/// Params of a `probe` job that ends at once.
pub(crate) fn quick_params() -> Value {
    json!({"steps": 1})
}

/// Params of a `probe` job that fails at once with a `plugin-error`.
pub(crate) fn failing_params() -> Value {
    json!({"steps": 1, "fail": {"code": "conformance-failure", "message": "failed on purpose"}})
}

/// Params of a `probe` job that reports `prepare` at once and then stays
/// unchanged for ten minutes (one step of ten minutes): a job whose document
/// does not change while a check looks at it.
pub(crate) fn quiet_params() -> Value {
    json!({"durationMs": 600_000, "steps": 1})
}

/// The parsed timestamp member `name` of `doc` (already judged by [`check_doc`]).
pub(crate) fn time_of(doc: &Value, name: &str) -> Option<OffsetDateTime> {
    gen2_value(&doc[name])
}

/// Whether `id` is 1 to 128 characters of `A-Z a-z 0-9 - . _ ~` (JOB-DOC-3).
pub(crate) fn valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether `text` is a SHA-256 as 64 lowercase hexadecimal digits.
pub(crate) fn is_sha256(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether `tag` is an entity-tag (RFC 9110 section 8.8.3), weak or strong.
pub(crate) fn valid_etag(tag: &str) -> bool {
    let opaque = tag.strip_prefix("W/").unwrap_or(tag);
    opaque.len() >= 2
        && opaque.starts_with('"')
        && opaque.ends_with('"')
        && opaque[1..opaque.len() - 1]
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80)
}

/// `doc` without `expiresAt`, the one member whose change is not a change of
/// the document (JOB-DOC-12).
pub(crate) fn without_expiry(doc: &Value) -> Value {
    let mut doc = doc.clone();
    if let Some(map) = doc.as_object_mut() {
        map.remove("expiresAt");
    }
    doc
}

/// Whether member `name` of `value` is present and not `null`.
pub(crate) fn has(value: &Value, name: &str) -> bool {
    value.get(name).is_some_and(|v| !v.is_null())
}

/// What a job's documents must show beyond their shape.
pub(crate) struct Expect<'a> {
    /// The job URL (`Location` of the `202`).
    pub url: &'a str,
    /// The operation's name.
    pub operation: &'a str,
    /// The operation's `stages`.
    pub stages: &'a [String],
}

/// The operation object of the probe (`GET /v1/operations/{probe}`).
pub(crate) async fn probe_operation(ctx: &Ctx) -> Result<Value, Finding> {
    let name = ctx.probe().to_owned();
    let response = ctx.get(&format!("/v1/operations/{name}")).send().await?;
    if response.status != 200 {
        return Err(Finding::error(format!(
            "GET /v1/operations/{name} answered {}, though probe.offered passed",
            response.status
        )));
    }
    response
        .json()
        .filter(Value::is_object)
        .ok_or_else(|| Finding::error(format!("GET /v1/operations/{name} is not a JSON object")))
}

/// The `stages` of an operation object.
pub(crate) fn stages_of(op: &Value) -> Vec<String> {
    op["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

/// Judge one job document against every rule of section 9.1 that a single
/// document shows.
///
/// Cites GEN-2, JOB-STATE-1, JOB-DOC-2 to JOB-DOC-10 and the form of
/// `pluginSha256` (JOB-DOC-13; which plugin it names is for the caller to
/// judge). Not JOB-DOC-1, JOB-DOC-11 or JOB-DOC-12, which are about answers
/// and pairs.
pub(crate) fn check_doc(doc: &Value, expect: &Expect<'_>) -> Outcome {
    let Some(map) = doc.as_object() else {
        return Err(Finding::violation(
            "JOB-DOC-2",
            format!("a job document is not a JSON object: {doc}"),
        ));
    };
    for member in MEMBERS {
        ensure!(
            map.contains_key(*member),
            "JOB-DOC-2",
            "the job document has no member `{member}` (absent values must be null): {doc}"
        );
    }
    let id = doc["id"].as_str().unwrap_or("");
    ensure!(
        doc["id"].is_string() && valid_id(id),
        "JOB-DOC-3",
        "id is {}, expected 1 to 128 characters of A-Z a-z 0-9 - . _ ~",
        doc["id"]
    );
    ensure!(
        doc["operation"] == expect.operation,
        "JOB-DOC-2",
        "operation is {}, expected {:?}",
        doc["operation"],
        expect.operation
    );
    ensure!(
        doc["operationVersion"].is_string(),
        "JOB-DOC-2",
        "operationVersion is {}, expected a string",
        doc["operationVersion"]
    );
    ensure!(
        doc["pluginSha256"].as_str().is_some_and(is_sha256),
        "JOB-DOC-13",
        "pluginSha256 is {}, expected 64 lowercase hexadecimal digits",
        doc["pluginSha256"]
    );
    let status = doc["status"].as_str().unwrap_or("");
    ensure!(
        STATUSES.contains(&status),
        "JOB-STATE-1",
        "status is {}, expected one of {STATUSES:?}",
        doc["status"]
    );
    let active = matches!(status, "queued" | "running");
    ensure!(
        doc["attempt"].as_u64().is_some_and(|a| a >= 1),
        "JOB-DOC-2",
        "attempt is {}, expected an integer >= 1",
        doc["attempt"]
    );
    for member in ["ttlSeconds", "timeoutSeconds"] {
        ensure!(
            doc[member].is_u64(),
            "JOB-DOC-2",
            "{member} is {}, expected a non-negative integer",
            doc[member]
        );
    }
    ensure!(
        doc["correlationId"].is_null() || doc["correlationId"].is_string(),
        "JOB-DOC-2",
        "correlationId is {}, expected a string or null",
        doc["correlationId"]
    );

    // Timestamps (GEN-2) and their rules (JOB-DOC-4, JOB-DOC-5).
    for member in ["createdAt", "updatedAt"] {
        ensure!(
            gen2_value(&doc[member]).is_some(),
            "GEN-2",
            "{member} is {}, expected an RFC 3339 UTC time with Z and three fractional digits",
            doc[member]
        );
    }
    for member in ["startedAt", "finishedAt", "expiresAt"] {
        ensure!(
            doc[member].is_null() || gen2_value(&doc[member]).is_some(),
            "GEN-2",
            "{member} is {}, expected null or an RFC 3339 UTC time with Z and three fractional digits",
            doc[member]
        );
    }
    match status {
        "queued" => ensure!(
            doc["startedAt"].is_null(),
            "JOB-DOC-4",
            "a queued job has startedAt {}, expected null",
            doc["startedAt"]
        ),
        "running" | "succeeded" | "failed" => ensure!(
            !doc["startedAt"].is_null(),
            "JOB-DOC-4",
            "a {status} job has startedAt null, expected the start of its attempt"
        ),
        _ => {}
    }
    for member in ["finishedAt", "expiresAt"] {
        ensure!(
            doc[member].is_null() == active,
            "JOB-DOC-4",
            "a {status} job has {member} {}, expected {}",
            doc[member],
            if active {
                "null while active"
            } else {
                "a time once terminal"
            }
        );
    }
    let created = time_of(doc, "createdAt");
    let started = time_of(doc, "startedAt");
    let finished = time_of(doc, "finishedAt");
    let updated = time_of(doc, "updatedAt");
    if let (Some(c), Some(s)) = (created, started) {
        ensure!(
            c <= s,
            "JOB-DOC-4",
            "createdAt {} is after startedAt {}",
            doc["createdAt"],
            doc["startedAt"]
        );
    }
    if let (Some(s), Some(f)) = (started.or(created), finished) {
        ensure!(
            s <= f,
            "JOB-DOC-4",
            "finishedAt {} is before startedAt/createdAt {}",
            doc["finishedAt"],
            if started.is_some() {
                &doc["startedAt"]
            } else {
                &doc["createdAt"]
            }
        );
    }
    if let Some(u) = updated {
        for (member, t) in [
            ("createdAt", created),
            ("startedAt", started),
            ("finishedAt", finished),
        ] {
            if let Some(t) = t {
                ensure!(
                    u >= t,
                    "JOB-DOC-5",
                    "updatedAt {} is before {member} {}, though setting {member} is a change",
                    doc["updatedAt"],
                    doc[member]
                );
            }
        }
    }

    // progress (JOB-DOC-6, JOB-DOC-7).
    let progress = &doc["progress"];
    ensure!(
        progress.is_object(),
        "JOB-DOC-6",
        "progress is {progress}, expected an object"
    );
    for member in ["percent", "stage", "stageIndex", "stageCount", "message"] {
        ensure!(
            progress.get(member).is_some(),
            "JOB-DOC-6",
            "progress has no member `{member}`: {progress}"
        );
    }
    let percent = progress["percent"].as_f64();
    ensure!(
        percent.is_some_and(|p| (0.0..=100.0).contains(&p)),
        "JOB-DOC-6",
        "progress.percent is {}, expected a number from 0 to 100",
        progress["percent"]
    );
    let percent = percent.unwrap_or(0.0);
    ensure!(
        progress["stageCount"].as_u64() == Some(expect.stages.len() as u64),
        "JOB-DOC-6",
        "progress.stageCount is {}, expected {} (the operation's stages are {:?})",
        progress["stageCount"],
        expect.stages.len(),
        expect.stages
    );
    match &progress["stage"] {
        Value::Null => ensure!(
            progress["stageIndex"].is_null(),
            "JOB-DOC-6",
            "progress.stage is null but stageIndex is {}, expected null",
            progress["stageIndex"]
        ),
        Value::String(stage) => {
            let index = expect.stages.iter().position(|s| s == stage);
            ensure!(
                index.is_some(),
                "JOB-DOC-6",
                "progress.stage is {stage:?}, not one of the operation's stages {:?}",
                expect.stages
            );
            ensure!(
                progress["stageIndex"].as_u64() == index.map(|i| i as u64),
                "JOB-DOC-6",
                "progress.stageIndex is {} for stage {stage:?}, expected {}",
                progress["stageIndex"],
                index.unwrap_or(0)
            );
        }
        other => ensure!(
            false,
            "JOB-DOC-6",
            "progress.stage is {other}, expected a string or null"
        ),
    }
    ensure!(
        progress["message"].is_null() || progress["message"].is_string(),
        "JOB-DOC-6",
        "progress.message is {}, expected a string or null",
        progress["message"]
    );
    if status == "queued" && doc["attempt"] == 1 {
        ensure!(
            percent == 0.0,
            "JOB-DOC-7",
            "a queued job that has not run yet has progress.percent {percent}, expected 0"
        );
    }
    if status == "succeeded" {
        ensure!(
            percent == 100.0,
            "JOB-DOC-7",
            "a succeeded job has progress.percent {percent}, expected 100"
        );
    }

    // result and resourceLocation (JOB-DOC-8).
    let result_url = format!("{}/result", expect.url);
    if status == "succeeded" {
        let result = &doc["result"];
        ensure!(
            result.is_object(),
            "JOB-DOC-8",
            "a succeeded job has result {}, expected an object",
            result
        );
        ensure!(
            result["href"] == result_url.as_str(),
            "JOB-DOC-8",
            "result.href is {}, expected the result URL {result_url:?}",
            result["href"]
        );
        ensure!(
            result["mediaType"].is_string(),
            "JOB-DOC-8",
            "result.mediaType is {}, expected a string",
            result["mediaType"]
        );
        ensure!(
            result["size"].is_u64(),
            "JOB-DOC-8",
            "result.size is {}, expected a non-negative integer",
            result["size"]
        );
        let sha = result["sha256"].as_str().unwrap_or("");
        ensure!(
            is_sha256(sha),
            "JOB-DOC-8",
            "result.sha256 is {}, expected 64 lowercase hexadecimal digits",
            result["sha256"]
        );
        ensure!(
            doc["resourceLocation"] == result["href"],
            "JOB-DOC-8",
            "resourceLocation is {}, expected result.href {}",
            doc["resourceLocation"],
            result["href"]
        );
    } else {
        for member in ["result", "resourceLocation"] {
            ensure!(
                !has(doc, member),
                "JOB-DOC-8",
                "a {status} job has `{member}` {}, expected it only once the job has succeeded",
                doc[member]
            );
        }
    }

    // error (JOB-DOC-9).
    if status == "failed" {
        let error = &doc["error"];
        ensure!(
            error.is_object(),
            "JOB-DOC-9",
            "a failed job has error {error}, expected a problem document"
        );
        for member in ["type", "title", "detail", "instance"] {
            ensure!(
                error[member].is_string(),
                "JOB-DOC-9",
                "error.{member} is {}, expected a string",
                error[member]
            );
        }
        ensure!(
            error["status"].is_u64(),
            "JOB-DOC-9",
            "error.status is {}, expected an integer",
            error["status"]
        );
        let ty = error["type"].as_str().unwrap_or("");
        let kind = ty.strip_prefix(PROBLEM_PREFIX).unwrap_or("");
        ensure!(
            FAILURE_KINDS.contains(&kind),
            "JOB-DOC-9",
            "error.type is {ty:?}, expected {PROBLEM_PREFIX}<kind> with a job-failure kind of {FAILURE_KINDS:?}"
        );
        let path = url::Url::parse(expect.url)
            .map(|u| u.path().to_owned())
            .unwrap_or_default();
        ensure!(
            error["instance"] == path.as_str(),
            "JOB-DOC-9",
            "error.instance is {}, expected the job's path {path:?}",
            error["instance"]
        );
    } else {
        ensure!(
            !has(doc, "error"),
            "JOB-DOC-9",
            "a {status} job has error {}, expected it only once the job has failed",
            doc["error"]
        );
    }

    // links (JOB-DOC-10).
    let links = &doc["links"];
    ensure!(
        links.is_object(),
        "JOB-DOC-10",
        "links is {links}, expected an object"
    );
    for (name, want) in [
        ("self", expect.url.to_owned()),
        ("events", format!("{}/events", expect.url)),
        ("log", format!("{}/log", expect.url)),
    ] {
        ensure!(
            links[name] == want.as_str(),
            "JOB-DOC-10",
            "links.{name} is {}, expected {want:?}",
            links[name]
        );
    }
    for (name, want) in [
        ("monitor", expect.url.to_owned()),
        ("cancel", format!("{}/cancel", expect.url)),
    ] {
        if active {
            ensure!(
                links[name] == want.as_str(),
                "JOB-DOC-10",
                "a {status} job has links.{name} {}, expected {want:?}",
                links[name]
            );
        } else {
            ensure!(
                !has(links, name),
                "JOB-DOC-10",
                "a {status} job has links.{name} {}, expected none once terminal",
                links[name]
            );
        }
    }
    if status == "succeeded" {
        ensure!(
            links["result"] == result_url.as_str(),
            "JOB-DOC-10",
            "a succeeded job has links.result {}, expected {result_url:?}",
            links["result"]
        );
    } else {
        ensure!(
            !has(links, "result"),
            "JOB-DOC-10",
            "a {status} job has links.result {}, expected it only once the job has succeeded",
            links["result"]
        );
    }
    Ok(())
}

/// Judge the headers of an answer whose body is the job document `doc`
/// (JOB-DOC-11): an `ETag`, `Cache-Control: no-store`, and `Retry-After` in
/// delay-seconds exactly while the job is active. `what` names the answer.
pub(crate) fn check_doc_headers(response: &Response, doc: &Value, what: &str) -> Outcome {
    let etag = response.header("etag");
    ensure!(
        etag.is_some_and(valid_etag),
        "JOB-DOC-11",
        "{what} has ETag {etag:?}, expected an entity-tag such as \"r1\""
    );
    ensure!(
        response.no_store(),
        "JOB-DOC-11",
        "{what} has Cache-Control {:?}, expected no-store",
        response.header("cache-control")
    );
    let status = doc["status"].as_str().unwrap_or("");
    let active = matches!(status, "queued" | "running");
    let retry = response.header("retry-after");
    if active {
        ensure!(
            retry.is_some_and(
                |r| !r.trim().is_empty() && r.trim().bytes().all(|b| b.is_ascii_digit())
            ),
            "JOB-DOC-11",
            "{what} (a {status} job) has Retry-After {retry:?}, expected delay-seconds while the job is active"
        );
    } else {
        ensure!(
            retry.is_none(),
            "JOB-DOC-11",
            "{what} (a {status} job) has Retry-After {retry:?}, expected none once the job is terminal"
        );
    }
    Ok(())
}

/// `GET` a job document and expect `200` with a JSON object.
pub(crate) async fn get_doc(ctx: &Ctx, url: &str) -> Result<(Response, Value), Finding> {
    let response = ctx.get(url).send().await?;
    ensure!(
        response.status == 200,
        "JOB-DOC-1",
        "GET of an existing job answered {}: {}",
        response.status,
        show_body(&response.body)
    );
    let doc = response.json_object("JOB-DOC-1")?;
    Ok((response, doc))
}

/// One document of a job, as an answer showed it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    /// The document.
    pub doc: Value,
    /// The answer's `ETag`.
    pub etag: Option<String>,
    /// The whole answer.
    pub response: Response,
}

/// Collect the successive documents of `job` until it is terminal, starting
/// with the document of its `202`.
///
/// With `long-poll` claimed, each next document is waited for with
/// `If-None-Match` and `waitSeconds=1`; after a `304` a plain `GET` makes sure
/// that no change hid behind an unchanged `ETag`. Without it, the job is read
/// every 50 ms. A job that is not terminal within `within` is an error: the
/// checks that watch jobs judge the documents, not how long a probe runs.
pub(crate) async fn watch(ctx: &Ctx, job: &Job, within: Duration) -> Result<Vec<Seen>, Finding> {
    let long_poll = ctx.claims("long-poll") && ctx.limits().max_wait_seconds >= 1;
    let deadline = Instant::now() + within;
    let mut seen = vec![Seen {
        doc: job.doc.clone(),
        etag: job.response.header("etag").map(str::to_owned),
        response: job.response.clone(),
    }];
    loop {
        let last = seen.last().expect("at least the 202");
        if is_terminal(&last.doc) {
            return Ok(seen);
        }
        if Instant::now() >= deadline {
            return Err(Finding::error(format!(
                "the job did not end within {:.1} s; last seen: {}",
                within.as_secs_f64(),
                last.doc
            )));
        }
        let etag = last.etag.clone();
        let response = match (&etag, long_poll) {
            (Some(tag), true) => {
                ctx.get(&format!("{}?waitSeconds=1", job.url))
                    .header("If-None-Match", tag.clone())
                    .timeout(Duration::from_secs(1) + ctx.timeouts().request)
                    .send()
                    .await?
            }
            _ => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                ctx.get(&job.url).send().await?
            }
        };
        let response = if response.status == 304 && long_poll {
            ctx.get(&job.url).send().await?
        } else {
            response
        };
        ensure!(
            response.status == 200,
            "JOB-DOC-1",
            "GET of an existing job answered {}: {}",
            response.status,
            show_body(&response.body)
        );
        let doc = response.json_object("JOB-DOC-1")?;
        seen.push(Seen {
            doc,
            etag: response.header("etag").map(str::to_owned),
            response,
        });
    }
}

/// Maps the server's timestamps onto the suite's clock.
///
/// The server stamped `createdAt` while the start request was on its way, so
/// its clock reading then happened no later than the arrival of the `202`.
/// Assuming the server stamps all times with one clock, a server time `t`
/// happened no later than `received + (t - createdAt)` on the suite's clock
/// (plus a millisecond for truncation). Checks use this to bound from below
/// how long after a change an answer came.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerClock {
    created: OffsetDateTime,
    received: Instant,
}

impl ServerClock {
    /// The clock of the `202` of `job`, received at `received`.
    pub(crate) fn of(job: &Job, received: Instant) -> Option<ServerClock> {
        Some(ServerClock {
            created: time_of(&job.doc, "createdAt")?,
            received,
        })
    }

    /// The latest instant of the suite's clock at which the server's clock can
    /// have read `t`.
    pub(crate) fn latest(&self, t: OffsetDateTime) -> Instant {
        let delta = t - self.created + time::Duration::milliseconds(1);
        let magnitude = Duration::from_secs_f64(delta.as_seconds_f64().abs());
        if delta.is_negative() {
            self.received
                .checked_sub(magnitude)
                .unwrap_or(self.received)
        } else {
            self.received + magnitude
        }
    }
}

/// Start a probe job and note when its `202` arrived, for a [`ServerClock`].
pub(crate) async fn start_clocked(ctx: &Ctx, params: Value) -> Result<(Job, ServerClock), Finding> {
    let job = ctx.start_probe(params).await?;
    let received = Instant::now();
    let clock = ServerClock::of(&job, received).ok_or_else(|| {
        Finding::violation(
            "GEN-2",
            format!(
                "createdAt is {}, expected an RFC 3339 UTC time with three fractional digits",
                job.doc["createdAt"]
            ),
        )
    })?;
    Ok((job, clock))
}

async fn not_found(ctx: Ctx) -> Outcome {
    let ids = [
        format!("conformance-no-such-job-{}", uuid::Uuid::now_v7()),
        uuid::Uuid::now_v7().to_string(),
        "x".repeat(128),
    ];
    for id in ids {
        let response = ctx.get(&format!("/v1/jobs/{id}")).send().await?;
        response.expect_problem(404, "job-not-found", "JOB-DOC-1")?;
    }
    if ctx.claims("delete") {
        let job = ctx.start_probe(quick_params()).await?;
        ctx.wait_setup(&job.url, "terminal", is_terminal).await?;
        let response = ctx.delete(&job.url).send().await?;
        if response.status != 200 {
            return Err(Finding::error(format!(
                "DELETE of a terminal job answered {}: {}",
                response.status,
                show_body(&response.body)
            )));
        }
        let response = ctx.get(&job.url).send().await?;
        response
            .expect_problem(404, "job-not-found", "JOB-DOC-1")
            .map_err(|f| match f {
                Finding::Violation { message, .. } => {
                    Finding::violation("JOB-DOC-1", format!("GET of a deleted job: {message}"))
                }
                other => other,
            })?;
    }
    Ok(())
}

async fn active(ctx: Ctx) -> Outcome {
    let op = probe_operation(&ctx).await?;
    let stages = stages_of(&op);
    let probe = ctx.probe().to_owned();
    let job = ctx
        .start_probe_with(json!({"params": hold_params(), "correlationId": "conformance-document"}))
        .await?;
    let expect = Expect {
        url: &job.url,
        operation: &probe,
        stages: &stages,
    };
    // The 202 shows the job as committed: queued, unless it already started.
    check_doc(&job.doc, &expect)?;
    check_doc_headers(&job.response, &job.doc, "the 202 of the start request")?;
    ensure!(
        job.doc["correlationId"] == "conformance-document",
        "JOB-DOC-2",
        "correlationId is {}, expected the one given, \"conformance-document\"",
        job.doc["correlationId"]
    );
    // Running, after the probe's first report (PROBE-3), so that the stage
    // and its index are shown too.
    ctx.wait_setup(&job.url, "running with a stage", |d| {
        d["status"] == "running" && d["progress"]["stage"].is_string()
    })
    .await?;
    let (response, doc) = get_doc(&ctx, &job.url).await?;
    ensure!(
        response.media_type().as_deref() == Some("application/json"),
        "GEN-5",
        "GET of a job has Content-Type {:?}, expected application/json",
        response.header("content-type")
    );
    check_doc(&doc, &expect)?;
    check_doc_headers(&response, &doc, "GET of a running job")?;
    ensure!(
        doc["id"] == job.doc["id"],
        "JOB-DOC-1",
        "GET {} shows the job {}, expected {}",
        job.url,
        doc["id"],
        job.doc["id"]
    );
    // The probe's plugin is not replaced while the suite runs: the job names
    // the plugin the operation object shows, accepted and running.
    for (what, doc) in [("the 202", &job.doc), ("the running job", &doc)] {
        for (member, of_op) in [
            ("operationVersion", "version"),
            ("pluginSha256", "pluginSha256"),
        ] {
            ensure!(
                doc[member] == op[of_op],
                "JOB-DOC-13",
                "{member} of {what} is {}, expected the operation's {of_op} {}",
                doc[member],
                op[of_op]
            );
        }
    }
    for member in ["createdAt", "ttlSeconds", "timeoutSeconds", "correlationId"] {
        ensure!(
            doc[member] == job.doc[member],
            "JOB-DOC-2",
            "{member} was {} in the 202 and is {} now",
            job.doc[member],
            doc[member]
        );
    }
    Ok(())
}

async fn progress(ctx: Ctx) -> Outcome {
    let stages = stages_of(&probe_operation(&ctx).await?);
    let probe = ctx.probe().to_owned();
    let job = ctx.start_probe(stepped_params()).await?;
    let expect = Expect {
        url: &job.url,
        operation: &probe,
        stages: &stages,
    };
    let seen = watch(&ctx, &job, ctx.timeouts().job).await?;
    let mut previous: Option<&Value> = None;
    for s in &seen {
        let doc = &s.doc;
        check_doc(doc, &expect)?;
        check_doc_headers(&s.response, doc, "an answer with the job document")?;
        let percent = doc["progress"]["percent"].as_f64().unwrap_or(0.0);
        // The probe's first report is `prepare` at 0 % (PROBE-3): before it
        // and at it, the attempt has just begun.
        if doc["status"] == "running"
            && matches!(doc["progress"]["stage"].as_str(), None | Some("prepare"))
        {
            ensure!(
                percent == 0.0,
                "JOB-DOC-7",
                "the attempt has just begun (stage {}), but progress.percent is {percent}, expected 0",
                doc["progress"]["stage"]
            );
        }
        if let Some(prev) = previous
            && prev["attempt"] == doc["attempt"]
        {
            let before = prev["progress"]["percent"].as_f64().unwrap_or(0.0);
            ensure!(
                percent.total_cmp(&before).is_ge(),
                "JOB-DOC-7",
                "progress.percent went down within attempt {} from {before} to {percent}",
                doc["attempt"]
            );
        }
        previous = Some(doc);
    }
    let last = &seen.last().expect("a document").doc;
    ensure!(
        last["status"] == "succeeded",
        "JOB-DOC-7",
        "the probe job with params {} ended {}, expected succeeded: {}",
        stepped_params(),
        last["status"],
        last
    );
    Ok(())
}

async fn succeeded(ctx: Ctx) -> Outcome {
    let stages = stages_of(&probe_operation(&ctx).await?);
    let probe = ctx.probe().to_owned();
    let job = ctx
        .start_probe(json!({"steps": 2, "resultBytes": 777}))
        .await?;
    let expect = Expect {
        url: &job.url,
        operation: &probe,
        stages: &stages,
    };
    let done = ctx.wait_setup(&job.url, "terminal", is_terminal).await?;
    ensure!(
        done["status"] == "succeeded",
        "JOB-DOC-8",
        "the probe job ended {}, expected succeeded: {done}",
        done["status"]
    );
    let (response, doc) = get_doc(&ctx, &job.url).await?;
    check_doc(&doc, &expect)?;
    check_doc_headers(&response, &doc, "GET of a succeeded job")?;
    let result = ctx.get(&format!("{}/result", job.url)).send().await?;
    if result.status != 200 {
        return Err(Finding::error(format!(
            "GET of the result of a succeeded job answered {}: {}",
            result.status,
            show_body(&result.body)
        )));
    }
    let sha = hex(&Sha256::digest(&result.body));
    ensure!(
        doc["result"]["size"].as_u64() == Some(result.body.len() as u64),
        "JOB-DOC-8",
        "result.size is {}, but the result endpoint served {} bytes",
        doc["result"]["size"],
        result.body.len()
    );
    ensure!(
        doc["result"]["sha256"] == sha.as_str(),
        "JOB-DOC-8",
        "result.sha256 is {}, but the bytes the result endpoint served have SHA-256 {sha}",
        doc["result"]["sha256"]
    );
    ensure!(
        result.media_type()
            == doc["result"]["mediaType"].as_str().map(|m| {
                m.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            }),
        "JOB-DOC-8",
        "result.mediaType is {}, but the result endpoint served Content-Type {:?}",
        doc["result"]["mediaType"],
        result.header("content-type")
    );
    Ok(())
}

async fn failed(ctx: Ctx) -> Outcome {
    let stages = stages_of(&probe_operation(&ctx).await?);
    let probe = ctx.probe().to_owned();
    let job = ctx.start_probe(failing_params()).await?;
    let expect = Expect {
        url: &job.url,
        operation: &probe,
        stages: &stages,
    };
    let done = ctx.wait_setup(&job.url, "terminal", is_terminal).await?;
    ensure!(
        done["status"] == "failed",
        "JOB-DOC-9",
        "the probe job with params {} ended {}, expected failed: {done}",
        failing_params(),
        done["status"]
    );
    let (response, doc) = get_doc(&ctx, &job.url).await?;
    check_doc(&doc, &expect)?;
    check_doc_headers(&response, &doc, "GET of a failed job")?;
    ensure!(
        doc["error"]["type"] == format!("{PROBLEM_PREFIX}plugin-error").as_str(),
        "JOB-DOC-9",
        "the plugin returned an error, but error.type is {}, expected {PROBLEM_PREFIX}plugin-error",
        doc["error"]["type"]
    );

    // A canceled job has neither error nor result.
    if ctx.claims("cancel") {
        let held = ctx.start_hold().await?;
        let expect = Expect {
            url: &held.url,
            operation: &probe,
            stages: &stages,
        };
        let response = ctx
            .request(reqwest::Method::POST, &format!("{}/cancel", held.url))
            .send()
            .await?;
        if response.status != 200 {
            return Err(Finding::error(format!(
                "cancel of an active job answered {}: {}",
                response.status,
                show_body(&response.body)
            )));
        }
        let canceled = response.json_object("JOB-DOC-11")?;
        check_doc_headers(&response, &canceled, "the 200 of a cancel")?;
        let (response, doc) = get_doc(&ctx, &held.url).await?;
        if doc["status"] != "canceled" {
            return Err(Finding::error(format!(
                "after a 200 to its cancel the job shows status {}",
                doc["status"]
            )));
        }
        check_doc(&doc, &expect)?;
        check_doc_headers(&response, &doc, "GET of a canceled job")?;
    }
    Ok(())
}

async fn etag(ctx: Ctx) -> Outcome {
    let job = ctx.start_probe(stepped_params()).await?;
    let seen = watch(&ctx, &job, ctx.timeouts().job).await?;
    for s in &seen {
        check_doc_headers(&s.response, &s.doc, "an answer with the job document")?;
    }
    compare_etags(&seen)?;

    // A terminal job: read it, wait a second (a long poll that should see no
    // change), read it again. Reads are uses that may move expiresAt, and
    // nothing else may change, nor the ETag.
    let mut terminal = vec![seen.last().expect("a document").clone()];
    let (response, doc) = get_doc(&ctx, &job.url).await?;
    terminal.push(Seen {
        etag: response.header("etag").map(str::to_owned),
        doc,
        response,
    });
    if ctx.claims("long-poll") && ctx.limits().max_wait_seconds >= 1 {
        let tag = terminal.last().expect("a document").etag.clone();
        if let Some(tag) = tag {
            let response = ctx
                .get(&format!("{}?waitSeconds=1", job.url))
                .header("If-None-Match", tag)
                .timeout(Duration::from_secs(1) + ctx.timeouts().request)
                .send()
                .await?;
            if response.status == 200 {
                let doc = response.json_object("JOB-DOC-1")?;
                terminal.push(Seen {
                    etag: response.header("etag").map(str::to_owned),
                    doc,
                    response,
                });
            }
        }
    }
    let (response, doc) = get_doc(&ctx, &job.url).await?;
    terminal.push(Seen {
        etag: response.header("etag").map(str::to_owned),
        doc,
        response,
    });
    for s in &terminal {
        check_doc_headers(&s.response, &s.doc, "GET of a terminal job")?;
    }
    let first = &terminal[0].doc;
    for s in &terminal[1..] {
        ensure!(
            s.doc["updatedAt"] == first["updatedAt"],
            "JOB-DOC-5",
            "a terminal job's updatedAt moved from {} to {} although nothing but expiresAt may change",
            first["updatedAt"],
            s.doc["updatedAt"]
        );
    }
    compare_etags(&terminal)
}

/// JOB-DOC-12 over successive documents: equal ETags exactly when the
/// documents are equal apart from `expiresAt`.
pub(crate) fn compare_etags(seen: &[Seen]) -> Outcome {
    for pair in seen.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let (Some(ta), Some(tb)) = (&a.etag, &b.etag) else {
            continue;
        };
        let same_doc = without_expiry(&a.doc) == without_expiry(&b.doc);
        let same_tag = weak(ta) == weak(tb);
        if same_doc {
            ensure!(
                same_tag,
                "JOB-DOC-12",
                "the ETag changed from {ta} to {tb} although no member other than expiresAt changed (expiresAt {} -> {})",
                a.doc["expiresAt"],
                b.doc["expiresAt"]
            );
        } else {
            ensure!(
                !same_tag,
                "JOB-DOC-12",
                "the document changed but the ETag stayed {ta}: {}",
                describe_change(&a.doc, &b.doc)
            );
        }
    }
    Ok(())
}

/// The opaque part of an entity-tag, for weak comparison.
pub(crate) fn weak(tag: &str) -> &str {
    tag.trim().strip_prefix("W/").unwrap_or(tag.trim())
}

/// Which top-level members differ between two documents (expiresAt aside).
pub(crate) fn describe_change(a: &Value, b: &Value) -> String {
    let empty = serde_json::Map::new();
    let ma = a.as_object().unwrap_or(&empty);
    let mb = b.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = ma.keys().chain(mb.keys()).collect();
    keys.sort();
    keys.dedup();
    let changes: Vec<String> = keys
        .into_iter()
        .filter(|k| *k != "expiresAt" && ma.get(*k) != mb.get(*k))
        .map(|k| {
            format!(
                "{k}: {} -> {}",
                ma.get(k).unwrap_or(&Value::Null),
                mb.get(k).unwrap_or(&Value::Null)
            )
        })
        .collect();
    changes.join("; ")
}

/// Lowercase hexadecimal.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
