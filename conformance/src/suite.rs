//! Running a selection of checks against a server.
//!
//! 1. **Select**: the checks matching `--only` (all when none is given) and not
//!    matching `--skip`, plus every check they need, transitively. A pattern is a
//!    glob (`cancel.*`, `JOB-CREATE-*`) matched against the check ID, each
//!    requirement ID it cites, and its class.
//! 2. **Preflight**: `GET /v1`. A server that cannot be reached ends the run with
//!    every selected check in `error`.
//! 3. **Schedule**: a check starts when the checks it needs have finished; it is
//!    `blocked` if one of them did not pass and `skip`ped if the server does not
//!    claim its class. Checks run concurrently (`--concurrency`) as long as their
//!    jobs fit into the server's `limits.workers`; checks marked `exclusive` run
//!    last, one at a time. When a check ends, the jobs it started are deleted.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use globset::{GlobBuilder, GlobMatcher};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::check::{Check, Finding};
use crate::config::SuiteConfig;
use crate::context::{Ctx, Shared};
use crate::receiver::Receiver;
use crate::report::{RunReport, ServerSummary};
use crate::server_info::ServerInfo;
use crate::spec::Level;
use crate::verdict::{CheckResult, Verdict};

/// How long one check may run (scaled by `--time-scale`).
const CHECK_TIMEOUT: Duration = Duration::from_secs(120);

/// A compiled `--only`/`--skip` pattern.
#[derive(Debug, Clone)]
pub struct Pattern(GlobMatcher);

impl Pattern {
    /// Compile a glob; `*` matches any text, `?` one character; case is ignored.
    pub fn new(glob: &str) -> Result<Pattern, String> {
        GlobBuilder::new(glob)
            .case_insensitive(true)
            .literal_separator(false)
            .build()
            .map(|g| Pattern(g.compile_matcher()))
            .map_err(|e| format!("bad pattern {glob:?}: {e}"))
    }

    /// Whether the pattern selects `check`.
    pub fn matches(&self, check: &Check) -> bool {
        self.0.is_match(check.id)
            || self.0.is_match(check.class)
            || check.requirements.iter().any(|r| self.0.is_match(r))
    }
}

/// The checks `config` selects from `all`, with their prerequisites, in the
/// order of `all`.
pub fn select(all: &[&'static Check], config: &SuiteConfig) -> Result<Vec<&'static Check>, String> {
    let only = config
        .only
        .iter()
        .map(|p| Pattern::new(p))
        .collect::<Result<Vec<_>, _>>()?;
    let skip = config
        .skip
        .iter()
        .map(|p| Pattern::new(p))
        .collect::<Result<Vec<_>, _>>()?;
    let by_id: HashMap<&str, &'static Check> = all.iter().map(|c| (c.id, *c)).collect();
    let mut chosen: BTreeSet<&str> = all
        .iter()
        .filter(|c| only.is_empty() || only.iter().any(|p| p.matches(c)))
        .filter(|c| !skip.iter().any(|p| p.matches(c)))
        .map(|c| c.id)
        .collect();
    let mut todo: Vec<&str> = chosen.iter().copied().collect();
    while let Some(id) = todo.pop() {
        for need in by_id[id].needs {
            if !by_id.contains_key(need) {
                return Err(format!("check {id} needs the unknown check {need}"));
            }
            if chosen.insert(need) {
                todo.push(need);
            }
        }
    }
    Ok(all
        .iter()
        .filter(|c| chosen.contains(c.id))
        .copied()
        .collect())
}

/// Run `checks` (already selected) against the server of `config`.
pub async fn run(config: SuiteConfig, checks: Vec<&'static Check>) -> anyhow::Result<RunReport> {
    let started_wall = time::OffsetDateTime::now_utc();
    let started = Instant::now();
    let receiver = Receiver::start(config.callback_bind, config.callback_url.as_ref()).await?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // A fresh connection for every request: a server may close a
        // connection after refusing a body it did not read, and a request sent
        // over that connection meanwhile would be lost and blamed on it.
        .pool_max_idle_per_host(0)
        .user_agent(concat!("longrun-conformance/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let summary = config.summary(receiver.bound(), receiver.advertised());

    let mut shared = Shared {
        config,
        client,
        server: None,
        receiver,
    };
    let preflight = Ctx::new(Arc::new(shared.clone()), "preflight");
    let mut results: Vec<CheckResult> = Vec::new();
    match preflight.get("/v1").send().await {
        Err(Finding::Error(message)) | Err(Finding::Skip(message)) => {
            let message = format!("cannot reach the server: {message}");
            results = checks
                .iter()
                .map(|c| {
                    CheckResult::without_run(
                        c,
                        Verdict::Error {
                            message: message.clone(),
                        },
                    )
                })
                .collect();
        }
        Err(Finding::Violation { message, .. }) => {
            anyhow::bail!("preflight: {message}");
        }
        Ok(response) => {
            shared.server = response
                .json()
                .and_then(|doc| ServerInfo::from_document(doc).ok());
        }
    }
    let server = shared.server.as_ref().map(ServerSummary::of);
    let strict = shared.config.strict;
    if results.is_empty() {
        results = schedule(Arc::new(shared), &checks).await;
    }
    Ok(RunReport::new(
        started_wall,
        started.elapsed(),
        summary,
        server,
        strict,
        results,
    ))
}

/// Run the checks in dependency order and return their results in the order of
/// `checks`.
async fn schedule(shared: Arc<Shared>, checks: &[&'static Check]) -> Vec<CheckResult> {
    let workers = shared
        .server
        .as_ref()
        .map_or(1, |s| s.limits.workers.clamp(1, 1024) as u32);
    let running = Arc::new(Semaphore::new(shared.config.concurrency.max(1)));
    let job_slots = Arc::new(Semaphore::new(workers as usize));
    let mut done: HashMap<&'static str, CheckResult> = HashMap::new();
    let mut waiting: Vec<&'static Check> =
        checks.iter().filter(|c| !c.exclusive).copied().collect();
    let mut exclusive: Vec<&'static Check> =
        checks.iter().filter(|c| c.exclusive).copied().collect();
    let mut tasks: JoinSet<(&'static Check, CheckResult)> = JoinSet::new();

    loop {
        // Start every check whose prerequisites have finished.
        let mut still_waiting = Vec::new();
        for check in waiting.drain(..) {
            if !check.needs.iter().all(|n| done.contains_key(n)) {
                still_waiting.push(check);
                continue;
            }
            if let Some(verdict) = precondition(&shared, check, &done) {
                done.insert(check.id, CheckResult::without_run(check, verdict));
                continue;
            }
            let shared = shared.clone();
            let running = running.clone();
            let job_slots = job_slots.clone();
            let jobs = check.jobs.min(workers);
            tasks.spawn(async move {
                let _running = running.acquire_owned().await.expect("semaphore open");
                let _slots = job_slots
                    .acquire_many_owned(jobs)
                    .await
                    .expect("semaphore open");
                (check, run_one(shared, check).await)
            });
        }
        waiting = still_waiting;

        if let Some(joined) = tasks.join_next().await {
            // `run_one` turns a panicking check into an `error` verdict.
            let (check, result) = joined.expect("a check task does not panic");
            done.insert(check.id, result);
            continue;
        }
        // Nothing in flight: either all concurrent checks are done, or the rest
        // wait for checks that never ran.
        if !waiting.is_empty() {
            for check in waiting.drain(..) {
                let missing = check
                    .needs
                    .iter()
                    .find(|n| !done.contains_key(*n))
                    .copied()
                    .unwrap_or("?");
                done.insert(
                    check.id,
                    CheckResult::without_run(check, Verdict::Blocked { by: missing.into() }),
                );
            }
        }
        if let Some(check) = (!exclusive.is_empty()).then(|| exclusive.remove(0)) {
            let result = match precondition(&shared, check, &done) {
                Some(verdict) => CheckResult::without_run(check, verdict),
                None => run_one(shared.clone(), check).await,
            };
            done.insert(check.id, result);
            continue;
        }
        break;
    }
    checks.iter().filter_map(|c| done.remove(c.id)).collect()
}

/// `blocked` or `skip` when the check cannot run, else `None`.
fn precondition(
    shared: &Shared,
    check: &'static Check,
    done: &HashMap<&'static str, CheckResult>,
) -> Option<Verdict> {
    if let Some(need) = check
        .needs
        .iter()
        .find(|n| done.get(*n).is_some_and(|r| r.verdict != Verdict::Pass))
    {
        return Some(Verdict::Blocked {
            by: (*need).to_owned(),
        });
    }
    if let Some(server) = &shared.server
        && !server.claims(check.class)
    {
        return Some(Verdict::Skip {
            reason: format!("the server does not claim the class `{}`", check.class),
        });
    }
    None
}

/// Run one check with its timeout, then delete the jobs it started.
async fn run_one(shared: Arc<Shared>, check: &'static Check) -> CheckResult {
    let ctx = Ctx::new(shared.clone(), check.id);
    let started = Instant::now();
    let limit = shared.config.timeouts.scale(CHECK_TIMEOUT);
    let outcome = tokio::time::timeout(
        limit,
        std::panic::AssertUnwindSafe((check.run)(ctx.clone())).catch_unwind(),
    )
    .await;
    let duration_ms = started.elapsed().as_millis() as u64;
    let strict_level = |level: Level| level == Level::Must;
    let verdict = match outcome {
        Err(_) => Verdict::Error {
            message: format!("the check did not finish within {} s", limit.as_secs()),
        },
        Ok(Err(_panic)) => Verdict::Error {
            message: "the check panicked (a bug in the suite)".into(),
        },
        Ok(Ok(Ok(()))) => Verdict::Pass,
        Ok(Ok(Err(Finding::Skip(reason)))) => Verdict::Skip { reason },
        Ok(Ok(Err(Finding::Error(message)))) => Verdict::Error { message },
        Ok(Ok(Err(Finding::Violation {
            requirement,
            level,
            message,
        }))) => {
            if strict_level(level) {
                Verdict::Fail {
                    requirement: requirement.into(),
                    level,
                    message,
                }
            } else {
                Verdict::Warn {
                    requirement: requirement.into(),
                    level,
                    message,
                }
            }
        }
    };
    let exchanges = ctx.take_exchanges();
    clean_up(&shared, ctx.take_jobs()).await;
    CheckResult {
        id: check.id,
        title: check.title,
        class: check.class,
        requirements: check.requirements,
        verdict,
        expected_failure: None,
        exchanges,
        duration_ms,
    }
}

/// Delete (or, on a server without `delete`, cancel) the jobs a check started,
/// so that they do not hold workers that later checks need.
async fn clean_up(shared: &Arc<Shared>, jobs: Vec<String>) {
    let ctx = Ctx::new(shared.clone(), "cleanup");
    let delete = ctx.claims("delete");
    let cleanups = jobs.into_iter().map(|url| {
        let ctx = ctx.clone();
        async move {
            let request = if delete {
                ctx.delete(&url)
            } else {
                ctx.request(reqwest::Method::POST, &format!("{url}/cancel"))
            };
            let _ = request.send().await;
        }
    });
    futures::future::join_all(cleanups).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(only: &[&str], skip: &[&str]) -> SuiteConfig {
        let mut config = SuiteConfig::new("http://127.0.0.1:1".parse().unwrap());
        config.only = only.iter().map(|s| s.to_string()).collect();
        config.skip = skip.iter().map(|s| s.to_string()).collect();
        config
    }

    #[test]
    fn patterns_match_ids_requirements_and_classes() {
        let all = crate::checks::all();
        let service = all.iter().find(|c| c.id == "service.document").unwrap();
        for pattern in [
            "service.document",
            "service.*",
            "SVC-3",
            "svc-*",
            "core",
            "*",
        ] {
            assert!(Pattern::new(pattern).unwrap().matches(service), "{pattern}");
        }
        for pattern in ["cancel.*", "CANCEL-1", "events", "service"] {
            assert!(
                !Pattern::new(pattern).unwrap().matches(service),
                "{pattern}"
            );
        }
        assert!(Pattern::new("[").is_err());
    }

    #[test]
    fn a_selection_brings_its_prerequisites() {
        let all = crate::checks::all();
        let selected = select(&all, &config(&["probe.offered"], &[])).unwrap();
        let ids: Vec<&str> = selected.iter().map(|c| c.id).collect();
        assert_eq!(ids, ["service.document", "probe.offered"]);
        let selected = select(&all, &config(&["no-such-*"], &[])).unwrap();
        assert!(selected.is_empty());
        let selected = select(&all, &config(&[], &["*"])).unwrap();
        assert!(selected.is_empty());
        assert!(select(&all, &config(&["["], &[])).is_err());
    }
}
