//! Model-based fuzzing of job lifecycles: `longrun-conformance fuzz`.
//!
//! The fuzzer drives random sequences of operations on `probe` jobs against a
//! server and compares every answer with a reference model of the protocol.
//! When an answer breaks the model, proptest shrinks the sequence to a minimal
//! one that still fails, and the report prints it as curl commands.
//!
//! # Operations ([`step::Step`])
//!
//! | Step | Request |
//! |---|---|
//! | start | `POST /v1/operations/probe/jobs` with the params of a *kind* (below); rarely with `Prefer: wait=2` (`wait=1` for `hold`) |
//! | get | `GET` the job URL |
//! | result | `GET <job>/result` |
//! | wait | `GET` the job URL until it is terminal (deadline: the job timeout) |
//! | cancel | `POST <job>/cancel` |
//! | delete | `DELETE` the job URL |
//! | long-poll | `GET <job>?waitSeconds=0/1` with `If-None-Match: <last ETag seen>`; rare |
//!
//! Kinds: `quick` (params `{}`: succeeds at once with `{"echo":null,"steps":10,"inputs":[]}`),
//! `failing` (params `{"fail":{"code":"x","message":"y"}}`: fails at once with
//! `plugin-error`), `hold` (params `{"durationMs":600000,"steps":100}`: stays
//! active until canceled or deleted).
//!
//! A step names its job by an index taken modulo the jobs started so far in
//! the case. A step is a no-op when there is no job yet, when the server does
//! not claim the class it needs (`cancel`, `delete`, `long-poll`; without
//! `sync` a synchronous start is sent as an asynchronous one), when the case
//! already started [`model::MAX_JOBS`] jobs, when a `hold` start would make
//! more than `max(1, limits.workers - 1)` hold jobs active (so `quick` jobs
//! still find a worker), and when it is a wait for a `hold` job (it never ends)
//! or for a job that may be queued behind hold jobs filling every worker. After
//! each case every job it started is deleted (or, without `delete`, canceled),
//! so hold jobs never pile up in the server's workers.
//!
//! # The model ([`model`])
//!
//! The server's timing is not deterministic, so the model accepts the *set* of
//! answers the protocol allows in each state, and learns from an answer that
//! settles a question. Per job:
//!
//! ```text
//!  start hold: 202       start quick/failing: 202        sync start: quick 200,
//!        |                          |                     failing 422
//!        v                          v                             |
//!   +---------+           +-------------------+                   |
//!   | Holding |           | Settling(outcome) |                   |
//!   +---------+           +-------------------+                   |
//!        |                   |             |                      |
//!        | cancel 200        | cancel 200  | the outcome seen: GET, wait,
//!        |                   | (came first)| result 200 or 409, cancel 409
//!        v                   v             v                      v
//!   +-------------------------------+   +---------------------------------+
//!   |        Ended(canceled)        |   |         Ended(outcome)          |
//!   +-------------------------------+   +---------------------------------+
//!
//!   delete 200, from any of these states  ------------------->  Deleted
//! ```
//!
//! What each state allows:
//!
//! | State | get / wait | result | cancel | delete | long-poll (If-None-Match: last ETag) |
//! |---|---|---|---|---|---|
//! | Holding | 200 queued/running | 409 result-not-available, jobStatus queued/running | 200 canceled (within 5 s) | 200 canceled | 200 with another ETag, or 304 after waitSeconds |
//! | Settling(o) | 200 queued/running/o | o = succeeded: 200 result or 409 (queued/running); o = failed: 409 with queued/running/failed | 200 canceled, or 409 job-finished with jobStatus o | 200 canceled or o | as Holding, statuses queued/running/o |
//! | Ended(s) | 200, the same document (but for `expiresAt`) and the same `ETag` as first seen | s = succeeded: 200 result; else 409 with jobStatus s | s = canceled: 200 with the same document; else 409 job-finished, jobStatus s | 200 with that document | 304 after waitSeconds if the ETag sent is the terminal one, else 200 at once |
//! | Deleted | 404 job-not-found | 404 | 404 | 404 | 404 |
//!
//! Starts: an asynchronous start is `202` with the document in status `queued`,
//! `Location` = `Operation-Location` = `links.self`, a `Link` with `monitor`,
//! `cancel` and `result`. A synchronous start of a `quick` job is `200` with the
//! result (or `202` once the applied wait has elapsed), of a `failing` job `422`
//! `plugin-error` with code `x` and detail `y` (or the late `202`), of a `hold`
//! job `202` after the applied wait; each with `Preference-Applied`. A `503`
//! `queue-full` is allowed and creates no job.
//!
//! Every `200` job document must also satisfy: `attempt` 1; `result` and
//! `resourceLocation` if and only if `succeeded`; `error` (a `plugin-error` with
//! code `x`) if and only if `failed`; `finishedAt` null if and only if active;
//! `links.self` the job URL, `links.monitor`/`links.cancel` if and only if
//! active, `links.result` if and only if succeeded; an `ETag`, and
//! `Retry-After` if and only if active; no way back from `running` to `queued`.
//! A result is `application/json`, equal to the probe's JSON, with the `ETag`
//! of its SHA-256 (and equal to the document's `result.sha256`). Problems are
//! `application/problem+json` with the right `type` and `status`.
//!
//! # Running and reporting
//!
//! proptest runs in a blocking thread with its own Tokio runtime, driven by an
//! explicit [`TestRunner`] seeded from `--seed` (ChaCha; random and printed when
//! absent) without failure persistence. `GET /v1` is read first: a server that
//! cannot be reached, or whose service document or `probe` operation is not
//! usable, ends the run with exit code 3. A discrepancy exits 1 and prints the
//! seed, the shrunk sequence as numbered steps with their answers, what the
//! model expected and what the server answered (with the requirement), and a
//! bash script of curl commands that repeats the sequence (`$JOB1`… are set
//! from the `Location` of the starts).
//!
//! Shrinking has to live with the server's timing: a failure may depend on a
//! job having ended in time. So a sequence that failed once is taken as failing
//! when proptest comes back to it (it does so after every simplification that
//! passed, and would stop shrinking if it passed then), and a simplified
//! sequence is run twice before it counts as passing. Shrinking stops after 256
//! runs or 120 seconds. A request that gets no answer exits 3.
//! When every case passes the report says how many cases, steps and requests
//! ran, and the seed; the exit code is 0.

pub mod model;
pub mod step;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use reqwest::Method;

use crate::config::SuiteConfig;
use crate::server_info::ServerInfo;
use crate::verdict::exit;
use model::{Limits, Model};
use step::{Classes, Failure, Http, Record, Step};

/// Fuzzing options.
#[derive(Debug, Clone)]
pub struct Options {
    /// How many random sequences to run.
    pub cases: u32,
    /// The seed; random when `None`.
    pub seed: Option<u64>,
    /// The longest sequence.
    pub max_steps: usize,
}

/// What a fuzzing run found.
#[derive(Debug, Clone)]
pub struct FuzzOutcome {
    /// The text to print.
    pub report: String,
    /// The exit code.
    pub exit_code: i32,
}

/// The most runs spent shrinking a failure.
const MAX_SHRINK_RUNS: u32 = 256;
/// How often a simplified sequence is run before it counts as passing: a
/// discrepancy that depends on timing need not show every time.
const SHRINK_ATTEMPTS: usize = 2;
/// The most time spent shrinking a failure.
const MAX_SHRINK_TIME: Duration = Duration::from_secs(120);

/// Fuzz the server of `config`.
pub async fn run(config: SuiteConfig, options: Options) -> anyhow::Result<FuzzOutcome> {
    let seed = options.seed.unwrap_or_else(random_seed);
    tokio::task::spawn_blocking(move || fuzz(&config, &options, seed))
        .await
        .map_err(|e| anyhow::anyhow!("the fuzzing thread failed: {e}"))?
}

fn random_seed() -> u64 {
    use std::hash::BuildHasher;
    std::hash::RandomState::new().hash_one(std::time::SystemTime::now())
}

/// The 32 bytes of a ChaCha seed made from `seed`.
fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_mut(8) {
        chunk.copy_from_slice(&seed.to_le_bytes());
    }
    bytes
}

/// What the fuzzer learned about the server before the first case.
struct Target {
    limits: Limits,
    classes: Classes,
    unclaimed: Vec<&'static str>,
}

fn environment_error(message: impl std::fmt::Display) -> FuzzOutcome {
    FuzzOutcome {
        report: format!("longrun-conformance fuzz: {message}\n"),
        exit_code: exit::ERROR,
    }
}

/// Read `GET /v1` and check that the probe operation is offered.
async fn discover(http: &Http, config: &SuiteConfig) -> Result<Target, String> {
    let service = http
        .send(&http.path(Method::GET, "/v1"))
        .await
        .map_err(|e| {
            format!(
                "the server at {} could not be reached: {}",
                config.base_url, e.0
            )
        })?;
    if service.status != 200 {
        return Err(format!(
            "GET /v1 answered {} instead of the service document",
            service.summary()
        ));
    }
    let info = service
        .json()
        .ok_or_else(|| "GET /v1 did not answer JSON".to_owned())
        .and_then(ServerInfo::from_document)
        .map_err(|e| format!("the service document is not usable: {e}"))?;
    let operation = http
        .send(&http.path(
            Method::GET,
            &format!("/v1/operations/{}", config.probe_operation),
        ))
        .await
        .map_err(|e| format!("GET /v1/operations/{}: {}", config.probe_operation, e.0))?;
    if operation.status != 200 {
        return Err(format!(
            "the server does not offer the operation {:?} (GET /v1/operations/{0} answered {}); \
             the fuzzer drives it as the probe of section 21",
            config.probe_operation,
            operation.summary()
        ));
    }
    let classes = Classes {
        sync: info.claims("sync"),
        cancel: info.claims("cancel"),
        delete: info.claims("delete"),
        long_poll: info.claims("long-poll"),
    };
    let unclaimed = [
        ("sync", classes.sync),
        ("cancel", classes.cancel),
        ("delete", classes.delete),
        ("long-poll", classes.long_poll),
    ]
    .into_iter()
    .filter(|(_, claimed)| !claimed)
    .map(|(name, _)| name)
    .collect();
    Ok(Target {
        limits: Limits {
            workers: info.limits.workers.max(1),
            max_wait_seconds: info.limits.max_wait_seconds,
        },
        classes,
        unclaimed,
    })
}

/// Run one case: the steps, then the clean-up. The records of the steps sent,
/// up to the first that failed.
async fn run_case(
    http: &Http,
    target: &Target,
    steps: &[Step],
    job_timeout: Duration,
) -> Vec<Record> {
    let mut model = Model::new(target.limits);
    let mut records = Vec::new();
    for step in steps {
        let Some(record) =
            step::execute(*step, &mut model, http, target.classes, job_timeout).await
        else {
            continue;
        };
        let failed = record.outcome.is_err();
        records.push(record);
        if failed {
            break;
        }
    }
    step::clean_up(&model, http, target.classes).await;
    records
}

/// A failing case: the steps sent, up to the one that failed.
struct CaseFailure {
    records: Vec<Record>,
    reason: String,
}

/// Counts over the whole run.
#[derive(Default)]
struct Tally {
    /// Cases that passed before the first failure.
    passed: u32,
    /// Steps sent and requests made by those cases.
    steps: u64,
    requests: u64,
    /// Steps of the first failing case, as generated.
    first_failure_len: Option<usize>,
    /// Runs after the first failure (shrinking).
    shrink_runs: u32,
    /// Every failing sequence, with what its run sent.
    failures: HashMap<Vec<Step>, CaseFailure>,
    /// The latest failing sequence.
    last: Option<Vec<Step>>,
    /// A request that got no answer: the run stops shrinking.
    no_answer: Option<String>,
}

fn fuzz(config: &SuiteConfig, options: &Options, seed: u64) -> anyhow::Result<FuzzOutcome> {
    let began = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let http = Http::new(config)?;
    let target = match runtime.block_on(discover(&http, config)) {
        Ok(target) => target,
        Err(message) => return Ok(environment_error(message)),
    };
    let proptest_config = Config {
        cases: options.cases,
        failure_persistence: None,
        max_shrink_iters: MAX_SHRINK_RUNS,
        max_shrink_time: u32::try_from(MAX_SHRINK_TIME.as_millis()).unwrap_or(u32::MAX),
        rng_algorithm: RngAlgorithm::ChaCha,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(seed));
    let mut runner = TestRunner::new_with_rng(proptest_config, rng);
    let tally = RefCell::new(Tally::default());
    let job_timeout = config.timeouts.job;
    let result = runner.run(&step::steps(options.max_steps), |steps| {
        if tally.borrow().no_answer.is_some() {
            // The server is gone: shrinking would only repeat that.
            return Ok(());
        }
        if let Some(reason) = tally
            .borrow()
            .failures
            .get(&steps)
            .map(|f| f.reason.clone())
        {
            // proptest goes back to the last failing sequence after a
            // simplification that passed; timing may make it pass this time,
            // which would end the shrinking, so a failure is remembered.
            return Err(TestCaseError::fail(reason));
        }
        let shrinking = tally.borrow().first_failure_len.is_some();
        let attempts = if shrinking { SHRINK_ATTEMPTS } else { 1 };
        let mut records = Vec::new();
        for _ in 0..attempts {
            records = runtime.block_on(run_case(&http, &target, &steps, job_timeout));
            if records.last().is_some_and(|r| r.outcome.is_err()) {
                break;
            }
        }
        let mut tally = tally.borrow_mut();
        if shrinking {
            tally.shrink_runs += 1;
        }
        let failure = records
            .last()
            .and_then(|r| r.outcome.as_ref().err())
            .cloned();
        match failure {
            None => {
                if !shrinking {
                    tally.passed += 1;
                    tally.steps += records.len() as u64;
                    tally.requests += records.iter().map(|r| r.requests as u64).sum::<u64>();
                }
                Ok(())
            }
            Some(failure) => {
                tally.first_failure_len.get_or_insert(steps.len());
                let reason = match &failure {
                    Failure::Discrepancy(d) => format!("[{}] {}", d.requirement, d.got),
                    Failure::NoAnswer(e) => {
                        tally.no_answer = Some(e.clone());
                        format!("no answer: {e}")
                    }
                };
                tally.last = Some(steps.clone());
                tally.failures.insert(
                    steps,
                    CaseFailure {
                        records,
                        reason: reason.clone(),
                    },
                );
                Err(TestCaseError::fail(reason))
            }
        }
    });
    let tally = tally.into_inner();
    let repeat = format!(
        "longrun-conformance fuzz --base-url {} --seed {seed} --cases {} --max-steps {}",
        config.base_url, options.cases, options.max_steps
    );
    let mut report = String::new();
    let exit_code = match result {
        Ok(()) => {
            let _ = writeln!(
                report,
                "longrun-conformance fuzz: {} cases, {} steps ({} requests) against {}: \
                 every answer agreed with the model of the protocol ({:.1} s).",
                tally.passed,
                tally.steps,
                tally.requests,
                config.base_url,
                began.elapsed().as_secs_f64()
            );
            let _ = writeln!(report, "seed: {seed}");
            let _ = writeln!(report, "repeat with: {repeat}");
            if !target.unclaimed.is_empty() {
                let _ = writeln!(
                    report,
                    "not claimed (their steps were left out): {}",
                    target.unclaimed.join(", ")
                );
            }
            exit::PASSED
        }
        Err(TestError::Abort(reason)) => {
            let _ = writeln!(
                report,
                "longrun-conformance fuzz: proptest gave up: {reason}"
            );
            let _ = writeln!(report, "seed: {seed}");
            exit::ERROR
        }
        Err(TestError::Fail(reason, minimal)) => {
            let failure = tally
                .failures
                .get(&minimal)
                .or_else(|| tally.last.as_ref().and_then(|l| tally.failures.get(l)));
            match (&tally.no_answer, failure) {
                (Some(error), failure) => {
                    let _ = writeln!(
                        report,
                        "longrun-conformance fuzz: the server stopped answering: {error}"
                    );
                    let _ = writeln!(report, "seed: {seed}");
                    if let Some(failure) = failure {
                        write_sequence(&mut report, failure);
                    }
                    exit::ERROR
                }
                (None, Some(failure)) => {
                    write_failure(
                        &mut report,
                        failure,
                        &tally,
                        seed,
                        options,
                        &repeat,
                        began.elapsed(),
                    );
                    exit::FAILED
                }
                (None, None) => {
                    let _ = writeln!(
                        report,
                        "longrun-conformance fuzz: a case failed ({reason}) but left no record"
                    );
                    let _ = writeln!(report, "seed: {seed}");
                    exit::ERROR
                }
            }
        }
    };
    Ok(FuzzOutcome { report, exit_code })
}

/// The steps of `failure` as numbered lines with their answers.
fn write_sequence(report: &mut String, failure: &CaseFailure) {
    let _ = writeln!(
        report,
        "\nMinimal failing sequence ({} steps):",
        failure.records.len()
    );
    for (i, record) in failure.records.iter().enumerate() {
        let mark = if record.outcome.is_err() {
            "  <-- here"
        } else {
            ""
        };
        let answer = record.answer.as_deref().unwrap_or("no answer");
        let _ = writeln!(
            report,
            "  {}. {} -> {answer}{mark}",
            i + 1,
            record.description
        );
    }
}

fn write_failure(
    report: &mut String,
    failure: &CaseFailure,
    tally: &Tally,
    seed: u64,
    options: &Options,
    repeat: &str,
    elapsed: Duration,
) {
    let _ = writeln!(
        report,
        "longrun-conformance fuzz: the server disagrees with the model of the protocol."
    );
    let _ = writeln!(report, "seed: {seed}");
    let _ = writeln!(report, "repeat with: {repeat}");
    let _ = writeln!(
        report,
        "case {} of {} failed ({} passed before it); shrunk from {} to {} steps in {} runs ({:.1} s in all)",
        tally.passed + 1,
        options.cases,
        tally.passed,
        tally.first_failure_len.unwrap_or(failure.records.len()),
        failure.records.len(),
        tally.shrink_runs,
        elapsed.as_secs_f64()
    );
    write_sequence(report, failure);
    if let Some((n, record)) = failure
        .records
        .iter()
        .enumerate()
        .find(|(_, r)| r.outcome.is_err())
        && let Err(Failure::Discrepancy(d)) = &record.outcome
    {
        let _ = writeln!(
            report,
            "\nStep {} ({}) breaks [{}]:",
            n + 1,
            record.description,
            d.requirement
        );
        let _ = writeln!(report, "  expected: {}", d.expected);
        let _ = writeln!(report, "  got:      {}", indent(&d.got));
        if let Some(req) = crate::spec::spec().get(d.requirement) {
            let _ = writeln!(report, "  [{}] {}", req.id, req.text);
        }
    }
    let _ = writeln!(
        report,
        "\nThe sequence as curl commands (bash; each start sets $JOBn from its Location):"
    );
    for (i, record) in failure.records.iter().enumerate() {
        let _ = writeln!(report, "# {}. {}", i + 1, record.description);
        let _ = writeln!(report, "{}", record.curl);
    }
}

fn indent(text: &str) -> String {
    text.replace('\n', "\n            ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_fill_the_chacha_seed() {
        let bytes = seed_bytes(0x0102_0304_0506_0708);
        assert_eq!(&bytes[..8], &0x0102_0304_0506_0708u64.to_le_bytes());
        assert_eq!(&bytes[24..], &bytes[..8]);
    }

    #[test]
    fn the_same_seed_gives_the_same_sequences() {
        use proptest::strategy::{Strategy, ValueTree};
        let generate = |seed| {
            let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(seed));
            let mut runner = TestRunner::new_with_rng(Config::default(), rng);
            step::steps(12)
                .new_tree(&mut runner)
                .expect("a value")
                .current()
        };
        assert_eq!(generate(7), generate(7));
        assert_ne!(generate(7), generate(8));
    }
}
