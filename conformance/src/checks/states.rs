//! Section 9.2: the states of a job.
//!
//! The checks watch `probe` jobs and judge the sequence of their documents:
//! status values (JOB-STATE-1) and transitions along the table (JOB-STATE-2),
//! `attempt` staying 1 without restarts (JOB-STATE-5), terminal documents that
//! no longer change (JOB-STATE-3), the deadline of an attempt (JOB-STATE-8),
//! and, with the server to themselves, the number of running jobs
//! (JOB-STATE-6) and the order queued jobs start in (JOB-STATE-7).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::check::{Check, Finding, Outcome};
use crate::checks::document::{
    STATUSES, Seen, failing_params, get_doc, quick_params, stepped_params, time_of, watch,
};
use crate::context::{Ctx, PROBLEM_PREFIX};
use crate::exchange::show_body;
use crate::jobs::{Job, is_terminal};
use crate::{ensure, ensure_should};

/// The checks of this section.
pub const CHECKS: &[Check] = &[
    Check {
        id: "states.transitions",
        title: "watched jobs take only the transitions of the state table, with attempt 1",
        class: "core",
        requirements: &["JOB-STATE-1", "JOB-STATE-2", "JOB-STATE-5", "JOB-DOC-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 2,
        exclusive: false,
        run: |ctx| Box::pin(transitions(ctx)),
    },
    Check {
        id: "states.terminal-immutable",
        title: "a terminal job's status, result, error, finishedAt and progress never change",
        class: "core",
        requirements: &["JOB-STATE-3", "JOB-DOC-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 2,
        exclusive: false,
        run: |ctx| Box::pin(terminal_immutable(ctx)),
    },
    Check {
        id: "states.deadline",
        title: "an attempt that runs past timeoutSeconds is stopped and fails with deadline-exceeded",
        class: "core",
        requirements: &["JOB-STATE-8", "JOB-DOC-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(deadline(ctx)),
    },
    Check {
        id: "states.workers",
        title: "at most limits.workers jobs run at once, and queued jobs start oldest first",
        class: "core",
        requirements: &["JOB-STATE-6", "JOB-STATE-7", "JOB-STATE-1", "JOB-DOC-1"],
        needs: &["service.document", "probe.offered"],
        jobs: u32::MAX,
        exclusive: true,
        run: |ctx| Box::pin(workers(ctx)),
    },
];

/// Requirements of this section that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[
    (
        "JOB-STATE-4",
        "crash recovery happens when the server restarts, which a client cannot cause",
    ),
    (
        "JOB-STATE-9",
        "needs a plugin that traps, exhausts memory, loops or floods its output; a server need not offer one over HTTP",
    ),
];

/// Whether `from` -> `to` is a transition of the table of section 9.2 (or no
/// change of status), given the attempts of the two documents.
fn allowed(from: &str, to: &str, attempt_from: u64, attempt_to: u64) -> bool {
    from == to
        || matches!(
            (from, to),
            ("queued", "running")
                | ("queued", "canceled")
                | ("running", "succeeded")
                | ("running", "failed")
                | ("running", "canceled")
        )
        // Crash recovery only, with the next attempt.
        || (from == "running" && to == "queued" && attempt_to == attempt_from + 1)
        // A document may be missed between two reads: queued, then running and
        // done before the next read. The ends are still reachable by the table.
        || (from == "queued" && matches!(to, "succeeded" | "failed"))
}

/// Judge the statuses and attempts of successive documents of one job.
fn judge_sequence(seen: &[Seen]) -> Outcome {
    let mut previous: Option<&Value> = None;
    for s in seen {
        let doc = &s.doc;
        let status = doc["status"].as_str().unwrap_or("");
        ensure!(
            STATUSES.contains(&status),
            "JOB-STATE-1",
            "status is {}, expected one of queued, running, succeeded, failed, canceled",
            doc["status"]
        );
        ensure!(
            doc["attempt"] == 1,
            "JOB-STATE-5",
            "attempt is {} (status {status}), expected 1: attempt starts at 1 and changes only by crash recovery, and the suite did not restart the server",
            doc["attempt"]
        );
        if let Some(prev) = previous {
            let from = prev["status"].as_str().unwrap_or("");
            let a = prev["attempt"].as_u64().unwrap_or(0);
            let b = doc["attempt"].as_u64().unwrap_or(0);
            ensure!(
                allowed(from, status, a, b),
                "JOB-STATE-2",
                "the status went from {from} to {status}, which the state table does not allow"
            );
        }
        previous = Some(doc);
    }
    Ok(())
}

/// Watch a job that succeeds and one that fails, from their `202` on.
async fn transitions(ctx: Ctx) -> Outcome {
    let ok = ctx.start_probe(stepped_params()).await?;
    let failing = ctx
        .start_probe(json!({"durationMs": 500, "steps": 2, "fail": failing_params()["fail"]}))
        .await?;
    let within = ctx.timeouts().job;
    let (a, b) = tokio::join!(watch(&ctx, &ok, within), watch(&ctx, &failing, within));
    let (a, b) = (a?, b?);
    judge_sequence(&a)?;
    judge_sequence(&b)?;
    let end = |seen: &[Seen]| seen.last().map(|s| s.doc["status"].clone());
    if end(&a) != Some(json!("succeeded")) || end(&b) != Some(json!("failed")) {
        return Err(Finding::error(format!(
            "the probe jobs ended {:?} and {:?}, expected succeeded and failed",
            end(&a),
            end(&b)
        )));
    }
    Ok(())
}

/// The members JOB-STATE-3 freezes once a job is terminal.
const FROZEN: &[&str] = &[
    "status",
    "result",
    "resourceLocation",
    "error",
    "finishedAt",
    "progress",
];

async fn terminal_immutable(ctx: Ctx) -> Outcome {
    let ok = ctx.start_probe(quick_params()).await?;
    let failing = ctx.start_probe(failing_params()).await?;
    for job in [&ok, &failing] {
        let done = ctx.wait_setup(&job.url, "terminal", is_terminal).await?;
        let (response, first) = get_doc(&ctx, &job.url).await?;
        // Let time pass without a fixed sleep: a long poll that waits for a
        // change (there should be none) for a second.
        if ctx.claims("long-poll")
            && ctx.limits().max_wait_seconds >= 1
            && let Some(tag) = response.header("etag")
        {
            ctx.get(&format!("{}?waitSeconds=1", job.url))
                .header("If-None-Match", tag)
                .timeout(Duration::from_secs(1) + ctx.timeouts().request)
                .send()
                .await?;
        }
        let (_, second) = get_doc(&ctx, &job.url).await?;
        for (label, doc) in [("the next read", &first), ("a second later", &second)] {
            for member in FROZEN {
                ensure!(
                    doc.get(*member) == done.get(*member),
                    "JOB-STATE-3",
                    "the {} job's `{member}` changed after it ended: {} when it ended, {} on {label}",
                    done["status"],
                    done.get(*member).unwrap_or(&Value::Null),
                    doc.get(*member).unwrap_or(&Value::Null)
                );
            }
        }
    }
    Ok(())
}

async fn deadline(ctx: Ctx) -> Outcome {
    let job = ctx
        .start_probe_with(json!({
            "params": {"durationMs": 5000, "steps": 5},
            "timeoutSeconds": 1,
        }))
        .await?;
    let done = ctx.wait_setup(&job.url, "terminal", is_terminal).await?;
    ensure!(
        done["status"] == "failed",
        "JOB-STATE-8",
        "a probe of 5 s with timeoutSeconds 1 ended {}, expected failed with deadline-exceeded: {done}",
        done["status"]
    );
    let want = format!("{PROBLEM_PREFIX}deadline-exceeded");
    ensure!(
        done["error"]["type"] == want.as_str(),
        "JOB-STATE-8",
        "the job that ran past its timeoutSeconds failed with error.type {}, expected {want}",
        done["error"]["type"]
    );
    if let (Some(started), Some(finished)) =
        (time_of(&done, "startedAt"), time_of(&done, "finishedAt"))
    {
        let took = finished - started;
        let ran = took.as_seconds_f64();
        ensure!(
            took < time::Duration::seconds(5),
            "JOB-STATE-8",
            "the attempt ran {ran:.3} s (startedAt {} to finishedAt {}), the whole probe, though timeoutSeconds was 1",
            done["startedAt"],
            done["finishedAt"]
        );
        ensure!(
            took >= time::Duration::milliseconds(999),
            "JOB-STATE-8",
            "the job failed with deadline-exceeded after {ran:.3} s (startedAt {} to finishedAt {}), before its timeoutSeconds of 1",
            done["startedAt"],
            done["finishedAt"]
        );
    }
    Ok(())
}

/// The statuses of `jobs`, read one after the other.
async fn statuses(ctx: &Ctx, jobs: &[Job]) -> Result<Vec<String>, Finding> {
    let reads = jobs.iter().map(|job| get_doc(ctx, &job.url));
    let docs = futures::future::join_all(reads).await;
    let mut out = Vec::with_capacity(docs.len());
    for doc in docs {
        let (_, doc) = doc?;
        let status = doc["status"].as_str().unwrap_or("").to_owned();
        ensure!(
            STATUSES.contains(&status.as_str()),
            "JOB-STATE-1",
            "status is {}, expected one of queued, running, succeeded, failed, canceled",
            doc["status"]
        );
        out.push(status);
    }
    Ok(out)
}

fn count(statuses: &[String], status: &str) -> usize {
    statuses.iter().filter(|s| *s == status).count()
}

/// Fill the workers and two queue places with hold jobs: no more than
/// `workers` may run (JOB-STATE-6), the oldest should be the ones running,
/// and when one is canceled, the oldest queued job should take its place
/// (JOB-STATE-7).
async fn workers(ctx: Ctx) -> Outcome {
    let limits = ctx.limits().clone();
    let workers = limits.workers as usize;
    if workers > 32 {
        return Err(Finding::skip(format!(
            "limits.workers is {workers}; filling that many workers with jobs is too costly"
        )));
    }
    let extra = (limits.queue_size as usize).min(2);
    let mut jobs = Vec::new();
    for _ in 0..workers + extra {
        jobs.push(ctx.start_probe(crate::jobs::hold_params()).await?);
    }
    let deadline = Instant::now() + ctx.timeouts().job;

    // Wait until the workers are busy, never seeing too many running.
    let mut now = statuses(&ctx, &jobs).await?;
    loop {
        let running = count(&now, "running");
        ensure!(
            running <= workers,
            "JOB-STATE-6",
            "{running} of the suite's jobs are running at once, but limits.workers is {workers}: {now:?}"
        );
        if running == workers {
            break;
        }
        if Instant::now() >= deadline {
            return Err(Finding::skip(format!(
                "only {running} of {workers} workers ran the suite's jobs within {:.0} s (other jobs may hold workers): {now:?}",
                ctx.timeouts().job.as_secs_f64()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        now = statuses(&ctx, &jobs).await?;
    }
    ensure!(
        count(&now, "queued") == extra,
        "JOB-STATE-6",
        "with {workers} of the suite's jobs running, the other {extra} should be queued: {now:?}"
    );
    ensure_should!(
        now[..workers].iter().all(|s| s == "running"),
        "JOB-STATE-7",
        "the {workers} oldest of the suite's jobs should be the running ones, but the statuses in the order of creation are {now:?}"
    );
    if extra == 0 {
        return Ok(());
    }

    // Free one worker: the oldest queued job should take it.
    let end = if ctx.claims("cancel") {
        reqwest::Method::POST
    } else if ctx.claims("delete") {
        reqwest::Method::DELETE
    } else {
        return Ok(());
    };
    let oldest_running = now.iter().position(|s| s == "running").unwrap_or(0);
    let url = if end == reqwest::Method::POST {
        format!("{}/cancel", jobs[oldest_running].url)
    } else {
        jobs[oldest_running].url.clone()
    };
    let response = ctx.request(end, &url).send().await?;
    if response.status != 200 {
        return Err(Finding::error(format!(
            "ending a running job to free a worker answered {}: {}",
            response.status,
            show_body(&response.body)
        )));
    }
    let rest: Vec<Job> = jobs
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != oldest_running)
        .map(|(_, j)| j.clone())
        .collect();
    let queued: Vec<usize> = (0..rest.len())
        .filter(|&i| now[if i >= oldest_running { i + 1 } else { i }] == "queued")
        .collect();
    let (first, later) = (queued[0], &queued[1..]);
    loop {
        let now = statuses(&ctx, &rest).await?;
        let running = count(&now, "running");
        ensure!(
            running <= workers,
            "JOB-STATE-6",
            "{running} of the suite's jobs are running at once, but limits.workers is {workers}: {now:?}"
        );
        for &i in later {
            ensure_should!(
                !(now[i] == "running" && now[first] == "queued"),
                "JOB-STATE-7",
                "a worker became free and a later job started while an older one stayed queued (statuses in the order of creation: {now:?})"
            );
        }
        if now[first] == "running" {
            return Ok(());
        }
        if now[first] != "queued" {
            return Err(Finding::error(format!(
                "the oldest queued job became {} instead of running",
                now[first]
            )));
        }
        if Instant::now() >= deadline {
            return Err(Finding::error(format!(
                "no queued job started within {:.0} s after a worker became free: {now:?}",
                ctx.timeouts().job.as_secs_f64()
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
