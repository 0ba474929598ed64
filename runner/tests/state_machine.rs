//! Model-based test of the job state machine: random sequences of start, poll,
//! cancel, delete, result, list and the passing of time (expiry) run against the
//! real engine (SQLite store, worker pool, injected clock) and are checked
//! against a simple model of the protocol.
//!
//! Plugins are replaced by a scripted executor, so that what a job does is
//! decided by the test: succeed, fail, or run until canceled.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use longrun::clock::{Clock, ManualClock, from_millis};
use longrun::jobs::{Executor, Jobs, JobsConfig, NewJob, Status};
use longrun::plugin::{Output, ResultData, RunControl, RunFailure, RunRequest};
use longrun::problem::ProblemKind;
use longrun::store::{JobFiles, ListQuery, SqliteStore};
use proptest::prelude::*;

/// Does what the job's params say: `{"outcome": "succeed" | "fail" | "block"}`.
struct Scripted;

impl Executor for Scripted {
    fn stages(&self, _operation: &str) -> Vec<String> {
        vec!["work".into()]
    }

    fn execute(
        &self,
        _operation: &str,
        request: RunRequest,
        control: Arc<dyn RunControl>,
    ) -> Result<Output, RunFailure> {
        let params: serde_json::Value = serde_json::from_str(&request.params_json).unwrap();
        match params["outcome"].as_str() {
            Some("succeed") => Ok(Output {
                media_type: "text/plain".into(),
                data: ResultData::Bytes(b"done".to_vec()),
            }),
            Some("fail") => Err(RunFailure::Plugin {
                code: "scripted".into(),
                message: "told to fail".into(),
            }),
            _ => {
                // Runs until canceled, like a plugin that checks for cancel.
                while !control.is_cancelled() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(RunFailure::Canceled)
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Succeed,
    Fail,
    Block,
}

#[derive(Debug, Clone)]
enum Op {
    Start(Outcome, u64),
    Poll(usize),
    Cancel(usize),
    Delete(usize),
    Result(usize),
    List,
    Advance(u64),
    Sweep,
}

fn op() -> impl Strategy<Value = Op> {
    let outcome = prop_oneof![
        Just(Outcome::Succeed),
        Just(Outcome::Fail),
        Just(Outcome::Block)
    ];
    prop_oneof![
        3 => (outcome, prop_oneof![Just(1u64), Just(5), Just(60)]).prop_map(|(o, t)| Op::Start(o, t)),
        3 => (0..8usize).prop_map(Op::Poll),
        2 => (0..8usize).prop_map(Op::Cancel),
        1 => (0..8usize).prop_map(Op::Delete),
        2 => (0..8usize).prop_map(Op::Result),
        1 => Just(Op::List),
        2 => (1..8u64).prop_map(Op::Advance),
        1 => Just(Op::Sweep),
    ]
}

/// The model's view of one job.
#[derive(Debug, Clone, PartialEq)]
enum Model {
    Active,
    Done { status: Status, expires_at: i64 },
    Gone,
}

struct Harness {
    jobs: Jobs,
    clock: Arc<ManualClock>,
    ids: Vec<String>,
    models: Vec<Model>,
    ttls: Vec<u64>,
    _dir: tempfile::TempDir,
}

fn now_ms(clock: &ManualClock) -> i64 {
    longrun::clock::to_millis(clock.now())
}

impl Harness {
    async fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(from_millis(1_800_000_000_000)));
        let store = SqliteStore::open(&dir.path().join("db")).unwrap();
        let files = JobFiles::open(dir.path()).unwrap();
        let jobs = Jobs::start(
            Arc::new(store),
            files,
            clock.clone(),
            Arc::new(Scripted),
            JobsConfig {
                // More workers than a case can start jobs: blocked jobs never
                // hold up the ones that should finish.
                workers: 48,
                // Keep the background sweeper out of the way: the test sweeps.
                sweep_interval: Duration::from_secs(3600),
                ..JobsConfig::default()
            },
        )
        .await
        .unwrap();
        Harness {
            jobs,
            clock,
            ids: Vec::new(),
            models: Vec::new(),
            ttls: Vec::new(),
            _dir: dir,
        }
    }

    /// The model after expiry is applied at the current time.
    fn expire(&mut self, index: usize) {
        let now = now_ms(&self.clock);
        if let Model::Done { expires_at, .. } = self.models[index]
            && expires_at <= now
        {
            self.models[index] = Model::Gone;
        }
    }

    /// A read that counts as a use moves the deadline.
    fn touch(&mut self, index: usize) {
        let deadline = now_ms(&self.clock) + self.ttls[index] as i64 * 1000;
        if let Model::Done { expires_at, .. } = &mut self.models[index] {
            *expires_at = (*expires_at).max(deadline);
        }
    }

    fn finish(&mut self, index: usize, status: Status) {
        let expires_at = now_ms(&self.clock) + self.ttls[index] as i64 * 1000;
        self.models[index] = Model::Done { status, expires_at };
    }

    async fn apply(&mut self, op: &Op) {
        match *op {
            Op::Start(outcome, ttl) => {
                let params = match outcome {
                    Outcome::Succeed => "succeed",
                    Outcome::Fail => "fail",
                    Outcome::Block => "block",
                };
                let submitted = self
                    .jobs
                    .submit(NewJob {
                        tenant: String::new(),
                        operation: "scripted".into(),
                        operation_version: "1".into(),
                        params: serde_json::json!({ "outcome": params }),
                        inputs: vec![],
                        ttl_seconds: ttl,
                        timeout_seconds: 60,
                        correlation_id: None,
                        output_file: None,
                        idempotency_key: None,
                        callback: None,
                    })
                    .await
                    .unwrap();
                assert_eq!(submitted.record.status, Status::Queued);
                assert_eq!(submitted.record.attempt, 1);
                let id = submitted.record.id;
                self.ids.push(id.clone());
                self.ttls.push(ttl);
                self.models.push(Model::Active);
                let index = self.ids.len() - 1;
                if outcome != Outcome::Block {
                    // Let it finish before time moves, so its deadline is known.
                    let record = self
                        .jobs
                        .wait("", &id, &[], Duration::from_secs(30))
                        .await
                        .unwrap();
                    let expected = if outcome == Outcome::Succeed {
                        Status::Succeeded
                    } else {
                        Status::Failed
                    };
                    assert_eq!(record.status, expected);
                    self.finish(index, expected);
                }
            }
            Op::Poll(i) if i < self.ids.len() => {
                self.expire(i);
                let got = self.jobs.get("", &self.ids[i]).await;
                match (&self.models[i], got) {
                    (Model::Gone, Err(p)) => assert!(p.is(ProblemKind::JobNotFound)),
                    (Model::Active, Ok(record)) => {
                        assert!(record.status.is_active(), "{:?}", record.status);
                        assert!(record.expires_at.is_none(), "active jobs never expire");
                    }
                    (Model::Done { status, .. }, Ok(record)) => {
                        assert_eq!(record.status, *status);
                        if *status == Status::Succeeded {
                            assert_eq!(record.progress.percent, 100.0);
                        }
                        self.touch(i);
                        let Model::Done { expires_at, .. } = self.models[i] else {
                            unreachable!()
                        };
                        assert_eq!(
                            longrun::clock::to_millis(record.expires_at.unwrap()),
                            expires_at
                        );
                    }
                    (model, got) => panic!("poll: model {model:?}, engine {got:?}"),
                }
            }
            Op::Cancel(i) if i < self.ids.len() => {
                self.expire(i);
                let got = self.jobs.cancel("", &self.ids[i]).await;
                match (self.models[i].clone(), got) {
                    (Model::Gone, Err(p)) => assert!(p.is(ProblemKind::JobNotFound)),
                    (Model::Active, Ok(record)) => {
                        assert_eq!(record.status, Status::Canceled);
                        self.finish(i, Status::Canceled);
                    }
                    (
                        Model::Done {
                            status: Status::Canceled,
                            ..
                        },
                        Ok(record),
                    ) => {
                        assert_eq!(record.status, Status::Canceled)
                    }
                    (Model::Done { .. }, Err(p)) => assert!(p.is(ProblemKind::JobFinished)),
                    (model, got) => panic!("cancel: model {model:?}, engine {got:?}"),
                }
            }
            Op::Delete(i) if i < self.ids.len() => {
                self.expire(i);
                let got = self.jobs.delete("", &self.ids[i]).await;
                match (&self.models[i], got) {
                    (Model::Gone, Err(p)) => assert!(p.is(ProblemKind::JobNotFound)),
                    (Model::Active, Ok(record)) => assert_eq!(record.status, Status::Canceled),
                    (Model::Done { status, .. }, Ok(record)) => assert_eq!(record.status, *status),
                    (model, got) => panic!("delete: model {model:?}, engine {got:?}"),
                }
                self.models[i] = Model::Gone;
            }
            Op::Result(i) if i < self.ids.len() => {
                self.expire(i);
                let got = self.jobs.result("", &self.ids[i]).await;
                match (self.models[i].clone(), got) {
                    (Model::Gone, Err(p)) => assert!(p.is(ProblemKind::JobNotFound)),
                    (Model::Active, Err(p)) => assert!(p.is(ProblemKind::ResultNotAvailable)),
                    (
                        Model::Done {
                            status: Status::Succeeded,
                            ..
                        },
                        Ok((mut record, path)),
                    ) => {
                        assert_eq!(std::fs::read(path).unwrap(), b"done");
                        // Served: a use, as the HTTP handler records it.
                        self.jobs.touch(&mut record).await.unwrap();
                        self.touch(i);
                    }
                    (Model::Done { .. }, Err(p)) => {
                        // No result, so no use.
                        assert!(p.is(ProblemKind::ResultNotAvailable));
                    }
                    (model, got) => panic!("result: model {model:?}, engine {got:?}"),
                }
            }
            Op::List => {
                for i in 0..self.ids.len() {
                    self.expire(i);
                }
                let listed: BTreeSet<String> = self
                    .jobs
                    .list(&ListQuery {
                        limit: 1000,
                        ..ListQuery::default()
                    })
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| r.id)
                    .collect();
                let expected: BTreeSet<String> = self
                    .ids
                    .iter()
                    .zip(&self.models)
                    .filter(|(_, m)| **m != Model::Gone)
                    .map(|(id, _)| id.clone())
                    .collect();
                assert_eq!(listed, expected);
            }
            Op::Advance(seconds) => self.clock.advance(Duration::from_secs(seconds)),
            Op::Sweep => {
                self.jobs.sweep_expired().await.unwrap();
                for i in 0..self.ids.len() {
                    self.expire(i);
                }
            }
            // An index past the jobs started so far: nothing to do.
            _ => {}
        }
    }

    /// Stop jobs still running so their worker threads end.
    async fn cleanup(&mut self) {
        for (i, id) in self.ids.iter().enumerate() {
            if self.models[i] == Model::Active {
                let _ = self.jobs.cancel("", id).await;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn engine_follows_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut harness = Harness::new().await;
            for op in &ops {
                harness.apply(op).await;
            }
            harness.cleanup().await;
        });
    }
}
