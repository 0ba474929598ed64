//! Sections 2 and 4: the service document, the classes a server claims and
//! the limits it advertises.
//!
//! - `service.document`: the shape of `GET /v1` (SVC-2 to SVC-5, SVC-7, SVC-8);
//! - `service.claimed-classes`: every claimed class that has an endpoint of its
//!   own serves it (SVC-1), and a server that does not claim `callbacks`
//!   refuses the `callback` member (JOB-CREATE-11);
//! - `service.limits-enforced`: the advertised bounds of `ttlSeconds`,
//!   `timeoutSeconds`, `maxWaitSeconds` and `maxPageSize` and the advertised
//!   defaults are the ones the server applies (SVC-6). The size and queue
//!   limits are checked by the areas that reach them (create, inputs, log).

use serde_json::{Value, json};

use crate::check::{Check, Outcome};
use crate::context::{Ctx, Response};
use crate::ensure;
use crate::exchange::show_body;
use crate::jobs::unknown_job_id;

/// The checks of this section.
pub const CHECKS: &[Check] = &[
    Check {
        id: "service.document",
        title: "GET /v1 describes the server: name, versions, classes, limits, links",
        class: "core",
        requirements: &[
            "SVC-2", "SVC-3", "SVC-4", "SVC-5", "SVC-7", "SVC-8", "GEN-5",
        ],
        needs: &[],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(document(ctx)),
    },
    Check {
        id: "service.claimed-classes",
        title: "the endpoints of every claimed class are served; an unclaimed callbacks class refuses `callback`",
        class: "core",
        requirements: &["SVC-1", "JOB-CREATE-11"],
        needs: &["service.document"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(claimed_classes(ctx)),
    },
    Check {
        id: "service.limits-enforced",
        title: "the advertised TTL, timeout, wait and page-size bounds and defaults are the enforced ones",
        class: "core",
        requirements: &["SVC-6", "JOB-CREATE-13", "JOB-CREATE-14"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(limits_enforced(ctx)),
    },
];

const LIMITS: &[&str] = &[
    "defaultTtlSeconds",
    "minTtlSeconds",
    "maxTtlSeconds",
    "maxWaitSeconds",
    "defaultTimeoutSeconds",
    "maxTimeoutSeconds",
    "maxBodyBytes",
    "maxInputBytes",
    "maxLogBytes",
    "queueSize",
    "workers",
    "maxAttempts",
    "maxPageSize",
];

async fn document(ctx: Ctx) -> Outcome {
    let response = ctx.get("/v1").send().await?;
    ensure!(
        response.status == 200,
        "SVC-2",
        "GET /v1 answered {}, expected 200",
        response.status
    );
    ensure!(
        response.media_type().as_deref() == Some("application/json"),
        "GEN-5",
        "GET /v1 has Content-Type {:?}, expected application/json",
        response.header("content-type")
    );
    let doc = response.json_object("SVC-2")?;
    for (member, ok) in [
        ("name", doc["name"].is_string()),
        ("version", doc["version"].is_string()),
        ("protocolVersion", doc["protocolVersion"].is_string()),
        ("conformanceClasses", doc["conformanceClasses"].is_array()),
        ("limits", doc["limits"].is_object()),
        ("links", doc["links"].is_object()),
    ] {
        ensure!(
            ok,
            "SVC-2",
            "member `{member}` is missing or has the wrong type"
        );
    }
    ensure!(
        doc["protocolVersion"] == "1.0",
        "SVC-3",
        "protocolVersion is {}, expected \"1.0\"",
        doc["protocolVersion"]
    );
    let classes: Vec<&str> = doc["conformanceClasses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    ensure!(
        classes.len() == doc["conformanceClasses"].as_array().map_or(0, Vec::len),
        "SVC-2",
        "conformanceClasses holds something other than strings"
    );
    let mut unique = classes.clone();
    unique.sort_unstable();
    unique.dedup();
    ensure!(
        unique.len() == classes.len(),
        "SVC-2",
        "conformanceClasses has duplicates: {classes:?}"
    );
    ensure!(
        classes.contains(&"core"),
        "SVC-4",
        "conformanceClasses does not include core: {classes:?}"
    );
    let known = &crate::spec::spec().classes;
    if let Some(unknown) = classes.iter().find(|c| !known.iter().any(|k| k == *c)) {
        ensure!(
            false,
            "SVC-4",
            "conformanceClasses names {unknown:?}, which protocol 1.0 does not define"
        );
    }

    let limits = &doc["limits"];
    for name in LIMITS {
        ensure!(
            limits[name].is_u64(),
            "SVC-5",
            "limits.{name} is {}, expected a non-negative integer",
            limits[name]
        );
    }
    let l = |name: &str| limits[name].as_u64().unwrap_or(0);
    ensure!(
        1 <= l("minTtlSeconds")
            && l("minTtlSeconds") <= l("defaultTtlSeconds")
            && l("defaultTtlSeconds") <= l("maxTtlSeconds"),
        "SVC-5",
        "expected 1 <= minTtlSeconds <= defaultTtlSeconds <= maxTtlSeconds, got {}, {}, {}",
        l("minTtlSeconds"),
        l("defaultTtlSeconds"),
        l("maxTtlSeconds")
    );
    ensure!(
        1 <= l("defaultTimeoutSeconds") && l("defaultTimeoutSeconds") <= l("maxTimeoutSeconds"),
        "SVC-5",
        "expected 1 <= defaultTimeoutSeconds <= maxTimeoutSeconds, got {} and {}",
        l("defaultTimeoutSeconds"),
        l("maxTimeoutSeconds")
    );
    for name in LIMITS
        .iter()
        .filter(|n| !n.contains("Ttl") && !n.contains("Timeout") && **n != "maxWaitSeconds")
    {
        ensure!(
            l(name) >= 1,
            "SVC-5",
            "limits.{name} is {}, expected >= 1",
            l(name)
        );
    }

    ensure!(
        doc["urlGuard"]["privateNetworksAllowed"].is_boolean(),
        "SVC-8",
        "urlGuard.privateNetworksAllowed is {}, expected a boolean",
        doc["urlGuard"]["privateNetworksAllowed"]
    );

    let base = ctx.url("/v1");
    for (name, path) in [
        ("self", ""),
        ("operations", "/operations"),
        ("jobs", "/jobs"),
    ] {
        let link = doc["links"][name].as_str().unwrap_or("");
        ensure!(
            link.starts_with("http://") || link.starts_with("https://"),
            "SVC-7",
            "links.{name} is {:?}, expected an absolute URL",
            doc["links"][name]
        );
        ensure!(
            link.ends_with(&format!("/v1{path}")),
            "SVC-7",
            "links.{name} is {link:?}, expected the URL of /v1{path} (the suite reached /v1 at {base})"
        );
    }
    Ok(())
}

async fn claimed_classes(ctx: Ctx) -> Outcome {
    let id = unknown_job_id();
    let job = format!("/v1/jobs/{id}");
    // Classes with endpoints of their own: asked about an unknown job, a
    // server that implements them answers `404 job-not-found`, not the
    // `404 not-found` or `405` of an endpoint it does not have.
    let endpoints: [(&str, reqwest::Method, String); 4] = [
        ("cancel", reqwest::Method::POST, format!("{job}/cancel")),
        ("delete", reqwest::Method::DELETE, job.clone()),
        ("events", reqwest::Method::GET, format!("{job}/events")),
        ("log", reqwest::Method::GET, format!("{job}/log")),
    ];
    for (class, method, path) in endpoints {
        if !ctx.claims(class) {
            continue;
        }
        let response = ctx.request(method.clone(), &path).send().await?;
        ensure!(
            response.status == 404 && response.problem_kind().as_deref() == Some("job-not-found"),
            "SVC-1",
            "the server claims `{class}`, but {method} {path} (an unknown job) answered {} {}; \
             a server that implements `{class}` answers 404 job-not-found",
            response.status,
            show_body(&response.body)
        );
    }
    if ctx.claims("list") {
        let response = ctx.get("/v1/jobs?limit=1").send().await?;
        let doc = response.json().unwrap_or(Value::Null);
        ensure!(
            response.status == 200 && doc["jobs"].is_array(),
            "SVC-1",
            "the server claims `list`, but GET /v1/jobs?limit=1 answered {} {}; expected 200 with a `jobs` array",
            response.status,
            show_body(&response.body)
        );
    }
    if !ctx.claims("callbacks") {
        let body = json!({
            "params": {"durationMs": 0, "steps": 1},
            "callback": {"url": "https://conformance.invalid/callback"}
        });
        let response = ctx.start(ctx.probe(), &body).await?;
        ctx.track_created(&response);
        response.expect_problem(422, "invalid-request", "JOB-CREATE-11")?;
    }
    Ok(())
}

/// A start request with `member` set to `value` must be refused with
/// `422 invalid-request`.
async fn refused(ctx: &Ctx, member: &str, value: u64, bound: &str) -> Outcome {
    let body = json!({"params": {"durationMs": 0, "steps": 1}, member: value});
    let response = ctx.start(ctx.probe(), &body).await?;
    ctx.track_created(&response);
    ensure!(
        response.status == 422 && response.problem_kind().as_deref() == Some("invalid-request"),
        "SVC-6",
        "{member} {value} is outside the advertised bound ({bound}), so it must be refused \
         with 422 invalid-request; got {} {}",
        response.status,
        show_body(&response.body)
    );
    Ok(())
}

async fn limits_enforced(ctx: Ctx) -> Outcome {
    let limits = ctx.limits().clone();
    refused(
        &ctx,
        "ttlSeconds",
        limits.max_ttl_seconds + 1,
        &format!("maxTtlSeconds {}", limits.max_ttl_seconds),
    )
    .await?;
    refused(
        &ctx,
        "ttlSeconds",
        limits.min_ttl_seconds.saturating_sub(1),
        &format!("minTtlSeconds {}", limits.min_ttl_seconds),
    )
    .await?;
    refused(
        &ctx,
        "timeoutSeconds",
        limits.max_timeout_seconds + 1,
        &format!("maxTimeoutSeconds {}", limits.max_timeout_seconds),
    )
    .await?;

    // The bounds themselves are accepted and applied as given.
    for (ttl, timeout) in [
        (limits.max_ttl_seconds, limits.max_timeout_seconds),
        (limits.min_ttl_seconds, 1),
    ] {
        let body = json!({
            "params": {"durationMs": 0, "steps": 1},
            "ttlSeconds": ttl,
            "timeoutSeconds": timeout
        });
        let response = ctx.start(ctx.probe(), &body).await?;
        ensure!(
            response.status == 202,
            "SVC-6",
            "ttlSeconds {ttl} and timeoutSeconds {timeout} are within the advertised bounds \
             (ttl {}..={}, timeout 1..={}), so the job must be accepted; got {} {}",
            limits.min_ttl_seconds,
            limits.max_ttl_seconds,
            limits.max_timeout_seconds,
            response.status,
            show_body(&response.body)
        );
        let job = ctx.accepted(response)?;
        ensure!(
            job.doc["ttlSeconds"] == ttl && job.doc["timeoutSeconds"] == timeout,
            "SVC-6",
            "the job was started with ttlSeconds {ttl} and timeoutSeconds {timeout}, its document \
             shows {} and {}",
            job.doc["ttlSeconds"],
            job.doc["timeoutSeconds"]
        );
    }

    // The advertised defaults are the applied ones.
    let job = ctx
        .start_probe(json!({"durationMs": 0, "steps": 1}))
        .await?;
    ensure!(
        job.doc["ttlSeconds"] == limits.default_ttl_seconds,
        "JOB-CREATE-13",
        "a job started without ttlSeconds has ttlSeconds {}, but limits.defaultTtlSeconds is {}",
        job.doc["ttlSeconds"],
        limits.default_ttl_seconds
    );
    ensure!(
        job.doc["timeoutSeconds"] == limits.default_timeout_seconds,
        "JOB-CREATE-14",
        "a job started without timeoutSeconds has timeoutSeconds {}, but limits.defaultTimeoutSeconds is {}",
        job.doc["timeoutSeconds"],
        limits.default_timeout_seconds
    );

    if ctx.claims("sync") {
        // A quick job under a wait longer than the maximum: the applied wait
        // is the advertised maximum.
        let asked = limits.max_wait_seconds + 1000;
        let response = ctx
            .post_json(
                &format!("/v1/operations/{}/jobs", ctx.probe()),
                &json!({"params": {"durationMs": 0, "steps": 1}}),
            )
            .header("Prefer", format!("wait={asked}"))
            .timeout(
                std::time::Duration::from_secs(limits.max_wait_seconds) + ctx.timeouts().request,
            )
            .send()
            .await?;
        track_job_of(&ctx, &response);
        let applied = response.header("preference-applied").unwrap_or("");
        ensure!(
            applied.replace(' ', "") == format!("wait={}", limits.max_wait_seconds),
            "SVC-6",
            "Prefer: wait={asked} was answered {} with Preference-Applied {applied:?}; the advertised \
             maxWaitSeconds {} must cap it to wait={}",
            response.status,
            limits.max_wait_seconds,
            limits.max_wait_seconds
        );
    }

    if ctx.claims("list") {
        let max = limits.max_page_size;
        let response = ctx.get(&format!("/v1/jobs?limit={max}")).send().await?;
        let doc = response.json().unwrap_or(Value::Null);
        let count = doc["jobs"].as_array().map(Vec::len);
        ensure!(
            response.status == 200 && count.is_some_and(|n| n as u64 <= max),
            "SVC-6",
            "GET /v1/jobs?limit={max} (limits.maxPageSize) answered {} with {count:?} jobs; expected 200 with at most {max}",
            response.status
        );
        let response = ctx
            .get(&format!("/v1/jobs?limit={}", max + 1))
            .send()
            .await?;
        ensure!(
            response.status == 400
                && response.problem_kind().as_deref() == Some("malformed-request"),
            "SVC-6",
            "GET /v1/jobs?limit={} is above limits.maxPageSize {max} and must be answered \
             400 malformed-request; got {} {}",
            max + 1,
            response.status,
            show_body(&response.body)
        );
    }
    Ok(())
}

/// Track the job a synchronous answer names (`Location`), whatever its status.
fn track_job_of(ctx: &Ctx, response: &Response) {
    if let Some(url) = response.header("location") {
        ctx.track_job(url);
    }
}
