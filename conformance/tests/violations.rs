//! Acceptance: every check fails against at least one violation of the
//! protocol, and passes without it.
//!
//! Each case of the catalogue (`catalogue/`) runs its checks against a runner
//! behind a proxy that breaks exactly one rule; every listed check must
//! fail (or warn, for a SHOULD). The same suite run through a proxy that breaks
//! nothing passes, so the failures come from the violations alone.
//!
//! Set `CONFORMANCE_CASES` to a substring of case names or check IDs to run a
//! part of the catalogue while developing.

mod catalogue;
mod support;

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

use longrun_conformance::checks;
use longrun_conformance::report::terminal;
use support::proxy::{Proxy, Transparent};
use support::{run_suite, start_runner, suite_config};

#[test]
fn every_check_is_caught_by_some_violation() {
    let cases = catalogue::all();
    let covered: BTreeSet<&str> = cases.iter().flat_map(|c| c.fails.iter().copied()).collect();
    let known: BTreeSet<&str> = checks::all().iter().map(|c| c.id).collect();
    let uncovered: Vec<&&str> = known.difference(&covered).collect();
    assert!(
        uncovered.is_empty(),
        "checks no violation makes fail: {uncovered:?}"
    );
    let unknown: Vec<&&str> = covered.difference(&known).collect();
    assert!(unknown.is_empty(), "cases name unknown checks: {unknown:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_suite_passes_through_a_transparent_proxy() {
    let runner = start_runner(|_| {}).await;
    let proxy = Proxy::start(&runner.base, Arc::new(Transparent)).await;
    let report = run_suite(suite_config(&proxy.base)).await;
    assert_eq!(report.exit_code, 0, "{}", terminal::render(&report, false));
}

/// Runners the cases share. A runner's plugin host keeps its memory mappings
/// for the life of the process, so the cases reuse a few runners (one case at a
/// time each) instead of starting one per case.
const RUNNERS: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_violation_fails_its_checks() {
    let filter = std::env::var("CONFORMANCE_CASES").ok();
    let cases: VecDeque<catalogue::Case> = catalogue::all()
        .into_iter()
        .filter(|c| {
            filter
                .as_deref()
                .is_none_or(|f| c.name.contains(f) || c.fails.iter().any(|id| id.contains(f)))
        })
        .collect();
    let queue = Arc::new(Mutex::new(cases));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..RUNNERS {
        let queue = queue.clone();
        workers.spawn(async move {
            let shared = start_runner(|_| {}).await;
            let mut failures = Vec::new();
            loop {
                let Some(case) = queue.lock().expect("queue lock").pop_front() else {
                    break;
                };
                // A case that needs its own configuration gets its own runner.
                let own = match case.runner {
                    Some(adjust) => Some(start_runner(adjust).await),
                    None => None,
                };
                let runner = own.as_ref().unwrap_or(&shared);
                if let Err(message) = run_case(&case, &runner.base).await {
                    failures.push(message);
                }
            }
            failures
        });
    }
    let mut failures = Vec::new();
    while let Some(joined) = workers.join_next().await {
        failures.extend(joined.expect("a case worker"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Run the checks a case lists through a proxy with its violation; each must
/// fail (or warn).
async fn run_case(case: &catalogue::Case, runner: &str) -> Result<(), String> {
    let proxy = Proxy::start(runner, (case.violation)()).await;
    let mut config = suite_config(&proxy.base);
    config.only = case.fails.iter().map(|s| s.to_string()).collect();
    let report = run_suite(config).await;
    // A violation may hide a job from the check that started it (no
    // `Location`, say), so that the suite cannot delete it: end every active
    // job on the runner itself, so the next case finds its workers free.
    drain(runner).await;
    let mut problems = Vec::new();
    for id in case.fails {
        let verdict = report.result(id).map(|r| r.verdict.name());
        if !matches!(verdict, Some("fail" | "warn")) {
            problems.push(format!(
                "violation {:?}: check {id} gave {verdict:?}, expected fail or warn",
                case.name
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n{}",
            problems.join("\n"),
            terminal::render(&report, false)
        ))
    }
}

/// Delete every queued or running job of the runner at `base`.
async fn drain(base: &str) {
    let client = reqwest::Client::new();
    for _ in 0..10 {
        let Ok(page) = client
            .get(format!("{base}/v1/jobs?status=queued,running&limit=100"))
            .send()
            .await
        else {
            return;
        };
        let Ok(page) = page.json::<serde_json::Value>().await else {
            return;
        };
        let jobs = page["jobs"].as_array().cloned().unwrap_or_default();
        if jobs.is_empty() {
            return;
        }
        let deletes = jobs
            .iter()
            .filter_map(|job| job["links"]["self"].as_str())
            .map(|url| {
                let client = client.clone();
                let url = url.to_owned();
                async move {
                    let _ = client.delete(url).send().await;
                }
            });
        futures::future::join_all(deletes).await;
    }
}
