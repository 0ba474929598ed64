//! Sections 1.2 and 18: the general rules of every endpoint and the errors.
//!
//! General rules, judged on a sample of the server's answers (service
//! document, operations, the `202` of a start, documents of a succeeded, a
//! failed and a running job, a cancel, a list page, problem documents):
//!
//! - `errors.camel-case`: member names are camelCase (GEN-1);
//! - `errors.timestamps`: timestamps are UTC with exactly three fractional digits (GEN-2);
//! - `errors.absolute-urls`: emitted URLs are absolute and built from the
//!   public base URL or the request's `Host` (GEN-3);
//! - `errors.unknown-query-parameters`: undefined query parameters are
//!   ignored, bad values of defined ones are `400` (GEN-4);
//! - `errors.json-media-types`: JSON bodies are `application/json`, problems
//!   `application/problem+json` (GEN-5).
//!
//! Errors:
//!
//! - `errors.not-found`: undefined paths (ERR-3);
//! - `errors.method-not-allowed`: unsupported methods, with `Allow` (ERR-4);
//! - `errors.problem-documents`: the shape, type, fixed title and extra
//!   members of every request problem the suite can provoke (ERR-1, ERR-2, ERR-6);
//! - `errors.queue-full-retry-after`: a `503` carries `Retry-After` (ERR-5);
//!   fills the queue, so it runs alone and only when `queueSize` is small;
//! - `errors.hostile-requests`: malformed and hostile requests get problems
//!   and the server keeps serving (ERR-7);
//! - `errors.job-failures`: the error of a failed job names the failure
//!   (ERR-9, ERR-10).

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};

use crate::check::{Check, Finding, Outcome};
use crate::context::{Ctx, PROBLEM_PREFIX, Response};
use crate::ensure;
use crate::exchange::show_body;
use crate::jobs::unknown_job_id;
use crate::timestamps::is_gen2;

/// The checks of this area.
pub const CHECKS: &[Check] = &[
    Check {
        id: "errors.camel-case",
        title: "every member name in the server's JSON bodies is camelCase",
        class: "core",
        requirements: &["GEN-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(camel_case(ctx)),
    },
    Check {
        id: "errors.timestamps",
        title: "every timestamp is RFC 3339 UTC with Z and exactly three fractional digits",
        class: "core",
        requirements: &["GEN-2"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(timestamps(ctx)),
    },
    Check {
        id: "errors.absolute-urls",
        title: "every URL in headers and bodies is absolute, built from the base URL or Host",
        class: "core",
        requirements: &["GEN-3"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(absolute_urls(ctx)),
    },
    Check {
        id: "errors.unknown-query-parameters",
        title: "undefined query parameters are ignored; bad values of defined ones are 400",
        class: "core",
        requirements: &["GEN-4"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(unknown_query_parameters(ctx)),
    },
    Check {
        id: "errors.json-media-types",
        title: "JSON answers are application/json, problem documents application/problem+json",
        class: "core",
        requirements: &["GEN-5", "ERR-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(json_media_types(ctx)),
    },
    Check {
        id: "errors.not-found",
        title: "a path the protocol does not define is 404 not-found",
        class: "core",
        requirements: &["ERR-3", "ERR-1"],
        needs: &["service.document"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(not_found(ctx)),
    },
    Check {
        id: "errors.method-not-allowed",
        title: "an unsupported method is 405 method-not-allowed with Allow",
        class: "core",
        requirements: &["ERR-4", "ERR-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(method_not_allowed(ctx)),
    },
    Check {
        id: "errors.problem-documents",
        title: "request problems have their type, status, a fixed title, instance and extra members",
        class: "core",
        requirements: &["ERR-1", "ERR-2", "ERR-6"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(problem_documents(ctx)),
    },
    Check {
        id: "errors.queue-full-retry-after",
        title: "503 queue-full carries Retry-After",
        class: "core",
        requirements: &["ERR-5"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: true,
        run: |ctx| Box::pin(queue_full_retry_after(ctx)),
    },
    Check {
        id: "errors.hostile-requests",
        title: "malformed and hostile requests get problem answers and the server keeps serving",
        class: "core",
        requirements: &["ERR-7"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(hostile_requests(ctx)),
    },
    Check {
        id: "errors.job-failures",
        title: "a failed job's error is plugin-error with code and message, or deadline-exceeded",
        class: "core",
        requirements: &["ERR-9", "ERR-10", "ERR-1", "ERR-2"],
        needs: &["service.document", "probe.offered"],
        jobs: 2,
        exclusive: false,
        run: |ctx| Box::pin(job_failures(ctx)),
    },
];

/// Requirements of this area that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[(
    "ERR-8",
    "a client cannot provoke an unexpected failure of a conforming server, so it cannot see the \
     500 internal answer or its detail",
)];

// --- Shared helpers ---

/// The path of a request as the server sees it (for `instance`).
fn request_path(ctx: &Ctx, path_or_url: &str) -> String {
    url::Url::parse(&ctx.url(path_or_url))
        .map(|u| u.path().to_owned())
        .unwrap_or_else(|_| path_or_url.to_owned())
}

/// ERR-1: a problem document with `type`, `title`, `status` equal to the HTTP
/// status, `detail`, and `instance` equal to `instance` when given.
fn problem_shape(
    response: &Response,
    what: &str,
    instance: Option<&str>,
) -> Result<Value, Finding> {
    ensure!(
        response.media_type().as_deref() == Some("application/problem+json"),
        "ERR-1",
        "{what}: the {} answer has Content-Type {:?}, expected application/problem+json",
        response.status,
        response.header("content-type")
    );
    let doc = response.json().unwrap_or(Value::Null);
    ensure!(
        doc["type"].is_string()
            && doc["title"].is_string()
            && doc["detail"].is_string()
            && doc["status"].is_u64(),
        "ERR-1",
        "{what}: the problem document needs the strings `type`, `title`, `detail` and the integer `status`; got {}",
        show_body(&response.body)
    );
    ensure!(
        doc["status"] == response.status,
        "ERR-1",
        "{what}: the problem's status is {}, the HTTP status {}",
        doc["status"],
        response.status
    );
    if let Some(instance) = instance {
        ensure!(
            doc["instance"] == instance,
            "ERR-1",
            "{what}: the problem's instance is {}, expected the request path {instance:?}",
            doc["instance"]
        );
    }
    Ok(doc)
}

/// One answer of the sample, with what it was.
struct Sample {
    what: String,
    response: Response,
}

/// A sample of the server's answers, covering every kind of JSON body.
async fn samples(ctx: &Ctx) -> Result<Vec<Sample>, Finding> {
    let mut out = Vec::new();
    let mut add = |what: &str, response: Response| {
        out.push(Sample {
            what: what.to_owned(),
            response,
        })
    };
    let op = ctx.probe().to_owned();
    add("GET /v1", ctx.get("/v1").send().await?);
    add(
        "GET /v1/operations",
        ctx.get("/v1/operations").send().await?,
    );
    add(
        "GET /v1/operations/{probe}",
        ctx.get(&format!("/v1/operations/{op}")).send().await?,
    );

    // A succeeded job.
    let response = ctx
        .start(
            &op,
            &json!({"params": {"steps": 1}, "correlationId": "conformance-sample"}),
        )
        .await?;
    add("the 202 of a start", response.clone());
    let job = ctx.accepted(response)?;
    ctx.wait_terminal(&job.url, "JOB-DOC-1").await?;
    add("GET of a succeeded job", ctx.get(&job.url).send().await?);

    // A failed job.
    let job = ctx
        .start_probe(json!({"steps": 1, "fail": {"code": "sample", "message": "sample failure"}}))
        .await?;
    ctx.wait_terminal(&job.url, "JOB-DOC-1").await?;
    add("GET of a failed job", ctx.get(&job.url).send().await?);

    // A running job, then canceled.
    let job = ctx.start_hold().await?;
    ctx.wait_setup(&job.url, "running", |doc| doc["status"] == "running")
        .await?;
    add("GET of a running job", ctx.get(&job.url).send().await?);
    add(
        "GET of an active job's result",
        ctx.get(&job.sub("/result")).send().await?,
    );
    if ctx.claims("cancel") {
        add(
            "POST …/cancel of a running job",
            ctx.request(Method::POST, &job.sub("/cancel"))
                .send()
                .await?,
        );
    }
    if ctx.claims("list") {
        add(
            "GET /v1/jobs?limit=1",
            ctx.get("/v1/jobs?limit=1").send().await?,
        );
    }

    // Problems.
    add(
        "GET of an unknown job",
        ctx.get(&format!("/v1/jobs/{}", unknown_job_id()))
            .send()
            .await?,
    );
    add(
        "a start with invalid params",
        ctx.start(&op, &json!({"params": {"steps": 0}})).await?,
    );
    add(
        "a start with an unknown input",
        ctx.start(
            &op,
            &json!({"inputs": {"conformanceNoSuchInput": {"text": "x"}}}),
        )
        .await?,
    );
    for sample in &out {
        ctx.track_created(&sample.response);
    }
    Ok(out)
}

/// Member names of JSON objects that hold data, not protocol members.
const OPAQUE: &[&str] = &["paramsSchema", "echo"];

fn is_camel_case(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

fn non_camel(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (name, member) in map {
                let here = format!("{at}/{name}");
                if !is_camel_case(name) {
                    out.push(here.clone());
                }
                if !OPAQUE.contains(&name.as_str()) {
                    non_camel(member, &here, out);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                non_camel(item, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

async fn camel_case(ctx: Ctx) -> Outcome {
    for sample in samples(&ctx).await? {
        let Some(body) = sample.response.json() else {
            continue;
        };
        let mut bad = Vec::new();
        non_camel(&body, "", &mut bad);
        ensure!(
            bad.is_empty(),
            "GEN-1",
            "{}: the member names at {bad:?} are not camelCase",
            sample.what
        );
    }
    Ok(())
}

/// Whether a member holds a timestamp: the protocol names them `…At`
/// (`createdAt`, `nextAttemptAt`, …) or `timestamp` (callback events).
fn is_timestamp_member(name: &str) -> bool {
    name.ends_with("At") || name == "timestamp"
}

fn bad_timestamps(value: &Value, name: &str, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (member, v) in map {
                if !OPAQUE.contains(&member.as_str()) {
                    bad_timestamps(v, member, &format!("{at}/{member}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                bad_timestamps(item, name, &format!("{at}/{i}"), out);
            }
        }
        Value::String(text) => {
            if is_timestamp_member(name) && !is_gen2(text) {
                out.push(format!("{at} = {text:?}"));
            }
        }
        Value::Null => {}
        other => {
            if is_timestamp_member(name) {
                out.push(format!("{at} = {other}"));
            }
        }
    }
}

async fn timestamps(ctx: Ctx) -> Outcome {
    let mut seen = 0;
    for sample in samples(&ctx).await? {
        let Some(body) = sample.response.json() else {
            continue;
        };
        let mut bad = Vec::new();
        bad_timestamps(&body, "", "", &mut bad);
        ensure!(
            bad.is_empty(),
            "GEN-2",
            "{}: these timestamps are not RFC 3339 UTC with Z and exactly three fractional \
             digits (like 2026-11-21T23:02:42.123Z): {bad:?}",
            sample.what
        );
        if body.get("createdAt").is_some() {
            seen += 1;
        }
    }
    if seen == 0 {
        return Err(Finding::error(
            "the sample held no job document, so no timestamp was checked",
        ));
    }
    Ok(())
}

/// Every URL an answer emits: `Location`, `Operation-Location`, `Link`
/// targets, and the body's `href`, `resourceLocation`, `next` and `links`.
fn emitted_urls(response: &Response) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for name in ["location", "operation-location"] {
        for value in response.header_all(name) {
            out.push((name.to_owned(), value.to_owned()));
        }
    }
    for value in response.header_all("link") {
        for part in value.split(',') {
            if let Some(target) = part
                .trim()
                .strip_prefix('<')
                .and_then(|rest| rest.split_once('>'))
                .map(|(t, _)| t)
            {
                out.push(("Link".to_owned(), target.to_owned()));
            }
        }
    }
    fn walk(value: &Value, at: &str, in_links: bool, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                for (name, member) in map {
                    if OPAQUE.contains(&name.as_str()) {
                        continue;
                    }
                    let here = format!("{at}/{name}");
                    let is_url_member =
                        in_links || matches!(name.as_str(), "href" | "resourceLocation" | "next");
                    match member {
                        Value::String(url) if is_url_member => out.push((here, url.clone())),
                        _ => walk(member, &here, name == "links", out),
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{at}/{i}"), false, out);
                }
            }
            _ => {}
        }
    }
    if let Some(body) = response.json() {
        walk(&body, "", false, &mut out);
    }
    out
}

async fn absolute_urls(ctx: Ctx) -> Outcome {
    let base = ctx.public_base();
    let mut seen = 0;
    for sample in samples(&ctx).await? {
        for (place, url) in emitted_urls(&sample.response) {
            seen += 1;
            let parsed = url::Url::parse(&url);
            ensure!(
                parsed
                    .as_ref()
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some()),
                "GEN-3",
                "{}: {place} is {url:?}, not an absolute http(s) URL",
                sample.what
            );
            ensure!(
                url.starts_with(&format!("{base}/")),
                "GEN-3",
                "{}: {place} is {url:?}; the server's URLs are built from {base} (its service \
                 document's links.self), so every URL must start with it",
                sample.what
            );
        }
    }
    if seen == 0 {
        return Err(Finding::error("the sample held no URL to check"));
    }

    // Without a configured public base URL, URLs follow the Host header.
    let host = "conformance-host.test:8123";
    let response = ctx.get("/v1").header("Host", host).send().await?;
    if response.status != 200 {
        // A front end that routes by host: nothing to judge.
        return Ok(());
    }
    let doc = response.json().unwrap_or(Value::Null);
    let link = doc["links"]["self"].as_str().unwrap_or("");
    let from_host = format!("http://{host}/v1");
    let configured = format!("{base}/v1");
    ensure!(
        link == from_host || link == configured,
        "GEN-3",
        "GET /v1 with Host: {host} has links.self {link:?}; expected {from_host:?} (built from \
         the Host header) or, with a configured public base URL, {configured:?} as for every \
         other request"
    );
    Ok(())
}

async fn json_media_types(ctx: Ctx) -> Outcome {
    for sample in samples(&ctx).await? {
        let response = &sample.response;
        if response.body.is_empty() {
            continue;
        }
        let media_type = response.media_type().unwrap_or_default();
        if response.status >= 400 {
            ensure!(
                media_type == "application/problem+json",
                "ERR-1",
                "{}: the {} answer has Content-Type {:?}, expected application/problem+json",
                sample.what,
                response.status,
                response.header("content-type")
            );
        } else if response.json().is_some() {
            ensure!(
                media_type == "application/json",
                "GEN-5",
                "{}: the JSON body of the {} answer has Content-Type {:?}, expected application/json",
                sample.what,
                response.status,
                response.header("content-type")
            );
        }
    }
    Ok(())
}

async fn unknown_query_parameters(ctx: Ctx) -> Outcome {
    let extra = "api-version=2024-01-01&conformance-unknown=1";
    let plain = ctx.get("/v1").send().await?;
    let response = ctx.get(&format!("/v1?{extra}")).send().await?;
    ensure!(
        response.status == 200 && response.json() == plain.json(),
        "GEN-4",
        "GET /v1?{extra} answered {} {}; undefined query parameters must be ignored (the same \
         200 as GET /v1)",
        response.status,
        show_body(&response.body)
    );
    let op = ctx.probe().to_owned();
    for path in [
        format!("/v1/operations?{extra}"),
        format!("/v1/operations/{op}?{extra}"),
    ] {
        let response = ctx.get(&path).send().await?;
        ensure!(
            response.status == 200,
            "GEN-4",
            "GET {path} answered {} {}; undefined query parameters must be ignored",
            response.status,
            show_body(&response.body)
        );
    }
    let response = ctx
        .post_json(
            &format!("/v1/operations/{op}/jobs?{extra}"),
            &json!({"params": {"steps": 1}}),
        )
        .send()
        .await?;
    ctx.track_created(&response);
    ensure!(
        response.status == 202,
        "GEN-4",
        "a valid start request with ?{extra} answered {} {}; undefined query parameters must be ignored",
        response.status,
        show_body(&response.body)
    );
    let job = ctx.accepted(response)?;
    ctx.wait_terminal(&job.url, "JOB-DOC-1").await?;
    let mut paths = vec![
        format!("{}?{extra}", job.url),
        format!("{}?{extra}", job.sub("/result")),
    ];
    if ctx.claims("list") {
        paths.push(format!("/v1/jobs?limit=1&{extra}"));
    }
    for path in paths {
        let response = ctx.get(&path).send().await?;
        ensure!(
            response.status == 200,
            "GEN-4",
            "GET {path} answered {} {}; undefined query parameters must be ignored",
            response.status,
            show_body(&response.body)
        );
    }

    // Defined parameters with invalid values.
    let mut invalid = Vec::new();
    if ctx.claims("long-poll") {
        invalid.push(format!("{}?waitSeconds=soon", job.url));
    }
    if ctx.claims("list") {
        invalid.push("/v1/jobs?limit=many".to_owned());
        invalid.push("/v1/jobs?createdAfter=yesterday".to_owned());
    }
    for path in invalid {
        let response = ctx.get(&path).send().await?;
        ensure!(
            response.status == 400
                && response.problem_kind().as_deref() == Some("malformed-request"),
            "GEN-4",
            "GET {path} gives a defined parameter an invalid value and must be answered 400 \
             malformed-request; got {} {}",
            response.status,
            show_body(&response.body)
        );
    }
    Ok(())
}

async fn not_found(ctx: Ctx) -> Outcome {
    for path in [
        "/v1/conformance-undefined",
        "/v1/jobs/conformance-x/conformance-undefined",
        "/v1/operations/conformance-x/conformance-undefined",
        "/v2/conformance",
        "/",
    ] {
        let response = ctx.get(path).send().await?;
        ensure!(
            response.status == 404 && response.problem_kind().as_deref() == Some("not-found"),
            "ERR-3",
            "GET {path} (a path the protocol does not define) answered {} {}; expected 404 not-found",
            response.status,
            show_body(&response.body)
        );
        problem_shape(
            &response,
            &format!("GET {path}"),
            Some(&request_path(&ctx, path)),
        )?;
    }
    Ok(())
}

async fn method_not_allowed(ctx: Ctx) -> Outcome {
    let op = ctx.probe().to_owned();
    let job = format!("/v1/jobs/{}", unknown_job_id());
    let mut cases: Vec<(&str, String, Vec<&str>)> = vec![
        ("PUT", "/v1".into(), vec!["GET"]),
        ("DELETE", "/v1/operations".into(), vec!["GET"]),
        ("POST", format!("/v1/operations/{op}"), vec!["GET"]),
        ("GET", format!("/v1/operations/{op}/jobs"), vec!["POST"]),
        ("PATCH", job.clone(), vec!["GET"]),
        ("POST", format!("{job}/result"), vec!["GET", "HEAD"]),
    ];
    if ctx.claims("list") {
        cases.push(("POST", "/v1/jobs".into(), vec!["GET"]));
    }
    if ctx.claims("cancel") {
        cases.push(("GET", format!("{job}/cancel"), vec!["POST"]));
    }
    if ctx.claims("events") {
        cases.push(("POST", format!("{job}/events"), vec!["GET"]));
    }
    if ctx.claims("log") {
        cases.push(("PUT", format!("{job}/log"), vec!["GET"]));
    }
    for (method, path, allowed) in cases {
        let response = ctx
            .request(
                Method::from_bytes(method.as_bytes()).expect("a method"),
                &path,
            )
            .send()
            .await?;
        ensure!(
            response.status == 405
                && response.problem_kind().as_deref() == Some("method-not-allowed"),
            "ERR-4",
            "{method} {path} (a defined path without {method}) answered {} {}; expected 405 method-not-allowed",
            response.status,
            show_body(&response.body)
        );
        let allow: Vec<String> = response
            .header_all("allow")
            .iter()
            .flat_map(|v| v.split(','))
            .map(|m| m.trim().to_ascii_uppercase())
            .filter(|m| !m.is_empty())
            .collect();
        ensure!(
            allowed.iter().all(|m| allow.iter().any(|a| a == m))
                && !allow.iter().any(|a| a == method),
            "ERR-4",
            "{method} {path}: Allow is {:?}; it must list the supported methods {allowed:?} and not {method}",
            response.header_all("allow")
        );
        problem_shape(
            &response,
            &format!("{method} {path}"),
            Some(&request_path(&ctx, &path)),
        )?;
    }
    Ok(())
}

/// A provoked start problem: what, path, Content-Type, body, status, kind.
type StartCase<'a> = (&'a str, &'a str, Option<&'a str>, &'a str, u16, &'a str);

/// Check one provoked problem: status, type, shape, extra members; remember
/// its title.
fn judge_problem(
    ctx: &Ctx,
    titles: &mut BTreeMap<String, (String, String)>,
    what: &str,
    path: &str,
    response: &Response,
    status: u16,
    kind: &str,
) -> Outcome {
    ctx.track_created(response);
    ensure!(
        response.status == status && response.problem_kind().as_deref() == Some(kind),
        "ERR-2",
        "{what} must be answered {status} with the type {PROBLEM_PREFIX}{kind}; got {} {}",
        response.status,
        show_body(&response.body)
    );
    ensure!(
        response
            .json()
            .is_some_and(|d| d["type"] == format!("{PROBLEM_PREFIX}{kind}")),
        "ERR-2",
        "{what}: the type must be the URI {PROBLEM_PREFIX}{kind}; got {}",
        show_body(&response.body)
    );
    let doc = problem_shape(response, what, Some(&request_path(ctx, path)))?;
    let title = doc["title"].as_str().unwrap_or("").to_owned();
    ensure!(
        !title.trim().is_empty(),
        "ERR-2",
        "{what}: the {kind} problem has an empty title"
    );
    if let Some((first, first_what)) = titles.get(kind) {
        ensure!(
            *first == title,
            "ERR-2",
            "the title of {kind} must be the same on every occurrence: {first_what} has {first:?}, \
             {what} has {title:?}"
        );
    } else {
        titles.insert(kind.to_owned(), (title, what.to_owned()));
    }
    let errors = doc["errors"].as_array().cloned().unwrap_or_default();
    match kind {
        "invalid-params" => ensure!(
            !errors.is_empty()
                && errors
                    .iter()
                    .all(|e| e["pointer"].is_string() && e["message"].is_string()),
            "ERR-6",
            "{what}: an invalid-params problem needs `errors`: [{{pointer, message}}]; got {}",
            doc["errors"]
        ),
        "invalid-inputs" | "url-not-allowed" => ensure!(
            !errors.is_empty()
                && errors
                    .iter()
                    .all(|e| e["input"].is_string() && e["message"].is_string()),
            "ERR-6",
            "{what}: an {kind} problem about an input needs `errors`: [{{input, message}}]; got {}",
            doc["errors"]
        ),
        "result-not-available" | "job-finished" => ensure!(
            matches!(
                doc["jobStatus"].as_str(),
                Some("queued" | "running" | "succeeded" | "failed" | "canceled")
            ),
            "ERR-6",
            "{what}: a {kind} problem needs `jobStatus` holding the job's status; got {}",
            doc["jobStatus"]
        ),
        _ => {}
    }
    Ok(())
}

async fn problem_documents(ctx: Ctx) -> Outcome {
    let mut titles = BTreeMap::new();
    let op = ctx.probe().to_owned();
    let jobs = format!("/v1/operations/{op}/jobs");
    let unknown = format!("/v1/jobs/{}", unknown_job_id());
    let no_op = "/v1/operations/conformance-no-such-op".to_owned();

    // Requests without a body.
    let gets: Vec<(Method, String, u16, &str)> = vec![
        (Method::GET, "/v1/conformance-a".into(), 404, "not-found"),
        (Method::GET, "/v1/conformance-b/c".into(), 404, "not-found"),
        (Method::PUT, "/v1".into(), 405, "method-not-allowed"),
        (
            Method::DELETE,
            "/v1/operations".into(),
            405,
            "method-not-allowed",
        ),
        (Method::GET, no_op.clone(), 404, "operation-not-found"),
        (Method::GET, unknown.clone(), 404, "job-not-found"),
        (
            Method::GET,
            format!("{unknown}/result"),
            404,
            "job-not-found",
        ),
    ];
    for (method, path, status, kind) in gets {
        let what = format!("{method} {path}");
        let response = ctx.request(method, &path).send().await?;
        judge_problem(&ctx, &mut titles, &what, &path, &response, status, kind)?;
    }

    // Start requests: what, path, Content-Type, body, status, kind.
    let json = Some("application/json");
    let unknown_op = format!("{no_op}/jobs");
    let starts: [StartCase; 13] = [
        (
            "a start of an unknown operation",
            &unknown_op,
            json,
            "{}",
            404,
            "operation-not-found",
        ),
        (
            "a start with a body that is not JSON",
            &jobs,
            json,
            "{",
            400,
            "malformed-request",
        ),
        (
            "a start with an unknown member",
            &jobs,
            json,
            r#"{"conformanceUnknown": 1}"#,
            400,
            "malformed-request",
        ),
        (
            "a start with Content-Type text/plain",
            &jobs,
            Some("text/plain"),
            "{}",
            415,
            "unsupported-media-type",
        ),
        (
            "a start without Content-Type",
            &jobs,
            None,
            "{}",
            415,
            "unsupported-media-type",
        ),
        (
            "a start with steps 0",
            &jobs,
            json,
            r#"{"params": {"steps": 0}}"#,
            422,
            "invalid-params",
        ),
        (
            "a start with durationMs -1",
            &jobs,
            json,
            r#"{"params": {"durationMs": -1}}"#,
            422,
            "invalid-params",
        ),
        (
            "a start with an undeclared input",
            &jobs,
            json,
            r#"{"inputs": {"conformanceNoSuchInput": {"text": "x"}}}"#,
            422,
            "invalid-inputs",
        ),
        (
            "a start with bad base64",
            &jobs,
            json,
            r#"{"inputs": {"data": {"base64": "%%%"}}}"#,
            422,
            "invalid-inputs",
        ),
        (
            "a start with ttlSeconds 0",
            &jobs,
            json,
            r#"{"ttlSeconds": 0}"#,
            422,
            "invalid-request",
        ),
        (
            "a start with timeoutSeconds 0",
            &jobs,
            json,
            r#"{"timeoutSeconds": 0}"#,
            422,
            "invalid-request",
        ),
        (
            "a start with an ftp URL input",
            &jobs,
            json,
            r#"{"inputs": {"data": {"url": "ftp://conformance.invalid/x"}}}"#,
            422,
            "url-not-allowed",
        ),
        (
            "a start with a file URL input",
            &jobs,
            json,
            r#"{"inputs": {"data": {"url": "file:///etc/passwd"}}}"#,
            422,
            "url-not-allowed",
        ),
    ];
    for (what, path, content_type, body, status, kind) in starts {
        let request = ctx.request(Method::POST, path);
        let request = match content_type {
            Some(ct) => request.body(ct, body.to_owned()),
            None => request.raw_body(body.to_owned()),
        };
        let response = request.send().await?;
        judge_problem(&ctx, &mut titles, what, path, &response, status, kind)?;
    }

    // Problems about jobs: a succeeded and a failed job, then an active one.
    let done = ctx.start_probe(json!({"steps": 1})).await?;
    ctx.wait_terminal(&done.url, "JOB-DOC-1").await?;
    let failed = ctx
        .start_probe(json!({"steps": 1, "fail": {"code": "c", "message": "m"}}))
        .await?;
    ctx.wait_terminal(&failed.url, "JOB-DOC-1").await?;
    let path = failed.sub("/result");
    let response = ctx.get(&path).send().await?;
    judge_problem(
        &ctx,
        &mut titles,
        "GET of a failed job's result",
        &path,
        &response,
        409,
        "result-not-available",
    )?;
    if ctx.claims("cancel") {
        for (what, job) in [
            ("cancel of a succeeded job", &done),
            ("cancel of a failed job", &failed),
        ] {
            let path = job.sub("/cancel");
            let response = ctx.request(Method::POST, &path).send().await?;
            judge_problem(
                &ctx,
                &mut titles,
                what,
                &path,
                &response,
                409,
                "job-finished",
            )?;
        }
    }
    let active = ctx.start_hold().await?;
    let path = active.sub("/result");
    let response = ctx.get(&path).send().await?;
    judge_problem(
        &ctx,
        &mut titles,
        "GET of an active job's result",
        &path,
        &response,
        409,
        "result-not-available",
    )?;
    Ok(())
}

async fn queue_full_retry_after(ctx: Ctx) -> Outcome {
    let limits = ctx.limits().clone();
    if limits.queue_size > 64 {
        return Err(Finding::skip(format!(
            "limits.queueSize is {}; the suite fills the queue only when it holds at most 64 jobs",
            limits.queue_size
        )));
    }
    let attempts = limits.workers + limits.queue_size + 4;
    let op = ctx.probe().to_owned();
    for _ in 0..attempts {
        let response = ctx
            .start(&op, &json!({"params": crate::jobs::hold_params()}))
            .await?;
        match response.status {
            202 => {
                ctx.accepted(response)?;
            }
            503 => {
                ensure!(
                    response
                        .header("retry-after")
                        .is_some_and(|v| !v.trim().is_empty()),
                    "ERR-5",
                    "a 503 answer ({}) has no Retry-After header",
                    show_body(&response.body)
                );
                return Ok(());
            }
            status => {
                return Err(Finding::error(format!(
                    "filling the queue: a start request was answered {status}: {}",
                    show_body(&response.body)
                )));
            }
        }
    }
    Err(Finding::skip(format!(
        "{attempts} jobs were accepted without a 503 (workers {}, queueSize {}); the queue never \
         filled, so no 503 could be judged (JOB-CREATE-18 is checked elsewhere)",
        limits.workers, limits.queue_size
    )))
}

/// One hostile request: its description, method, path, headers and body.
struct Hostile {
    what: &'static str,
    method: Method,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Option<(Option<&'static str>, Vec<u8>)>,
    /// A job may be created (the request is valid, only unusual).
    may_create: bool,
}

fn hostile_requests_list(ctx: &Ctx) -> Vec<Hostile> {
    let jobs = format!("/v1/operations/{}/jobs", ctx.probe());
    let post = |what: &'static str, ct: Option<&'static str>, body: Vec<u8>| Hostile {
        what,
        method: Method::POST,
        path: jobs.clone(),
        headers: vec![],
        body: Some((ct, body)),
        may_create: false,
    };
    let get = |what: &'static str, path: String| Hostile {
        what,
        method: Method::GET,
        path,
        headers: vec![],
        body: None,
        may_create: false,
    };
    let deep_open = "[".repeat(100_000).into_bytes();
    let deep_valid = format!(
        "{{\"params\": {{\"steps\": 1, \"echo\": {}{}}}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    )
    .into_bytes();
    let mut invalid_utf8 = br#"{"correlationId": ""#.to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    invalid_utf8.extend_from_slice(br#""}"#);
    let garbage: Vec<u8> = (0..65_536u32).map(|i| (i * 31 % 256) as u8).collect();
    // As long as the server takes a body: a larger one may be refused before it
    // is read, closing the connection under the sender (JOB-CREATE-9 checks
    // that), which would say nothing about the long value.
    let room = usize::try_from(ctx.limits().max_body_bytes).unwrap_or(usize::MAX);
    let long_text = format!(
        r#"{{"correlationId": "{}"}}"#,
        "x".repeat((2 << 20).min(room.saturating_sub(64)))
    )
    .into_bytes();
    let mut list = vec![
        post(
            "100 000 unclosed brackets",
            Some("application/json"),
            deep_open,
        ),
        Hostile {
            may_create: true,
            ..post(
                "params nested 100 000 levels deep",
                Some("application/json"),
                deep_valid,
            )
        },
        post(
            "invalid UTF-8 in a JSON string",
            Some("application/json"),
            invalid_utf8,
        ),
        post(
            "64 KiB of binary garbage as JSON",
            Some("application/json"),
            garbage.clone(),
        ),
        post(
            "a number of 400 digits of exponent",
            Some("application/json"),
            br#"{"ttlSeconds": 1e400}"#.to_vec(),
        ),
        post(
            "an integer above 2^64",
            Some("application/json"),
            br#"{"ttlSeconds": 18446744073709551616}"#.to_vec(),
        ),
        post(
            "a correlationId of up to 2 MiB (within maxBodyBytes)",
            Some("application/json"),
            long_text,
        ),
        post(
            "multipart without a boundary",
            Some("multipart/form-data"),
            garbage,
        ),
        post(
            "multipart cut off in the middle",
            Some("multipart/form-data; boundary=x"),
            b"--x\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n{\"st".to_vec(),
        ),
        get(
            "an id of 8000 characters",
            format!("/v1/jobs/{}", "a".repeat(8000)),
        ),
        get("an id that is not UTF-8", "/v1/jobs/%FF%FE%C3".into()),
        get("an id with a NUL", "/v1/jobs/%00".into()),
        get(
            "an id climbing out",
            "/v1/jobs/..%2F..%2F..%2Fetc%2Fpasswd/result".into(),
        ),
        get(
            "a result range of 30 digits",
            format!("/v1/jobs/{}/result", unknown_job_id()),
        ),
        Hostile {
            headers: vec![("X-Conformance-Filler", "a".repeat(16_000))],
            ..get(
                "a header of 16 000 characters",
                format!("/v1/jobs/{}", unknown_job_id()),
            )
        },
        Hostile {
            method: Method::from_bytes(b"CONFORMANCE").expect("a method"),
            ..get("an unknown method", "/v1".into())
        },
    ];
    if let Some(range) = list
        .iter_mut()
        .find(|h| h.what == "a result range of 30 digits")
    {
        range
            .headers
            .push(("Range", "bytes=999999999999999999999999999999-".into()));
    }
    if ctx.claims("list") {
        list.push(get(
            "a page size of 30 digits",
            "/v1/jobs?limit=999999999999999999999999999999".into(),
        ));
    }
    list
}

async fn hostile_requests(ctx: Ctx) -> Outcome {
    for mut hostile in hostile_requests_list(&ctx) {
        let mut request = ctx.request(hostile.method.clone(), &hostile.path);
        for (name, value) in &hostile.headers {
            request = request.header(name, value.clone());
        }
        // A body over maxBodyBytes may be refused before it is read: the
        // server may answer 413 and close the connection while it is still
        // being sent, so that the answer is lost to the sender.
        let mut oversized = false;
        if let Some((content_type, body)) = hostile.body.take() {
            oversized = body.len() as u64 > ctx.limits().max_body_bytes;
            request = match content_type {
                Some(ct) => request.body(ct, body),
                None => request.raw_body(body),
            };
        }
        let what = hostile.what;
        let response = match request.send().await {
            Ok(response) => Some(response),
            Err(Finding::Error(_)) if oversized => None,
            Err(Finding::Error(message)) => {
                return Err(Finding::violation(
                    "ERR-7",
                    format!("{what}: the server gave no answer ({message})"),
                ));
            }
            Err(other) => return Err(other),
        };
        if let Some(response) = response {
            ctx.track_created(&response);
            judge_hostile_answer(&hostile, &response)?;
        }
        // A server may close the connection after refusing a request whose
        // body it did not read; a request already on its way over that
        // connection is lost, so a transport error is retried once.
        let alive = match ctx.get("/v1").send().await {
            Err(Finding::Error(_)) => ctx.get("/v1").send().await,
            answer => answer,
        };
        ensure!(
            alive.as_ref().is_ok_and(|r| r.status == 200),
            "ERR-7",
            "after {what}, GET /v1 no longer answers 200: {}",
            match &alive {
                Ok(r) => format!("{} {}", r.status, show_body(&r.body)),
                Err(e) => format!("{e:?}"),
            }
        );
    }
    Ok(())
}

/// Judge the answer to one hostile request: a 4xx problem, a 500 `internal`,
/// or (for an unusual but valid request) a 202.
fn judge_hostile_answer(hostile: &Hostile, response: &Response) -> Outcome {
    let what = hostile.what;
    let kind = response.problem_kind();
    let problem = response.media_type().as_deref() == Some("application/problem+json")
        && response.json().is_some_and(|d| d["type"].is_string());
    let fine = (hostile.may_create && response.status == 202)
        || ((400..500).contains(&response.status) && problem)
        || (response.status == 500 && problem && kind.as_deref() == Some("internal"));
    ensure!(
        fine,
        "ERR-7",
        "{what} ({} {}) must be answered with a 4xx problem (or 500 internal); got {} {} {}",
        hostile.method,
        hostile.path.chars().take(80).collect::<String>(),
        response.status,
        response
            .header("content-type")
            .unwrap_or("(no Content-Type)"),
        show_body(&response.body)
    );
    Ok(())
}

async fn job_failures(ctx: Ctx) -> Outcome {
    // Runs 3 s with a timeout of 1 s.
    let slow = ctx
        .start_probe_with(json!({"params": {"durationMs": 3000, "steps": 3}, "timeoutSeconds": 1}))
        .await?;
    let mut titles: Vec<String> = Vec::new();
    for (code, message) in [
        ("conformance-first", "the first failure"),
        (
            "conformance-second",
            "the second failure, with another message",
        ),
    ] {
        let job = ctx
            .start_probe(json!({"steps": 1, "fail": {"code": code, "message": message}}))
            .await?;
        let done = ctx.wait_terminal(&job.url, "JOB-DOC-1").await?;
        let error = &done["error"];
        ensure!(
            done["status"] == "failed" && error["type"] == format!("{PROBLEM_PREFIX}plugin-error"),
            "ERR-9",
            "the plugin returned an error, so the job must fail with the type \
             {PROBLEM_PREFIX}plugin-error; it ended {} with error {error}",
            done["status"]
        );
        ensure!(
            error["code"] == code && error["detail"] == message,
            "ERR-10",
            "the plugin failed with code {code:?} and message {message:?}; the plugin-error has \
             code {} and detail {}",
            error["code"],
            error["detail"]
        );
        let path = request_path(&ctx, &job.url);
        ensure!(
            error["instance"] == path.as_str(),
            "ERR-1",
            "a job-failure problem's instance must be the job's path {path:?}; got {}",
            error["instance"]
        );
        titles.push(error["title"].as_str().unwrap_or("").to_owned());
    }
    ensure!(
        titles[0] == titles[1] && !titles[0].is_empty(),
        "ERR-2",
        "two plugin-error problems have the titles {:?} and {:?}; a type's title is fixed",
        titles[0],
        titles[1]
    );
    let done = ctx.wait_terminal(&slow.url, "JOB-STATE-8").await?;
    ensure!(
        done["status"] == "failed"
            && done["error"]["type"] == format!("{PROBLEM_PREFIX}deadline-exceeded"),
        "ERR-9",
        "a 3 s probe with timeoutSeconds 1 must fail with the type \
         {PROBLEM_PREFIX}deadline-exceeded; it ended {} with error {}",
        done["status"],
        done["error"]
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_one_form() {
        assert!(is_gen2("2026-11-21T23:02:42.123Z"));
        assert!(!is_gen2("2026-11-21T23:02:42Z"));
        assert!(!is_gen2("2026-11-21T23:02:42.123456Z"));
        assert!(!is_gen2("2026-11-21T23:02:42.123+00:00"));
        assert!(!is_gen2("2026-13-21T23:02:42.123Z"));
        assert!(is_timestamp_member("nextAttemptAt"));
        assert!(!is_timestamp_member("correlationId"));
    }

    #[test]
    fn camel_case_names() {
        assert!(is_camel_case("resourceLocation"));
        assert!(is_camel_case("pluginSha256"));
        assert!(!is_camel_case("resource_location"));
        assert!(!is_camel_case("ResourceLocation"));
        assert!(!is_camel_case(""));
    }
}
