//! Section 24, completion callbacks, with the callback rules of section 19
//! (URL-GUARD-6 to URL-GUARD-8).
//!
//! The checks start `probe` jobs whose `callback` points at the suite's
//! receiver (`crate::receiver`), each at an endpoint of its own with a script of
//! answers (fail, `410`, `Retry-After`, `302`, hang), and judge what arrives
//! there (method, query, headers, body, signature, timing) together with the
//! job's `callback` member (24.6). They cover:
//!
//! - the request member: malformed values (`400`), values out of bounds
//!   (`422`), refused URLs (`422` `url-not-allowed`, URL-GUARD-6), defaults,
//!   and `limits.callbacks` itself;
//! - delivery on every terminal state (succeeded, failed, canceled while queued
//!   or running), the event body, `GET` attempts, the Standard Webhooks headers
//!   and signatures;
//! - outcomes and retries: `2xx`, `410`, `3xx`, exhausted attempts, timeouts,
//!   exponential and fixed backoff, `Retry-After`;
//! - isolation (the job is terminal without waiting for a hanging receiver and
//!   nothing else slows down), expiry while a delivery is pending, the secret
//!   never shown, and the log lines of CALLBACK-26.
//!
//! **Timing.** Retry schedules use the shortest interval the server allows
//! (`limits.callbacks.minIntervalSeconds`) so that the checks stay fast. Waits
//! between attempts are measured on the suite's clock at the receiver: attempt
//! n+1 cannot arrive earlier than attempt n arrived plus the wait, whatever the
//! network delay, so the MUST NOT of CALLBACK-16 needs no tolerance; the
//! SHOULD ("within 1 second") gets a measurement allowance of
//! [`SHOULD_ALLOWANCE`]. The server's clock is only ever compared with itself
//! (`webhook-timestamp` against `finishedAt` and `nextAttemptAt`), so a skew
//! between the suite's and the server's clocks does not matter. For the same
//! reason `Retry-After` is only sent in the delay-seconds form: an HTTP date
//! would be read on the server's clock.
//!
//! **Signatures.** A job without a `secret` is signed with the server-wide
//! secret when the operator configured one (CALLBACK-5), which the suite cannot
//! know. So a `webhook-signature` on the attempts of such a job is only checked
//! for its form (`v1,` and the base64 of 32 bytes); the "no secret, no header"
//! half of CALLBACK-11 is thereby only checked when the header is malformed.
//!
//! **The relay.** Through a proxy, the URL the server calls may differ from the
//! URL the suite gave; the checks therefore never compare the `callback.url`
//! inside an event's `data` with the URL given (the job document's
//! `callback.url` is compared, CALLBACK-21).

// Times are compared as f64 seconds inside `ensure!`, whose `!(cond)` this
// lint dislikes; the values are never NaN.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::check::{Check, Finding, Outcome};
use crate::context::Ctx;
use crate::exchange::show_body;
use crate::jobs::{Job, hold_params, is_terminal};
use crate::receiver::{Answer, Attempt, Endpoint};
use crate::server_info::CallbackLimits;
use crate::sse::{EventStream, Next};
use crate::timestamps::{self, is_gen2};
use crate::{ensure, ensure_should};

/// What every check here that starts jobs needs.
const NEEDS: &[&str] = &["service.document", "probe.offered"];

/// The allowance on top of the protocol's "within 1 second" (CALLBACK-7,
/// CALLBACK-16) for measuring at the receiver instead of inside the server.
pub const SHOULD_ALLOWANCE: Duration = Duration::from_millis(250);

/// The checks of this section.
pub const CHECKS: &[Check] = &[
    Check {
        id: "callbacks.limits",
        title: "limits.callbacks has the six integer bounds in the order CALLBACK-6 requires",
        class: "callbacks",
        requirements: &["CALLBACK-6"],
        needs: &["service.document"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(limits(ctx)),
    },
    Check {
        id: "callbacks.malformed",
        title: "a callback of the wrong shape or JSON types is answered 400 malformed-request",
        class: "callbacks",
        requirements: &["CALLBACK-2", "JOB-CREATE-6"],
        needs: NEEDS,
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(malformed(ctx)),
    },
    Check {
        id: "callbacks.bounds",
        title: "method, secret and retry values out of bounds are 422 invalid-request; the bounds themselves are accepted",
        class: "callbacks",
        requirements: &["CALLBACK-3", "CALLBACK-6", "CALLBACK-21"],
        needs: NEEDS,
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(bounds(ctx)),
    },
    Check {
        id: "callbacks.url-refused",
        title: "a callback URL the guard refuses is 422 url-not-allowed without errors, creates no job and is never called",
        class: "callbacks",
        requirements: &["URL-GUARD-6", "URL-GUARD-9"],
        needs: NEEDS,
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(url_refused(ctx)),
    },
    Check {
        id: "callbacks.defaults",
        title: "an absent method, retry, maxAttempts and initialIntervalSeconds take their defaults",
        class: "callbacks",
        requirements: &[
            "CALLBACK-4",
            "CALLBACK-7",
            "CALLBACK-16",
            "CALLBACK-21",
            "CALLBACK-22",
            "CALLBACK-23",
        ],
        needs: NEEDS,
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(defaults(ctx)),
    },
    Check {
        id: "callbacks.document-member",
        title: "the job document has a callback member exactly when started with one, with the members and states of 24.6",
        class: "callbacks",
        requirements: &[
            "CALLBACK-7",
            "CALLBACK-12",
            "CALLBACK-21",
            "CALLBACK-22",
            "CALLBACK-23",
        ],
        needs: NEEDS,
        jobs: 2,
        exclusive: false,
        run: |ctx| Box::pin(document_member(ctx)),
    },
    Check {
        id: "callbacks.delivery-succeeded",
        title: "a succeeded job is delivered at once: POST, application/json, job.succeeded with its terminal document",
        class: "callbacks",
        requirements: &[
            "CALLBACK-1",
            "CALLBACK-4",
            "CALLBACK-7",
            "CALLBACK-8",
            "CALLBACK-10",
            "CALLBACK-12",
            "CALLBACK-21",
            "CALLBACK-22",
            "CALLBACK-23",
        ],
        needs: NEEDS,
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(delivery_succeeded(ctx)),
    },
    Check {
        id: "callbacks.delivery-failed",
        title: "a failed job is delivered as job.failed with its error",
        class: "callbacks",
        requirements: &[
            "CALLBACK-7",
            "CALLBACK-8",
            "CALLBACK-10",
            "CALLBACK-12",
            "CALLBACK-21",
            "CALLBACK-22",
            "CALLBACK-23",
        ],
        needs: NEEDS,
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(delivery_failed(ctx)),
    },
    Check {
        id: "callbacks.delivery-canceled",
        title: "a job canceled at once (queued or running) and one canceled while running are delivered as job.canceled",
        class: "callbacks",
        requirements: &[
            "CALLBACK-7",
            "CALLBACK-8",
            "CALLBACK-10",
            "CALLBACK-12",
            "CALLBACK-21",
            "CALLBACK-22",
            "CALLBACK-23",
            "CANCEL-1",
        ],
        needs: NEEDS,
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(delivery_canceled(ctx)),
    },
    Check {
        id: "callbacks.get-method",
        title: "a GET callback appends &jobId= to a URL with a query, has no body and signs the empty body",
        class: "callbacks",
        requirements: &[
            "CALLBACK-9",
            "CALLBACK-10",
            "CALLBACK-11",
            "CALLBACK-12",
            "CALLBACK-21",
            "CALLBACK-22",
            "CALLBACK-23",
        ],
        needs: NEEDS,
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(get_method(ctx)),
    },
    Check {
        id: "callbacks.signatures",
        title: "attempts are signed per Standard Webhooks with a whsec_ key and with a plain-text key",
        class: "callbacks",
        requirements: &["CALLBACK-5", "CALLBACK-10", "CALLBACK-11"],
        needs: NEEDS,
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(signatures(ctx)),
    },
    Check {
        id: "callbacks.retry-exponential",
        title: "two failed attempts are retried after 1x and 2x the interval with the same id, body and fresh signatures",
        class: "callbacks",
        requirements: &[
            "CALLBACK-4",
            "CALLBACK-7",
            "CALLBACK-8",
            "CALLBACK-10",
            "CALLBACK-11",
            "CALLBACK-12",
            "CALLBACK-14",
            "CALLBACK-16",
            "CALLBACK-21",
            "CALLBACK-22",
            "CALLBACK-23",
        ],
        needs: NEEDS,
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(retry_exponential(ctx)),
    },
    Check {
        id: "callbacks.retry-fixed",
        title: "with fixed backoff every wait between attempts is the initial interval",
        class: "callbacks",
        requirements: &[
            "CALLBACK-7",
            "CALLBACK-12",
            "CALLBACK-14",
            "CALLBACK-16",
            "CALLBACK-21",
            "CALLBACK-22",
            "CALLBACK-23",
        ],
        needs: NEEDS,
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(retry_fixed(ctx)),
    },
    Check {
        id: "callbacks.retry-after",
        title: "a valid Retry-After lengthens the wait, an invalid one is ignored",
        class: "callbacks",
        requirements: &[
            "CALLBACK-7",
            "CALLBACK-12",
            "CALLBACK-14",
            "CALLBACK-16",
            "CALLBACK-17",
            "CALLBACK-21",
            "CALLBACK-22",
            "CALLBACK-23",
        ],
        needs: NEEDS,
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(retry_after(ctx)),
    },
    Check {
        id: "callbacks.gone-stops",
        title: "an attempt answered 410 stops the delivery: state stopped, no further attempt",
        class: "callbacks",
        requirements: &[
            "CALLBACK-7",
            "CALLBACK-13",
            "CALLBACK-21",
            "CALLBACK-22",
            "CALLBACK-23",
        ],
        needs: NEEDS,
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(gone_stops(ctx)),
    },
    Check {
        id: "callbacks.attempts-exhausted",
        title: "when maxAttempts attempts failed the delivery is failed and no further attempt comes",
        class: "callbacks",
        requirements: &[
            "CALLBACK-7",
            "CALLBACK-14",
            "CALLBACK-21",
            "CALLBACK-22",
            "CALLBACK-23",
        ],
        needs: NEEDS,
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(attempts_exhausted(ctx)),
    },
    Check {
        id: "callbacks.timeout",
        title: "an attempt the receiver never answers is abandoned after timeoutSeconds and counted failed with lastError",
        class: "callbacks",
        requirements: &[
            "CALLBACK-6",
            "CALLBACK-7",
            "CALLBACK-14",
            "CALLBACK-15",
            "CALLBACK-21",
            "CALLBACK-22",
            "CALLBACK-23",
        ],
        needs: NEEDS,
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(timeout(ctx)),
    },
    Check {
        id: "callbacks.redirect-not-followed",
        title: "an attempt answered 302 is a failed attempt and is retried",
        class: "callbacks",
        requirements: &[
            "URL-GUARD-8",
            "CALLBACK-7",
            "CALLBACK-12",
            "CALLBACK-14",
            "CALLBACK-21",
            "CALLBACK-22",
            "CALLBACK-23",
        ],
        needs: NEEDS,
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(redirect_not_followed(ctx)),
    },
    Check {
        id: "callbacks.outcome-keeps-job",
        title: "a delivered and a failed delivery leave status, result, error, finishedAt and progress unchanged",
        class: "callbacks",
        requirements: &[
            "CALLBACK-19",
            "CALLBACK-7",
            "CALLBACK-12",
            "CALLBACK-14",
            "CALLBACK-21",
            "CALLBACK-22",
            "CALLBACK-23",
        ],
        needs: NEEDS,
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(outcome_keeps_job(ctx)),
    },
    Check {
        id: "callbacks.no-hold-up",
        title: "with a hanging receiver the job is terminal at once and other requests and jobs are not delayed",
        class: "callbacks",
        requirements: &["CALLBACK-20", "CALLBACK-7"],
        needs: NEEDS,
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(no_hold_up(ctx)),
    },
    Check {
        id: "callbacks.secret-hidden",
        title: "the secret appears in no answer (documents, list, events, log, problems) and in no attempt body",
        class: "callbacks",
        requirements: &["CALLBACK-24"],
        needs: NEEDS,
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(secret_hidden(ctx)),
    },
    Check {
        id: "callbacks.multipart",
        title: "a callback form field of a multipart start request is accepted and delivered",
        class: "callbacks",
        requirements: &["CALLBACK-1", "CALLBACK-8", "CALLBACK-21"],
        needs: NEEDS,
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(multipart(ctx)),
    },
    Check {
        id: "callbacks.expiry-pending",
        title: "a job whose expiresAt passed does not expire while its delivery is pending, and expires when it ends",
        class: "callbacks",
        requirements: &["CALLBACK-25", "EXPIRY-5"],
        needs: NEEDS,
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(expiry_pending(ctx)),
    },
    Check {
        id: "callbacks.log-lines",
        title: "every attempt adds a CALLBACK line: attempt n of max to url: outcome; next",
        class: "callbacks",
        requirements: &["CALLBACK-26"],
        needs: NEEDS,
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(log_lines(ctx)),
    },
];

/// Requirements of this section that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[
    (
        "CALLBACK-18",
        "durability of pending deliveries across a crash or restart: a client cannot restart the server",
    ),
    (
        "URL-GUARD-7",
        "the check at every attempt needs control of DNS, to make the callback host resolve to a refused address after submission",
    ),
];

// ---------------------------------------------------------------------------
// Shared vocabulary.

/// The members of a job's `callback` (CALLBACK-21).
const MEMBERS: &[&str] = &[
    "url",
    "method",
    "state",
    "attempts",
    "maxAttempts",
    "lastStatusCode",
    "lastError",
    "nextAttemptAt",
];

/// The states of a delivery (CALLBACK-22).
const STATES: &[&str] = &["pending", "delivered", "stopped", "failed"];

/// Members of a terminal job document that no later change touches: the
/// event's `data` must show them as the job document does (CALLBACK-8).
const STABLE: &[&str] = &[
    "id",
    "operation",
    "operationVersion",
    "pluginSha256",
    "status",
    "attempt",
    "createdAt",
    "startedAt",
    "finishedAt",
    "ttlSeconds",
    "timeoutSeconds",
    "progress",
    "correlationId",
    "error",
];

/// The members CALLBACK-19 says a delivery must not change.
const KEPT: &[&str] = &[
    "status",
    "result",
    "resourceLocation",
    "error",
    "finishedAt",
    "progress",
];

/// How early (by timer rounding) an attempt may arrive before its wait ended.
const EARLY: f64 = 0.005;

/// A SHOULD that was broken, reported only once every MUST has held.
#[derive(Default)]
struct Later(Option<Finding>);

impl Later {
    fn should(&mut self, ok: bool, requirement: &'static str, message: impl FnOnce() -> String) {
        if !ok && self.0.is_none() {
            self.0 = Some(Finding::should(requirement, message()));
        }
    }

    fn finish(self) -> Outcome {
        self.0.map_or(Ok(()), Err)
    }
}

/// The graver of two outcomes: a MUST violation before a SHOULD, a violation
/// before an error, an error before a skip.
fn worst(a: Outcome, b: Outcome) -> Outcome {
    fn rank(o: &Outcome) -> u8 {
        match o {
            Ok(()) => 0,
            Err(Finding::Skip(_)) => 1,
            Err(Finding::Violation {
                level: crate::spec::Level::Should,
                ..
            }) => 2,
            Err(Finding::Error(_)) => 3,
            Err(Finding::Violation { .. }) => 4,
        }
    }
    if rank(&b) > rank(&a) { b } else { a }
}

/// `limits.callbacks`, which a server that claims `callbacks` must have.
fn cb_limits(ctx: &Ctx) -> Result<CallbackLimits, Finding> {
    ctx.limits().callbacks.clone().ok_or_else(|| {
        Finding::violation(
            "CALLBACK-6",
            "the server claims `callbacks` but its service document has no limits.callbacks",
        )
    })
}

/// The interval the retry checks use: the shortest the server allows, when
/// it is short enough for a quick check.
fn fast_interval(limits: &CallbackLimits) -> Result<u64, Finding> {
    if limits.min_interval_seconds > 3 {
        return Err(Finding::skip(format!(
            "limits.callbacks.minIntervalSeconds is {} s; retries are only checked when it is at most 3 s",
            limits.min_interval_seconds
        )));
    }
    Ok(limits.min_interval_seconds.max(1))
}

/// A correlation id that names this check's run.
fn correlation(ctx: &Ctx) -> String {
    format!("{}-{}", ctx.check_id(), uuid::Uuid::now_v7().simple())
}

/// A fresh Standard Webhooks secret: `whsec_` and the base64 of 32 bytes.
fn whsec_random() -> String {
    let mut key = Vec::with_capacity(32);
    key.extend_from_slice(uuid::Uuid::now_v7().as_bytes());
    key.extend_from_slice(uuid::Uuid::now_v7().as_bytes());
    format!("whsec_{}", STANDARD.encode(key))
}

/// Start a `probe` job with these params and this callback.
async fn start(ctx: &Ctx, params: Value, callback: Value) -> Result<Job, Finding> {
    ctx.start_probe_with(json!({ "params": params, "callback": callback }))
        .await
}

/// Prefix a violation's message with what was sent.
fn about(finding: Finding, what: &str) -> Finding {
    match finding {
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
    }
}

/// Send a start request that must be refused with `status` `kind`, and
/// must not create a job (no `Location`). Returns the problem document.
async fn refused(
    ctx: &Ctx,
    body: &Value,
    status: u16,
    kind: &str,
    requirement: &'static str,
    what: &str,
) -> Result<Value, Finding> {
    let probe = ctx.probe().to_owned();
    let response = ctx.start(&probe, body).await?;
    if (200..300).contains(&response.status)
        && let Some(location) = response.header("location")
    {
        ctx.track_job(location);
    }
    let problem = response
        .expect_problem(status, kind, requirement)
        .map_err(|f| about(f, &format!("a callback with {what}")))?;
    if let Some(location) = response.header("location") {
        return Err(Finding::violation(
            requirement,
            format!(
                "a start request with a callback with {what} was refused but the answer names a job (Location: {location})"
            ),
        ));
    }
    Ok(problem)
}

/// No job with this correlation id exists (checked when the server claims
/// `list`; else the absence of `Location` on the refusals has to do).
async fn no_job_with(ctx: &Ctx, correlation_id: &str, requirement: &'static str) -> Outcome {
    if !ctx.claims("list") {
        return Ok(());
    }
    let limit = ctx.limits().max_page_size.clamp(1, 100);
    let response = ctx.get(&format!("/v1/jobs?limit={limit}")).send().await?;
    if response.status != 200 {
        // The list checks judge that.
        return Ok(());
    }
    let list = response.json().unwrap_or_default();
    let found = list["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|job| job["correlationId"] == correlation_id)
        .count();
    if found > 0 {
        return Err(Finding::violation(
            requirement,
            format!(
                "every start request with correlationId {correlation_id} was refused, yet GET /v1/jobs lists {found} job(s) with it"
            ),
        ));
    }
    Ok(())
}

/// A timestamp member as seconds since the Unix epoch.
fn epoch(value: &Value) -> Option<f64> {
    let t = timestamps::value(value)?;
    Some(t.unix_timestamp_nanos() as f64 / 1e9)
}

/// Whether two timestamp members denote the same instant.
fn same_instant(a: &Value, b: &Value) -> bool {
    match (
        a.as_str().and_then(timestamps::parse),
        b.as_str().and_then(timestamps::parse),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The gap between two attempts' arrivals.
fn gap(earlier: &Attempt, later: &Attempt) -> f64 {
    seconds(later.at.saturating_duration_since(earlier.at))
}

// ---------------------------------------------------------------------------
// The job's `callback` member.

/// Judge one job document's `callback` member (the job was started with a
/// callback): its members (CALLBACK-21), its state for the job's status
/// (CALLBACK-22), its counters and `nextAttemptAt` (CALLBACK-23), and the
/// first attempt being due at `finishedAt` (CALLBACK-7).
fn check_member(doc: &Value) -> Outcome {
    let cb = &doc["callback"];
    ensure!(
        cb.is_object(),
        "CALLBACK-21",
        "the job was started with a callback but its document has `callback` = {cb} (expected an object)"
    );
    for name in MEMBERS {
        ensure!(
            cb.get(name).is_some(),
            "CALLBACK-21",
            "the job's callback has no member `{name}`: {cb}"
        );
    }
    let state = cb["state"].as_str().unwrap_or("");
    ensure!(
        STATES.contains(&state),
        "CALLBACK-22",
        "callback.state is {}, expected pending, delivered, stopped or failed",
        cb["state"]
    );
    let attempts = cb["attempts"].as_u64();
    ensure!(
        attempts.is_some(),
        "CALLBACK-23",
        "callback.attempts is {}, expected a non-negative integer",
        cb["attempts"]
    );
    let attempts = attempts.unwrap_or(0);
    let max = cb["maxAttempts"].as_u64().unwrap_or(0);
    ensure!(
        max >= 1,
        "CALLBACK-21",
        "callback.maxAttempts is {}, expected a positive integer",
        cb["maxAttempts"]
    );
    ensure!(
        attempts <= max,
        "CALLBACK-23",
        "callback.attempts is {attempts}, more than maxAttempts {max}"
    );
    ensure!(
        cb["lastStatusCode"].is_null()
            || cb["lastStatusCode"]
                .as_u64()
                .is_some_and(|c| (100..600).contains(&c)),
        "CALLBACK-23",
        "callback.lastStatusCode is {}, expected null or an HTTP status code",
        cb["lastStatusCode"]
    );
    ensure!(
        cb["lastError"].is_null() || cb["lastError"].as_str().is_some_and(|e| !e.is_empty()),
        "CALLBACK-23",
        "callback.lastError is {}, expected null or a description",
        cb["lastError"]
    );
    if attempts == 0 {
        ensure!(
            cb["lastStatusCode"].is_null() && cb["lastError"].is_null(),
            "CALLBACK-23",
            "no attempt has been made yet (attempts 0) but lastStatusCode is {} and lastError {}",
            cb["lastStatusCode"],
            cb["lastError"]
        );
        ensure!(
            state == "pending",
            "CALLBACK-22",
            "no attempt has been made yet (attempts 0) but callback.state is {state}; a delivery ends only with an attempt"
        );
    }
    if !is_terminal(doc) {
        ensure!(
            state == "pending",
            "CALLBACK-22",
            "the job is {} but its callback.state is {state}, expected pending until the delivery ends",
            doc["status"]
        );
        ensure!(
            attempts == 0,
            "CALLBACK-23",
            "the job is {} but callback.attempts is {attempts}; no attempt is made before the job ends",
            doc["status"]
        );
        ensure!(
            cb["nextAttemptAt"].is_null(),
            "CALLBACK-23",
            "the job is {} but callback.nextAttemptAt is {}, expected null until the job is terminal",
            doc["status"],
            cb["nextAttemptAt"]
        );
    } else if state == "pending" {
        ensure!(
            cb["nextAttemptAt"].as_str().is_some_and(is_gen2),
            "CALLBACK-23",
            "the job is terminal and its delivery pending, so nextAttemptAt must be the time the next attempt is due (GEN-2), got {}",
            cb["nextAttemptAt"]
        );
        if attempts == 0 {
            ensure!(
                same_instant(&cb["nextAttemptAt"], &doc["finishedAt"]),
                "CALLBACK-7",
                "the first attempt must be due at once: nextAttemptAt is {} but finishedAt is {}",
                cb["nextAttemptAt"],
                doc["finishedAt"]
            );
        }
    } else {
        ensure!(
            cb["nextAttemptAt"].is_null(),
            "CALLBACK-23",
            "the delivery has ended ({state}) but nextAttemptAt is {}, expected null",
            cb["nextAttemptAt"]
        );
    }
    Ok(())
}

/// Judge the order of the `callback` members seen over time: `attempts`
/// never decreases and the state never changes once it is not `pending`.
fn check_progression(seen: &[Value]) -> Outcome {
    let mut ended: Option<String> = None;
    let mut attempts = 0;
    for doc in seen {
        let cb = &doc["callback"];
        let state = cb["state"].as_str().unwrap_or("").to_owned();
        match &ended {
            Some(end) => ensure!(
                state == *end,
                "CALLBACK-22",
                "callback.state changed from {end} to {state} after the delivery had ended"
            ),
            None if state != "pending" => ended = Some(state),
            None => {}
        }
        let n = cb["attempts"].as_u64().unwrap_or(0);
        ensure!(
            n >= attempts,
            "CALLBACK-23",
            "callback.attempts went back from {attempts} to {n}"
        );
        attempts = n;
    }
    Ok(())
}

/// Wait until the job's delivery has ended, judging every document seen on
/// the way, then read it once more: the state must not change after the end
/// (CALLBACK-22). `requirement` is the one broken if it never ends.
async fn wait_delivery_end(
    ctx: &Ctx,
    job: &Job,
    within: Duration,
    requirement: &'static str,
) -> Result<Value, Finding> {
    let seen = Mutex::new(vec![job.doc.clone()]);
    let bad: Mutex<Option<Finding>> = Mutex::new(None);
    let end = ctx
        .wait_job(
            &job.url,
            "done delivering its callback (callback.state other than pending)",
            within,
            requirement,
            |doc| {
                if let Err(finding) = check_member(doc) {
                    *bad.lock().expect("lock") = Some(finding);
                    return true;
                }
                seen.lock().expect("lock").push(doc.clone());
                doc["callback"]["state"]
                    .as_str()
                    .is_some_and(|s| s != "pending")
            },
        )
        .await;
    if let Some(finding) = bad.into_inner().expect("lock") {
        return Err(finding);
    }
    check_progression(&seen.into_inner().expect("lock"))?;
    let end = end?;
    let again = ctx.job_doc(&job.url).await?;
    check_member(&again)?;
    ensure!(
        again["callback"]["state"] == end["callback"]["state"]
            && again["callback"]["attempts"] == end["callback"]["attempts"],
        "CALLBACK-22",
        "the delivery had ended as {} after {} attempt(s), but the next read shows {} after {}",
        end["callback"]["state"],
        end["callback"]["attempts"],
        again["callback"]["state"],
        again["callback"]["attempts"]
    );
    Ok(end)
}

/// Judge how a delivery ended: `state` (else `requirement`), `attempts`,
/// `lastStatusCode` = `status` and `lastError` null (CALLBACK-23).
fn expect_end(
    end: &Value,
    state: &str,
    requirement: &'static str,
    attempts: u64,
    status: u16,
) -> Outcome {
    let cb = &end["callback"];
    if cb["state"] != state {
        return Err(Finding::violation(
            requirement,
            format!(
                "expected the delivery to end {state} after {attempts} attempt(s), the last answered {status}; the job's callback is {cb}"
            ),
        ));
    }
    ensure!(
        cb["attempts"] == attempts,
        "CALLBACK-23",
        "the receiver's script ends the delivery {state} at attempt {attempts}, but callback.attempts is {} (an attempt made twice, or one not counted?)",
        cb["attempts"]
    );
    ensure!(
        cb["lastStatusCode"] == status && cb["lastError"].is_null(),
        "CALLBACK-23",
        "the last attempt was answered {status}: expected lastStatusCode {status} and lastError null, got {} and {}",
        cb["lastStatusCode"],
        cb["lastError"]
    );
    Ok(())
}

/// After attempt 1 was answered `status` (a failure): wait until the
/// document shows the attempt; while the next one is pending it must say so
/// (`requirement` names the rule that makes the attempt a failed one) with
/// `lastStatusCode` and a `nextAttemptAt` at least `wait` seconds after the
/// attempt (`wait_requirement`), at most `wait` + 2 s after it (CALLBACK-23).
#[allow(clippy::too_many_arguments)]
async fn after_failed_first(
    ctx: &Ctx,
    job: &Job,
    first: &Attempt,
    status: u16,
    wait: f64,
    requirement: &'static str,
    wait_requirement: &'static str,
) -> Outcome {
    let within = Duration::from_secs_f64(wait) + ctx.timeouts().request;
    let seen = ctx
        .wait_job(
            &job.url,
            "showing its first callback attempt",
            within,
            "CALLBACK-23",
            |doc| doc["callback"]["attempts"].as_u64().unwrap_or(0) >= 1,
        )
        .await?;
    check_member(&seen)?;
    let cb = &seen["callback"];
    if cb["attempts"] != 1 {
        return Ok(());
    }
    if cb["state"] != "pending" {
        return Err(Finding::violation(
            requirement,
            format!(
                "attempt 1 was answered {status}, a failed attempt, and more attempts are allowed, but the delivery ended: callback is {cb}"
            ),
        ));
    }
    ensure!(
        cb["lastStatusCode"] == status && cb["lastError"].is_null(),
        "CALLBACK-23",
        "attempt 1 was answered {status}: expected lastStatusCode {status} and lastError null, got {} and {}",
        cb["lastStatusCode"],
        cb["lastError"]
    );
    let ts = webhook_timestamp(first)? as f64;
    let next = epoch(&cb["nextAttemptAt"]).unwrap_or(0.0);
    if next < ts + wait - EARLY {
        return Err(Finding::violation(
            wait_requirement,
            format!(
                "attempt 1 (webhook-timestamp {ts}) was answered {status}, so the next one is due {wait} s after it ended, but nextAttemptAt is {}",
                cb["nextAttemptAt"]
            ),
        ));
    }
    ensure!(
        next <= ts + wait + 2.0,
        "CALLBACK-23",
        "attempt 1 (webhook-timestamp {ts}) was answered {status} and the wait is {wait} s, but nextAttemptAt is {}, later than the time the next attempt is due",
        cb["nextAttemptAt"]
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Attempts.

/// The attempt's `webhook-timestamp` (CALLBACK-10).
fn webhook_timestamp(attempt: &Attempt) -> Result<i64, Finding> {
    let raw = attempt.header("webhook-timestamp");
    raw.filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<i64>().ok())
        .ok_or_else(|| {
            Finding::violation(
                "CALLBACK-10",
                format!(
                    "webhook-timestamp is {raw:?}, expected the attempt's time as integer seconds since the Unix epoch"
                ),
            )
        })
}

/// The attempt's `webhook-id` is `msg_<job id>` (CALLBACK-10).
fn check_webhook_id(attempt: &Attempt, job_id: &str) -> Outcome {
    let want = format!("msg_{job_id}");
    ensure!(
        attempt.header("webhook-id") == Some(want.as_str()),
        "CALLBACK-10",
        "webhook-id is {:?}, expected {want:?} (msg_ and the job's id, the same on every attempt)",
        attempt.header("webhook-id")
    );
    Ok(())
}

/// The first attempt's `webhook-timestamp` is the time of the attempt: not
/// before the job finished, and not later than the time that passed on the
/// suite's clock since the start request was sent (both on the server's
/// clock, so skew does not matter).
fn check_first_timestamp(attempt: &Attempt, doc: &Value, since_start: Duration) -> Outcome {
    let ts = webhook_timestamp(attempt)? as f64;
    let finished = epoch(&doc["finishedAt"]).unwrap_or(0.0);
    ensure!(
        ts >= finished.floor(),
        "CALLBACK-10",
        "webhook-timestamp {ts} is before the job's finishedAt {}; the attempt came after the job ended",
        doc["finishedAt"]
    );
    ensure!(
        ts <= finished + seconds(since_start) + 1.0,
        "CALLBACK-10",
        "webhook-timestamp {ts} is {:.1} s after the job's finishedAt {}, but the attempt arrived {:.1} s after the job was started",
        ts - finished,
        doc["finishedAt"],
        seconds(since_start)
    );
    Ok(())
}

/// Later attempts' `webhook-timestamp`s move as the attempts do (CALLBACK-10).
fn check_timestamps_follow(attempts: &[Attempt]) -> Outcome {
    for pair in attempts.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let moved = (webhook_timestamp(b)? - webhook_timestamp(a)?) as f64;
        let elapsed = gap(a, b);
        ensure!(
            (moved - elapsed).abs() <= 1.5,
            "CALLBACK-10",
            "two attempts arrived {elapsed:.2} s apart but their webhook-timestamps differ by {moved} s; each must be the time of its own attempt"
        );
    }
    Ok(())
}

/// The media type of the attempt's `Content-Type`.
fn attempt_media_type(attempt: &Attempt) -> Option<String> {
    attempt.header("content-type").map(|ct| {
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    })
}

/// Judge a `POST` attempt's body against the job's terminal document
/// (CALLBACK-8) and return the event.
fn check_event(attempt: &Attempt, doc: &Value) -> Result<Value, Finding> {
    ensure!(
        attempt_media_type(attempt).as_deref() == Some("application/json"),
        "CALLBACK-8",
        "the POST attempt has Content-Type {:?}, expected application/json",
        attempt.header("content-type")
    );
    let event: Value = match serde_json::from_slice(&attempt.body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return Err(Finding::violation(
                "CALLBACK-8",
                format!(
                    "the attempt's body is not a JSON object: {}",
                    show_body(&attempt.body)
                ),
            ));
        }
    };
    let status = doc["status"].as_str().unwrap_or("");
    ensure!(
        event["type"] == format!("job.{status}"),
        "CALLBACK-8",
        "the event's type is {}, expected \"job.{status}\" for a {status} job",
        event["type"]
    );
    ensure!(
        event["timestamp"].as_str().is_some_and(is_gen2),
        "CALLBACK-8",
        "the event's timestamp is {}, expected a GEN-2 time (UTC, Z, three fractional digits)",
        event["timestamp"]
    );
    ensure!(
        same_instant(&event["timestamp"], &doc["finishedAt"]),
        "CALLBACK-8",
        "the event's timestamp is {} but the job's finishedAt is {}",
        event["timestamp"],
        doc["finishedAt"]
    );
    let data = &event["data"];
    ensure!(
        data.is_object(),
        "CALLBACK-8",
        "the event's data is {}, expected the job document",
        data
    );
    for name in STABLE {
        ensure!(
            data.get(name) == doc.get(name),
            "CALLBACK-8",
            "data.{name} is {}, but the job's terminal document has {}",
            data.get(name).unwrap_or(&Value::Null),
            doc.get(name).unwrap_or(&Value::Null)
        );
    }
    ensure!(
        data.get("result").is_some() == doc.get("result").is_some(),
        "CALLBACK-8",
        "data.result is {}, but the job's terminal document has {}",
        data["result"],
        doc["result"]
    );
    for name in ["mediaType", "size", "sha256"] {
        ensure!(
            data["result"][name] == doc["result"][name],
            "CALLBACK-8",
            "data.result.{name} is {}, but the job's terminal document has {}",
            data["result"][name],
            doc["result"][name]
        );
    }
    let mut urls: Vec<(String, &Value)> = Vec::new();
    if let Some(links) = data["links"].as_object() {
        for (name, value) in links {
            urls.push((format!("links.{name}"), value));
        }
    }
    if data.get("result").is_some() {
        urls.push(("result.href".into(), &data["result"]["href"]));
    }
    if data.get("resourceLocation").is_some() {
        urls.push(("resourceLocation".into(), &data["resourceLocation"]));
    }
    ensure!(
        !urls.is_empty(),
        "CALLBACK-8",
        "the event's data has no links; it must be the job document"
    );
    for (name, value) in urls {
        let absolute = value
            .as_str()
            .and_then(|u| url::Url::parse(u).ok())
            .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        ensure!(
            absolute,
            "CALLBACK-8",
            "data.{name} is {value}; the URLs in the event must be absolute"
        );
    }
    Ok(event)
}

/// The Standard Webhooks signature of `body` (CALLBACK-11) under the key
/// CALLBACK-5 derives from `secret`, or `None` for a `whsec_` secret that is
/// not base64.
pub fn sign(secret: &str, webhook_id: &str, timestamp: &str, body: &[u8]) -> Option<String> {
    let key = match secret.strip_prefix("whsec_") {
        Some(rest) => STANDARD.decode(rest).ok()?,
        None => secret.as_bytes().to_vec(),
    };
    Some(sign_with_key(&key, webhook_id, timestamp, body))
}

fn sign_with_key(key: &[u8], webhook_id: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(webhook_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The attempt carries the signature of `signed_body` under `secret`.
fn check_signature(attempt: &Attempt, secret: &str, signed_body: &[u8]) -> Outcome {
    let id = attempt.header("webhook-id").unwrap_or("");
    let ts = attempt.header("webhook-timestamp").unwrap_or("");
    let got = attempt.header("webhook-signature");
    ensure!(
        got.is_some(),
        "CALLBACK-11",
        "the job has a secret but the attempt has no webhook-signature header"
    );
    let want = sign(secret, id, ts, signed_body)
        .ok_or_else(|| Finding::error(format!("the suite's secret {secret:?} is not base64")))?;
    if got == Some(want.as_str()) {
        return Ok(());
    }
    if let Some(rest) = secret.strip_prefix("whsec_") {
        let text_key = sign_with_key(secret.as_bytes(), id, ts, signed_body);
        let rest_key = sign_with_key(rest.as_bytes(), id, ts, signed_body);
        ensure!(
            got != Some(text_key.as_str()) && got != Some(rest_key.as_str()),
            "CALLBACK-5",
            "webhook-signature {got:?} is signed with the text of the whsec_ secret as the key; the key is the bytes the base64 after whsec_ decodes to (expected {want:?})"
        );
    }
    ensure!(
        false,
        "CALLBACK-11",
        "webhook-signature is {got:?}, expected {want:?}: \"v1,\" and the base64 HMAC-SHA256 of \"{id}.{ts}.<body>\" ({} body bytes) under the key of the job's secret",
        signed_body.len()
    );
    Ok(())
}

/// A signature on a job without a secret can only come from a server-wide
/// secret the suite does not know: only its form is judged.
fn check_signature_form(attempt: &Attempt) -> Outcome {
    let Some(value) = attempt.header("webhook-signature") else {
        return Ok(());
    };
    let well_formed = value
        .strip_prefix("v1,")
        .and_then(|b| STANDARD.decode(b).ok())
        .is_some_and(|mac| mac.len() == 32);
    ensure!(
        well_formed,
        "CALLBACK-11",
        "a job without a secret got webhook-signature {value:?}: it must carry none unless a server-wide secret applies, and then \"v1,\" and the base64 of an HMAC-SHA256"
    );
    Ok(())
}

/// Cancel a job and return the canceled document.
async fn cancel(ctx: &Ctx, job: &Job) -> Result<Value, Finding> {
    let response = ctx
        .request(Method::POST, &job.sub("/cancel"))
        .send()
        .await?;
    ensure!(
        response.status == 200,
        "CANCEL-1",
        "cancel of an active job answered {}: {}",
        response.status,
        show_body(&response.body)
    );
    let doc = response.json_object("CANCEL-1")?;
    ensure!(
        doc["status"] == "canceled",
        "CANCEL-1",
        "cancel answered 200 with status {}",
        doc["status"]
    );
    Ok(doc)
}

// ---------------------------------------------------------------------------
// The checks.

async fn limits(ctx: Ctx) -> Outcome {
    let response = ctx.get("/v1").send().await?;
    let doc = response.json_object("CALLBACK-6")?;
    let cb = &doc["limits"]["callbacks"];
    ensure!(
        cb.is_object(),
        "CALLBACK-6",
        "limits.callbacks is {cb}, expected an object"
    );
    for name in [
        "maxAttempts",
        "defaultMaxAttempts",
        "minIntervalSeconds",
        "maxIntervalSeconds",
        "defaultIntervalSeconds",
        "timeoutSeconds",
    ] {
        ensure!(
            cb[name].is_u64(),
            "CALLBACK-6",
            "limits.callbacks.{name} is {}, expected a non-negative integer",
            cb[name]
        );
    }
    let v = |name: &str| cb[name].as_u64().unwrap_or(0);
    ensure!(
        1 <= v("defaultMaxAttempts") && v("defaultMaxAttempts") <= v("maxAttempts"),
        "CALLBACK-6",
        "expected 1 <= defaultMaxAttempts <= maxAttempts, got {} and {}",
        v("defaultMaxAttempts"),
        v("maxAttempts")
    );
    ensure!(
        1 <= v("minIntervalSeconds")
            && v("minIntervalSeconds") <= v("defaultIntervalSeconds")
            && v("defaultIntervalSeconds") <= v("maxIntervalSeconds"),
        "CALLBACK-6",
        "expected 1 <= minIntervalSeconds <= defaultIntervalSeconds <= maxIntervalSeconds, got {}, {}, {}",
        v("minIntervalSeconds"),
        v("defaultIntervalSeconds"),
        v("maxIntervalSeconds")
    );
    ensure!(
        v("timeoutSeconds") >= 1,
        "CALLBACK-6",
        "limits.callbacks.timeoutSeconds is {}, expected >= 1",
        v("timeoutSeconds")
    );
    Ok(())
}

async fn malformed(ctx: Ctx) -> Outcome {
    // Shape comes before the URL guard (JOB-CREATE-7), so any URL will do;
    // the receiver's is one the server could call if it wrongly accepted.
    let url = ctx.receiver().endpoint(ctx.check_id(), vec![]).url;
    let cid = correlation(&ctx);
    let cases: Vec<(&str, Value)> = vec![
        ("a string instead of an object", json!(url)),
        ("null instead of an object", Value::Null),
        ("an array instead of an object", json!([url])),
        ("no url", json!({"method": "POST"})),
        ("a url that is a number", json!({"url": 42})),
        (
            "an unknown member `headers`",
            json!({"url": url, "headers": {}}),
        ),
        (
            "an unknown member `jitter` in retry",
            json!({"url": url, "retry": {"jitter": true}}),
        ),
        (
            "a method that is a number",
            json!({"url": url, "method": 1}),
        ),
        (
            "a secret that is a number",
            json!({"url": url, "secret": 12_345_678}),
        ),
        ("a retry that is a number", json!({"url": url, "retry": 3})),
        (
            "a retry.maxAttempts that is a string",
            json!({"url": url, "retry": {"maxAttempts": "3"}}),
        ),
        (
            "a retry.maxAttempts that is a fraction",
            json!({"url": url, "retry": {"maxAttempts": 2.5}}),
        ),
        (
            "a retry.initialIntervalSeconds that is a string",
            json!({"url": url, "retry": {"initialIntervalSeconds": "5"}}),
        ),
        (
            "a retry.backoff that is a number",
            json!({"url": url, "retry": {"backoff": 2}}),
        ),
    ];
    for (what, callback) in cases {
        let body = json!({"params": {"durationMs": 0}, "correlationId": cid, "callback": callback});
        refused(&ctx, &body, 400, "malformed-request", "CALLBACK-2", what).await?;
    }
    no_job_with(&ctx, &cid, "JOB-CREATE-6").await
}

async fn bounds(ctx: Ctx) -> Outcome {
    let l = cb_limits(&ctx)?;
    let endpoint = ctx.callback_endpoint(vec![])?;
    let url = endpoint.url.clone();
    let cid = correlation(&ctx);
    let retry = |r: Value| json!({"url": url, "retry": r});
    let mut cases: Vec<(String, Value)> = vec![
        (
            "method \"post\" (not exactly POST)".into(),
            json!({"url": url, "method": "post"}),
        ),
        (
            "method \"PUT\"".into(),
            json!({"url": url, "method": "PUT"}),
        ),
        (
            "a secret of 7 characters".into(),
            json!({"url": url, "secret": "1234567"}),
        ),
        (
            "a secret of 513 characters".into(),
            json!({"url": url, "secret": "s".repeat(513)}),
        ),
        (
            "a whsec_ secret whose rest is not base64".into(),
            json!({"url": url, "secret": "whsec_not*base64!"}),
        ),
        (
            "a whsec_ secret whose base64 lacks its padding".into(),
            json!({"url": url, "secret": "whsec_c2VjcmV0LWtleQ"}),
        ),
        (
            "retry.maxAttempts 0".into(),
            retry(json!({"maxAttempts": 0})),
        ),
        (
            "retry.maxAttempts -1".into(),
            retry(json!({"maxAttempts": -1})),
        ),
        (
            format!(
                "retry.maxAttempts {} (limits.callbacks.maxAttempts + 1)",
                l.max_attempts + 1
            ),
            retry(json!({"maxAttempts": l.max_attempts + 1})),
        ),
        (
            format!(
                "retry.initialIntervalSeconds {} (limits.callbacks.minIntervalSeconds - 1)",
                l.min_interval_seconds.saturating_sub(1)
            ),
            retry(json!({"initialIntervalSeconds": l.min_interval_seconds.saturating_sub(1)})),
        ),
        (
            format!(
                "retry.initialIntervalSeconds {} (limits.callbacks.maxIntervalSeconds + 1)",
                l.max_interval_seconds + 1
            ),
            retry(json!({"initialIntervalSeconds": l.max_interval_seconds + 1})),
        ),
        (
            "retry.backoff \"linear\"".into(),
            retry(json!({"backoff": "linear"})),
        ),
        (
            "retry.backoff \"Fixed\" (not exactly fixed)".into(),
            retry(json!({"backoff": "Fixed"})),
        ),
    ];
    if l.min_interval_seconds == 0 {
        // Not a valid limits.callbacks (callbacks.limits says so); drop the
        // case that would be in bounds.
        cases.retain(|(what, _)| !what.contains("minIntervalSeconds - 1"));
    }
    for (what, callback) in &cases {
        let body = json!({"params": {"durationMs": 0}, "correlationId": cid, "callback": callback});
        refused(&ctx, &body, 422, "invalid-request", "CALLBACK-3", what).await?;
    }
    no_job_with(&ctx, &cid, "CALLBACK-3").await?;

    // The bounds themselves are accepted: they are the values enforced.
    let low = json!({
        "url": url, "secret": "12345678",
        "retry": {"maxAttempts": 1, "initialIntervalSeconds": l.min_interval_seconds, "backoff": "fixed"},
    });
    let high = json!({
        "url": url, "method": "GET", "secret": "\u{e9}".repeat(512),
        "retry": {"maxAttempts": l.max_attempts, "initialIntervalSeconds": l.max_interval_seconds, "backoff": "exponential"},
    });
    let whsec = json!({"url": url, "secret": "whsec_c2VjcmV0LWtleQ=="});
    for (what, callback, max) in [
        (
            "maxAttempts 1, initialIntervalSeconds = minIntervalSeconds, a secret of 8 characters",
            low,
            1,
        ),
        (
            "maxAttempts = limits.callbacks.maxAttempts, initialIntervalSeconds = maxIntervalSeconds, a secret of 512 characters (1024 bytes)",
            high,
            l.max_attempts,
        ),
        (
            "a whsec_ secret with padded base64",
            whsec,
            l.default_max_attempts,
        ),
    ] {
        let probe = ctx.probe().to_owned();
        let response = ctx
            .start(
                &probe,
                &json!({"params": {"durationMs": 0}, "callback": callback}),
            )
            .await?;
        if let Some(location) = response.header("location") {
            ctx.track_job(location);
        }
        ensure!(
            response.status == 202,
            "CALLBACK-6",
            "a callback with {what} is within limits.callbacks, yet the start request was answered {}: {}",
            response.status,
            show_body(&response.body)
        );
        let doc = response.json_object("CALLBACK-21")?;
        check_member(&doc)?;
        ensure!(
            doc["callback"]["maxAttempts"] == max,
            "CALLBACK-21",
            "a callback with {what}: callback.maxAttempts is {}, expected {max} as applied",
            doc["callback"]["maxAttempts"]
        );
    }
    Ok(())
}

async fn url_refused(ctx: Ctx) -> Outcome {
    let endpoint = ctx.receiver().endpoint(ctx.check_id(), vec![]);
    let parsed = url::Url::parse(&endpoint.url)
        .map_err(|e| Finding::error(format!("the receiver's URL {}: {e}", endpoint.url)))?;
    let authority = match (parsed.host_str(), parsed.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => return Err(Finding::error("the receiver's URL has no host")),
    };
    let path = parsed.path().to_owned();
    let cid = correlation(&ctx);
    // URL-GUARD-1 faults: refused whatever the operator allows.
    let mut urls: Vec<(String, String, &'static str)> = vec![
        (
            format!("ftp://{authority}{path}"),
            "an ftp: URL".into(),
            "URL-GUARD-6",
        ),
        (
            "file:///etc/passwd".into(),
            "a file: URL".into(),
            "URL-GUARD-6",
        ),
        (
            format!("http://user:secret@{authority}{path}"),
            "a URL with credentials".into(),
            "URL-GUARD-6",
        ),
        (
            format!("http://user@{authority}{path}"),
            "a URL with a user name".into(),
            "URL-GUARD-6",
        ),
        (path.clone(), "a relative URL".into(), "URL-GUARD-6"),
        (
            "not a URL".into(),
            "text that is not a URL".into(),
            "URL-GUARD-6",
        ),
        (
            "http://".into(),
            "a URL without a host".into(),
            "URL-GUARD-6",
        ),
    ];
    // URL-GUARD-2 faults: only when the operator refuses private networks.
    if ctx.server().private_networks_allowed == Some(false) {
        let port = ctx.receiver().bound().port();
        for host in ["127.0.0.1", "localhost", "[::1]"] {
            urls.push((
                format!("http://{host}:{port}{path}"),
                format!("the receiver at the loopback address {host}"),
                "URL-GUARD-6",
            ));
        }
        for host in ["2130706433", "0x7f.0.0.1", "127.1", "[::ffff:127.0.0.1]"] {
            urls.push((
                format!("http://{host}:{port}{path}"),
                format!("the receiver at the loopback address spelled {host}"),
                "URL-GUARD-9",
            ));
        }
        for url in [
            "http://10.0.0.1/cb",
            "http://192.168.0.1/cb",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00::1]/cb",
            "http://0.0.0.0/cb",
        ] {
            urls.push((url.into(), "a private address".into(), "URL-GUARD-6"));
        }
    }
    for (url, what, requirement) in urls {
        let body =
            json!({"params": {"durationMs": 0}, "correlationId": cid, "callback": {"url": url}});
        let what = format!("{what} ({url})");
        let problem = refused(&ctx, &body, 422, "url-not-allowed", requirement, &what).await?;
        ensure!(
            problem.get("errors").is_none(),
            "URL-GUARD-6",
            "the url-not-allowed problem for a callback URL ({what}) has an `errors` member ({}); only an input's url-not-allowed has one",
            problem["errors"]
        );
    }
    let got = endpoint.attempts();
    ensure!(
        got.is_empty(),
        "URL-GUARD-6",
        "the receiver got {} request(s) ({} …) for callback URLs the server refused",
        got.len(),
        got[0].method
    );
    no_job_with(&ctx, &cid, "URL-GUARD-6").await
}

async fn defaults(ctx: Ctx) -> Outcome {
    let l = cb_limits(&ctx)?;
    let plain = ctx.callback_endpoint(vec![])?;
    let bare = start(&ctx, json!({"durationMs": 0}), json!({"url": plain.url})).await?;
    let empty = start(
        &ctx,
        json!({"durationMs": 0}),
        json!({"url": plain.url, "retry": {}}),
    )
    .await?;
    for (job, what) in [
        (&bare, "without method and retry"),
        (&empty, "with an empty retry"),
    ] {
        check_member(&job.doc)?;
        ensure!(
            job.doc["callback"]["method"] == "POST",
            "CALLBACK-4",
            "a callback {what}: callback.method is {}, expected the default POST",
            job.doc["callback"]["method"]
        );
        ensure!(
            job.doc["callback"]["maxAttempts"] == l.default_max_attempts,
            "CALLBACK-4",
            "a callback {what}: callback.maxAttempts is {}, expected limits.callbacks.defaultMaxAttempts {}",
            job.doc["callback"]["maxAttempts"],
            l.default_max_attempts
        );
    }
    let attempts = plain
        .wait_attempts(2, ctx.timeouts().callback, "CALLBACK-7")
        .await?;
    for attempt in &attempts {
        ensure!(
            attempt.method == "POST",
            "CALLBACK-4",
            "a callback without method was called with {}, expected the default POST",
            attempt.method
        );
    }
    let mut later = Later::default();
    // The default interval, when it is short enough to wait for.
    let interval = l.default_interval_seconds;
    if interval <= 5 && l.max_attempts >= 2 {
        let failing = ctx.callback_endpoint(vec![Answer::Status(500)])?;
        let job = start(
            &ctx,
            json!({"durationMs": 0}),
            json!({"url": failing.url, "retry": {"maxAttempts": 2}}),
        )
        .await?;
        let got = failing
            .wait_attempts(
                2,
                Duration::from_secs(interval) + ctx.timeouts().callback,
                "CALLBACK-14",
            )
            .await?;
        let waited = gap(&got[0], &got[1]);
        ensure!(
            waited >= interval as f64 - EARLY,
            "CALLBACK-4",
            "without initialIntervalSeconds the wait after the first failed attempt must be limits.callbacks.defaultIntervalSeconds ({interval} s), but the second attempt came {waited:.2} s after the first"
        );
        later.should(
            waited <= interval as f64 + 1.0 + seconds(SHOULD_ALLOWANCE),
            "CALLBACK-16",
            || {
                format!(
                    "the second attempt came {waited:.2} s after the first; with the default interval of {interval} s it should start within 1 s after the wait"
                )
            },
        );
        let end = wait_delivery_end(&ctx, &job, ctx.timeouts().callback, "CALLBACK-12").await?;
        expect_end(&end, "delivered", "CALLBACK-12", 2, 204)?;
    }
    later.finish()
}

async fn document_member(ctx: Ctx) -> Outcome {
    let l = cb_limits(&ctx)?;
    let endpoint = ctx.callback_endpoint(vec![])?;
    let without = ctx.start_probe(json!({"durationMs": 0})).await?;
    ensure!(
        without.doc.get("callback").is_none(),
        "CALLBACK-21",
        "a job started without a callback has `callback` = {} in its 202 document; the member must be absent",
        without.doc["callback"]
    );
    let given = json!({
        "url": endpoint.url, "method": "GET",
        "retry": {"maxAttempts": 3, "initialIntervalSeconds": l.min_interval_seconds, "backoff": "fixed"},
    });
    let job = start(&ctx, json!({"durationMs": 300, "steps": 2}), given).await?;
    check_member(&job.doc)?;
    let cb = &job.doc["callback"];
    ensure!(
        cb["url"] == endpoint.url.as_str(),
        "CALLBACK-21",
        "callback.url is {}, expected the URL as given, {:?}",
        cb["url"],
        endpoint.url
    );
    ensure!(
        cb["method"] == "GET",
        "CALLBACK-21",
        "callback.method is {}, expected GET as given",
        cb["method"]
    );
    ensure!(
        cb["maxAttempts"] == 3,
        "CALLBACK-21",
        "callback.maxAttempts is {}, expected 3 as given",
        cb["maxAttempts"]
    );
    // The event stream shows the delivery as it was recorded at the end.
    if ctx.claims("events") {
        let response = ctx.get(&job.sub("/events")).send_streaming().await?;
        if response.status().as_u16() == 200 {
            let mut stream = EventStream::new(response);
            let deadline = Instant::now() + ctx.timeouts().job;
            while let Next::Event(event) = stream
                .next(deadline.saturating_duration_since(Instant::now()))
                .await
            {
                let Ok(doc) = serde_json::from_str::<Value>(&event.data.join("\n")) else {
                    break; // the events checks judge that
                };
                check_member(&doc)?;
                if is_terminal(&doc) {
                    break;
                }
            }
        }
    }
    let end = wait_delivery_end(&ctx, &job, ctx.timeouts().callback, "CALLBACK-12").await?;
    expect_end(&end, "delivered", "CALLBACK-12", 1, 204)?;
    ensure!(
        end["callback"]["url"] == endpoint.url.as_str() && end["callback"]["method"] == "GET",
        "CALLBACK-21",
        "after the delivery callback.url and method are {} and {}, expected {:?} and GET as given",
        end["callback"]["url"],
        end["callback"]["method"],
        endpoint.url
    );
    let done = ctx.wait_terminal(&without.url, "JOB-STATE-2").await?;
    ensure!(
        done.get("callback").is_none(),
        "CALLBACK-21",
        "a terminal job started without a callback has `callback` = {}; the member must be absent",
        done["callback"]
    );
    Ok(())
}

/// Start a job with `params` and a plain callback, and judge its one
/// delivery: due at once, a POST with the event of its terminal document.
async fn deliver_once(ctx: &Ctx, params: Value, status: &str) -> Outcome {
    let endpoint = ctx.callback_endpoint(vec![])?;
    let sent = Instant::now();
    let cid = correlation(ctx);
    let job = ctx
        .start_probe_with(
            json!({"params": params, "correlationId": cid, "callback": {"url": endpoint.url}}),
        )
        .await?;
    check_member(&job.doc)?;
    let terminal = ctx.wait_terminal(&job.url, "JOB-STATE-2").await?;
    let seen_terminal = Instant::now();
    if terminal["status"] != status {
        return Err(Finding::error(format!(
            "the probe job ended {} instead of {status}; the probe checks say why",
            terminal["status"]
        )));
    }
    check_member(&terminal)?;
    let attempts = endpoint
        .wait_attempts(1, ctx.timeouts().callback, "CALLBACK-7")
        .await?;
    let first = &attempts[0];
    ensure!(
        first.method == "POST",
        "CALLBACK-4",
        "a callback without method was called with {}, expected the default POST",
        first.method
    );
    check_webhook_id(first, &job.id)?;
    check_first_timestamp(first, &terminal, first.at.saturating_duration_since(sent))?;
    check_event(first, &terminal)?;
    check_signature_form(first)?;
    let end = wait_delivery_end(ctx, &job, ctx.timeouts().callback, "CALLBACK-12").await?;
    expect_end(&end, "delivered", "CALLBACK-12", 1, 204)?;
    let got = endpoint.attempts().len();
    ensure!(
        got == 1,
        "CALLBACK-12",
        "the first attempt was answered 204, yet the receiver got {got} attempts"
    );
    let delay = first.at.saturating_duration_since(seen_terminal);
    ensure_should!(
        delay <= Duration::from_secs(1) + SHOULD_ALLOWANCE,
        "CALLBACK-7",
        "the first attempt arrived {:.2} s after the suite saw the job {status}; it should start within 1 s of the end",
        seconds(delay)
    );
    Ok(())
}

async fn delivery_succeeded(ctx: Ctx) -> Outcome {
    deliver_once(
        &ctx,
        json!({"durationMs": 0, "echo": "callback"}),
        "succeeded",
    )
    .await
}

async fn delivery_failed(ctx: Ctx) -> Outcome {
    deliver_once(
        &ctx,
        json!({"durationMs": 0, "fail": {"code": "callback-check", "message": "failing on purpose"}}),
        "failed",
    )
    .await
}

async fn delivery_canceled(ctx: Ctx) -> Outcome {
    if !ctx.claims("cancel") {
        return Err(Finding::skip(
            "the server does not claim `cancel`, the way this check ends jobs canceled",
        ));
    }
    let at_once = ctx.callback_endpoint(vec![])?;
    let running = ctx.callback_endpoint(vec![])?;
    let a = start(&ctx, hold_params(), json!({"url": at_once.url})).await?;
    let a_doc = cancel(&ctx, &a).await?;
    let b = start(&ctx, hold_params(), json!({"url": running.url})).await?;
    ctx.wait_status(&b.url, "running", "JOB-STATE-2").await?;
    let b_doc = cancel(&ctx, &b).await?;
    let how_a = if a_doc["startedAt"].is_null() {
        "canceled while queued"
    } else {
        "canceled right after its start (it was already running)"
    };
    for (endpoint, job, doc, how) in [
        (&at_once, &a, &a_doc, how_a),
        (&running, &b, &b_doc, "canceled while running"),
    ] {
        check_member(doc)?;
        let attempts = endpoint
            .wait_attempts(1, ctx.timeouts().callback, "CALLBACK-7")
            .await
            .map_err(|f| about(f, &format!("a job {how}")))?;
        check_webhook_id(&attempts[0], &job.id)?;
        check_event(&attempts[0], doc).map_err(|f| about(f, &format!("a job {how}")))?;
        let end = wait_delivery_end(&ctx, job, ctx.timeouts().callback, "CALLBACK-12").await?;
        expect_end(&end, "delivered", "CALLBACK-12", 1, 204)?;
    }
    Ok(())
}

async fn get_method(ctx: Ctx) -> Outcome {
    let endpoint = ctx.callback_endpoint(vec![])?;
    let secret = whsec_random();
    let url = format!("{}?src=ci", endpoint.url);
    let job = start(
        &ctx,
        json!({"durationMs": 0}),
        json!({"url": url, "method": "GET", "secret": secret}),
    )
    .await?;
    check_member(&job.doc)?;
    ensure!(
        job.doc["callback"]["method"] == "GET" && job.doc["callback"]["url"] == url.as_str(),
        "CALLBACK-21",
        "callback.method and url are {} and {}, expected GET and {url:?} as given",
        job.doc["callback"]["method"],
        job.doc["callback"]["url"]
    );
    let attempts = endpoint
        .wait_attempts(1, ctx.timeouts().callback, "CALLBACK-7")
        .await?;
    let first = &attempts[0];
    ensure!(
        first.method == "GET",
        "CALLBACK-9",
        "a callback with method GET was called with {}",
        first.method
    );
    let want = format!("src=ci&jobId={}", job.id);
    ensure!(
        first.query == want,
        "CALLBACK-9",
        "the GET attempt's query is {:?}, expected {want:?}: jobId appended after & since the URL already has a query",
        first.query
    );
    ensure!(
        first.body.is_empty(),
        "CALLBACK-9",
        "a GET attempt must have no body, it has {} bytes: {}",
        first.body.len(),
        show_body(&first.body)
    );
    check_webhook_id(first, &job.id)?;
    webhook_timestamp(first)?;
    check_signature(first, &secret, b"")?;
    let end = wait_delivery_end(&ctx, &job, ctx.timeouts().callback, "CALLBACK-12").await?;
    expect_end(&end, "delivered", "CALLBACK-12", 1, 204)
}

async fn signatures(ctx: Ctx) -> Outcome {
    let with_whsec = ctx.callback_endpoint(vec![])?;
    let with_text = ctx.callback_endpoint(vec![])?;
    let without = ctx.callback_endpoint(vec![])?;
    let whsec = whsec_random();
    let text = format!("plain-secret-{}", uuid::Uuid::now_v7().simple());
    let jobs = [
        (
            &with_whsec,
            Some(whsec.as_str()),
            json!({"url": with_whsec.url, "secret": whsec}),
        ),
        (
            &with_text,
            Some(text.as_str()),
            json!({"url": with_text.url, "secret": text}),
        ),
        (&without, None, json!({"url": without.url})),
    ];
    let mut started = Vec::new();
    for (endpoint, secret, callback) in jobs {
        let job = start(&ctx, json!({"durationMs": 0}), callback).await?;
        started.push((endpoint, secret, job));
    }
    for (endpoint, secret, job) in &started {
        let attempts = endpoint
            .wait_attempts(1, ctx.timeouts().callback, "CALLBACK-7")
            .await?;
        let first = &attempts[0];
        check_webhook_id(first, &job.id)?;
        webhook_timestamp(first)?;
        match secret {
            Some(secret) => check_signature(first, secret, &first.body)?,
            None => check_signature_form(first)?,
        }
    }
    Ok(())
}

/// Judge the MUST and SHOULD of the waits between attempts (CALLBACK-16).
fn check_waits(attempts: &[Attempt], waits: &[f64], how: &str, later: &mut Later) -> Outcome {
    for (k, wait) in waits.iter().enumerate() {
        let got = gap(&attempts[k], &attempts[k + 1]);
        ensure!(
            got >= wait - EARLY,
            "CALLBACK-16",
            "attempt {} came {got:.2} s after attempt {}, before the wait of {wait} s ({how}) had passed",
            k + 2,
            k + 1
        );
        later.should(
            got <= wait + 1.0 + seconds(SHOULD_ALLOWANCE),
            "CALLBACK-16",
            || {
                format!(
                    "attempt {} came {got:.2} s after attempt {}; after the wait of {wait} s ({how}) it should start within 1 s",
                    k + 2,
                    k + 1
                )
            },
        );
    }
    Ok(())
}

async fn retry_exponential(ctx: Ctx) -> Outcome {
    let l = cb_limits(&ctx)?;
    let interval = fast_interval(&l)?;
    if l.max_attempts < 3 {
        return Err(Finding::skip(
            "limits.callbacks.maxAttempts is below 3; two retries cannot be asked for",
        ));
    }
    let cap = l.max_interval_seconds as f64;
    let waits = [(interval as f64).min(cap), (2.0 * interval as f64).min(cap)];
    let secret = format!("retry-secret-{}", uuid::Uuid::now_v7().simple());
    let endpoint = ctx.callback_endpoint(vec![Answer::Status(500), Answer::Status(500)])?;
    // No backoff: the default, exponential (CALLBACK-4).
    let job = start(
        &ctx,
        json!({"durationMs": 0}),
        json!({"url": endpoint.url, "secret": secret, "retry": {"maxAttempts": 3, "initialIntervalSeconds": interval}}),
    )
    .await?;
    let terminal = ctx.wait_terminal(&job.url, "JOB-STATE-2").await?;
    let first = endpoint
        .wait_attempts(1, ctx.timeouts().callback, "CALLBACK-7")
        .await?;
    after_failed_first(
        &ctx,
        &job,
        &first[0],
        500,
        waits[0],
        "CALLBACK-14",
        "CALLBACK-16",
    )
    .await?;
    let attempts = endpoint
        .wait_attempts(
            3,
            Duration::from_secs_f64(waits[0] + waits[1]) + ctx.timeouts().callback,
            "CALLBACK-14",
        )
        .await?;
    let end = wait_delivery_end(&ctx, &job, ctx.timeouts().callback, "CALLBACK-12").await?;
    expect_end(&end, "delivered", "CALLBACK-12", 3, 204)?;
    let got = endpoint.attempts().len();
    ensure!(
        got == 3,
        "CALLBACK-12",
        "the third attempt was answered 204, yet the receiver got {got} attempts"
    );
    for attempt in &attempts {
        check_webhook_id(attempt, &job.id)?;
        check_signature(attempt, &secret, &attempt.body)?;
        ensure!(
            attempt.body == attempts[0].body,
            "CALLBACK-8",
            "the body must be the same bytes on every attempt; attempt 1 sent {} and a later one {}",
            show_body(&attempts[0].body),
            show_body(&attempt.body)
        );
    }
    check_event(&attempts[0], &terminal)?;
    check_timestamps_follow(&attempts)?;
    let mut later = Later::default();
    check_waits(
        &attempts,
        &waits,
        "exponential backoff, the default (CALLBACK-4)",
        &mut later,
    )?;
    later.finish()
}

async fn retry_fixed(ctx: Ctx) -> Outcome {
    let l = cb_limits(&ctx)?;
    let interval = fast_interval(&l)?;
    if l.max_attempts < 3 {
        return Err(Finding::skip(
            "limits.callbacks.maxAttempts is below 3; two retries cannot be asked for",
        ));
    }
    let wait = interval as f64;
    let endpoint = ctx.callback_endpoint(vec![Answer::Status(500), Answer::Status(500)])?;
    let job = start(
        &ctx,
        json!({"durationMs": 0}),
        json!({"url": endpoint.url, "retry": {"maxAttempts": 3, "initialIntervalSeconds": interval, "backoff": "fixed"}}),
    )
    .await?;
    let first = endpoint
        .wait_attempts(1, ctx.timeouts().callback, "CALLBACK-7")
        .await?;
    after_failed_first(
        &ctx,
        &job,
        &first[0],
        500,
        wait,
        "CALLBACK-14",
        "CALLBACK-16",
    )
    .await?;
    let attempts = endpoint
        .wait_attempts(
            3,
            Duration::from_secs_f64(2.0 * wait) + ctx.timeouts().callback,
            "CALLBACK-14",
        )
        .await?;
    let end = wait_delivery_end(&ctx, &job, ctx.timeouts().callback, "CALLBACK-12").await?;
    expect_end(&end, "delivered", "CALLBACK-12", 3, 204)?;
    let mut later = Later::default();
    check_waits(&attempts, &[wait, wait], "fixed backoff", &mut later)?;
    later.finish()
}

async fn retry_after(ctx: Ctx) -> Outcome {
    let l = cb_limits(&ctx)?;
    let interval = fast_interval(&l)?;
    let delay = interval + 1;
    if l.max_interval_seconds < delay || l.max_attempts < 2 {
        return Err(Finding::skip(format!(
            "limits.callbacks.maxIntervalSeconds ({}) leaves no room for a Retry-After longer than the interval, or maxAttempts is below 2",
            l.max_interval_seconds
        )));
    }
    let valid = ctx.callback_endpoint(vec![Answer::RetryAfter(503, delay.to_string())])?;
    let invalid = ctx.callback_endpoint(vec![Answer::RetryAfter(503, "soon".into())])?;
    let retry = json!({"maxAttempts": 2, "initialIntervalSeconds": interval, "backoff": "fixed"});
    let job_valid = start(
        &ctx,
        json!({"durationMs": 0}),
        json!({"url": valid.url, "retry": retry}),
    )
    .await?;
    let job_invalid = start(
        &ctx,
        json!({"durationMs": 0}),
        json!({"url": invalid.url, "retry": retry}),
    )
    .await?;
    let (a, b) = tokio::join!(
        retry_after_valid(&ctx, &job_valid, &valid, interval, delay),
        retry_after_invalid(&ctx, &job_invalid, &invalid, interval)
    );
    worst(a, b)
}

/// A `Retry-After` longer than the scheduled wait lengthens it.
async fn retry_after_valid(
    ctx: &Ctx,
    job: &Job,
    endpoint: &Endpoint,
    interval: u64,
    delay: u64,
) -> Outcome {
    let wait = delay as f64;
    let first = endpoint
        .wait_attempts(1, ctx.timeouts().callback, "CALLBACK-7")
        .await?;
    after_failed_first(ctx, job, &first[0], 503, wait, "CALLBACK-14", "CALLBACK-17").await?;
    let attempts = endpoint
        .wait_attempts(
            2,
            Duration::from_secs_f64(wait) + ctx.timeouts().callback,
            "CALLBACK-14",
        )
        .await?;
    let got = gap(&attempts[0], &attempts[1]);
    ensure!(
        got >= wait - EARLY,
        "CALLBACK-17",
        "attempt 1 was answered 503 with Retry-After: {delay} (the interval is {interval} s), but attempt 2 came {got:.2} s later"
    );
    let end = wait_delivery_end(ctx, job, ctx.timeouts().callback, "CALLBACK-12").await?;
    expect_end(&end, "delivered", "CALLBACK-12", 2, 204)?;
    ensure_should!(
        got <= wait + 1.0 + seconds(SHOULD_ALLOWANCE),
        "CALLBACK-16",
        "attempt 2 came {got:.2} s after attempt 1, which was answered with Retry-After: {delay}; it should start within 1 s after the wait"
    );
    Ok(())
}

/// An invalid `Retry-After` is ignored: the scheduled wait applies.
async fn retry_after_invalid(ctx: &Ctx, job: &Job, endpoint: &Endpoint, interval: u64) -> Outcome {
    let wait = interval as f64;
    let first = endpoint
        .wait_attempts(1, ctx.timeouts().callback, "CALLBACK-7")
        .await?;
    let within = Duration::from_secs_f64(wait) + ctx.timeouts().request;
    let seen = ctx
        .wait_job(
            &job.url,
            "showing its first callback attempt",
            within,
            "CALLBACK-23",
            |doc| doc["callback"]["attempts"].as_u64().unwrap_or(0) >= 1,
        )
        .await?;
    check_member(&seen)?;
    if seen["callback"]["attempts"] == 1 && seen["callback"]["state"] == "pending" {
        let ts = webhook_timestamp(&first[0])? as f64;
        let next = epoch(&seen["callback"]["nextAttemptAt"]).unwrap_or(0.0);
        ensure!(
            next <= ts + wait + 2.0,
            "CALLBACK-17",
            "attempt 1 (webhook-timestamp {ts}) was answered 503 with the invalid Retry-After: soon, which must be ignored, but nextAttemptAt is {}, later than the interval of {interval} s",
            seen["callback"]["nextAttemptAt"]
        );
    }
    let attempts = endpoint
        .wait_attempts(
            2,
            Duration::from_secs_f64(wait + 3.0),
            "CALLBACK-17",
        )
        .await
        .map_err(|f| {
            about(
                f,
                &format!("an invalid Retry-After (\"soon\") must be ignored, so the second attempt is due {interval} s after the first"),
            )
        })?;
    let got = gap(&attempts[0], &attempts[1]);
    ensure!(
        got >= wait - EARLY,
        "CALLBACK-16",
        "attempt 2 came {got:.2} s after attempt 1, before the interval of {interval} s"
    );
    let end = wait_delivery_end(ctx, job, ctx.timeouts().callback, "CALLBACK-12").await?;
    expect_end(&end, "delivered", "CALLBACK-12", 2, 204)?;
    ensure_should!(
        got <= wait + 1.0 + seconds(SHOULD_ALLOWANCE),
        "CALLBACK-16",
        "attempt 2 came {got:.2} s after attempt 1 (answered with an invalid Retry-After, to be ignored); it should start within 1 s after the interval of {interval} s"
    );
    Ok(())
}

async fn gone_stops(ctx: Ctx) -> Outcome {
    let l = cb_limits(&ctx)?;
    let interval = fast_interval(&l)?;
    let endpoint = ctx.callback_endpoint(vec![Answer::Status(410)])?;
    let max = l.max_attempts.min(3);
    let job = start(
        &ctx,
        json!({"durationMs": 0}),
        json!({"url": endpoint.url, "retry": {"maxAttempts": max, "initialIntervalSeconds": interval, "backoff": "fixed"}}),
    )
    .await?;
    endpoint
        .wait_attempts(1, ctx.timeouts().callback, "CALLBACK-7")
        .await?;
    let end = wait_delivery_end(
        &ctx,
        &job,
        Duration::from_secs(interval) + ctx.timeouts().callback,
        "CALLBACK-13",
    )
    .await?;
    expect_end(&end, "stopped", "CALLBACK-13", 1, 410)?;
    no_further_attempt(&ctx, &endpoint, &job, (interval, "stopped", 1), |got| {
        Finding::violation(
            "CALLBACK-13",
            format!("the first attempt was answered 410 Gone, yet the receiver got {got} attempts"),
        )
    })
    .await
}

/// After a delivery ended `state` with `attempts` attempts: no further attempt
/// reaches the receiver within the time a retry would take (one interval),
/// else the finding `too_many` makes of the number it got; and the job's
/// `callback` stays as it ended (CALLBACK-22).
async fn no_further_attempt(
    ctx: &Ctx,
    endpoint: &Endpoint,
    job: &Job,
    (interval, state, attempts): (u64, &str, usize),
    too_many: impl FnOnce(usize) -> Finding,
) -> Outcome {
    let got = endpoint
        .attempts_after(Duration::from_secs(interval) + Duration::from_millis(500))
        .await;
    if got.len() != attempts {
        return Err(too_many(got.len()));
    }
    let again = ctx.job_doc(&job.url).await?;
    ensure!(
        again["callback"]["state"] == state && again["callback"]["attempts"] == attempts,
        "CALLBACK-22",
        "the delivery had ended {state}, but later the job's callback is {}",
        again["callback"]
    );
    Ok(())
}

async fn attempts_exhausted(ctx: Ctx) -> Outcome {
    let l = cb_limits(&ctx)?;
    let interval = fast_interval(&l)?;
    if l.max_attempts < 2 {
        return Err(Finding::skip("limits.callbacks.maxAttempts is 1"));
    }
    let endpoint = ctx.callback_endpoint(vec![
        Answer::Status(500),
        Answer::Status(500),
        Answer::Status(500),
    ])?;
    let job = start(
        &ctx,
        json!({"durationMs": 0}),
        json!({"url": endpoint.url, "retry": {"maxAttempts": 2, "initialIntervalSeconds": interval, "backoff": "fixed"}}),
    )
    .await?;
    let first = endpoint
        .wait_attempts(1, ctx.timeouts().callback, "CALLBACK-7")
        .await?;
    after_failed_first(
        &ctx,
        &job,
        &first[0],
        500,
        interval as f64,
        "CALLBACK-14",
        "CALLBACK-16",
    )
    .await?;
    let end = wait_delivery_end(
        &ctx,
        &job,
        Duration::from_secs(interval) + ctx.timeouts().callback,
        "CALLBACK-14",
    )
    .await?;
    expect_end(&end, "failed", "CALLBACK-14", 2, 500)?;
    no_further_attempt(&ctx, &endpoint, &job, (interval, "failed", 2), |got| {
        Finding::violation(
            "CALLBACK-14",
            format!("maxAttempts is 2, yet the receiver got {got} attempts"),
        )
    })
    .await
}

async fn timeout(ctx: Ctx) -> Outcome {
    let l = cb_limits(&ctx)?;
    let limit = l.timeout_seconds;
    if limit > 20 {
        return Err(Finding::skip(format!(
            "limits.callbacks.timeoutSeconds is {limit} s; a hanging attempt is only waited for up to 20 s"
        )));
    }
    let endpoint = ctx.callback_endpoint(vec![Answer::Hang])?;
    let job = start(
        &ctx,
        json!({"durationMs": 0}),
        json!({"url": endpoint.url, "retry": {"maxAttempts": 1}}),
    )
    .await?;
    let first = endpoint
        .wait_attempts(1, ctx.timeouts().callback, "CALLBACK-7")
        .await?;
    let started = first[0].at;
    let deadline = started + Duration::from_secs(limit) + Duration::from_secs(3);
    let end = ctx
        .wait_job(
            &job.url,
            "done delivering its callback after the attempt timed out",
            deadline.saturating_duration_since(Instant::now()),
            "CALLBACK-15",
            |doc| {
                doc["callback"]["state"]
                    .as_str()
                    .is_some_and(|s| s != "pending")
            },
        )
        .await
        .map_err(|f| {
            about(
                f,
                &format!("the receiver never answered the only attempt; it must be abandoned after limits.callbacks.timeoutSeconds ({limit} s)"),
            )
        })?;
    let seen = started.elapsed();
    check_member(&end)?;
    let cb = &end["callback"];
    ensure!(
        cb["state"] == "failed",
        "CALLBACK-14",
        "the only attempt allowed was never answered, so the delivery must end failed; callback is {cb}"
    );
    ensure!(
        cb["attempts"] == 1,
        "CALLBACK-23",
        "one attempt was made (and abandoned), but callback.attempts is {}",
        cb["attempts"]
    );
    ensure!(
        cb["lastStatusCode"].is_null(),
        "CALLBACK-23",
        "no attempt got an answer, but callback.lastStatusCode is {}",
        cb["lastStatusCode"]
    );
    ensure!(
        cb["lastError"].as_str().is_some_and(|e| !e.is_empty()),
        "CALLBACK-23",
        "the last attempt got no answer (it timed out), so callback.lastError must describe that, got {}",
        cb["lastError"]
    );
    ensure!(
        seen + Duration::from_millis(250) >= Duration::from_secs(limit),
        "CALLBACK-6",
        "the attempt was given up {:.2} s after it reached the receiver, before limits.callbacks.timeoutSeconds ({limit} s)",
        seconds(seen)
    );
    Ok(())
}

async fn redirect_not_followed(ctx: Ctx) -> Outcome {
    let l = cb_limits(&ctx)?;
    let interval = fast_interval(&l)?;
    if l.max_attempts < 2 {
        return Err(Finding::skip("limits.callbacks.maxAttempts is 1"));
    }
    let endpoint = ctx.callback_endpoint(vec![Answer::Status(302)])?;
    let job = start(
        &ctx,
        json!({"durationMs": 0}),
        json!({"url": endpoint.url, "retry": {"maxAttempts": 2, "initialIntervalSeconds": interval, "backoff": "fixed"}}),
    )
    .await?;
    let first = endpoint
        .wait_attempts(1, ctx.timeouts().callback, "CALLBACK-7")
        .await?;
    after_failed_first(
        &ctx,
        &job,
        &first[0],
        302,
        interval as f64,
        "URL-GUARD-8",
        "CALLBACK-16",
    )
    .await?;
    endpoint
        .wait_attempts(
            2,
            Duration::from_secs(interval) + ctx.timeouts().callback,
            "URL-GUARD-8",
        )
        .await?;
    let end = wait_delivery_end(&ctx, &job, ctx.timeouts().callback, "CALLBACK-12").await?;
    expect_end(&end, "delivered", "CALLBACK-12", 2, 204)
}

async fn outcome_keeps_job(ctx: Ctx) -> Outcome {
    let l = cb_limits(&ctx)?;
    let interval = fast_interval(&l)?;
    if l.max_attempts < 2 {
        return Err(Finding::skip("limits.callbacks.maxAttempts is 1"));
    }
    let retry = json!({"maxAttempts": 2, "initialIntervalSeconds": interval, "backoff": "fixed"});
    let delivered = ctx.callback_endpoint(vec![Answer::Status(500)])?;
    let failing = ctx.callback_endpoint(vec![Answer::Status(500), Answer::Status(500)])?;
    let succeeded = start(
        &ctx,
        json!({"durationMs": 0, "echo": "kept"}),
        json!({"url": delivered.url, "retry": retry}),
    )
    .await?;
    let failed = start(
        &ctx,
        json!({"durationMs": 0, "fail": {"code": "callback-check", "message": "failing on purpose"}}),
        json!({"url": failing.url, "retry": retry}),
    )
    .await?;
    let (a, b) = tokio::join!(
        keeps(&ctx, &succeeded, "delivered", "CALLBACK-12"),
        keeps(&ctx, &failed, "failed", "CALLBACK-14")
    );
    worst(a, b)
}

/// The members of CALLBACK-19 are the same when the job is first seen
/// terminal and after its delivery ended `state`.
async fn keeps(ctx: &Ctx, job: &Job, state: &str, requirement: &'static str) -> Outcome {
    let terminal = ctx.wait_terminal(&job.url, "JOB-STATE-2").await?;
    let end = wait_delivery_end(
        ctx,
        job,
        Duration::from_secs(3) + ctx.timeouts().callback,
        requirement,
    )
    .await?;
    let status = if state == "failed" { 500 } else { 204 };
    expect_end(&end, state, requirement, 2, status)?;
    for name in KEPT {
        ensure!(
            terminal.get(name) == end.get(name),
            "CALLBACK-19",
            "the delivery ended {state} and changed the job's {name}: it was {} when the job ended, it is {} now",
            terminal.get(name).unwrap_or(&Value::Null),
            end.get(name).unwrap_or(&Value::Null)
        );
    }
    Ok(())
}

async fn no_hold_up(ctx: Ctx) -> Outcome {
    let l = cb_limits(&ctx)?;
    let hang = Duration::from_secs(l.timeout_seconds);
    let endpoint = ctx.callback_endpoint(vec![Answer::Hang])?;
    let body = json!({"params": {"durationMs": 0}, "callback": {"url": endpoint.url, "retry": {"maxAttempts": 1}}});
    let path = format!("/v1/operations/{}/jobs", ctx.probe());
    let max_wait = ctx.limits().max_wait_seconds.min(10);
    let job_url = if ctx.claims("sync") && max_wait >= 2 {
        // Synchronously: the answer must not wait for the attempt.
        let response = ctx
            .post_json(&path, &body)
            .header("Prefer", format!("wait={max_wait}"))
            .timeout(Duration::from_secs(max_wait) + ctx.timeouts().request)
            .send()
            .await?;
        let Some(location) = response.header("location").map(str::to_owned) else {
            return Err(Finding::error(format!(
                "the synchronous start answered {} without Location; the sync checks say more",
                response.status
            )));
        };
        ctx.track_job(&location);
        ensure!(
            response.status == 200,
            "CALLBACK-20",
            "a job of 0 ms whose receiver hangs was started with Prefer: wait={max_wait}; expected 200 with its result, got {} after {:.2} s",
            response.status,
            seconds(response.elapsed)
        );
        ensure!(
            response.elapsed <= Duration::from_millis(1500),
            "CALLBACK-20",
            "the synchronous answer for a job of 0 ms took {:.2} s; the job must be shown terminal without waiting for its callback attempt",
            seconds(response.elapsed)
        );
        location
    } else {
        ctx.start_probe_with(body).await?.url
    };
    let attempt = endpoint
        .wait_attempts(1, ctx.timeouts().callback, "CALLBACK-7")
        .await?;
    let hanging_since = attempt[0].at;
    // While the attempt hangs: the job is terminal, and answered at once.
    let doc_url = if ctx.claims("long-poll") {
        format!("{job_url}?waitSeconds=5")
    } else {
        job_url.clone()
    };
    let response = ctx
        .get(&doc_url)
        .timeout(Duration::from_secs(6))
        .send_within(Duration::from_secs(1), Some("CALLBACK-20"))
        .await?;
    ensure!(
        response.status == 200,
        "CALLBACK-20",
        "GET of the job while its callback attempt hangs answered {}",
        response.status
    );
    let doc = response.json_object("CALLBACK-20")?;
    ensure!(
        is_terminal(&doc),
        "CALLBACK-20",
        "the callback attempt is under way (so the job has ended), yet the job is shown {}",
        doc["status"]
    );
    // Other requests and jobs go on.
    let service = ctx
        .get("/v1")
        .send_within(Duration::from_secs(1), Some("CALLBACK-20"))
        .await?;
    ensure!(
        service.status == 200,
        "CALLBACK-20",
        "GET /v1 answered {} while a callback attempt hangs",
        service.status
    );
    let other = ctx.start_probe(json!({"durationMs": 0})).await?;
    let bound = hang.max(Duration::from_secs(2)) - Duration::from_millis(100);
    let within = (hanging_since + bound)
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(500));
    ctx.wait_job(
        &other.url,
        "terminal while another job's callback attempt hangs",
        within,
        "CALLBACK-20",
        is_terminal,
    )
    .await?;
    Ok(())
}

async fn secret_hidden(ctx: Ctx) -> Outcome {
    let whsec = whsec_random();
    let text = format!("plain-secret-{}", uuid::Uuid::now_v7().simple());
    let needles = [
        whsec.clone(),
        whsec.trim_start_matches("whsec_").to_owned(),
        text.clone(),
    ];
    let leak = |text: &str| needles.iter().find(|n| text.contains(n.as_str())).cloned();
    let first = ctx.callback_endpoint(vec![])?;
    let second = ctx.callback_endpoint(vec![])?;
    let mut jobs = Vec::new();
    for (endpoint, secret) in [(&first, &whsec), (&second, &text)] {
        let job = start(
            &ctx,
            json!({"durationMs": 0}),
            json!({"url": endpoint.url, "secret": secret}),
        )
        .await?;
        let mut shown = String::from_utf8_lossy(&job.response.body).into_owned();
        for (name, value) in &job.response.headers {
            shown.push_str(&format!(
                "\n{name}: {}",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        if let Some(found) = leak(&shown) {
            return Err(Finding::violation(
                "CALLBACK-24",
                format!("the 202 answer to a start request shows the callback secret ({found})"),
            ));
        }
        jobs.push((endpoint, job));
    }
    for (endpoint, job) in &jobs {
        let end = wait_delivery_end(&ctx, job, ctx.timeouts().callback, "CALLBACK-12").await?;
        if let Some(found) = leak(&end.to_string()) {
            return Err(Finding::violation(
                "CALLBACK-24",
                format!("GET of the job shows the callback secret ({found})"),
            ));
        }
        for attempt in endpoint.attempts() {
            if let Some(found) = leak(&String::from_utf8_lossy(&attempt.body)) {
                return Err(Finding::violation(
                    "CALLBACK-24",
                    format!("the callback attempt's body shows the secret ({found})"),
                ));
            }
        }
    }
    let mut places: Vec<(String, String)> = Vec::new();
    if ctx.claims("list") {
        let limit = ctx.limits().max_page_size.clamp(1, 100);
        places.push(("GET /v1/jobs".into(), format!("/v1/jobs?limit={limit}")));
    }
    for (_, job) in &jobs {
        if ctx.claims("log") {
            places.push(("the job's log".into(), job.sub("/log")));
        }
    }
    for (what, url) in places {
        let response = ctx.get(&url).send().await?;
        if let Some(found) = leak(&String::from_utf8_lossy(&response.body)) {
            return Err(Finding::violation(
                "CALLBACK-24",
                format!("{what} shows the callback secret ({found})"),
            ));
        }
    }
    if ctx.claims("events") {
        for (_, job) in &jobs {
            let response = ctx.get(&job.sub("/events")).send_streaming().await?;
            if response.status().as_u16() != 200 {
                continue;
            }
            let mut stream = EventStream::new(response);
            if let Next::Event(event) = stream.next(ctx.timeouts().request).await
                && let Some(found) = leak(&event.data.join("\n"))
            {
                return Err(Finding::violation(
                    "CALLBACK-24",
                    format!("the job's event stream shows the callback secret ({found})"),
                ));
            }
        }
    }
    // Problem documents about a callback that carries the secret.
    let url = first.url.clone();
    for (what, callback) in [
        (
            "retry.maxAttempts 0",
            json!({"url": url, "secret": whsec, "retry": {"maxAttempts": 0}}),
        ),
        (
            "an unknown member",
            json!({"url": url, "secret": whsec, "unknown": true}),
        ),
        (
            "method PUT",
            json!({"url": url, "secret": text, "method": "PUT"}),
        ),
        (
            "an ftp: URL",
            json!({"url": "ftp://example.com/hook", "secret": text}),
        ),
    ] {
        let probe = ctx.probe().to_owned();
        let response = ctx
            .start(
                &probe,
                &json!({"params": {"durationMs": 0}, "callback": callback}),
            )
            .await?;
        if let Some(location) = response.header("location") {
            ctx.track_job(location);
        }
        if let Some(found) = leak(&String::from_utf8_lossy(&response.body)) {
            return Err(Finding::violation(
                "CALLBACK-24",
                format!(
                    "the {} answer to a start request whose callback has {what} shows the secret ({found})",
                    response.status
                ),
            ));
        }
    }
    Ok(())
}

async fn multipart(ctx: Ctx) -> Outcome {
    if !ctx.claims("multipart") {
        return Err(Finding::skip(
            "the server does not claim `multipart`, so a callback form field cannot be sent",
        ));
    }
    let endpoint = ctx.callback_endpoint(vec![])?;
    let boundary = format!("callback-{}", uuid::Uuid::now_v7().simple());
    let callback = json!({"url": endpoint.url}).to_string();
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n{{\"durationMs\":0}}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"callback\"\r\n\r\n{callback}\r\n\
         --{boundary}--\r\n"
    );
    let response = ctx
        .request(
            Method::POST,
            &format!("/v1/operations/{}/jobs", ctx.probe()),
        )
        .body(&format!("multipart/form-data; boundary={boundary}"), body)
        .send()
        .await?;
    if response.status != 202 {
        if let Some(location) = response.header("location") {
            ctx.track_job(location);
        }
        return Err(Finding::violation(
            "CALLBACK-1",
            format!(
                "a multipart start request with a callback form field was answered {}: {}",
                response.status,
                show_body(&response.body)
            ),
        ));
    }
    let job = ctx.accepted(response)?;
    check_member(&job.doc)?;
    ensure!(
        job.doc["callback"]["url"] == endpoint.url.as_str(),
        "CALLBACK-21",
        "callback.url is {}, expected the URL of the form field, {:?}",
        job.doc["callback"]["url"],
        endpoint.url
    );
    let terminal = ctx.wait_terminal(&job.url, "JOB-STATE-2").await?;
    let attempts = endpoint
        .wait_attempts(1, ctx.timeouts().callback, "CALLBACK-1")
        .await?;
    check_event(&attempts[0], &terminal)?;
    Ok(())
}

async fn expiry_pending(ctx: Ctx) -> Outcome {
    if !ctx.claims("expiry") {
        return Err(Finding::skip(
            "the server does not claim `expiry`; there is no expiry to hold off",
        ));
    }
    let probe_path = if ctx.claims("events") {
        "/events"
    } else if ctx.claims("log") {
        "/log"
    } else {
        return Err(Finding::skip(
            "the server claims neither `events` nor `log`, the only ways to see a job without using it (section 17)",
        ));
    };
    let l = cb_limits(&ctx)?;
    let interval = fast_interval(&l)?;
    let ttl = ctx.limits().min_ttl_seconds.max(1);
    // Failing attempts until expiresAt has passed by a second, then a 204.
    let failing = (ttl + 1).div_ceil(interval) + 1;
    if failing + 1 > l.max_attempts || (failing * interval) > 10 {
        return Err(Finding::skip(format!(
            "with minTtlSeconds {ttl} and minIntervalSeconds {interval} the delivery would need {} attempts or more than 10 s",
            failing + 1
        )));
    }
    let endpoint = ctx.callback_endpoint(vec![Answer::Status(500); failing as usize])?;
    // No GET of the job until the end: a GET would be a use (section 17).
    let job = ctx
        .start_probe_with(json!({
            "params": {"durationMs": 0},
            "ttlSeconds": ttl,
            "callback": {"url": endpoint.url, "retry": {"maxAttempts": failing + 1, "initialIntervalSeconds": interval, "backoff": "fixed"}},
        }))
        .await?;
    let attempts = endpoint
        .wait_attempts(
            failing as usize,
            Duration::from_secs(failing * interval) + ctx.timeouts().callback,
            "CALLBACK-14",
        )
        .await?;
    let last = attempts.last().expect("at least one attempt");
    let ts = webhook_timestamp(last)? as f64;
    let probe_url = job.sub(probe_path);
    let response = ctx.get(&probe_url).send_streaming().await?;
    let status = response.status().as_u16();
    ensure!(
        status == 200,
        "CALLBACK-25",
        "GET {probe_path} of a job whose callback delivery is pending (attempt {failing} of {} just failed) answered {status}; the job must not expire while its delivery is pending",
        failing + 1
    );
    if probe_path == "/events" {
        let mut stream = EventStream::new(response);
        if let Next::Event(event) = stream.next(ctx.timeouts().request).await
            && let Ok(doc) = serde_json::from_str::<Value>(&event.data.join("\n"))
        {
            let expires = epoch(&doc["expiresAt"]).unwrap_or(f64::MAX);
            ensure!(
                expires < ts,
                "CALLBACK-25",
                "the job's expiresAt is {}, not before attempt {failing} (webhook-timestamp {ts}); attempts are not uses and must not move it (ttlSeconds {ttl}, finishedAt {})",
                doc["expiresAt"],
                doc["finishedAt"]
            );
            if doc["callback"]["state"] != "pending" {
                return Err(Finding::error(format!(
                    "the delivery was expected to be pending after attempt {failing}, but callback is {}",
                    doc["callback"]
                )));
            }
        }
    } else {
        drop(response);
    }
    endpoint
        .wait_attempts(
            failing as usize + 1,
            Duration::from_secs(interval) + ctx.timeouts().callback,
            "CALLBACK-14",
        )
        .await?;
    // The delivery has ended: the job expires now.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let status = ctx.get(&probe_url).send().await?.status;
        if status == 404 {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "CALLBACK-25",
            "the job's expiresAt has passed and its delivery ended (attempt {} was answered 204), yet GET {probe_path} still answers {status} 2 s later",
            failing + 1
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let response = ctx.get(&job.url).send().await?;
    response.expect_problem(404, "job-not-found", "EXPIRY-5")?;
    Ok(())
}

async fn log_lines(ctx: Ctx) -> Outcome {
    if !ctx.claims("log") {
        return Err(Finding::skip("the server does not claim `log`"));
    }
    let l = cb_limits(&ctx)?;
    let interval = fast_interval(&l)?;
    if l.max_attempts < 3 {
        return Err(Finding::skip("limits.callbacks.maxAttempts is below 3"));
    }
    let endpoint = ctx.callback_endpoint(vec![Answer::Status(500)])?;
    let job = start(
        &ctx,
        json!({"durationMs": 0}),
        json!({"url": endpoint.url, "retry": {"maxAttempts": 3, "initialIntervalSeconds": interval, "backoff": "fixed"}}),
    )
    .await?;
    let end = wait_delivery_end(
        &ctx,
        &job,
        Duration::from_secs(interval) + ctx.timeouts().callback,
        "CALLBACK-12",
    )
    .await?;
    expect_end(&end, "delivered", "CALLBACK-12", 2, 204)?;
    // The line may be written just after the document changed.
    let deadline = Instant::now() + Duration::from_secs(2);
    let lines = loop {
        let response = ctx.get(&job.sub("/log")).send().await?;
        ensure!(
            response.status == 200,
            "CALLBACK-26",
            "GET of the job's log answered {}",
            response.status
        );
        let text = String::from_utf8_lossy(&response.body).into_owned();
        let lines: Vec<String> = text
            .lines()
            .filter(|line| line.split(' ').nth(1) == Some("CALLBACK"))
            .map(str::to_owned)
            .collect();
        if lines.len() >= 2 || Instant::now() >= deadline {
            break lines;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    ensure!(
        lines.len() == 2,
        "CALLBACK-26",
        "two attempts were made, so the log must have two CALLBACK lines; it has {}: {lines:?}",
        lines.len()
    );
    let url = &endpoint.url;
    let message = |line: &str| -> Result<String, Finding> {
        let mut parts = line.splitn(3, ' ');
        let time = parts.next().unwrap_or("");
        parts.next();
        let message = parts.next().unwrap_or("").to_owned();
        ensure!(
            is_gen2(time),
            "CALLBACK-26",
            "the CALLBACK line {line:?} does not start with a GEN-2 time"
        );
        Ok(message)
    };
    let first = message(&lines[0])?;
    let prefix = format!("attempt 1 of 3 to {url}: answered 500; next attempt at ");
    ensure!(
        first.strip_prefix(&prefix).is_some_and(is_gen2),
        "CALLBACK-26",
        "the first CALLBACK line's message is {first:?}, expected \"{prefix}<time>\""
    );
    let second = message(&lines[1])?;
    let want = format!("attempt 2 of 3 to {url}: answered 204; delivery delivered");
    ensure!(
        second == want,
        "CALLBACK-26",
        "the second CALLBACK line's message is {second:?}, expected {want:?}"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "msg_0193a6f2-7c1e-7b4a-9d0e-3f5b2c8a1d44";
    const TS: &str = "1795302164";
    const BODY: &str = r#"{"type":"job.succeeded","timestamp":"2026-11-21T23:02:44.140Z","data":{"id":"0193a6f2-7c1e-7b4a-9d0e-3f5b2c8a1d44"}}"#;

    #[test]
    fn signatures_match_the_test_vectors_of_section_24_3() {
        let whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        assert_eq!(
            sign(whsec, ID, TS, BODY.as_bytes()).as_deref(),
            Some("v1,KVD1hAnU011SC9kCoCiGaxqXpUG3S2Giu4a5uxhk5UE=")
        );
        assert_eq!(
            sign(whsec, ID, TS, b"").as_deref(),
            Some("v1,yXCbNTcTrXvU1svB1/ZFoaeY/fw7QzrfeGY+6LLg0Ac=")
        );
        assert_eq!(
            sign("my-shared-secret", ID, TS, BODY.as_bytes()).as_deref(),
            Some("v1,dUZ8vnBFOv/eadESd+welnklYzg0hflHYipY3HGF5ro=")
        );
        assert_eq!(sign("whsec_not*base64", ID, TS, b""), None);
    }

    #[test]
    fn gen2_times_are_recognized() {
        assert!(is_gen2("2026-11-21T23:02:44.140Z"));
        assert!(!is_gen2("2026-11-21T23:02:44Z"));
        assert!(!is_gen2("2026-11-21T23:02:44.140+00:00"));
        assert!(!is_gen2("2026-13-21T23:02:44.140Z"));
    }

    #[test]
    fn the_graver_outcome_wins() {
        let must = Err(Finding::violation("CALLBACK-12", "x"));
        let should = Err(Finding::should("CALLBACK-16", "y"));
        assert!(matches!(
            worst(should.clone(), must.clone()),
            Err(Finding::Violation {
                requirement: "CALLBACK-12",
                ..
            })
        ));
        assert!(matches!(
            worst(must, should),
            Err(Finding::Violation {
                requirement: "CALLBACK-12",
                ..
            })
        ));
        assert!(worst(Ok(()), Ok(())).is_ok());
    }
}
